"""venue fence versions and the districts' decisions on them

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-26 10:05:12.331907
"""
from alembic import op
import sqlalchemy as sa
import server.models.base
from server.database.triggers import drop_append_only, make_append_only

#: A decision on a fence is evidence of who allowed check-ins to count there: never edited (a
#: changed fence is a new version with a decision of its own; a second decision on one version is
#: refused by the unique (venue_id, fence_version)).
APPEND_ONLY = ("venue_fence_decisions",)


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # NOT NULL with a server default: every venue made before this revision is at version 1 with
    # no decision, that is: not approved. Its district approves it before new classes there are
    # filed (and check-ins there are flagged for review until then).
    with op.batch_alter_table('venues', schema=None) as batch_op:
        batch_op.add_column(sa.Column('fence_version', sa.Integer(), server_default='1', nullable=False))

    op.create_table('venue_fence_decisions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('venue_id', sa.Integer(), nullable=False),
    sa.Column('fence_version', sa.Integer(), nullable=False),
    sa.Column('fence', sa.JSON(), nullable=False),
    sa.Column('fence_digest', sa.String(length=64), nullable=False),
    sa.Column('measures', sa.JSON(), nullable=False),
    sa.Column('decision', sa.String(length=16), nullable=False),
    sa.Column('reason', sa.String(length=512), nullable=False),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('at', server.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("decision IN ('approve', 'reject')", name=op.f('ck_venue_fence_decisions_decision_known')),
    sa.ForeignKeyConstraint(['decided_by_id'], ['users.id'], name=op.f('fk_venue_fence_decisions_decided_by_id_users')),
    sa.ForeignKeyConstraint(['venue_id'], ['venues.id'], name=op.f('fk_venue_fence_decisions_venue_id_venues')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_venue_fence_decisions')),
    sa.UniqueConstraint('venue_id', 'fence_version', name=op.f('uq_venue_fence_decisions_venue_id_fence_version'))
    )
    with op.batch_alter_table('venue_fence_decisions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_venue_fence_decisions_venue_id'), ['venue_id'], unique=False)

    for table in APPEND_ONLY:
        make_append_only(table)


def downgrade() -> None:
    for table in APPEND_ONLY:
        drop_append_only(table)
    with op.batch_alter_table('venue_fence_decisions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_venue_fence_decisions_venue_id'))
    op.drop_table('venue_fence_decisions')
    with op.batch_alter_table('venues', schema=None) as batch_op:
        batch_op.drop_column('fence_version')
