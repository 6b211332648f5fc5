"""The data model on a real database: runs once on SQLite and once on PostgreSQL."""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from server.models import (
    City,
    Datum,
    District,
    Enrollment,
    FenceKind,
    Institution,
    Lesson,
    LessonContent,
    LessonMode,
    Level,
    Region,
    Role,
    Sex,
    Trainee,
    TrainingClass,
    User,
    Venue,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
VALID_USCC = "91500112MA5U7XK8QL"


@pytest.fixture
def world(session):
    """A region, city, district and institution to hang things on."""
    region = Region(code="cq", name="重庆市")
    city = City(region=region, adcode="500000", name="重庆市")
    district = District(city=city, adcode="500112", name="渝北区")
    session.add_all([region, city, district])
    session.flush()
    inst = Institution(
        name="测试培训学校", uscc=VALID_USCC, legal_representative="张三", address="渝北区",
        region_code="cq", district_id=district.id,
    )
    session.add(inst)
    session.flush()
    return {"region": region, "city": city, "district": district, "institution": inst}


def _class(world, **kw) -> TrainingClass:
    fields = dict(
        institution_id=world["institution"].id, region_code="cq", district_id=world["district"].id,
        name="云计算中级", occupation_code="2-02-38-04", level=Level.mid,
        starts_on=date(2026, 3, 1), ends_on=date(2026, 4, 30),
    )
    fields.update(kw)
    return TrainingClass(**fields)


def test_migrations_create_exactly_the_schema_the_models_describe(session):
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from server.models import Base

    ctx = MigrationContext.configure(session.connection(), opts={"compare_type": True})
    assert compare_metadata(ctx, Base.metadata) == []


def test_a_time_given_in_shanghai_comes_back_as_the_same_instant_in_utc(session, world):
    cls = _class(world)
    session.add(cls)
    session.flush()
    venue = Venue(institution_id=world["institution"].id, name="v", address="a", datum=Datum.gcj02,
                  fence_kind=FenceKind.circle, centre_lat=29.6, centre_lon=106.5, radius_m=100, max_accuracy_m=50)
    session.add(venue)
    session.flush()
    starts = datetime(2026, 3, 2, 9, 0, tzinfo=SHANGHAI)
    lesson = Lesson(class_id=cls.id, starts_at=starts, ends_at=starts + timedelta(hours=4), mode=LessonMode.offline,
                    content=LessonContent.practice, venue_id=venue.id)
    session.add(lesson)
    session.commit()
    session.rollback()  # end the read snapshot, see what requests wrote
    session.expire_all()
    loaded = session.get(Lesson, lesson.id)
    assert loaded.starts_at == starts
    assert loaded.starts_at.tzinfo is not None and loaded.starts_at.utcoffset() == timedelta(0)
    assert loaded.starts_at.hour == 1  # 09:00 in Shanghai is 01:00 UTC


def test_a_naive_datetime_is_refused_rather_than_guessed(session, world):
    cls = _class(world, filed_at=datetime(2026, 3, 1, 9, 0))
    session.add(cls)
    with pytest.raises(Exception, match="timezone-aware"):
        session.flush()


def test_money_round_trips_as_an_exact_decimal(session, world):
    cls = _class(world, fee=Decimal("6688.05"))
    session.add(cls)
    session.commit()
    session.rollback()  # end the read snapshot, see what requests wrote
    session.expire_all()
    assert session.get(TrainingClass, cls.id).fee == Decimal("6688.05")


def test_money_given_as_a_float_is_refused(session, world):
    session.add(_class(world, fee=6688.05))
    with pytest.raises(Exception, match="Decimal"):
        session.flush()


def test_a_trainee_gets_birth_date_and_sex_from_the_resident_id(session):
    t = Trainee(resident_id="500112199807050827", name="李四", phone="13800000004")
    session.add(t)
    session.commit()
    session.rollback()  # end the read snapshot, see what requests wrote
    session.expire_all()
    t = session.get(Trainee, t.id)
    assert t.birth_date == date(1998, 7, 5)
    assert t.sex is Sex.female  # 17th digit 2 is even


def test_a_resident_id_with_a_wrong_check_digit_is_refused(session):
    with pytest.raises(ValueError):
        Trainee(resident_id="500112199807050828", name="李四")


def test_an_institution_with_a_wrong_credit_code_check_character_is_refused(world):
    with pytest.raises(ValueError):
        Institution(name="x", uscc="91500112MA5U7XK8QA", legal_representative="x", address="x",
                    region_code="cq", district_id=world["district"].id)


@pytest.mark.parametrize(
    "field, value",
    [
        ("radius_m", 0),
        ("radius_m", -5),
        ("centre_lat", float("nan")),
        ("centre_lat", 91),
        ("centre_lon", -181),
        ("polygon", [[29.6, 106.5], [29.7, 106.6]]),
        ("max_accuracy_m", 0),
    ],
)
def test_a_venue_with_an_impossible_geofence_is_refused(field, value):
    with pytest.raises(ValueError):
        Venue(**{field: value})


def test_the_database_refuses_a_circle_fence_without_a_radius_even_past_the_orm(session, world):
    with pytest.raises(IntegrityError):
        session.execute(
            insert(Venue).values(institution_id=world["institution"].id, name="v", address="a", datum="wgs84",
                                 fence_kind="circle", centre_lat=29.6, centre_lon=106.5, radius_m=None, max_accuracy_m=50)
        )


def test_the_database_refuses_a_lesson_that_ends_before_it_starts(session, world):
    cls = _class(world)
    session.add(cls)
    session.flush()
    t = datetime(2026, 3, 2, 9, tzinfo=UTC)
    session.add(Lesson(class_id=cls.id, starts_at=t, ends_at=t - timedelta(minutes=1), mode=LessonMode.online,
                       content=LessonContent.theory))
    with pytest.raises(IntegrityError):
        session.flush()


def test_the_database_refuses_an_offline_lesson_without_a_venue(session, world):
    cls = _class(world)
    session.add(cls)
    session.flush()
    t = datetime(2026, 3, 2, 9, tzinfo=UTC)
    session.add(Lesson(class_id=cls.id, starts_at=t, ends_at=t + timedelta(hours=1), mode=LessonMode.offline,
                       content=LessonContent.practice, venue_id=None))
    with pytest.raises(IntegrityError):
        session.flush()


def test_a_trainee_cannot_be_enrolled_twice_in_one_class(session, world):
    cls = _class(world)
    t = Trainee(resident_id="500112199503120419", name="王五")
    session.add_all([cls, t])
    session.flush()
    session.add(Enrollment(class_id=cls.id, trainee_id=t.id))
    session.flush()
    session.add(Enrollment(class_id=cls.id, trainee_id=t.id))
    with pytest.raises(IntegrityError):
        session.flush()


@pytest.mark.parametrize("role", [Role.district_supervisor, Role.city_reviewer, Role.institution_admin, Role.trainee, Role.teacher])
def test_a_scoped_role_without_its_scope_is_refused_by_the_database(session, role):
    session.add(User(username=f"u-{role.value}", display_name="x", role=role))
    with pytest.raises(IntegrityError):
        session.flush()


def test_an_unknown_enum_value_is_refused_by_the_database(session, world):
    from sqlalchemy import text

    cls = _class(world)
    session.add(cls)
    session.flush()
    # Raw SQL: past the ORM's own enum validation, the CHECK constraint must still hold.
    with pytest.raises(IntegrityError):
        session.execute(
            text("INSERT INTO lessons (class_id, starts_at, ends_at, mode, content) "
                 "VALUES (:c, '2026-03-02 09:00:00', '2026-03-02 10:00:00', 'hybrid', 'theory')"),
            {"c": cls.id},
        )


def test_the_demo_seed_is_idempotent_and_has_a_lesson_happening_now(session):
    from server.services import demo

    now = datetime.now(UTC)
    first = demo.seed(session, now)
    session.commit()
    second = demo.seed(session, now)
    session.commit()
    assert first == second
    assert session.scalars(select(Institution)).all().__len__() == 1
    roles = {u.role for u in session.scalars(select(User))}
    assert roles == set(Role)
    live = session.scalars(select(Lesson).where(Lesson.starts_at <= now, Lesson.ends_at > now)).all()
    assert [lesson.mode for lesson in live] == [LessonMode.offline]
