"""The one place that builds test worlds, and the helpers more than one test module uses.

Plain functions and classes. The fixtures that call them are in conftest.py files (one that
several folders need is in tests/conftest.py); test modules import helpers from here (and from
tests.served and tests.browser), never from another test module or from a conftest.

The worlds:

- Two districts (`build_worlds`, the `worlds` fixture): yubei and nanan, each with an
  institution, a venue, a teacher, a class with a lesson, a trainee, a user of every role, a
  flagged check-in, a duty and a finished export, so API tests can check scoping from the
  outside (tests/api, tests/web, tests/exports). `log_in` gives a logged-in `Api`.
- One district with three trainees (`build_duty_world`, the `world` fixture), with classes and
  lessons added by `make_class` and `make_lesson`: for the scheduled duties, anchors and
  retention, whose services are called with `now` (tests/db, tests/cli).
- A lesson in progress (`build_live_world`, the `live` fixture): an offline lesson at a GCJ-02
  venue and an online one, Lin-Manuel Miranda enrolled with consent and his real face template,
  and the `Phone` that sends his bursts (tests/checkin, tests/e2e).

The server, werkzeug, OpenCV, Pillow, dlib and hypothesis are imported inside the functions:
tests/conftest.py imports this module, and the pure unit tests should not pay for them.
"""
from __future__ import annotations

import io
import os
import random
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from functools import cache
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PASSWORD = "correct-horse-9"


def faces_dir_path() -> Path:
    """The real face data: ../shared/faces beside the repository, or HOURPROOF_FACES_DIR."""
    env = os.environ.get("HOURPROOF_FACES_DIR")
    return Path(env) if env else REPO.parent / "shared" / "faces"


# --- two districts, each with a user of every role (tests/api, tests/web, tests/exports) -------

DEVICE = "device-0001-abcdef"
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
    held_template_id: int = 0


def build_worlds(session) -> dict[str, World]:
    """Two separate worlds (two districts, each with an institution, class, venue, trainee and a
    user of every role), plus an admin and a city reviewer; committed. Keyed "yubei", "nanan"."""
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
                      centre_lat=29.6 + i, centre_lon=106.5, radius_m=100, max_accuracy_m=50, area_m2=2000)
        teacher = Teacher(institution_id=inst.id, name=f"{name} teacher")
        session.add_all([venue, teacher])
        session.flush()
        approve_fence(session, venue)
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
            User(username=f"{name}-teacher", display_name="t", role=Role.teacher, institution_id=inst.id, teacher_id=teacher.id,
                 password_hash=pw),
            User(username=f"{name}-trainee", display_name="tr", role=Role.trainee, trainee_id=trainee.id, password_hash=pw),
        ]
        session.add_all(users)
        session.flush()
        from server.services import chain

        event = chain.append(session, chain.NewEvent(
            kind="check_in", class_id=cls.id, lesson_id=lesson.id, enrollment_id=enrollment.id, trainee_id=trainee.id,
            actor_id=users[3].id, at=t0, verdict="flagged", decides_event_id=None, spot_check_id=None,
            reasons=[{"code": "fence_uncertain", "clause": "cq 5.2", "detail": f"{name}"}], evidence={"world": name},
            idempotency_key=f"seed-{name}", device_id=None))
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


def log_in(app, username: str, password: str = PASSWORD, device_id: str | None = DEVICE) -> Api:
    """Log `username` in on a client of its own (a trainee from the phone `device_id`)."""
    client = app.test_client()
    body = {"username": username, "password": password}
    if "trainee" in username:
        body["device_id"] = device_id
    resp = client.post("/api/auth/login", json=body)
    assert resp.status_code == 200, resp.get_json()
    return Api(client, resp.get_json()["csrf_token"])


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


# --- what the API answers, held to its OpenAPI document (tests/conftest.py::app checks every answer)

@cache
def _registry_by_rule() -> dict:
    from server.api.framework import REGISTRY

    return {(e.method, api_rule(e)): e for e in REGISTRY}


@cache
def _response_adapter(model):
    from pydantic import TypeAdapter

    return TypeAdapter(model)


def answer_problem(method: str, rule: str | None, response) -> str | None:
    """What is wrong with a success answer of the API against its endpoint's declaration (the
    OpenAPI document is generated from it): an undocumented 2xx status, a JSON body its response
    model refuses (lax mode, no extra keys), a file of another type. None when it matches, and for
    answers that are not an endpoint's success."""
    from pydantic import ValidationError

    e = _registry_by_rule().get((method, rule)) if rule else None
    if e is None or not 200 <= response.status_code < 300:
        return None
    where = f"{method} {rule} -> {response.status_code}"
    if response.status_code not in e.statuses:
        return f"{where}: documented {', '.join(map(str, e.statuses))}"
    if e.produces is not None:
        if not response.mimetype.startswith(e.produces.split("*")[0]):
            return f"{where}: documented {e.produces}, answered {response.mimetype}"
        return None
    if e.response is None or response.mimetype != "application/json":
        return None if e.response is None else f"{where}: documented JSON, answered {response.mimetype}"
    try:
        _response_adapter(e.response).validate_python(response.get_json())
    except ValidationError as exc:
        return f"{where}: the body does not match {getattr(e.response, '__name__', e.response)}: {exc}"
    return None


# --- every route, aimed at one world (tests/api/test_scoping.py walks it, test_fuzz.py mutates it)

def api_rule(e):
    """The path an endpoint of the registry answers on, with the /api prefix."""
    prefix = "/api"
    return e.path if e.path.startswith(prefix) else prefix + e.path


