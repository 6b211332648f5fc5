"""challenge prompt times: when each liveness step is shown, in ms from the start of the burst

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 07:10:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Nullable: a challenge issued before this revision has no prompt times, and a burst
    # against it fails (challenges live 90 s, so none is pending after a deploy).
    with op.batch_alter_table('challenges', schema=None) as batch_op:
        batch_op.add_column(sa.Column('prompts_ms', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('challenges', schema=None) as batch_op:
        batch_op.drop_column('prompts_ms')
