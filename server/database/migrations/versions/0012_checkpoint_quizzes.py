"""checkpoint quizzes on recorded online lessons: quizzes, attempts, the class setting

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 18:40:00.000000
"""
from alembic import op
import sqlalchemy as sa
import server.models.base
from server.database.triggers import drop_append_only, make_append_only

#: A quiz is part of what a lesson credited; an attempt is evidence of what was answered.
APPEND_ONLY = ("lesson_quizzes", "quiz_attempts")


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('lesson_quizzes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('lesson_id', sa.Integer(), nullable=False),
    sa.Column('media_id', sa.Integer(), nullable=False),
    sa.Column('checkpoints', sa.JSON(), nullable=False),
    sa.Column('added_by_id', sa.Integer(), nullable=True),
    sa.Column('added_at', server.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['added_by_id'], ['users.id'], name=op.f('fk_lesson_quizzes_added_by_id_users')),
    sa.ForeignKeyConstraint(['lesson_id'], ['lessons.id'], name=op.f('fk_lesson_quizzes_lesson_id_lessons')),
    sa.ForeignKeyConstraint(['media_id'], ['lesson_media.id'], name=op.f('fk_lesson_quizzes_media_id_lesson_media')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lesson_quizzes'))
    )
    with op.batch_alter_table('lesson_quizzes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_lesson_quizzes_lesson_id'), ['lesson_id'], unique=False)

    op.create_table('quiz_attempts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('quiz_id', sa.Integer(), nullable=False),
    sa.Column('lesson_id', sa.Integer(), nullable=False),
    sa.Column('trainee_id', sa.Integer(), nullable=False),
    sa.Column('checkpoint', sa.Integer(), nullable=False),
    sa.Column('answers', sa.JSON(), nullable=False),
    sa.Column('correct', sa.Integer(), nullable=False),
    sa.Column('total', sa.Integer(), nullable=False),
    sa.Column('passed', sa.Boolean(), nullable=False),
    sa.Column('idempotency_key', sa.String(length=64), nullable=False),
    sa.Column('at', server.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['lesson_id'], ['lessons.id'], name=op.f('fk_quiz_attempts_lesson_id_lessons')),
    sa.ForeignKeyConstraint(['quiz_id'], ['lesson_quizzes.id'], name=op.f('fk_quiz_attempts_quiz_id_lesson_quizzes')),
    sa.ForeignKeyConstraint(['trainee_id'], ['trainees.id'], name=op.f('fk_quiz_attempts_trainee_id_trainees')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_quiz_attempts')),
    sa.UniqueConstraint('trainee_id', 'idempotency_key', name=op.f('uq_quiz_attempts_trainee_id_idempotency_key'))
    )
    with op.batch_alter_table('quiz_attempts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_quiz_attempts_lesson_id'), ['lesson_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_quiz_attempts_quiz_id'), ['quiz_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_quiz_attempts_trainee_id'), ['trainee_id'], unique=False)

    for table in APPEND_ONLY:
        make_append_only(table)

    op.add_column('training_classes', sa.Column('checkpoint_quizzes', sa.Boolean(), server_default=sa.false(),
                                                nullable=False))


def downgrade() -> None:
    op.drop_column('training_classes', 'checkpoint_quizzes')
    for table in APPEND_ONLY:
        drop_append_only(table)
    with op.batch_alter_table('quiz_attempts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_quiz_attempts_trainee_id'))
        batch_op.drop_index(batch_op.f('ix_quiz_attempts_quiz_id'))
        batch_op.drop_index(batch_op.f('ix_quiz_attempts_lesson_id'))
    op.drop_table('quiz_attempts')
    with op.batch_alter_table('lesson_quizzes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_lesson_quizzes_lesson_id'))
    op.drop_table('lesson_quizzes')
