"""held face templates (one face, one identity) and the supervisors' decisions on them

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-25 09:12:41.508211
"""
from alembic import op
import sqlalchemy as sa
import server.models.base
from server.database.triggers import drop_append_only, make_append_only

#: A decision on a held template is evidence: a wrong one is not edited away (and a second one is
#: refused by the unique template_id).
APPEND_ONLY = ("template_decisions",)


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Nullable, no default: every template enrolled before this revision is not held (in force).
    with op.batch_alter_table('face_templates', schema=None) as batch_op:
        batch_op.add_column(sa.Column('hold', sa.JSON(none_as_null=True), nullable=True))

    op.create_table('template_decisions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('template_id', sa.Integer(), nullable=False),
    sa.Column('decision', sa.String(length=16), nullable=False),
    sa.Column('reason', sa.String(length=512), nullable=False),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('at', server.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("decision IN ('approve', 'reject')", name=op.f('ck_template_decisions_decision_known')),
    sa.ForeignKeyConstraint(['decided_by_id'], ['users.id'], name=op.f('fk_template_decisions_decided_by_id_users')),
    sa.ForeignKeyConstraint(['template_id'], ['face_templates.id'], name=op.f('fk_template_decisions_template_id_face_templates')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_template_decisions')),
    sa.UniqueConstraint('template_id', name=op.f('uq_template_decisions_template_id'))
    )

    for table in APPEND_ONLY:
        make_append_only(table)


def downgrade() -> None:
    for table in APPEND_ONLY:
        drop_append_only(table)
    op.drop_table('template_decisions')
    with op.batch_alter_table('face_templates', schema=None) as batch_op:
        batch_op.drop_column('hold')