def route_targets(y: World) -> dict:
    """(url, json body or None, multipart data or None) aimed at the yubei world, keyed by
    (method, rule). It must name every endpoint of the registry: tests/api/test_scoping.py fails
    on a new endpoint without a row here, so no route escapes its walk."""
    lesson = {"starts_at": "2026-03-09T09:00:00+08:00", "ends_at": "2026-03-09T13:00:00+08:00", "mode": "online",
              "content": "theory"}
    csv = f"姓名,身份证号,班级编号\n测试,500112200102150647,{y.class_id}\n".encode()
    return {
        ("POST", "/api/institutions"): ("/api/institutions", {"name": "x", "uscc": "91500112MA5U7XK8QL", "legal_representative": "x",
                                                              "address": "x", "region_code": "cq", "district_id": y.district_id}, None),
        ("POST", "/api/venues"): ("/api/venues", {"name": "v", "address": "a", "datum": "gcj02", "fence_kind": "circle",
                                                  "centre_lat": 29.6, "centre_lon": 106.5, "radius_m": 80,
                                                  "institution_id": y.institution_id}, None),
        ("GET", "/api/institutions/<int:institution_id>/venues"): (f"/api/institutions/{y.institution_id}/venues", None, None),
        ("POST", "/api/venues/<int:venue_id>/fence"): (f"/api/venues/{y.venue_id}/fence", {
            "area_m2": 2000, "datum": "gcj02", "fence_kind": "circle", "centre_lat": 29.6, "centre_lon": 106.5, "radius_m": 90}, None),
        ("POST", "/api/venues/<int:venue_id>/fence-decision"): (f"/api/venues/{y.venue_id}/fence-decision",
                                                                {"decision": "reject", "reason": "越权审核"}, None),
        ("POST", "/api/teachers"): ("/api/teachers", {"name": "t", "institution_id": y.institution_id}, None),
        ("GET", "/api/institutions/<int:institution_id>/teachers"): (f"/api/institutions/{y.institution_id}/teachers", None, None),
        ("POST", "/api/classes"): ("/api/classes", {"name": "c", "region_code": "cq", "district_id": y.district_id,
                                                    "occupation_code": "2-02-38-04", "level": "mid", "starts_on": "2026-03-01",
                                                    "ends_on": "2026-04-01", "institution_id": y.institution_id}, None),
        ("GET", "/api/classes/<int:class_id>"): (f"/api/classes/{y.class_id}", None, None),
        ("POST", "/api/classes/<int:class_id>/lessons"): (f"/api/classes/{y.class_id}/lessons", {"lessons": [lesson]}, None),
        ("DELETE", "/api/classes/<int:class_id>/lessons/<int:lesson_id>"): (f"/api/classes/{y.class_id}/lessons/{y.lesson_id}", None, None),
        ("GET", "/api/classes/<int:class_id>/plan-check"): (f"/api/classes/{y.class_id}/plan-check", None, None),
        ("POST", "/api/classes/<int:class_id>/file"): (f"/api/classes/{y.class_id}/file", None, None),
        ("POST", "/api/classes/<int:class_id>/amendments"): (f"/api/classes/{y.class_id}/amendments",
                                                             {"reason": "调整", "cancel_lesson_ids": [y.lesson_id]}, None),
        ("POST", "/api/classes/<int:class_id>/enrollments"): (f"/api/classes/{y.class_id}/enrollments",
                                                              {"resident_id": "500112200102150647", "name": "测试"}, None),
        ("GET", "/api/classes/<int:class_id>/enrollments"): (f"/api/classes/{y.class_id}/enrollments", None, None),
        ("POST", "/api/trainees/import"): ("/api/trainees/import", None, {"file": (io.BytesIO(csv), "t.csv"),
                                                                       "class_id": str(y.class_id)}),
        ("POST", "/api/trainees/<int:trainee_id>/consent"): (f"/api/trainees/{y.trainee_id}/consent",
                                                             {"granted": True, "channel": "paper", "text_version": "2026-12"}, None),
        ("POST", "/api/trainees/<int:trainee_id>/face"): (f"/api/trainees/{y.trainee_id}/face", None,
                                                          {"photos": (io.BytesIO(b"\xff\xd8\xff"), "a.jpg")}),
        ("POST", "/api/users"): ("/api/users", {"username": "intruder", "display_name": "x", "role": "admin",
                                                "password": "12345678x"}, None),
        ("POST", "/api/users/<int:user_id>/unbind-device"): (f"/api/users/{y.trainee_user_id}/unbind-device",
                                                              {"reason": "更换手机"}, None),
        ("POST", "/api/users/<int:user_id>/reissue-activation-code"): (
            f"/api/users/{y.trainee_user_id}/reissue-activation-code", {"reason": "忘记密码"}, None),
        ("POST", "/api/classes/<int:class_id>/activation-codes"): (f"/api/classes/{y.class_id}/activation-codes",
                                                                   {"reason": "补打激活单"}, None),
        ("POST", "/api/classes/<int:class_id>/activation-slips"): (
            f"/api/classes/{y.class_id}/activation-slips",
            {"slips": [{"trainee_id": y.trainee_id, "activation_code": "12345678"}]}, None),
        ("POST", "/api/lessons/<int:lesson_id>/challenge"): (f"/api/lessons/{y.lesson_id}/challenge", {"purpose": "check_in"}, None),
        ("POST", "/api/lessons/<int:lesson_id>/events"): (f"/api/lessons/{y.lesson_id}/events", None, {
            "meta": '{"kind": "check_in", "nonce": "%s", "idempotency_key": "walk-key-1", "device": {"device_id": "device-0001-abcdef"}}'
                    % ("n" * 32),
            "frames": (io.BytesIO(b"\xff\xd8\xff"), "f.jpg")}),
        ("POST", "/api/lessons/<int:lesson_id>/heartbeat"): (f"/api/lessons/{y.lesson_id}/heartbeat", {"visible": True}, None),
        ("GET", "/api/lessons/<int:lesson_id>/spot-checks/pending"): (f"/api/lessons/{y.lesson_id}/spot-checks/pending", None, None),
        ("POST", "/api/lessons/<int:lesson_id>/spot-checks"): (f"/api/lessons/{y.lesson_id}/spot-checks", {}, None),
        ("GET", "/api/me/lessons"): (f"/api/me/lessons?class_id={y.class_id}", None, None),
        ("GET", "/api/enrollments/<int:enrollment_id>/ledger"): (f"/api/enrollments/{y.enrollment_id}/ledger", None, None),
        ("GET", "/api/classes/<int:class_id>/review-queue"): (f"/api/classes/{y.class_id}/review-queue", None, None),
        ("POST", "/api/events/<int:event_id>/review"): (f"/api/events/{y.event_id}/review",
                                                        {"decision": "approved", "reason": "看过证据，同意"}, None),
        ("GET", "/api/lessons/<int:lesson_id>/roll"): (f"/api/lessons/{y.lesson_id}/roll", None, None),
        ("GET", "/api/lessons/<int:lesson_id>/room-code"): (f"/api/lessons/{y.lesson_id}/room-code", None, None),
        ("POST", "/api/lessons/<int:lesson_id>/nonface-events"): (f"/api/lessons/{y.lesson_id}/nonface-events", {
            "kind": "check_in", "idempotency_key": "walk-nonface-1", "device": {"device_id": "device-0001-abcdef"}}, None),
        ("POST", "/api/lessons/<int:lesson_id>/nonface-requests/<int:request_id>/attest"): (
            f"/api/lessons/{y.lesson_id}/nonface-requests/1/attest", {}, None),
        ("POST", "/api/lessons/<int:lesson_id>/media"): (f"/api/lessons/{y.lesson_id}/media", None,
                                                         {"video": (io.BytesIO(b"\x00\x00\x00\x18ftypmp42"), "v.mp4")}),
        ("POST", "/api/lessons/<int:lesson_id>/media/link"): (f"/api/lessons/{y.lesson_id}/media/link",
                                                              {"kind": "live", "url": "https://media.example.cn/live.m3u8"}, None),
        ("GET", "/api/lessons/<int:lesson_id>/media"): (f"/api/lessons/{y.lesson_id}/media", None, None),
        ("GET", "/api/lessons/<int:lesson_id>/media/file"): (f"/api/lessons/{y.lesson_id}/media/file", None, None),
        ("POST", "/api/classes/<int:class_id>/quizzes"): (f"/api/classes/{y.class_id}/quizzes", {"enabled": True}, None),
        ("POST", "/api/lessons/<int:lesson_id>/quiz"): (f"/api/lessons/{y.lesson_id}/quiz", {"checkpoints": []}, None),
        ("GET", "/api/lessons/<int:lesson_id>/quiz"): (f"/api/lessons/{y.lesson_id}/quiz", None, None),
        ("POST", "/api/lessons/<int:lesson_id>/quiz/attempts"): (f"/api/lessons/{y.lesson_id}/quiz/attempts",
                                                                 {"checkpoint": 0, "answers": [0, 0, 0],
                                                                  "idempotency_key": "walk-attempt-1"}, None),
        # (tests/api/test_live.py walks this one with an event that has a frame)
        ("GET", "/api/events/<int:event_id>/frames/<int:index>"): (f"/api/events/{y.event_id}/frames/0", None, None),
        ("GET", "/api/events/<int:event_id>/context"): (f"/api/events/{y.event_id}/context", None, None),
        # (tests/api/test_review_context.py walks this one with an enrolment photo to see)
        ("GET", "/api/events/<int:event_id>/enrolment-photos/<int:trainee_id>/<int:index>"): (
            f"/api/events/{y.event_id}/enrolment-photos/{y.trainee_id}/0", None, None),
        ("POST", "/api/classes/<int:class_id>/exports"): (f"/api/classes/{y.class_id}/exports", {"kind": "class"}, None),
        ("POST", "/api/districts/<int:district_id>/exports"): (f"/api/districts/{y.district_id}/exports", None, None),
        # (tests/exports walks these two with a finished job of the other world)
        ("GET", "/api/export-jobs/<int:job_id>"): (f"/api/export-jobs/{y.export_job_id}", None, None),
        ("GET", "/api/export-jobs/<int:job_id>/download"): (f"/api/export-jobs/{y.export_job_id}/download", None, None),
        ("POST", "/api/enrollments/<int:enrollment_id>/assessment"): (f"/api/enrollments/{y.enrollment_id}/assessment",
                                                                      {"theory_score": 90, "practice_score": 90, "passed": True,
                                                                       "assessed_on": "2026-07-01"}, None),
        ("POST", "/api/enrollments/<int:enrollment_id>/training-certificate"): (
            f"/api/enrollments/{y.enrollment_id}/training-certificate", {"number": "JS2026-0001", "issued_on": "2026-07-05"}, None),
        ("POST", "/api/lessons/<int:lesson_id>/group-photos"): (f"/api/lessons/{y.lesson_id}/group-photos", None,
                                                                {"photo": (io.BytesIO(b"\xff\xd8\xff"), "group.jpg")}),
        ("GET", "/api/duties"): (f"/api/duties?class_id={y.class_id}&status=all", None, None),
        ("GET", "/api/privacy"): ("/api/privacy", None, None),
        ("POST", "/api/privacy/filing-done"): ("/api/privacy/filing-done", {"receipt": "网信备-2026-001"}, None),
        ("GET", "/api/privacy/pia.pdf"): ("/api/privacy/pia.pdf", None, None),
        ("POST", "/api/duties/<int:duty_id>/done"): (f"/api/duties/{y.duty_id}/done", {"note": "已报送"}, None),
        ("POST", "/api/classes/<int:class_id>/application-received"): (f"/api/classes/{y.class_id}/application-received",
                                                                       {"received_on": "2026-07-01"}, None),
        ("GET", "/api/classes/<int:class_id>/absences"): (f"/api/classes/{y.class_id}/absences", None, None),
        ("GET", "/api/trainees/<int:trainee_id>/subsidy-history"): (f"/api/trainees/{y.trainee_id}/subsidy-history", None, None),
        ("POST", "/api/trainees/<int:trainee_id>/subsidy-history"): (
            f"/api/trainees/{y.trainee_id}/subsidy-history", {"occupation_code": "2-02-38-03", "level": "junior",
                                                             "training_start": "2025-04-01", "source": "hrss"}, None),
        ("POST", "/api/trainees/<int:trainee_id>/subsidy-history/checks"): (
            f"/api/trainees/{y.trainee_id}/subsidy-history/checks", {"checked_on": "2026-05-20", "source": "hrss"}, None),
        ("GET", "/api/classes/<int:class_id>/template-changes"): (f"/api/classes/{y.class_id}/template-changes", None, None),
        # (the walk holds a template of the yubei trainee first: factories.add_held_template)
        ("POST", "/api/face-holds/<int:template_id>/decision"): (f"/api/face-holds/{y.held_template_id}/decision",
                                                                 {"decision": "approve", "reason": "看过双方照片，不是同一人"}, None),
        ("GET", "/api/face-templates/<int:template_id>/photos/<int:index>"): (
            f"/api/face-templates/{y.held_template_id}/photos/0", None, None),
        # (the walk records this entry of the yubei trainee first: see _history_entry in tests/api/test_scoping.py)
        ("POST", "/api/trainees/<int:trainee_id>/subsidy-history/<int:entry_id>/retract"): (
            f"/api/trainees/{y.trainee_id}/subsidy-history/{y.history_entry_id}/retract", {"reason": "录错了"}, None),
    }


