"""exports: export jobs, seals, group photos, assessment results

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24 08:43:44.591912
"""
from alembic import op
import sqlalchemy as sa
import server.models.base
from server.database.triggers import drop_append_only, make_append_only

#: Evidence of what was filed: corrections are new rows (an amendment in the next export).
APPEND_ONLY = ("export_seals", "group_photos", "assessment_results")


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('assessment_results',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('enrollment_id', sa.Integer(), nullable=False),
    sa.Column('theory_score', sa.Integer(), nullable=False),
    sa.Column('practice_score', sa.Integer(), nullable=False),
    sa.Column('passed', sa.Boolean(), nullable=False),
    sa.Column('assessed_on', sa.Date(), nullable=False),
    sa.Column('recorded_by_id', sa.Integer(), nullable=True),
    sa.Column('recorded_at', server.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('theory_score BETWEEN 0 AND 100 AND practice_score BETWEEN 0 AND 100', name=op.f('ck_assessment_results_scores_in_range')),
    sa.ForeignKeyConstraint(['enrollment_id'], ['enrollments.id'], name=op.f('fk_assessment_results_enrollment_id_enrollments')),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['users.id'], name=op.f('fk_assessment_results_recorded_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_assessment_results'))
    )
    with op.batch_alter_table('assessment_results', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_assessment_results_enrollment_id'), ['enrollment_id'], unique=False)

    op.create_table('export_jobs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=24), nullable=False),
    sa.Column('class_id', sa.Integer(), nullable=True),
    sa.Column('district_id', sa.Integer(), nullable=True),
    sa.Column('requested_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', server.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('finished_at', server.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('status', sa.String(length=8), nullable=False),
    sa.Column('done', sa.Integer(), nullable=False),
    sa.Column('total', sa.Integer(), nullable=False),
    sa.Column('file_name', sa.String(length=128), nullable=True),
    sa.Column('sha256', sa.String(length=64), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.CheckConstraint("status IN ('queued', 'running', 'done', 'failed')", name=op.f('ck_export_jobs_status_known')),
    sa.CheckConstraint('class_id IS NOT NULL OR district_id IS NOT NULL', name=op.f('ck_export_jobs_has_subject')),
    sa.ForeignKeyConstraint(['class_id'], ['training_classes.id'], name=op.f('fk_export_jobs_class_id_training_classes')),
    sa.ForeignKeyConstraint(['district_id'], ['districts.id'], name=op.f('fk_export_jobs_district_id_districts')),
    sa.ForeignKeyConstraint(['requested_by_id'], ['users.id'], name=op.f('fk_export_jobs_requested_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_export_jobs'))
    )
    with op.batch_alter_table('export_jobs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_export_jobs_class_id'), ['class_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_export_jobs_district_id'), ['district_id'], unique=False)

    op.create_table('export_seals',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('class_id', sa.Integer(), nullable=False),
    sa.Column('sealed_at', server.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('sealed_by_id', sa.Integer(), nullable=True),
    sa.Column('sealed_by_name', sa.String(length=64), nullable=False),
    sa.Column('chain_seq', sa.Integer(), nullable=False),
    sa.Column('chain_hash', sa.String(length=64), nullable=False),
    sa.Column('figures', sa.JSON(), nullable=False),
    sa.Column('job_id', sa.Integer(), nullable=True),
    sa.Column('bundle_sha256', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['class_id'], ['training_classes.id'], name=op.f('fk_export_seals_class_id_training_classes')),
    sa.ForeignKeyConstraint(['job_id'], ['export_jobs.id'], name=op.f('fk_export_seals_job_id_export_jobs')),
    sa.ForeignKeyConstraint(['sealed_by_id'], ['users.id'], name=op.f('fk_export_seals_sealed_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_export_seals'))
    )
    with op.batch_alter_table('export_seals', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_export_seals_class_id'), ['class_id'], unique=False)

    op.create_table('group_photos',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('class_id', sa.Integer(), nullable=False),
    sa.Column('lesson_id', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('uploaded_by_id', sa.Integer(), nullable=True),
    sa.Column('uploaded_at', server.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('present', sa.JSON(), nullable=False),
    sa.Column('match', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['class_id'], ['training_classes.id'], name=op.f('fk_group_photos_class_id_training_classes')),
    sa.ForeignKeyConstraint(['lesson_id'], ['lessons.id'], name=op.f('fk_group_photos_lesson_id_lessons')),
    sa.ForeignKeyConstraint(['uploaded_by_id'], ['users.id'], name=op.f('fk_group_photos_uploaded_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_group_photos'))
    )
    with op.batch_alter_table('group_photos', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_group_photos_class_id'), ['class_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_group_photos_lesson_id'), ['lesson_id'], unique=False)


    for table in APPEND_ONLY:
        make_append_only(table)


def downgrade() -> None:
    for table in APPEND_ONLY:
        drop_append_only(table)
    with op.batch_alter_table('group_photos', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_group_photos_lesson_id'))
        batch_op.drop_index(batch_op.f('ix_group_photos_class_id'))

    op.drop_table('group_photos')
    with op.batch_alter_table('export_seals', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_export_seals_class_id'))

    op.drop_table('export_seals')
    with op.batch_alter_table('export_jobs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_export_jobs_district_id'))
        batch_op.drop_index(batch_op.f('ix_export_jobs_class_id'))

    op.drop_table('export_jobs')
    with op.batch_alter_table('assessment_results', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_assessment_results_enrollment_id'))

    op.drop_table('assessment_results')
