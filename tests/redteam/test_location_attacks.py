"""Red team, location: what a cheating trainee or institution sends, and what must stop it.

Each attack here was verified (or filed) before the defences of issue 17's "location the server
can trust more": a fix two hours old, a WGS-84 reading labelled gcj02 (which moves it ~500 m into
the fence), an accuracy of 0.01 m, the same coordinates again under another datum label, a 100 km
fence for a 420 m² room, a class filed at a venue whose fence nobody approved. Each test fails if
its defence is removed; the honest control (a fresh WGS-84 fix inside the fence) stays verified.

The face and liveness checks are not what is attacked here (their red team has the real clip):
in this module they are replaced by a stub that finds nothing wrong, so each location attack is
judged by the location checks alone - without them it would be verified.
"""
from __future__ import annotations

import io
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from policies import geofence
from server.config import LocationSettings
from tests.factories import PASSWORD, VENUE_GCJ, Phone, approve_fence, inside_fix, log_in, yubei_institution

DEVICE = "phone-redteam-0001"


@pytest.fixture
def frames() -> list[bytes]:
    """Five small JPEG frames (what the face stub is shown: nothing is judged on them here)."""
    from PIL import Image

    out = []
    for i in range(5):
        buf = io.BytesIO()
        Image.new("RGB", (32, 32), (40 * i, 90, 160)).save(buf, "JPEG")
        out.append(buf.getvalue())
    return out


@pytest.fixture
def located(app, session, monkeypatch):
    """An offline lesson in progress at an approved GCJ-02 venue (4,000 m², a 120 m circle), a
    consented trainee `attacker` whose face checks are stubbed to pass, an institution admin and
    the district's supervisor."""
    from server.adapters.passwords import hash_password
    from server.models import (
        ClassStatus,
        Consent,
        Enrollment,
        Lesson,
        LessonContent,
        LessonMode,
        Level,
        Role,
        Trainee,
        TrainingClass,
        User,
        Venue,
    )
    from server.services.consent import CONSENT_SHA256, CONSENT_VERSION

    monkeypatch.setattr("server.services.checkin._face_input", lambda *args, **kwargs: None)
    district, inst = yubei_institution(session)
    venue = Venue(institution_id=inst.id, name="实训中心", address="x", datum="gcj02", fence_kind="circle",
                  centre_lat=VENUE_GCJ[0], centre_lon=VENUE_GCJ[1], radius_m=120, max_accuracy_m=50, area_m2=4000)
    session.add(venue)
    session.flush()
    approve_fence(session, venue)
    cls = TrainingClass(institution_id=inst.id, region_code="cq", district_id=district.id, name="云计算中级",
                        occupation_code="2-02-38-04", level=Level.mid, starts_on=date.today() - timedelta(days=5),
                        ends_on=date.today() + timedelta(days=30), status=ClassStatus.filed)
    session.add(cls)
    session.flush()
    now = datetime.now(UTC)
    lesson = Lesson(class_id=cls.id, starts_at=now - timedelta(minutes=10), ends_at=now + timedelta(hours=3),
                    mode=LessonMode.offline, content=LessonContent.practice, venue_id=venue.id)
    trainee = Trainee(resident_id="500112199503120419", name="林曼努", phone="13800000001")
    session.add_all([lesson, trainee])
    session.flush()
    session.add(Enrollment(class_id=cls.id, trainee_id=trainee.id))
    session.add(Consent(trainee_id=trainee.id, purpose="biometric", granted=True, text_version=CONSENT_VERSION,
                        text_sha256=CONSENT_SHA256, channel="phone"))
    pw = hash_password(PASSWORD)
    session.add_all([
        User(username="attacker", display_name="林曼努", role=Role.trainee, trainee_id=trainee.id, password_hash=pw),
        User(username="inst-admin", display_name="a", role=Role.institution_admin, institution_id=inst.id, password_hash=pw),
        User(username="yubei-supervisor", display_name="s", role=Role.district_supervisor, district_id=district.id,
             password_hash=pw),
    ])
    session.commit()
    return {"lesson": lesson.id, "venue": venue.id, "institution": inst.id, "district": district.id}


def _codes(body: dict) -> set[str]:
    return {r["code"] for r in body["reasons"]}


def _event_evidence(session, event_id: int) -> dict:
    from server.models import Event

    session.rollback()
    return session.scalar(select(Event.evidence).where(Event.id == event_id))


def test_the_honest_control_a_fresh_wgs84_fix_inside_the_fence_is_verified(app, located, frames, session):
    body = Phone(app, "attacker", DEVICE).send(located["lesson"], frames, location=inside_fix(offset_m=15)).get_json()
    assert body["verdict"] == "verified", body["reasons"]
    evidence = _event_evidence(session, body["event_id"])
    assert evidence["location"]["fix_age_s"] < 30 and evidence["venue_fence"]["status"] == "approved"
    assert evidence["fence"]["verdict"] == "inside"