def add_held_template(session, world: World) -> int:
    """A held template of the world's trainee (a made-up encoding, a photo hash, consent on paper),
    so that the walk aims the hold endpoints at something real; committed. Returns its id."""
    import numpy as np

    from recognition import Template
    from server.models import Consent, FaceTemplate
    from server.services.consent import CONSENT_SHA256, CONSENT_VERSION

    consent = Consent(trainee_id=world.trainee_id, purpose="biometric", granted=True, text_version=CONSENT_VERSION,
                      text_sha256=CONSENT_SHA256, channel="paper")
    session.add(consent)
    session.flush()
    template = Template("test", "1", np.random.default_rng(world.trainee_id).normal(0, 0.1, (1, 128)))
    row = FaceTemplate(trainee_id=world.trainee_id, template=template.to_bytes(), model="test", model_version="1",
                       photo_hashes=["ab" * 32], consent_id=consent.id,
                       hold={"why": "duplicate", "reasons": ["duplicate"], "matches": [], "previous_distance": None})
    session.add(row)
    session.commit()
    world.held_template_id = row.id
    return row.id


class CachingRecognizer:
    """A real recognizer that remembers its answers per image, so a test module that enrols the
    same photos again and again (through the API, which decodes the uploads) pays dlib once per
    photo and session."""

    def __init__(self, inner):
        self.inner = inner
        self.model_name, self.model_version = inner.model_name, inner.model_version
        self._memo: dict = {}

    def _cached(self, what: str, rgb, arg, compute):
        import hashlib

        import numpy as np

        key = (what, hashlib.sha1(np.ascontiguousarray(rgb).tobytes()).hexdigest(), rgb.shape, arg)
        if key not in self._memo:
            self._memo[key] = compute()
        return self._memo[key]

    def detect(self, rgb, upsample):
        return list(self._cached("detect", rgb, upsample, lambda: self.inner.detect(rgb, upsample)))

    def landmarks(self, rgb, box):
        return self._cached("landmarks", rgb, box, lambda: self.inner.landmarks(rgb, box)).copy()

    def encode(self, rgb, box):
        return self._cached("encode", rgb, box, lambda: self.inner.encode(rgb, box)).copy()


