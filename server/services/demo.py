"""Demo data: a Chongqing institution with a 云计算 mid-level class whose offline lesson is
happening now, an online lesson today, trainees and a user for every role, and a self-paid class
that ended recently (so a filing deadline shows among the duties). Idempotent: running it
twice changes nothing. Times are computed from `now`, so the demo is always "live"."""
from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.adapters.passwords import hash_password
from server.clock import at_local, local_date
from server.config import LocationSettings
from server.models import (
    City,
    ClassStatus,
    Datum,
    District,
    EmploymentAfter,
    EmploymentAtStart,
    Enrollment,
    FenceKind,
    Funding,
    Institution,
    Lesson,
    LessonContent,
    LessonMode,
    Level,
    Region,
    Role,
    Teacher,
    Trainee,
    TrainingClass,
    User,
    Venue,
)
from server.services import venue_fences

REGIONS = [("cq", "重庆市"), ("yn", "云南省"), ("js", "江苏省"), ("zj-jinhua", "浙江省（金华市）")]
DEMO_USCC = "91500112MA5U7XK8QL"

#: Trainees and the face photo each is enrolled with (../shared/faces) once faces are seeded.
TRAINEES = [
    ("林曼努", "500112199503120419", "13800000001", "images/face_recognition/ex_lin-manuel-miranda.png"),
    ("欧巴仁", "500112198506200719", "13800000002", "images/face_recognition/ex_obama.jpg"),
    ("白登科", "500108199001011234", "13800000003", "images/face_recognition/ex_biden.jpg"),
    ("罗斯林", "500112199807050827", "13800000004", None),
]


@dataclass(frozen=True)
class DemoLogin:
    role: str
    username: str
    password: str
    scope: str


def seed(session: Session, now: datetime) -> list[DemoLogin]:
    """Create the demo world unless it is there; return the log-ins either way."""
    logins = [
        DemoLogin("admin", "admin", "demo-admin-2026", "全部"),
        DemoLogin("city_reviewer", "cq-city", "demo-city-2026", "重庆市"),
        DemoLogin("district_supervisor", "yubei-supervisor", "demo-district-2026", "渝北区"),
        DemoLogin("district_supervisor", "nanan-supervisor", "demo-district-2026", "南岸区（看不到渝北的班）"),
        DemoLogin("institution_admin", "inst-admin", "demo-inst-2026", "渝北云智职业培训学校"),
        DemoLogin("teacher", "teacher-wang", "demo-teacher-2026", "渝北云智职业培训学校"),
        DemoLogin("trainee", "13800000001", "demo-trainee-2026", "林曼努（人脸：Lin-Manuel Miranda）"),
    ]
    if session.scalar(select(Institution).where(Institution.uscc == DEMO_USCC)) is not None:
        return logins

    for code, name in REGIONS:
        if session.get(Region, code) is None:
            session.add(Region(code=code, name=name))
    city = City(region_code="cq", adcode="500000", name="重庆市")
    yubei = District(city=city, adcode="500112", name="渝北区")
    nanan = District(city=city, adcode="500108", name="南岸区")
    session.add_all([city, yubei, nanan])
    session.flush()

    inst = Institution(
        name="渝北云智职业培训学校",
        uscc=DEMO_USCC,
        legal_representative="张建国",
        address="重庆市渝北区金开大道 88 号",
        region_code="cq",
        district_id=yubei.id,
        listed_for=[["2-02-38-04", "junior"], ["2-02-38-04", "mid"]],
        listed_on=date(2025, 11, 1),
    )
    venue = Venue(
        institution=inst,
        name="金开大道实训中心",
        address="重庆市渝北区金开大道 88 号 3 楼",
        area_m2=420,
        capacity=60,
        datum=Datum.gcj02,  # picked on AMap, as most Chinese venues are
        fence_kind=FenceKind.circle,
        centre_lat=29.6201,
        centre_lon=106.5350,
        # A 420 m² floor: the fence may reach 23 m (the floor as a disc of 4 x its area) + 50 m
        # for GPS error (policies.geofence.FenceLimits), so 70 m.
        radius_m=70.0,
        max_accuracy_m=50.0,
    )
    teacher = Teacher(institution=inst, name="王磊", employer="渝北云智职业培训学校", title="高级工程师", full_time=True)
    session.add_all([inst, venue, teacher])
    session.flush()
    # The district's approval of the fence, which filing a class at the venue needs (the rule
    # holds here too: an implausible fence would stop the seed).
    venue_fences.seed_approval(session, venue, "演示数据：围栏与场地面积相符（种子数据代区县人社审核）", now, LocationSettings())

    today = local_date(now)
    cls = TrainingClass(
        institution_id=inst.id,
        region_code="cq",
        district_id=yubei.id,
        name="云计算工程技术人员（中级）2026 第 1 期",
        occupation_code="2-02-38-04",
        direction="—",
        level=Level.mid,
        starts_on=today - timedelta(days=10),
        ends_on=today + timedelta(days=40),
        funding=Funding.subsidised,
        room_code=True,  # as every subsidised class made through the API: the teacher's page shows it
        fee=Decimal("6800.00"),
        status=ClassStatus.filed,
        filed_at=now - timedelta(days=20),
    )
    session.add(cls)
    session.flush()
    session.add_all(_lessons(cls, venue, teacher, now, today))
    # A self-paid class that ended 24 days ago: its report to 人社 is due within 30 days
    # (cq 3.2.1), so the scheduler's deadline duty shows on /manage as due in 6 days.
    session.add(TrainingClass(
        institution_id=inst.id, region_code="cq", district_id=yubei.id, name="云计算工程技术人员（初级）2026 自费班",
        occupation_code="2-02-38-04", direction="—", level=Level.junior, starts_on=today - timedelta(days=60),
        ends_on=today - timedelta(days=24), funding=Funding.self_paid, fee=Decimal("3200.00"), status=ClassStatus.filed,
        filed_at=now - timedelta(days=70),
    ))

    for name, rid, phone, _photo in TRAINEES:
        trainee = Trainee(resident_id=rid, name=name, phone=phone)
        session.add(trainee)
        session.flush()
        session.add(
            Enrollment(
                class_id=cls.id,
                trainee_id=trainee.id,
                subsidy_category="enterprise_employee",
                employment_at_start=EmploymentAtStart.employed,
                employment_after=EmploymentAfter.unknown,
            )
        )
    session.flush()
    first = session.scalars(select(Trainee).where(Trainee.phone == TRAINEES[0][2])).one()

    scopes = {
        "admin": {},
        "cq-city": {"city_id": city.id},
        "yubei-supervisor": {"district_id": yubei.id},
        "nanan-supervisor": {"district_id": nanan.id},
        "inst-admin": {"institution_id": inst.id},
        "teacher-wang": {"institution_id": inst.id, "teacher_id": teacher.id},
        "13800000001": {"trainee_id": first.id},
    }
    for login in logins:
        session.add(
            User(
                username=login.username,
                display_name=login.scope if login.role != "trainee" else first.name,
                password_hash=hash_password(login.password),
                role=Role(login.role),
                **scopes[login.username],
            )
        )
    session.flush()
    return logins