def test_a_fix_taken_two_hours_ago_is_rejected_as_stale(app, located, frames, session):
    two_hours_ago = datetime.now(UTC) - timedelta(hours=2)
    body = Phone(app, "attacker", DEVICE).send(located["lesson"], frames, location=inside_fix(fix_at=two_hours_ago)).get_json()
    assert body["verdict"] == "rejected"
    stale = next(r for r in body["reasons"] if r["code"] == "fix_stale")
    assert stale["clause"] == "cq 5.2" and "重新签到" in stale["detail"]
    location = _event_evidence(session, body["event_id"])["location"]
    assert location["fix_age_s"] == pytest.approx(7200, abs=60) and location["max_fix_age_s"] == 150


def test_a_fix_without_its_time_is_rejected(app, located, frames):
    fix = inside_fix()
    del fix["fix_at"]
    body = Phone(app, "attacker", DEVICE).send(located["lesson"], frames, location=fix).get_json()
    assert body["verdict"] == "rejected" and "fix_time_missing" in _codes(body)


def test_a_wgs84_reading_labelled_gcj02_is_refused_instead_of_moving_into_the_fence(app, located, frames, session):
    # The phone stands where its WGS-84 numbers are: the venue's GCJ-02 digits read as WGS-84,
    # some 480 m from the venue. Labelled gcj02, the same numbers would land on the fence's centre.
    standing = {"lat": VENUE_GCJ[0], "lon": VENUE_GCJ[1]}
    venue_wgs = geofence.gcj02_to_wgs84(*VENUE_GCJ)
    assert 400 < geofence.distance_m(venue_wgs, VENUE_GCJ) < 600
    phone = Phone(app, "attacker", DEVICE)
    body = phone.send(located["lesson"], frames, location=inside_fix() | standing | {"datum": "gcj02"}).get_json()
    assert body["verdict"] == "rejected"
    refused = next(r for r in body["reasons"] if r["code"] == "datum_not_accepted")
    assert refused["clause"] == "POLICY §9" and "浏览器" in refused["detail"]
    assert "fence" not in _event_evidence(session, body["event_id"])
    # Honestly labelled, the same reading is where it is: outside.
    honest = phone.send(located["lesson"], frames, location=inside_fix() | standing | {"lat": VENUE_GCJ[0] + 1e-6}).get_json()
    assert "outside_fence" in _codes(honest)


def test_an_accuracy_of_one_centimetre_is_not_verified(app, located, frames):
    body = Phone(app, "attacker", DEVICE).send(located["lesson"], frames, location=inside_fix(accuracy=0.01)).get_json()
    assert body["verdict"] == "flagged"
    assert "accuracy_implausible" in _codes(body)


def test_the_same_accuracy_on_three_fixes_in_a_row_is_not_verified(app, located, frames):
    phone = Phone(app, "attacker", DEVICE)
    bodies = [phone.send(located["lesson"], frames, location=inside_fix(offset_m=5 * i) | {"accuracy_m": 12.0}).get_json()
              for i in range(3)]
    assert "accuracy_repeated" not in _codes(bodies[1])
    assert bodies[2]["verdict"] == "flagged" and "accuracy_repeated" in _codes(bodies[2])


def test_coordinates_repeated_under_another_datum_label_are_not_verified(app, located, frames):
    # A deployment whose own app converts accepts gcj02 labels; the replay is re-expressed in GCJ-02.
    app.config["LOCATION_SETTINGS"] = LocationSettings(client_datums=("wgs84", "gcj02"))
    phone = Phone(app, "attacker", DEVICE)
    first = inside_fix(offset_m=10)
    assert phone.send(located["lesson"], frames, location=first).get_json()["verdict"] == "verified"
    phone.send(located["lesson"], frames, location=inside_fix(offset_m=30))
    lat, lon = geofence.wgs84_to_gcj02(first["lat"], first["lon"])
    replay = inside_fix() | {"lat": lat, "lon": lon, "datum": "gcj02"}
    body = phone.send(located["lesson"], frames, location=replay).get_json()
    assert body["verdict"] == "flagged" and "replayed_fix" in _codes(body)
    # (Without that setting the label alone is refused: the test above.)