@cache
def fuzz_values():
    """Hostile values and arbitrary JSON, for fields of a valid body (one strategy, made once)."""
    from hypothesis import strategies as st

    hostile = st.sampled_from([
        None, True, 0, -1, 2**31, 2**63, -(2**63), 10**40, 1e308, -1e308, 0.5, "", " ", "\x00", "a\x00b", "0" * 3000,
        "2026-02-30", "2026-13-01", "9999-12-31T23:59:59+14:00", "NaN", "Infinity", "<script>", "' OR 1=1 --", "中文",
        [], [[]], {}, {"a": {"b": {"c": []}}}, [29.6, 106.5], [[1, 2]] * 600,
    ])
    json = st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=30),
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
        max_leaves=12,
    )
    return hostile | json


# --- exports of a world's class, through the API (tests/exports) ------------------------------

def add_attendance(session, world, *, check_in_after=5, check_out_before=10):
    """A verified check-in and check-out of the world's trainee in its (4-hour offline) lesson."""
    from server.models import Lesson
    from server.services import chain

    lesson = session.get(Lesson, world.lesson_id)
    out = []
    for kind, at in (("check_in", lesson.starts_at + timedelta(minutes=check_in_after)),
                     ("check_out", lesson.ends_at - timedelta(minutes=check_out_before))):
        out.append(chain.append(session, chain.NewEvent(
            kind=kind, class_id=world.class_id, lesson_id=lesson.id, enrollment_id=world.enrollment_id,
            trainee_id=world.trainee_id, actor_id=world.trainee_user_id, at=at, verdict="verified", decides_event_id=None,
            spot_check_id=None, reasons=[], evidence={"frames": ["ab" * 32], "face": {"distance": 0.31, "threshold": 0.5}},
            idempotency_key=f"{kind}-{world.name}-{at.isoformat()}", device_id="device-0001-abcdef")))
    session.commit()
    return out


