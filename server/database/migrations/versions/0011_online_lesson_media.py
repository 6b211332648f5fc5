"""online lesson media; heartbeats carry the player state

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 15:31:43.162012
"""
from alembic import op
import sqlalchemy as sa
import server.models.base
from server.database.triggers import drop_append_only, make_append_only

#: A lesson's video is part of the record of what was credited: a replaced video is a new row.
APPEND_ONLY = ("lesson_media",)


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('lesson_media',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('lesson_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=True),
    sa.Column('url', sa.String(length=1024), nullable=True),
    sa.Column('content_type', sa.String(length=64), nullable=False),
    sa.Column('size_bytes', sa.BigInteger(), nullable=True),
    sa.Column('duration_s', sa.Float(), nullable=True),
    sa.Column('filename', sa.String(length=256), nullable=True),
    sa.Column('added_by_id', sa.Integer(), nullable=True),
    sa.Column('added_at', server.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("kind = 'live' OR duration_s > 0", name=op.f('ck_lesson_media_recorded_has_duration')),
    sa.CheckConstraint("kind IN ('recorded', 'live')", name=op.f('ck_lesson_media_media_kind')),
    sa.CheckConstraint('(sha256 IS NULL) <> (url IS NULL)', name=op.f('ck_lesson_media_file_or_link')),
    sa.ForeignKeyConstraint(['added_by_id'], ['users.id'], name=op.f('fk_lesson_media_added_by_id_users')),
    sa.ForeignKeyConstraint(['lesson_id'], ['lessons.id'], name=op.f('fk_lesson_media_lesson_id_lessons')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lesson_media'))
    )
    with op.batch_alter_table('lesson_media', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_lesson_media_lesson_id'), ['lesson_id'], unique=False)

    for table in APPEND_ONLY:
        make_append_only(table)

    # Plain ADD COLUMN, not a batch: heartbeats is append-only, and a batch that rebuilt the table
    # on SQLite would lose its triggers. Existing heartbeats carry no player state (NULL).
    op.add_column('heartbeats', sa.Column('position_s', sa.Float(), nullable=True))
    op.add_column('heartbeats', sa.Column('playback', sa.String(length=16), nullable=True))
    op.add_column('heartbeats', sa.Column('rate', sa.Float(), nullable=True))
    op.add_column('heartbeats', sa.Column('live_lag_s', sa.Float(), nullable=True))


def downgrade() -> None:
    # SQLite 3.35+ drops a column in place (no table rebuild), so the triggers stay.
    for column in ('live_lag_s', 'rate', 'playback', 'position_s'):
        op.drop_column('heartbeats', column)
    for table in APPEND_ONLY:
        drop_append_only(table)
    with op.batch_alter_table('lesson_media', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_lesson_media_lesson_id'))
    op.drop_table('lesson_media')