def test_a_100_km_fence_for_a_420_square_metre_venue_is_refused_at_save_and_at_approval(app, located, session):
    admin = log_in(app, "inst-admin")
    huge = {"name": "小教室", "address": "x", "area_m2": 420, "datum": "gcj02", "fence_kind": "circle",
            "centre_lat": VENUE_GCJ[0], "centre_lon": VENUE_GCJ[1], "radius_m": 100_000}
    resp = admin.post("/api/venues", json=huge)
    assert resp.status_code == 422 and resp.get_json()["error"]["code"] == "fence_too_large"
    assert "100 公里" in resp.get_json()["error"]["message"]
    # Written behind the application's back (or before these rules), it still cannot be approved,
    # so no class there can be filed.
    from server.models import Venue

    venue = Venue(institution_id=located["institution"], **{**huge, "radius_m": 100_000.0})
    session.add(venue)
    session.commit()
    supervisor = log_in(app, "yubei-supervisor")
    resp = supervisor.post(f"/api/venues/{venue.id}/fence-decision", json={"decision": "approve", "reason": "同意"})
    assert resp.status_code == 422 and resp.get_json()["error"]["code"] == "fence_implausible"
    # A fence within the bound but far beyond a 420 m² room is refused too.
    resp = admin.post("/api/venues", json={**huge, "radius_m": 200})
    assert resp.status_code == 422 and resp.get_json()["error"]["code"] == "fence_exceeds_venue"


def _class_at(admin, located, venue_id: int) -> int:
    start = datetime.now(UTC) + timedelta(days=10)
    resp = admin.post("/api/classes", json={
        "name": "新班", "region_code": "cq", "district_id": located["district"], "occupation_code": "2-02-38-04",
        "level": "mid", "starts_on": start.date().isoformat(), "ends_on": (start + timedelta(days=40)).date().isoformat(),
        "lessons": [{"starts_at": start.isoformat(), "ends_at": (start + timedelta(hours=4)).isoformat(), "mode": "offline",
                     "content": "practice", "venue_id": venue_id}]})
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()["id"]


def test_a_class_at_a_venue_whose_fence_is_not_approved_is_not_filed(app, located):
    admin = log_in(app, "inst-admin")
    resp = admin.post("/api/venues", json={"name": "二号教室", "address": "x", "area_m2": 420, "datum": "gcj02",
                                           "fence_kind": "circle", "centre_lat": VENUE_GCJ[0], "centre_lon": VENUE_GCJ[1],
                                           "radius_m": 60})
    assert resp.status_code == 201 and resp.get_json()["fence_approval"]["status"] == "pending"
    venue_id = resp.get_json()["id"]
    class_id = _class_at(admin, located, venue_id)
    resp = admin.post(f"/api/classes/{class_id}/file")
    assert resp.status_code == 422
    error = resp.get_json()["error"]
    assert error["code"] == "venue_fence_not_approved" and "二号教室" in error["message"]
    assert error["violations"][0]["clause"] == "cq 3.2.2"
    # Once the district approves, the fence no longer stands in the way of filing.
    supervisor = log_in(app, "yubei-supervisor")
    assert [p["venue"]["id"] for p in supervisor.get("/api/venue-fences/pending").get_json()] == [venue_id]
    resp = supervisor.post(f"/api/venues/{venue_id}/fence-decision", json={"decision": "approve", "reason": "现场核实，围栏与场地相符"})
    assert resp.status_code == 201, resp.get_json()
    resp = admin.post(f"/api/classes/{class_id}/file")
    assert resp.status_code == 200 or resp.get_json()["error"]["code"] != "venue_fence_not_approved"


def test_a_changed_fence_needs_approval_again_and_check_ins_there_are_flagged_until_then(app, located, frames, session):
    admin = log_in(app, "inst-admin")
    wider = {"area_m2": 4000, "datum": "gcj02", "fence_kind": "circle", "centre_lat": VENUE_GCJ[0],
             "centre_lon": VENUE_GCJ[1], "radius_m": 121}
    resp = admin.post(f"/api/venues/{located['venue']}/fence", json=wider)
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["fence_version"] == 2 and resp.get_json()["fence_approval"]["status"] == "pending"
    body = Phone(app, "attacker", DEVICE).send(located["lesson"], frames, location=inside_fix(offset_m=15)).get_json()
    assert body["verdict"] == "flagged" and "fence_not_approved" in _codes(body)
    class_id = _class_at(admin, located, located["venue"])
    assert admin.post(f"/api/classes/{class_id}/file").get_json()["error"]["code"] == "venue_fence_not_approved"
    # The decision on the new version is audited, and the institution sees it.
    supervisor = log_in(app, "yubei-supervisor")
    resp = supervisor.post(f"/api/venues/{located['venue']}/fence-decision", json={"decision": "reject", "reason": "范围超出教学楼"})
    assert resp.status_code == 201 and resp.get_json()["fence_version"] == 2
    venues = admin.get(f"/api/institutions/{located['institution']}/venues").get_json()
    assert venues[0]["fence_approval"]["status"] == "rejected"
    assert venues[0]["fence_approval"]["decision"]["reason"] == "范围超出教学楼"
    from server.models import AuditEntry

    session.rollback()
    actions = session.scalars(select(AuditEntry.action).where(AuditEntry.entity == "venue")).all()
    assert "venue.change_fence" in actions and "venue.fence_reject" in actions


