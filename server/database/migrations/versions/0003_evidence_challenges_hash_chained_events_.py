"""evidence: challenges, hash-chained events, heartbeats, spot checks, frame fingerprints

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24 06:12:50.549508
"""
from alembic import op
import sqlalchemy as sa
import server.models.base
from server.database.triggers import drop_append_only, make_append_only

#: Evidence is never updated or deleted (challenges are: their used_at is set once).
APPEND_ONLY = ("events", "heartbeats", "spot_checks", "frame_fingerprints")


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    
    op.create_table('chain_heads',
    sa.Column('chain', sa.String(length=32), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('chain', name=op.f('pk_chain_heads'))
    )
    op.create_table('heartbeats',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('lesson_id', sa.Integer(), nullable=False),
    sa.Column('trainee_id', sa.Integer(), nullable=False),
    sa.Column('at', server.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('visible', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['lesson_id'], ['lessons.id'], name=op.f('fk_heartbeats_lesson_id_lessons')),
    sa.ForeignKeyConstraint(['trainee_id'], ['trainees.id'], name=op.f('fk_heartbeats_trainee_id_trainees')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_heartbeats'))
    )
    with op.batch_alter_table('heartbeats', schema=None) as batch_op:
        batch_op.create_index('ix_heartbeats_lesson_trainee_at', ['lesson_id', 'trainee_id', 'at'], unique=False)

    op.create_table('spot_checks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('lesson_id', sa.Integer(), nullable=False),
    sa.Column('class_id', sa.Integer(), nullable=False),
    sa.Column('trainee_id', sa.Integer(), nullable=False),
    sa.Column('issued_at', server.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('due_at', server.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('origin', sa.String(length=16), nullable=False),
    sa.Column('planned_for', server.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('issued_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['class_id'], ['training_classes.id'], name=op.f('fk_spot_checks_class_id_training_classes')),
    sa.ForeignKeyConstraint(['issued_by_id'], ['users.id'], name=op.f('fk_spot_checks_issued_by_id_users')),
    sa.ForeignKeyConstraint(['lesson_id'], ['lessons.id'], name=op.f('fk_spot_checks_lesson_id_lessons')),
    sa.ForeignKeyConstraint(['trainee_id'], ['trainees.id'], name=op.f('fk_spot_checks_trainee_id_trainees')),
    sa.UniqueConstraint('lesson_id', 'trainee_id', 'planned_for', name=op.f('uq_spot_checks_lesson_id_trainee_id_planned_for')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_spot_checks'))
    )
    with op.batch_alter_table('spot_checks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_spot_checks_class_id'), ['class_id'], unique=False)
        batch_op.create_index('ix_spot_checks_lesson_trainee', ['lesson_id', 'trainee_id'], unique=False)

    op.create_table('challenges',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('nonce', sa.String(length=64), nullable=False),
    sa.Column('trainee_id', sa.Integer(), nullable=False),
    sa.Column('lesson_id', sa.Integer(), nullable=False),
    sa.Column('purpose', sa.String(length=16), nullable=False),
    sa.Column('spot_check_id', sa.Integer(), nullable=True),
    sa.Column('steps', sa.JSON(), nullable=False),
    sa.Column('issued_at', server.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', server.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('used_at', server.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['lesson_id'], ['lessons.id'], name=op.f('fk_challenges_lesson_id_lessons')),
    sa.ForeignKeyConstraint(['spot_check_id'], ['spot_checks.id'], name=op.f('fk_challenges_spot_check_id_spot_checks')),
    sa.ForeignKeyConstraint(['trainee_id'], ['trainees.id'], name=op.f('fk_challenges_trainee_id_trainees')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_challenges')),
    sa.UniqueConstraint('nonce', name=op.f('uq_challenges_nonce'))
    )
    with op.batch_alter_table('challenges', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_challenges_lesson_id'), ['lesson_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_challenges_trainee_id'), ['trainee_id'], unique=False)

    op.create_table('events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('chain', sa.String(length=32), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=24), nullable=False),
    sa.Column('class_id', sa.Integer(), nullable=False),
    sa.Column('lesson_id', sa.Integer(), nullable=False),
    sa.Column('enrollment_id', sa.Integer(), nullable=True),
    sa.Column('trainee_id', sa.Integer(), nullable=True),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('at', server.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('verdict', sa.String(length=16), nullable=False),
    sa.Column('decides_event_id', sa.Integer(), nullable=True),
    sa.Column('spot_check_id', sa.Integer(), nullable=True),
    sa.Column('reasons', sa.JSON(), nullable=False),
    sa.Column('evidence', sa.JSON(), nullable=False),
    sa.Column('idempotency_key', sa.String(length=64), nullable=True),
    sa.Column('device_id', sa.String(length=128), nullable=True),
    sa.Column('prev_hash', sa.String(length=64), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_events_actor_id_users')),
    sa.ForeignKeyConstraint(['class_id'], ['training_classes.id'], name=op.f('fk_events_class_id_training_classes')),
    sa.ForeignKeyConstraint(['decides_event_id'], ['events.id'], name=op.f('fk_events_decides_event_id_events')),
    sa.ForeignKeyConstraint(['enrollment_id'], ['enrollments.id'], name=op.f('fk_events_enrollment_id_enrollments')),
    sa.ForeignKeyConstraint(['lesson_id'], ['lessons.id'], name=op.f('fk_events_lesson_id_lessons')),
    sa.ForeignKeyConstraint(['spot_check_id'], ['spot_checks.id'], name=op.f('fk_events_spot_check_id_spot_checks')),
    sa.ForeignKeyConstraint(['trainee_id'], ['trainees.id'], name=op.f('fk_events_trainee_id_trainees')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_events')),
    sa.UniqueConstraint('chain', 'seq', name=op.f('uq_events_chain_seq')),
    sa.UniqueConstraint('hash', name=op.f('uq_events_hash')),
    sa.UniqueConstraint('trainee_id', 'idempotency_key', name=op.f('uq_events_trainee_id_idempotency_key'))
    )
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_events_at'), ['at'], unique=False)
        batch_op.create_index(batch_op.f('ix_events_class_id'), ['class_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_events_enrollment_id'), ['enrollment_id'], unique=False)
        batch_op.create_index('ix_events_lesson_trainee', ['lesson_id', 'trainee_id'], unique=False)
        batch_op.create_index('ix_events_lesson_device', ['lesson_id', 'device_id'], unique=False)

    op.create_table('frame_fingerprints',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('fingerprint', sa.String(length=16), nullable=False),
    sa.Column('trainee_id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('at', server.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['event_id'], ['events.id'], name=op.f('fk_frame_fingerprints_event_id_events')),
    sa.ForeignKeyConstraint(['trainee_id'], ['trainees.id'], name=op.f('fk_frame_fingerprints_trainee_id_trainees')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_frame_fingerprints'))
    )
    with op.batch_alter_table('frame_fingerprints', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_frame_fingerprints_fingerprint'), ['fingerprint'], unique=False)
        batch_op.create_index(batch_op.f('ix_frame_fingerprints_trainee_id'), ['trainee_id'], unique=False)

    

    for table in APPEND_ONLY:
        make_append_only(table)


def downgrade() -> None:
    for table in APPEND_ONLY:
        drop_append_only(table)
    
    with op.batch_alter_table('frame_fingerprints', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_frame_fingerprints_trainee_id'))
        batch_op.drop_index(batch_op.f('ix_frame_fingerprints_fingerprint'))

    op.drop_table('frame_fingerprints')
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.drop_index('ix_events_lesson_device')
        batch_op.drop_index('ix_events_lesson_trainee')
        batch_op.drop_index(batch_op.f('ix_events_enrollment_id'))
        batch_op.drop_index(batch_op.f('ix_events_class_id'))
        batch_op.drop_index(batch_op.f('ix_events_at'))

    op.drop_table('events')
    with op.batch_alter_table('challenges', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_challenges_trainee_id'))
        batch_op.drop_index(batch_op.f('ix_challenges_lesson_id'))

    op.drop_table('challenges')
    with op.batch_alter_table('spot_checks', schema=None) as batch_op:
        batch_op.drop_index('ix_spot_checks_lesson_trainee')
        batch_op.drop_index(batch_op.f('ix_spot_checks_class_id'))

    op.drop_table('spot_checks')
    with op.batch_alter_table('heartbeats', schema=None) as batch_op:
        batch_op.drop_index('ix_heartbeats_lesson_trainee_at')

    op.drop_table('heartbeats')
    op.drop_table('chain_heads')
    