def wait_for(api, job: dict, timeout: float = 90) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        got = api.get(f"/api/export-jobs/{job['id']}").get_json()
        if got["status"] in ("done", "failed") or time.monotonic() > deadline:
            return got
        time.sleep(0.2)


def export(api, class_id: int, kind: str = "class") -> tuple[dict, bytes]:
    resp = api.post(f"/api/classes/{class_id}/exports", json={"kind": kind})
    assert resp.status_code == 202, resp.get_json()
    job = wait_for(api, resp.get_json())
    assert job["status"] == "done", job
    return job, download(api, job)


def download(api, job: dict) -> bytes:
    resp = api.get(job["download"])
    try:
        assert resp.status_code == 200, resp.get_data(as_text=True)[:300]
        return resp.data
    finally:
        resp.close()  # send_file's file handle


# --- one district, three trainees: scheduled duties, anchors, retention (tests/db, tests/cli) --

NOW = datetime(2026, 3, 10, 4, 0, tzinfo=UTC)  # 12:00 in Beijing
DUTY_RESIDENTS = ["500112199503120419", "500108199211110329", "500112200102150647"]


def build_duty_world(session) -> dict:
    """Regions cq, yn, js and zj-jinhua; one district of Chongqing with an institution, a venue
    and three trainees; flushed, not committed. No classes: `make_class` adds them."""
    from server.models import City, District, Institution, Region, Trainee, Venue

    for code, name in (("cq", "重庆市"), ("yn", "云南省"), ("js", "江苏省"), ("zj-jinhua", "浙江省金华市")):
        session.add(Region(code=code, name=name))
    city = City(region_code="cq", adcode="500000", name="重庆市")
    session.add(city)
    session.flush()
    district = District(city_id=city.id, adcode="500112", name="渝北区")
    session.add(district)
    session.flush()
    inst = Institution(name="测试培训学校", uscc="91500112MA5U7XK8QL", legal_representative="张三", address="渝北区",
                       region_code="cq", district_id=district.id)
    session.add(inst)
    session.flush()
    venue = Venue(institution_id=inst.id, name="教室", address="x", datum="gcj02", fence_kind="circle", centre_lat=29.6,
                  centre_lon=106.5, radius_m=100, max_accuracy_m=50, area_m2=2000)
    session.add(venue)
    session.flush()
    approve_fence(session, venue)
    trainees = [Trainee(resident_id=r, name=f"学员{i}") for i, r in enumerate(DUTY_RESIDENTS)]
    session.add_all(trainees)
    session.flush()
    return {"district": district, "institution": inst, "venue": venue, "trainees": trainees}


def make_class(session, world, *, region="cq", funding=None, starts_on=date(2026, 3, 1),
               ends_on=date(2026, 4, 30), status=None, occupation="2-02-38-04", enrol=(0, 1),
               enrolled_at=datetime(2026, 2, 20, tzinfo=UTC)):
    """A class of the duty world (subsidised and filed unless `funding` / `status` say otherwise),
    with the trainees at indexes `enrol` enrolled."""
    from server.models import ClassStatus, Enrollment, Funding, Level, TrainingClass

    funding = Funding.subsidised if funding is None else funding
    status = ClassStatus.filed if status is None else status
    cls = TrainingClass(institution_id=world["institution"].id, region_code=region, district_id=world["district"].id,
                        name=f"{region} 班", occupation_code=occupation, level=Level.mid, starts_on=starts_on,
                        ends_on=ends_on, funding=funding, status=status)
    session.add(cls)
    session.flush()
    enrollments = [Enrollment(class_id=cls.id, trainee_id=world["trainees"][i].id, enrolled_at=enrolled_at) for i in enrol]
    session.add_all(enrollments)
    session.flush()
    return cls, enrollments


def make_lesson(session, world, cls, start, hours=2, mode=None):
    """A lesson of `cls` from `start` (offline, at the world's venue, unless `mode` says otherwise)."""
    from server.models import Lesson, LessonContent, LessonMode

    mode = LessonMode.offline if mode is None else mode
    lesson = Lesson(class_id=cls.id, starts_at=start, ends_at=start + timedelta(hours=hours), mode=mode,
                    content=LessonContent.theory, venue_id=world["venue"].id if mode is LessonMode.offline else None)
    session.add(lesson)
    session.flush()
    return lesson


def event(session, lesson, enrollment, kind, verdict, at, key, decides=None):
    """An event of `enrollment` in `lesson`, appended to the class's chain."""
    from server.services import chain

    return chain.append(session, chain.NewEvent(
        kind=kind, class_id=lesson.class_id, lesson_id=lesson.id, enrollment_id=enrollment.id,
        trainee_id=enrollment.trainee_id, actor_id=None, at=at, verdict=verdict, decides_event_id=decides,
        spot_check_id=None, reasons=[], evidence={}, idempotency_key=key, device_id=None))


