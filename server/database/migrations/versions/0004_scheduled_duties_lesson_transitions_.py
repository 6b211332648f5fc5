"""scheduled duties: lesson transitions, absences, duties and reminders, job status

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24 08:21:45.906339
"""
from alembic import op
import sqlalchemy as sa
import server.models.base
from server.database.triggers import drop_append_only, make_append_only

#: Recorded once, never rewritten: what the scheduler saw and decided.
APPEND_ONLY = ("lesson_transitions", "absences", "duty_reminders")

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('job_status',
    sa.Column('job_id', sa.String(length=48), nullable=False),
    sa.Column('runner', sa.String(length=128), nullable=False),
    sa.Column('first_started_at', server.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('started_at', server.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('finished_at', server.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('ok', sa.Boolean(), nullable=True),
    sa.Column('runs', sa.Integer(), nullable=False),
    sa.Column('result', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('job_id', 'runner', name=op.f('pk_job_status'))
    )
    op.create_table('duties',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=48), nullable=False),
    sa.Column('subject', sa.String(length=32), nullable=False),
    sa.Column('class_id', sa.Integer(), nullable=False),
    sa.Column('enrollment_id', sa.Integer(), nullable=True),
    sa.Column('region_code', sa.String(length=16), nullable=False),
    sa.Column('anchor', sa.String(length=32), nullable=False),
    sa.Column('anchor_date', sa.Date(), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('clause', sa.String(length=32), nullable=False),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.Column('provisional', sa.Boolean(), nullable=False),
    sa.Column('created_at', server.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', server.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('done_at', server.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('done_by_id', sa.Integer(), nullable=True),
    sa.Column('done_note', sa.String(length=256), nullable=True),
    sa.ForeignKeyConstraint(['class_id'], ['training_classes.id'], name=op.f('fk_duties_class_id_training_classes')),
    sa.ForeignKeyConstraint(['done_by_id'], ['users.id'], name=op.f('fk_duties_done_by_id_users')),
    sa.ForeignKeyConstraint(['enrollment_id'], ['enrollments.id'], name=op.f('fk_duties_enrollment_id_enrollments')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_duties')),
    sa.UniqueConstraint('code', 'subject', name=op.f('uq_duties_code_subject'))
    )
    with op.batch_alter_table('duties', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_duties_class_id'), ['class_id'], unique=False)
        batch_op.create_index('ix_duties_due_on', ['due_on'], unique=False)

    op.create_table('duty_reminders',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('duty_id', sa.Integer(), nullable=False),
    sa.Column('stage', sa.String(length=8), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('at', server.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('message', sa.Text(), nullable=False),
    sa.CheckConstraint("stage IN ('ahead', 'due', 'overdue')", name=op.f('ck_duty_reminders_stage_known')),
    sa.ForeignKeyConstraint(['duty_id'], ['duties.id'], name=op.f('fk_duty_reminders_duty_id_duties')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_duty_reminders')),
    sa.UniqueConstraint('duty_id', 'stage', name=op.f('uq_duty_reminders_duty_id_stage'))
    )
    with op.batch_alter_table('duty_reminders', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_duty_reminders_duty_id'), ['duty_id'], unique=False)

    op.create_table('absences',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('lesson_id', sa.Integer(), nullable=False),
    sa.Column('class_id', sa.Integer(), nullable=False),
    sa.Column('enrollment_id', sa.Integer(), nullable=False),
    sa.Column('trainee_id', sa.Integer(), nullable=False),
    sa.Column('recorded_at', server.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('reasons', sa.JSON(), nullable=False),
    sa.Column('evidence', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['class_id'], ['training_classes.id'], name=op.f('fk_absences_class_id_training_classes')),
    sa.ForeignKeyConstraint(['enrollment_id'], ['enrollments.id'], name=op.f('fk_absences_enrollment_id_enrollments')),
    sa.ForeignKeyConstraint(['lesson_id'], ['lessons.id'], name=op.f('fk_absences_lesson_id_lessons')),
    sa.ForeignKeyConstraint(['trainee_id'], ['trainees.id'], name=op.f('fk_absences_trainee_id_trainees')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_absences')),
    sa.UniqueConstraint('lesson_id', 'trainee_id', name=op.f('uq_absences_lesson_id_trainee_id'))
    )
    with op.batch_alter_table('absences', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_absences_class_id'), ['class_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_absences_enrollment_id'), ['enrollment_id'], unique=False)

    op.create_table('lesson_transitions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('lesson_id', sa.Integer(), nullable=False),
    sa.Column('class_id', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=10), nullable=False),
    sa.Column('effective_at', server.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('recorded_at', server.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("state IN ('opened', 'closed', 'roll_taken')", name=op.f('ck_lesson_transitions_state_known')),
    sa.ForeignKeyConstraint(['class_id'], ['training_classes.id'], name=op.f('fk_lesson_transitions_class_id_training_classes')),
    sa.ForeignKeyConstraint(['lesson_id'], ['lessons.id'], name=op.f('fk_lesson_transitions_lesson_id_lessons')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lesson_transitions')),
    sa.UniqueConstraint('lesson_id', 'state', name=op.f('uq_lesson_transitions_lesson_id_state'))
    )
    with op.batch_alter_table('lesson_transitions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_lesson_transitions_class_id'), ['class_id'], unique=False)

    for table in APPEND_ONLY:
        make_append_only(table)


def downgrade() -> None:
    for table in APPEND_ONLY:
        drop_append_only(table)
    with op.batch_alter_table('lesson_transitions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_lesson_transitions_class_id'))

    op.drop_table('lesson_transitions')
    with op.batch_alter_table('absences', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_absences_enrollment_id'))
        batch_op.drop_index(batch_op.f('ix_absences_class_id'))

    op.drop_table('absences')
    with op.batch_alter_table('duty_reminders', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_duty_reminders_duty_id'))

    op.drop_table('duty_reminders')
    with op.batch_alter_table('duties', schema=None) as batch_op:
        batch_op.drop_index('ix_duties_due_on')
        batch_op.drop_index(batch_op.f('ix_duties_class_id'))

    op.drop_table('duties')
    op.drop_table('job_status')