def _lessons(cls: TrainingClass, venue: Venue, teacher: Teacher, now: datetime, today: date) -> list[Lesson]:
    """30 lessons of 4 hours (= 160 学时 at 45 minutes, the 云计算 mid requirement): 28 on other
    days, every third online, plus today's offline lesson that started 30 minutes ago and an
    online lesson right after it (10 of 30 online: a third, under the 50% cap)."""
    lessons = []
    start_day = today - timedelta(days=5)
    for i in range(28):
        day = start_day + timedelta(days=i + (1 if start_day + timedelta(days=i) >= today else 0))
        online = i % 3 == 2
        starts = at_local(day, time(9, 0))
        lessons.append(
            Lesson(
                class_id=cls.id,
                starts_at=starts,
                ends_at=starts + timedelta(hours=4),
                mode=LessonMode.online if online else LessonMode.offline,
                content=LessonContent.theory if online else LessonContent.practice,
                venue_id=None if online else venue.id,
                teacher_id=teacher.id,
                title=f"第 {i + 1} 次课",
            )
        )
    # Today: the offline lesson in progress now, then an online lesson.
    now_start = now - timedelta(minutes=30)
    lessons.append(
        Lesson(class_id=cls.id, starts_at=now_start, ends_at=now_start + timedelta(hours=4),
               mode=LessonMode.offline, content=LessonContent.practice, venue_id=venue.id,
               teacher_id=teacher.id, title="今日线下实操（进行中）"),
    )
    online_start = now_start + timedelta(hours=4)
    lessons.append(
        Lesson(class_id=cls.id, starts_at=online_start, ends_at=online_start + timedelta(hours=4),
               mode=LessonMode.online, content=LessonContent.theory, venue_id=None,
               teacher_id=teacher.id, title="今日线上理论课"),
    )
    return lessons


def default_faces_dir() -> Path | None:
    """HOURPROOF_FACES_DIR when set (and only it: a folder named on purpose is not silently
    replaced by another), else ../shared/faces beside the checkout; None when it has no images."""
    env = os.environ.get("HOURPROOF_FACES_DIR")
    path = Path(env) if env else Path(__file__).resolve().parents[3] / "shared" / "faces"
    return path if (path / "images").is_dir() else None


def seed_faces(session: Session, faces_dir, recognizer, now: datetime) -> list[str]:
    """Consent (recorded as a paper form) and a face template for each demo trainee that has a
    photo, so the demo can check in right away. Idempotent. Returns what it did, for printing."""
    import recognition
    from server.models import Consent, FaceTemplate
    from server.services.consent import CONSENT_SHA256, CONSENT_VERSION

    done = []
    for name, rid, _phone, photo in TRAINEES:
        if photo is None:
            continue
        trainee = session.scalar(select(Trainee).where(Trainee.resident_id == rid))
        if trainee is None:
            continue
        if session.scalar(select(FaceTemplate.id).where(FaceTemplate.trainee_id == trainee.id)):
            done.append(f"{name}: face enrolled from {photo}")  # the same line as the first run
            continue
        path = faces_dir / photo
        if not path.exists():
            done.append(f"{name}: photo {photo} not found, no face enrolled")
            continue
        result = recognition.enroll([path.read_bytes()], recognizer)
        if not result.ok or result.template is None:
            done.append(f"{name}: enrollment refused ({', '.join(r.code for r in result.reasons)})")
            continue
        consent = Consent(trainee_id=trainee.id, purpose="biometric", granted=True, text_version=CONSENT_VERSION,
                          text_sha256=CONSENT_SHA256, channel="paper", at=now)
        session.add(consent)
        session.flush()
        session.add(FaceTemplate(trainee_id=trainee.id, template=result.template.to_bytes(), model=result.template.model_name,
                                 model_version=result.template.model_version, photo_hashes=[], consent_id=consent.id,
                                 reason="demo seed", created_at=now))
        done.append(f"{name}: face enrolled from {photo}")
    session.flush()
    return done