def live_event(session, live: dict, kind: str, lesson: str = "online") -> None:
    """A verified `kind` event of Miranda in the live world's `lesson`, now (as if the phone had
    sent it), appended to the chain and committed. Any read the session held is ended first: on
    SQLite a read snapshot cannot be upgraded to a write after others have written."""
    from sqlalchemy import select

    from server.models import User
    from server.services import chain

    session.rollback()
    user = session.scalar(select(User).where(User.username == "miranda"))
    chain.append(session, chain.NewEvent(
        kind=kind, class_id=live["class_id"], lesson_id=live[lesson], enrollment_id=live["enrollment"],
        trainee_id=live["trainee"], actor_id=user.id, at=datetime.now(UTC), verdict="verified",
        decides_event_id=None, spot_check_id=None, reasons=[], evidence={"seeded": True},
        idempotency_key=f"seeded-{lesson}-{kind}", device_id=None))
    session.commit()


def chain_with_events(session, world, n=3, key="anchor"):
    """A class with a lesson 4 hours before NOW and `n` verified check-ins in it; committed."""
    cls, (trainee, _) = make_class(session, world)
    lesson = make_lesson(session, world, cls, NOW - timedelta(hours=4))
    for i in range(n):
        event(session, lesson, trainee, "check_in", "verified", lesson.starts_at + timedelta(minutes=i), f"{key}-{i}")
    session.commit()
    return cls, lesson, trainee


def rewrite_event(session, ev_id: int, change: dict) -> None:
    """Edit an event behind the application's back and recompute its hash and the head, the
    way someone with database access would hide it from the chain check."""
    from sqlalchemy import text

    from server.models import ChainHead, Event
    from server.services import chain

    dialect = session.get_bind().dialect.name
    if dialect == "sqlite":
        session.execute(text("DROP TRIGGER events_no_update"))
    else:
        session.execute(text("SET LOCAL session_replication_role = replica"))
    ev = session.get(Event, ev_id)
    for k, v in change.items():
        setattr(ev, k, v)
    fields = {k: getattr(ev, k) for k in chain.HASHED_FIELDS}
    ev.hash = chain.content_hash(fields)
    session.get(ChainHead, ev.chain).hash = ev.hash
    session.commit()


# --- a lesson in progress, Miranda's face and phone (tests/checkin, tests/e2e) -----------------

MIRANDA_DEVICE = "phone-miranda-0001"
#: Venue centre as picked on AMap (GCJ-02), in Chongqing.
VENUE_GCJ = (29.6201, 106.5350)
from recognition.testing import clip_times  # noqa: E402 - re-exported for the tests

STEPS = ("turn_right", "turn_left")  # what frames 100-165 of the clip show
#: The clip every 5th frame (recognition.testing.clip_times: when the phone took them): his right
#: turn starts at ~670 ms, his left at ~1830 ms, and the burst of frames 100-165 ends at 2170 ms.
#: The latest the seeded challenge may prompt each step so the clip's motions come after their
#: prompts and the burst runs long enough after the last one (recognition.liveness's time rules).
CLIP_PROMPTS_BY = (960, 1850)



#: Ten real faces nobody else in the tests enrols: the deployment's other templates in the live
#: world. Without ``cohort_k`` others a template gets the strictest thresholds (fail closed), which
#: no real deployment lives with; these make Miranda's thresholds his own, as in a deployment.
COHORT_FACES = [*(f"dlib_johns/{who}" for who in ("John_Salley", "John_Savage", "John_Schneider", "John_Shimkus", "John_Simm")),
                "openface/adams.jpg", "openface/carell.jpg", "openface/clapton-1.jpg", "openface/lennon-1.jpg",
                "facenet/Anthony_Hopkins_0001.jpg"]
_cohort_cache: dict[Path, list] = {}


def cohort_templates(faces_dir, recognizer) -> list:
    """The ten COHORT_FACES enrolled (once per session: ~1 s)."""
    import recognition

    if faces_dir not in _cohort_cache:
        templates = []
        for name in COHORT_FACES:
            path = faces_dir / "images" / name
            if path.is_dir():
                path = sorted(path.iterdir())[0]
            result = recognition.enroll([path.read_bytes()], recognizer)
            assert result.ok and result.template is not None, (name, result.reasons)
            templates.append(result.template)
        _cohort_cache[faces_dir] = templates
    return _cohort_cache[faces_dir]


def add_consented_face(session, trainee_id: int, template, channel: str = "phone"):
    """Biometric consent for the trainee and a face template in force made from `template`
    (flushed, not committed). Returns the consent row."""
    from server.models import Consent, FaceTemplate
    from server.services.consent import CONSENT_SHA256, CONSENT_VERSION

    consent = Consent(trainee_id=trainee_id, purpose="biometric", granted=True, text_version=CONSENT_VERSION,
                      text_sha256=CONSENT_SHA256, channel=channel)
    session.add(consent)
    session.flush()
    session.add(FaceTemplate(trainee_id=trainee_id, template=template.to_bytes(), model=template.model_name,
                             model_version=template.model_version, photo_hashes=[], consent_id=consent.id))
    return consent


def add_cohort(session, templates) -> list[int]:
    """Trainees of another, past class (not enrolled in any class here), each consented with a
    face template: the rest of the deployment."""
    from policies.identity import resident_id_check_digit
    from server.models import Trainee

    ids = []
    for i, template in enumerate(templates):
        first17 = f"50011219900101{i + 100:03d}"
        trainee = Trainee(resident_id=first17 + resident_id_check_digit(first17), name=f"往期学员{i + 1}")
        session.add(trainee)
        session.flush()
        add_consented_face(session, trainee.id, template, channel="paper")
        ids.append(trainee.id)
    return ids


