"""room codes: a class may require the code the teacher's screen shows with each offline check-in

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 13:20:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Off for the classes that exist: their trainees and teachers were never told of a code, and
    # turning it on in the middle of a course would refuse their next check-in.
    with op.batch_alter_table('training_classes', schema=None) as batch_op:
        batch_op.add_column(sa.Column('room_code', sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('training_classes', schema=None) as batch_op:
        batch_op.drop_column('room_code')
