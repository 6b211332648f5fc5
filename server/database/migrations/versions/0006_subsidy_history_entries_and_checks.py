"""subsidy history: entries recorded from outside (declaration, 人社 system) and checks of it

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-24 11:18:55.032858
"""
from alembic import op
import sqlalchemy as sa
import server.models.base
from server.database.triggers import drop_append_only, make_append_only

#: What the subsidy decisions rest on: a wrong entry is withdrawn by a new row, never edited away.
APPEND_ONLY = ("subsidy_history_entries", "subsidy_history_checks")


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('subsidy_history_checks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('trainee_id', sa.Integer(), nullable=False),
    sa.Column('checked_on', sa.Date(), nullable=False),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('note', sa.String(length=512), nullable=True),
    sa.Column('recorded_by_id', sa.Integer(), nullable=True),
    sa.Column('recorded_by_name', sa.String(length=64), nullable=False),
    sa.Column('recorded_at', server.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("source IN ('declaration', 'hrss', 'other')", name=op.f('ck_subsidy_history_checks_source_known')),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['users.id'], name=op.f('fk_subsidy_history_checks_recorded_by_id_users')),
    sa.ForeignKeyConstraint(['trainee_id'], ['trainees.id'], name=op.f('fk_subsidy_history_checks_trainee_id_trainees')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_subsidy_history_checks'))
    )
    with op.batch_alter_table('subsidy_history_checks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_subsidy_history_checks_trainee_id'), ['trainee_id'], unique=False)

    op.create_table('subsidy_history_entries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('trainee_id', sa.Integer(), nullable=False),
    sa.Column('occupation_code', sa.String(length=16), nullable=False),
    sa.Column('level', sa.Enum('junior', 'mid', 'senior', name='level', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('training_start', sa.Date(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('region_code', sa.String(length=16), nullable=True),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('note', sa.String(length=512), nullable=True),
    sa.Column('retracts_id', sa.Integer(), nullable=True),
    sa.Column('recorded_by_id', sa.Integer(), nullable=True),
    sa.Column('recorded_by_name', sa.String(length=64), nullable=False),
    sa.Column('recorded_at', server.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("kind IN ('training', 'evaluation')", name=op.f('ck_subsidy_history_entries_kind_known')),
    sa.CheckConstraint("source IN ('declaration', 'hrss', 'other')", name=op.f('ck_subsidy_history_entries_source_known')),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['users.id'], name=op.f('fk_subsidy_history_entries_recorded_by_id_users')),
    sa.ForeignKeyConstraint(['retracts_id'], ['subsidy_history_entries.id'], name=op.f('fk_subsidy_history_entries_retracts_id_subsidy_history_entries')),
    sa.ForeignKeyConstraint(['trainee_id'], ['trainees.id'], name=op.f('fk_subsidy_history_entries_trainee_id_trainees')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_subsidy_history_entries')),
    sa.UniqueConstraint('retracts_id', name=op.f('uq_subsidy_history_entries_retracts_id'))
    )
    with op.batch_alter_table('subsidy_history_entries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_subsidy_history_entries_trainee_id'), ['trainee_id'], unique=False)

    for table in APPEND_ONLY:
        make_append_only(table)


def downgrade() -> None:
    for table in APPEND_ONLY:
        drop_append_only(table)
    with op.batch_alter_table('subsidy_history_entries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_subsidy_history_entries_trainee_id'))

    op.drop_table('subsidy_history_entries')
    with op.batch_alter_table('subsidy_history_checks', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_subsidy_history_checks_trainee_id'))

    op.drop_table('subsidy_history_checks')