def enroll_miranda(faces_dir, recognizer):
    """Lin-Manuel Miranda's face template, enrolled from his real photo."""
    import recognition

    photo = (faces_dir / "images" / "face_recognition" / "ex_lin-manuel-miranda.png").read_bytes()
    result = recognition.enroll([photo], recognizer)
    assert result.ok, result.reasons
    return result.template


def _jpeg(rgb) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.fromarray(rgb).save(out, "JPEG", quality=85)
    return out.getvalue()


def clip_jpegs(faces_dir, first: int, last: int, step: int) -> list[bytes]:
    """Frames first..last (every `step`-th) of the Hamilton clip as JPEG, in order."""
    import cv2

    cap = cv2.VideoCapture(str(faces_dir / "video" / "short_hamilton_clip.mp4"))
    out = []
    try:
        i = 0
        while i <= last:
            ok, bgr = cap.read()
            if not ok:
                break
            if i >= first and (i - first) % step == 0:
                out.append(_jpeg(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)))
            i += 1
    finally:
        cap.release()
    return out


def seed_for(steps: tuple[str, ...], settings=None, prompts_by: tuple[int, ...] = CLIP_PROMPTS_BY) -> int:
    """A seed whose challenge asks for `steps` (the motions the real clip shows), each prompted
    no later than `prompts_by` says (when the clip shows them)."""
    import recognition

    settings = settings or clip_settings()
    now = datetime.now(UTC)
    for seed in range(10_000):
        c = recognition.new_challenge(random.Random(seed), now, settings)
        if c.steps == steps and all(p <= by for p, by in zip(c.prompts_ms, prompts_by, strict=True)):
            return seed
    raise AssertionError(f"no seed gives {steps}")


def clip_settings(base=None):
    """The deployed recognition settings, with two-step challenges: the clip shows two turns
    (a right, then a left) between its cut-aways; everything else is as deployed."""
    from dataclasses import replace

    import recognition

    return replace(base or recognition.RecognitionSettings(), challenge_steps=2)


def yubei_institution(session):
    """Chongqing, its city, the 渝北区 district and one institution there: the smallest world a class needs."""
    from server.models import City, District, Institution, Region

    session.add(Region(code="cq", name="重庆市"))
    city = City(region_code="cq", adcode="500000", name="重庆市")
    session.add(city)
    session.flush()
    district = District(city_id=city.id, adcode="500112", name="渝北区")
    session.add(district)
    session.flush()
    inst = Institution(name="学校", uscc="91500112MA5U7XK8QL", legal_representative="x", address="x", region_code="cq",
                       district_id=district.id)
    session.add(inst)
    session.flush()
    return district, inst


def build_live_world(app, session, template, recognizer) -> dict:
    """A class with an offline lesson in progress at a GCJ-02 venue, and an online lesson in
    progress too; Miranda (`template`) enrolled, consented, face enrolled, phone bound; the app's
    challenges seeded to ask for STEPS and its face work done in-process with `recognizer`."""
    from server.adapters.passwords import hash_password
    from server.models import (
        Enrollment,
        Lesson,
        LessonContent,
        LessonMode,
        Level,
        Role,
        Teacher,
        Trainee,
        TrainingClass,
        User,
        Venue,
    )

    app.config["RECOGNITION_SETTINGS"] = clip_settings(app.config.get("RECOGNITION_SETTINGS"))
    seed = seed_for(STEPS, app.config["RECOGNITION_SETTINGS"])
    app.config["CHALLENGE_RNG"] = lambda: random.Random(seed)
    app.config["RECOGNIZER_FACTORY"] = lambda: recognizer
    app.extensions["hourproof_recognizer"] = lambda: recognizer
    app.extensions["hourproof_face_pool"] = None  # face work in-process, with the recognizer above
    now = datetime.now(UTC)
    d, inst = yubei_institution(session)
    venue = Venue(institution_id=inst.id, name="实训中心", address="x", datum="gcj02", fence_kind="circle",
                  centre_lat=VENUE_GCJ[0], centre_lon=VENUE_GCJ[1], radius_m=120, max_accuracy_m=50, area_m2=4000)
    teacher = Teacher(institution_id=inst.id, name="王老师")
    session.add_all([venue, teacher])
    session.flush()
    approve_fence(session, venue)
    cls = TrainingClass(institution_id=inst.id, region_code="cq", district_id=d.id, name="云计算中级",
                        occupation_code="2-02-38-04", level=Level.mid, starts_on=date.today() - timedelta(days=5),
                        ends_on=date.today() + timedelta(days=30))
    session.add(cls)
    session.flush()
    offline = Lesson(class_id=cls.id, starts_at=now - timedelta(minutes=10), ends_at=now + timedelta(hours=3),
                     mode=LessonMode.offline, content=LessonContent.practice, venue_id=venue.id, teacher_id=teacher.id)
    online = Lesson(class_id=cls.id, starts_at=now - timedelta(minutes=10), ends_at=now + timedelta(hours=3),
                    mode=LessonMode.online, content=LessonContent.theory, teacher_id=teacher.id)
    trainee = Trainee(resident_id="500112199503120419", name="林曼努", phone="13800000001")
    other = Trainee(resident_id="500112199807050827", name="罗斯林", phone="13800000004")
    session.add_all([offline, online, trainee, other])
    session.flush()
    enrollment = Enrollment(class_id=cls.id, trainee_id=trainee.id)
    session.add_all([enrollment, Enrollment(class_id=cls.id, trainee_id=other.id)])
    add_consented_face(session, trainee.id, template)
    cohort = add_cohort(session, cohort_templates(faces_dir_path(), recognizer))
    pw = hash_password(PASSWORD)
    session.add_all([
        User(username="miranda", display_name="林曼努", role=Role.trainee, trainee_id=trainee.id, password_hash=pw),
        User(username="rose", display_name="罗斯林", role=Role.trainee, trainee_id=other.id, password_hash=pw),
        User(username="supervisor", display_name="监管", role=Role.district_supervisor, district_id=d.id, password_hash=pw),
        User(username="teacher", display_name="王老师", role=Role.teacher, institution_id=inst.id, teacher_id=teacher.id,
             password_hash=pw),
    ])
    session.commit()
    return {"class_id": cls.id, "offline": offline.id, "online": online.id, "enrollment": enrollment.id,
            "trainee": trainee.id, "other": other.id, "venue": venue.id, "seed": seed, "cohort": cohort}


