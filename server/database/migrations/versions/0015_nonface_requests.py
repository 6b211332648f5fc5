"""non-face check-in requests: a trainee who refused face processing asks from the bound phone,
the teacher confirms them present (the confirmation is the event in the chain)

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-08 01:00:00.000000
"""
from alembic import op
import sqlalchemy as sa
import server.models.base
from server.database.triggers import drop_append_only, make_append_only

#: A request is evidence of what the phone sent: never edited, a new one is made.
APPEND_ONLY = ("nonface_requests",)


revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('nonface_requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('trainee_id', sa.Integer(), nullable=False),
    sa.Column('lesson_id', sa.Integer(), nullable=False),
    sa.Column('class_id', sa.Integer(), nullable=False),
    sa.Column('enrollment_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('spot_check_id', sa.Integer(), nullable=True),
    sa.Column('at', server.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('device_id', sa.String(length=128), nullable=False),
    sa.Column('idempotency_key', sa.String(length=64), nullable=False),
    sa.Column('verdict', sa.String(length=16), nullable=False),
    sa.Column('reasons', sa.JSON(), nullable=False),
    sa.Column('evidence', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['class_id'], ['training_classes.id'], name=op.f('fk_nonface_requests_class_id_training_classes')),
    sa.ForeignKeyConstraint(['enrollment_id'], ['enrollments.id'], name=op.f('fk_nonface_requests_enrollment_id_enrollments')),
    sa.ForeignKeyConstraint(['lesson_id'], ['lessons.id'], name=op.f('fk_nonface_requests_lesson_id_lessons')),
    sa.ForeignKeyConstraint(['spot_check_id'], ['spot_checks.id'], name=op.f('fk_nonface_requests_spot_check_id_spot_checks')),
    sa.ForeignKeyConstraint(['trainee_id'], ['trainees.id'], name=op.f('fk_nonface_requests_trainee_id_trainees')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_nonface_requests')),
    sa.UniqueConstraint('trainee_id', 'idempotency_key', name=op.f('uq_nonface_requests_trainee_id_idempotency_key')),
    )
    with op.batch_alter_table('nonface_requests', schema=None) as batch_op:
        batch_op.create_index('ix_nonface_requests_lesson_trainee', ['lesson_id', 'trainee_id'], unique=False)

    for table in APPEND_ONLY:
        make_append_only(table)


def downgrade() -> None:
    for table in APPEND_ONLY:
        drop_append_only(table)
    with op.batch_alter_table('nonface_requests', schema=None) as batch_op:
        batch_op.drop_index('ix_nonface_requests_lesson_trainee')
    op.drop_table('nonface_requests')