# --- the room code: presence a mock location cannot fake ------------------------------------------


def _require_room_code(session, lesson_id: int) -> None:
    from server.models import Lesson, TrainingClass

    session.get_one(TrainingClass, session.get_one(Lesson, lesson_id).class_id).room_code = True
    session.commit()


def test_a_mock_location_inside_the_fence_is_rejected_without_the_code_on_the_teachers_screen(app, located, frames, session):
    # A mocked fix is indistinguishable from a real one inside the fence: fresh, WGS-84, plausible.
    _require_room_code(session, located["lesson"])
    phone = Phone(app, "attacker", DEVICE)
    body = phone.send(located["lesson"], frames, location=inside_fix(offset_m=12, accuracy=18)).get_json()
    assert body["verdict"] == "rejected"
    missing = next(r for r in body["reasons"] if r["code"] == "room_code_missing")
    assert missing["clause"] == "cq 5.2" and "课堂码" in missing["detail"]
    assert _event_evidence(session, body["event_id"])["room_code"]["status"] == "missing"
    # In the room, the trainee reads the teacher's screen (the institution admin's page here).
    shown = log_in(app, "inst-admin").get(f"/api/lessons/{located['lesson']}/room-code").get_json()
    assert len(shown["code"]) == 6 and shown["interval_s"] == 15
    typed = shown["code"][:3] + " " + shown["code"][3:]
    body = phone.send(located["lesson"], frames, location=inside_fix(offset_m=14, accuracy=22), room_code=typed).get_json()
    assert body["verdict"] == "verified", body["reasons"]
    assert _event_evidence(session, body["event_id"])["room_code"]["status"] == "ok"


def test_another_lessons_room_code_and_a_code_minutes_old_are_rejected(app, located, frames, session):
    from server.models import Lesson
    from server.services import room_codes

    _require_room_code(session, located["lesson"])
    lesson = session.get_one(Lesson, located["lesson"])
    other = Lesson(class_id=lesson.class_id, starts_at=lesson.starts_at, ends_at=lesson.ends_at, mode=lesson.mode,
                   content=lesson.content, venue_id=lesson.venue_id)
    session.add(other)
    session.commit()
    admin = log_in(app, "inst-admin")
    elsewhere = admin.get(f"/api/lessons/{other.id}/room-code").get_json()["code"]
    here = admin.get(f"/api/lessons/{located['lesson']}/room-code").get_json()["code"]
    assert elsewhere != here  # each lesson has its own key (a one-in-a-million tie would fail loudly here)
    phone = Phone(app, "attacker", DEVICE)
    body = phone.send(located["lesson"], frames, location=inside_fix(offset_m=8, accuracy=16), room_code=elsewhere).get_json()
    assert body["verdict"] == "rejected" and "room_code_wrong" in _codes(body)
    # A code photographed and sent round two minutes ago is this lesson's, but old.
    old = room_codes.shown(app.config["SECRET_KEY"], located["lesson"], datetime.now(UTC) - timedelta(minutes=2)).code
    body = phone.send(located["lesson"], frames, location=inside_fix(offset_m=9, accuracy=17), room_code=old).get_json()
    assert body["verdict"] == "rejected"
    stale = next(r for r in body["reasons"] if r["code"] == "room_code_stale")
    assert "过期" in stale["detail"]
    assert 90 <= _event_evidence(session, body["event_id"])["room_code"]["age_s"] <= 125


def test_only_the_teaching_side_sees_a_room_code_and_only_while_the_lesson_runs(app, located, session):
    from server.models import Lesson

    path = f"/api/lessons/{located['lesson']}/room-code"
    assert log_in(app, "inst-admin").get(path).status_code == 422  # this class does not use codes
    _require_room_code(session, located["lesson"])
    assert Phone(app, "attacker", DEVICE).client.get(path).status_code == 403
    assert log_in(app, "yubei-supervisor").get(path).status_code == 403
    lesson = session.get_one(Lesson, located["lesson"])
    lesson.starts_at, lesson.ends_at = lesson.starts_at + timedelta(days=1), lesson.ends_at + timedelta(days=1)
    session.commit()
    early = log_in(app, "inst-admin").get(path)
    assert early.status_code == 409 and "上课时" in early.get_json()["error"]["message"]