def approve_fence(session, venue, decided_by_id=None):
    """The district's approval of `venue`'s fence as it is (flushed): what every venue a test
    files classes at needs. Goes through the service, so an implausible fence still fails."""
    from server.config import LocationSettings
    from server.services import venue_fences

    decision = venue_fences.seed_approval(session, venue, "测试场地：围栏与场地相符", datetime.now(UTC), LocationSettings(),
                                          decided_by_id=decided_by_id)
    session.flush()
    return decision


_JITTER = iter(range(1, 10**9))


def inside_fix(offset_m: float = 0.0, accuracy: float = 10.0, fix_at: datetime | None = None) -> dict:
    """A fresh WGS-84 fix (what a phone's browser reports) at the venue centre, moved `offset_m`
    north, taken now (or at `fix_at`). Like a real receiver's, each call's reading differs by a
    few centimetres and its accuracy by a few centimetres too (an accuracy of 0 stays 0): the
    same coordinates or the same accuracy every time is what a mock location sends."""
    from policies import geofence

    n = next(_JITTER)
    lat, lon = geofence.gcj02_to_wgs84(*VENUE_GCJ)
    jitter_m = 0.02 * (n % 50 + 1)
    return {"lat": lat + (offset_m + jitter_m) / 111_320.0, "lon": lon, "accuracy_m": accuracy and accuracy + 0.03 * (n % 11),
            "datum": "wgs84", "fix_at": (fix_at or datetime.now(UTC)).isoformat()}


class Phone:
    """The trainee's phone: logged in, bound, sending bursts the way the phone app (server/web/phone/static/app.js) does."""

    def __init__(self, app, username="miranda", device=MIRANDA_DEVICE):
        self.app = app
        self.client = app.test_client()
        resp = self.client.post("/api/auth/login", json={"username": username, "password": PASSWORD, "device_id": device})
        assert resp.status_code == 200, resp.get_json()
        self.csrf = resp.get_json()["csrf_token"]
        self.device = device

    def post(self, url, json=None):
        return self.client.post(url, json=json, headers={"X-CSRF-Token": self.csrf})

    def challenge(self, lesson_id, purpose="check_in", spot_check_id=None, took_s: float = 5.0):
        """Ask for a challenge, then let `took_s` seconds pass for the burst: a phone opens the
        camera and films for seconds before it sends, and the server refuses a burst longer than
        the time since its challenge. (The challenge's issue time moves back; nothing else.)"""
        body = {"purpose": purpose} | ({"spot_check_id": spot_check_id} if spot_check_id else {})
        resp = self.post(f"/api/lessons/{lesson_id}/challenge", json=body)
        assert resp.status_code == 201, resp.get_json()
        answer = resp.get_json()
        if took_s:
            from sqlalchemy import update

            from server.extensions import db
            from server.models import Challenge

            with self.app.app_context():
                db.session.execute(update(Challenge).where(Challenge.nonce == answer["nonce"])
                                   .values(issued_at=datetime.fromisoformat(answer["issued_at"]) - timedelta(seconds=took_s)))
                db.session.commit()
        return answer

    def send(self, lesson_id, frames, *, kind="check_in", nonce=None, key=None, location=None, camera="iPhone 前置摄像头",
             spot_check_id=None, device=None, user_agent=None, frame_times=None, room_code=None):
        import json as _json
        import uuid

        from werkzeug.datastructures import FileStorage, MultiDict
        from werkzeug.test import encode_multipart

        if nonce is None:
            nonce = self.challenge(lesson_id, kind, spot_check_id)["nonce"]
        meta = {"kind": kind, "nonce": nonce, "idempotency_key": key or uuid.uuid4().hex,
                "device": {"device_id": device or self.device, "camera_label": camera}
                | ({"user_agent": user_agent} if user_agent else {})}
        if location is not None:
            meta["location"] = location
        if spot_check_id:
            meta["spot_check_id"] = spot_check_id
        if room_code is not None:
            meta["room_code"] = room_code
        # the phone sends each frame's capture time (the clip's frames by default)
        meta["frame_times"] = clip_times(len(frames)) if frame_times is None else frame_times
        fields = MultiDict([("meta", _json.dumps(meta))])
        for i, f in enumerate(frames):
            fields.add("frames", FileStorage(stream=io.BytesIO(f), filename=f"f{i}.jpg", content_type="image/jpeg"))
        boundary, body = encode_multipart(fields)
        return self.client.post(f"/api/lessons/{lesson_id}/events", data=body,
                                content_type=f"multipart/form-data; boundary={boundary}", headers={"X-CSRF-Token": self.csrf})


def trainee_api(app, username="miranda", device=None) -> Api:
    """A trainee's phone, as an Api (GETs with its cookie)."""
    phone = Phone(app, username) if device is None else Phone(app, username, device)
    return Api(phone.client, phone.csrf)


def resident_id(first17: str) -> str:
    """A well-formed 居民身份证号码 from its first 17 digits (the check digit computed)."""
    from policies.identity import resident_id_check_digit

    return first17 + resident_id_check_digit(first17)
