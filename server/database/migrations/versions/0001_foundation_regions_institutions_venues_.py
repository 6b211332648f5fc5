"""foundation: regions, institutions, venues, classes, lessons, trainees, enrollments, certificates, users

Revision ID: 0001
Revises: 
Create Date: 2026-11-24 05:39:38.332701
"""
from alembic import op
import sqlalchemy as sa
import server.models.base


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    
    op.create_table('regions',
    sa.Column('code', sa.String(length=16), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_regions'))
    )
    op.create_table('trainees',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('resident_id', sa.String(length=18), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('phone', sa.String(length=11), nullable=True),
    sa.Column('birth_date', sa.Date(), nullable=False),
    sa.Column('sex', sa.Enum('male', 'female', name='sex', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('created_at', server.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_trainees')),
    sa.UniqueConstraint('resident_id', name=op.f('uq_trainees_resident_id'))
    )
    op.create_table('cities',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('region_code', sa.String(length=16), nullable=False),
    sa.Column('adcode', sa.String(length=6), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['region_code'], ['regions.code'], name=op.f('fk_cities_region_code_regions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_cities')),
    sa.UniqueConstraint('adcode', name=op.f('uq_cities_adcode'))
    )
    with op.batch_alter_table('cities', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_cities_region_code'), ['region_code'], unique=False)

    op.create_table('districts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('city_id', sa.Integer(), nullable=False),
    sa.Column('adcode', sa.String(length=6), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['city_id'], ['cities.id'], name=op.f('fk_districts_city_id_cities')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_districts')),
    sa.UniqueConstraint('adcode', name=op.f('uq_districts_adcode'))
    )
    with op.batch_alter_table('districts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_districts_city_id'), ['city_id'], unique=False)

    op.create_table('institutions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=128), nullable=False),
    sa.Column('uscc', sa.String(length=18), nullable=False),
    sa.Column('legal_representative', sa.String(length=64), nullable=False),
    sa.Column('address', sa.String(length=256), nullable=False),
    sa.Column('region_code', sa.String(length=16), nullable=False),
    sa.Column('district_id', sa.Integer(), nullable=False),
    sa.Column('listed_for', sa.JSON(), nullable=False),
    sa.Column('listed_on', sa.Date(), nullable=True),
    sa.Column('created_at', server.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['district_id'], ['districts.id'], name=op.f('fk_institutions_district_id_districts')),
    sa.ForeignKeyConstraint(['region_code'], ['regions.code'], name=op.f('fk_institutions_region_code_regions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_institutions')),
    sa.UniqueConstraint('uscc', name=op.f('uq_institutions_uscc'))
    )
    with op.batch_alter_table('institutions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_institutions_district_id'), ['district_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_institutions_region_code'), ['region_code'], unique=False)

    op.create_table('teachers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('institution_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('employer', sa.String(length=128), nullable=True),
    sa.Column('title', sa.String(length=64), nullable=True),
    sa.Column('full_time', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['institution_id'], ['institutions.id'], name=op.f('fk_teachers_institution_id_institutions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_teachers'))
    )
    with op.batch_alter_table('teachers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_teachers_institution_id'), ['institution_id'], unique=False)

    op.create_table('training_classes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('institution_id', sa.Integer(), nullable=False),
    sa.Column('region_code', sa.String(length=16), nullable=False),
    sa.Column('district_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=128), nullable=False),
    sa.Column('occupation_code', sa.String(length=16), nullable=False),
    sa.Column('direction', sa.String(length=64), nullable=False),
    sa.Column('level', sa.Enum('junior', 'mid', 'senior', name='level', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('starts_on', sa.Date(), nullable=False),
    sa.Column('ends_on', sa.Date(), nullable=False),
    sa.Column('funding', sa.Enum('subsidised', 'self_paid', name='funding', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('fee', server.models.base.Money(length=24), nullable=True),
    sa.Column('status', sa.Enum('draft', 'filed', name='class_status', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('filed_at', server.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', server.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('ends_on >= starts_on', name=op.f('ck_training_classes_dates_ordered')),
    sa.ForeignKeyConstraint(['district_id'], ['districts.id'], name=op.f('fk_training_classes_district_id_districts')),
    sa.ForeignKeyConstraint(['institution_id'], ['institutions.id'], name=op.f('fk_training_classes_institution_id_institutions')),
    sa.ForeignKeyConstraint(['region_code'], ['regions.code'], name=op.f('fk_training_classes_region_code_regions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_training_classes'))
    )
    with op.batch_alter_table('training_classes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_training_classes_district_id'), ['district_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_training_classes_institution_id'), ['institution_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_training_classes_region_code'), ['region_code'], unique=False)

    op.create_table('venues',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('institution_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=128), nullable=False),
    sa.Column('address', sa.String(length=256), nullable=False),
    sa.Column('area_m2', sa.Integer(), nullable=True),
    sa.Column('capacity', sa.Integer(), nullable=True),
    sa.Column('datum', sa.Enum('wgs84', 'gcj02', 'bd09', name='datum', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('fence_kind', sa.Enum('circle', 'polygon', name='fence_kind', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('centre_lat', sa.Float(), nullable=True),
    sa.Column('centre_lon', sa.Float(), nullable=True),
    sa.Column('radius_m', sa.Float(), nullable=True),
    sa.Column('polygon', sa.JSON(), nullable=True),
    sa.Column('max_accuracy_m', sa.Float(), nullable=False),
    sa.CheckConstraint("(fence_kind = 'circle' AND radius_m IS NOT NULL AND radius_m > 0 AND centre_lat IS NOT NULL AND centre_lon IS NOT NULL) OR (fence_kind = 'polygon' AND polygon IS NOT NULL)", name=op.f('ck_venues_fence_complete')),
    sa.CheckConstraint('max_accuracy_m > 0', name=op.f('ck_venues_accuracy_positive')),
    sa.ForeignKeyConstraint(['institution_id'], ['institutions.id'], name=op.f('fk_venues_institution_id_institutions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_venues'))
    )
    with op.batch_alter_table('venues', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_venues_institution_id'), ['institution_id'], unique=False)

    op.create_table('enrollments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('class_id', sa.Integer(), nullable=False),
    sa.Column('trainee_id', sa.Integer(), nullable=False),
    sa.Column('subsidy_category', sa.String(length=48), nullable=True),
    sa.Column('employment_at_start', sa.Enum('employed', 'not_employed', 'unknown', name='employment_at_start', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('employment_after', sa.Enum('employed', 'unemployed', 'unknown', name='employment_after', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('enrolled_at', server.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['class_id'], ['training_classes.id'], name=op.f('fk_enrollments_class_id_training_classes')),
    sa.ForeignKeyConstraint(['trainee_id'], ['trainees.id'], name=op.f('fk_enrollments_trainee_id_trainees')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_enrollments')),
    sa.UniqueConstraint('class_id', 'trainee_id', name=op.f('uq_enrollments_class_id_trainee_id'))
    )
    with op.batch_alter_table('enrollments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_enrollments_class_id'), ['class_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_enrollments_trainee_id'), ['trainee_id'], unique=False)

    op.create_table('lessons',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('class_id', sa.Integer(), nullable=False),
    sa.Column('starts_at', server.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('ends_at', server.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('mode', sa.Enum('offline', 'online', name='lesson_mode', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('content', sa.Enum('theory', 'practice', name='lesson_content', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('venue_id', sa.Integer(), nullable=True),
    sa.Column('teacher_id', sa.Integer(), nullable=True),
    sa.Column('title', sa.String(length=128), nullable=True),
    sa.CheckConstraint("mode = 'online' OR venue_id IS NOT NULL", name=op.f('ck_lessons_offline_has_venue')),
    sa.CheckConstraint('ends_at > starts_at', name=op.f('ck_lessons_times_ordered')),
    sa.ForeignKeyConstraint(['class_id'], ['training_classes.id'], name=op.f('fk_lessons_class_id_training_classes')),
    sa.ForeignKeyConstraint(['teacher_id'], ['teachers.id'], name=op.f('fk_lessons_teacher_id_teachers')),
    sa.ForeignKeyConstraint(['venue_id'], ['venues.id'], name=op.f('fk_lessons_venue_id_venues')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lessons'))
    )
    with op.batch_alter_table('lessons', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_lessons_class_id'), ['class_id'], unique=False)

    op.create_table('users',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('display_name', sa.String(length=64), nullable=False),
    sa.Column('password_hash', sa.String(length=256), nullable=True),
    sa.Column('role', sa.Enum('trainee', 'teacher', 'institution_admin', 'district_supervisor', 'city_reviewer', 'admin', name='role', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('institution_id', sa.Integer(), nullable=True),
    sa.Column('district_id', sa.Integer(), nullable=True),
    sa.Column('city_id', sa.Integer(), nullable=True),
    sa.Column('trainee_id', sa.Integer(), nullable=True),
    sa.Column('teacher_id', sa.Integer(), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('failed_logins', sa.Integer(), nullable=False),
    sa.Column('locked_until', server.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', server.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("role != 'city_reviewer' OR city_id IS NOT NULL", name=op.f('ck_users_city_scoped')),
    sa.CheckConstraint("role != 'district_supervisor' OR district_id IS NOT NULL", name=op.f('ck_users_district_scoped')),
    sa.CheckConstraint("role != 'trainee' OR trainee_id IS NOT NULL", name=op.f('ck_users_trainee_scoped')),
    sa.CheckConstraint("role NOT IN ('teacher', 'institution_admin') OR institution_id IS NOT NULL", name=op.f('ck_users_institution_scoped')),
    sa.ForeignKeyConstraint(['city_id'], ['cities.id'], name=op.f('fk_users_city_id_cities')),
    sa.ForeignKeyConstraint(['district_id'], ['districts.id'], name=op.f('fk_users_district_id_districts')),
    sa.ForeignKeyConstraint(['institution_id'], ['institutions.id'], name=op.f('fk_users_institution_id_institutions')),
    sa.ForeignKeyConstraint(['teacher_id'], ['teachers.id'], name=op.f('fk_users_teacher_id_teachers')),
    sa.ForeignKeyConstraint(['trainee_id'], ['trainees.id'], name=op.f('fk_users_trainee_id_trainees')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_users')),
    sa.UniqueConstraint('trainee_id', name=op.f('uq_users_trainee_id')),
    sa.UniqueConstraint('username', name=op.f('uq_users_username'))
    )
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_users_city_id'), ['city_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_users_district_id'), ['district_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_users_institution_id'), ['institution_id'], unique=False)

    op.create_table('certificates',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('trainee_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('occupation_code', sa.String(length=16), nullable=False),
    sa.Column('direction', sa.String(length=64), nullable=False),
    sa.Column('level', sa.Enum('junior', 'mid', 'senior', name='level', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('number', sa.String(length=64), nullable=False),
    sa.Column('issued_on', sa.Date(), nullable=False),
    sa.Column('issuer', sa.String(length=128), nullable=True),
    sa.Column('enrollment_id', sa.Integer(), nullable=True),
    sa.CheckConstraint("kind IN ('training', 'level')", name=op.f('ck_certificates_kind_known')),
    sa.ForeignKeyConstraint(['enrollment_id'], ['enrollments.id'], name=op.f('fk_certificates_enrollment_id_enrollments')),
    sa.ForeignKeyConstraint(['trainee_id'], ['trainees.id'], name=op.f('fk_certificates_trainee_id_trainees')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_certificates')),
    sa.UniqueConstraint('kind', 'number', name=op.f('uq_certificates_kind_number'))
    )
    with op.batch_alter_table('certificates', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_certificates_trainee_id'), ['trainee_id'], unique=False)

    


def downgrade() -> None:
    
    with op.batch_alter_table('certificates', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_certificates_trainee_id'))

    op.drop_table('certificates')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_users_institution_id'))
        batch_op.drop_index(batch_op.f('ix_users_district_id'))
        batch_op.drop_index(batch_op.f('ix_users_city_id'))

    op.drop_table('users')
    with op.batch_alter_table('lessons', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_lessons_class_id'))

    op.drop_table('lessons')
    with op.batch_alter_table('enrollments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_enrollments_trainee_id'))
        batch_op.drop_index(batch_op.f('ix_enrollments_class_id'))

    op.drop_table('enrollments')
    with op.batch_alter_table('venues', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_venues_institution_id'))

    op.drop_table('venues')
    with op.batch_alter_table('training_classes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_training_classes_region_code'))
        batch_op.drop_index(batch_op.f('ix_training_classes_institution_id'))
        batch_op.drop_index(batch_op.f('ix_training_classes_district_id'))

    op.drop_table('training_classes')
    with op.batch_alter_table('teachers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_teachers_institution_id'))

    op.drop_table('teachers')
    with op.batch_alter_table('institutions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_institutions_region_code'))
        batch_op.drop_index(batch_op.f('ix_institutions_district_id'))

    op.drop_table('institutions')
    with op.batch_alter_table('districts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_districts_city_id'))

    op.drop_table('districts')
    with op.batch_alter_table('cities', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_cities_region_code'))

    op.drop_table('cities')
    op.drop_table('trainees')
    op.drop_table('regions')
    
