"""Two separate worlds (two districts, each with an institution, class, venue, trainee and a user
of every role), built through the services, so API tests can check scoping from the outside."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

PASSWORD = "correct-horse-9"
USCC = {"yubei": "91500112MA5U7XK8QL", "nanan": "52500108MJP1234567"}
RESIDENT = {"yubei": "500112199503120419", "nanan": "500108199211110329"}


@dataclass
class World:
    name: str
    district_id: int
    city_id: int
    institution_id: int
    venue_id: int
    teacher_id: int
    class_id: int
    lesson_id: int
    trainee_id: int
    trainee_user_id: int
    enrollment_id: int = 0
    event_id: int = 0
    duty_id: int = 0
    export_job_id: int = 0
    history_entry_id: int = 0


@pytest.fixture
def worlds(app, session):
    from server.adapters.passwords import hash_password
    from server.models import (
        City,
        ClassStatus,
        District,
        Enrollment,
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

    pw = hash_password(PASSWORD)
    session.add(Region(code="cq", name="重庆市"))
    city = City(region_code="cq", adcode="500000", name="重庆市")
    session.add(city)
    session.flush()
    out = {}
    for i, (name, adcode) in enumerate([("yubei", "500112"), ("nanan", "500108")]):
        d = District(city_id=city.id, adcode=adcode, name=name)
        session.add(d)
        session.flush()
        inst = Institution(name=f"{name} school", uscc=USCC[name], legal_representative="x", address="x",
                           region_code="cq", district_id=d.id)
        session.add(inst)
        session.flush()
        venue = Venue(institution_id=inst.id, name=f"{name} venue", address="x", datum="gcj02", fence_kind="circle",
                      centre_lat=29.6 + i, centre_lon=106.5, radius_m=100, max_accuracy_m=50)
        teacher = Teacher(institution_id=inst.id, name=f"{name} teacher")
        session.add_all([venue, teacher])
        session.flush()
        cls = TrainingClass(institution_id=inst.id, region_code="cq", district_id=d.id, name=f"{name} class",
                            occupation_code="2-02-38-04", level=Level.mid, starts_on=date(2026, 3, 1),
                            ends_on=date(2026, 6, 30), fee=Decimal("5000.00"), status=ClassStatus.draft)
        session.add(cls)
        session.flush()
        t0 = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
        lesson = Lesson(class_id=cls.id, starts_at=t0, ends_at=t0 + timedelta(hours=4), mode=LessonMode.offline,
                        content=LessonContent.practice, venue_id=venue.id, teacher_id=teacher.id)
        trainee = Trainee(resident_id=RESIDENT[name], name=f"{name} trainee", phone=f"1380000000{i}")
        session.add_all([lesson, trainee])
        session.flush()
        enrollment = Enrollment(class_id=cls.id, trainee_id=trainee.id)
        session.add(enrollment)
        users = [
            User(username=f"{name}-supervisor", display_name="s", role=Role.district_supervisor, district_id=d.id, password_hash=pw),
            User(username=f"{name}-admin", display_name="a", role=Role.institution_admin, institution_id=inst.id, password_hash=pw),
            User(username=f"{name}-teacher", display_name="t", role=Role.teacher, institution_id=inst.id, teacher_id=teacher.id, password_hash=pw),
            User(username=f"{name}-trainee", display_name="tr", role=Role.trainee, trainee_id=trainee.id, password_hash=pw),
        ]
        session.add_all(users)
        session.flush()
        from server.services import chain

        event = chain.append(session, kind="check_in", class_id=cls.id, lesson_id=lesson.id, enrollment_id=enrollment.id,
                             trainee_id=trainee.id, actor_id=users[3].id, at=t0, verdict="flagged", decides_event_id=None,
                             spot_check_id=None, reasons=[{"code": "fence_uncertain", "clause": "cq 5.2", "detail": f"{name}"}],
                             evidence={"world": name}, idempotency_key=f"seed-{name}", device_id=None)
        from server.models import Duty

        duty = Duty(code="self_paid_report", subject=f"class:{cls.id}", class_id=cls.id, region_code="cq",
                    anchor="training_end", anchor_date=cls.ends_on, due_on=cls.ends_on + timedelta(days=30),
                    clause="cq 3.2.1", detail=f"{name} 结业后30日内报送", provisional=False)
        session.add(duty)
        from server.models import ExportJob

        # A finished export of this world's class (no file): the scoping walk asks for it as an outsider.
        job = ExportJob(kind="class", class_id=cls.id, requested_by_id=users[1].id, status="done", done=1, total=1)
        session.add(job)
        session.flush()
        out[name] = World(name, d.id, city.id, inst.id, venue.id, teacher.id, cls.id, lesson.id, trainee.id, users[3].id,
                          enrollment.id, event.id, duty.id, job.id)
    session.add_all([
        User(username="admin", display_name="admin", role=Role.admin, password_hash=pw),
        User(username="city", display_name="c", role=Role.city_reviewer, city_id=city.id, password_hash=pw),
    ])
    session.commit()
    return out


class Api:
    """A logged-in browser: keeps the cookie and sends the CSRF token like the pages do."""

    def __init__(self, client, csrf: str | None = None):
        self.client, self.csrf = client, csrf

    def _headers(self):
        return {"X-CSRF-Token": self.csrf} if self.csrf else {}

    def get(self, url, **kw):
        return self.client.get(url, **kw)

    def post(self, url, json=None, **kw):
        return self.client.post(url, json=json, headers=self._headers(), **kw)


DEVICE = "device-0001-abcdef"


@pytest.fixture
def login(app):
    def _login(username: str, password: str = PASSWORD, device_id: str | None = DEVICE) -> Api:
        client = app.test_client()
        body = {"username": username, "password": password}
        if "trainee" in username:
            body["device_id"] = device_id
        resp = client.post("/api/auth/login", json=body)
        assert resp.status_code == 200, resp.get_json()
        return Api(client, resp.get_json()["csrf_token"])

    return _login


def post_multipart(api: Api, url: str, fields: dict):
    """POST multipart/form-data encoded in memory. Werkzeug's test client would spool a body over
    500 KB to a temp file it never closes (a ResourceWarning, an error under filterwarnings)."""
    from werkzeug.datastructures import FileStorage, MultiDict
    from werkzeug.test import encode_multipart

    items = MultiDict()
    for key, value in fields.items():
        for v in value if isinstance(value, list) else [value]:
            items.add(key, FileStorage(stream=v[0], filename=v[1]) if isinstance(v, tuple) else v)
    boundary, body = encode_multipart(items)
    headers = {"X-CSRF-Token": api.csrf} if api.csrf else {}
    return api.client.post(url, data=body, content_type=f"multipart/form-data; boundary={boundary}", headers=headers)
