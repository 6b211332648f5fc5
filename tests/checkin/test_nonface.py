"""A trainee who refuses face recognition still checks in (人脸识别技术应用安全管理办法): the bound
phone, its location and the room code, and the teacher's 确认本人在场 on the teacher's own
device in the room. Such events count as the region says (default: after the district's
review), and the path is closed to anyone whose face consent is in force."""
from __future__ import annotations

import dataclasses
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from policies import attendance
from policies.model import Cited
from server.models import Event, Lesson, NonfaceRequest, Role, Teacher, TrainingClass, User
from server.services import checkin, ledger, nonface, review, room_codes, rules
from server.services.scope import Actor
from tests.factories import PASSWORD, Phone, inside_fix

ROSE_DEVICE = "phone-rose-000001"


@pytest.fixture
def world(app, live, session):
    """The live world with room codes on; Rose (no face consent) has refused face processing."""
    cls = session.get(TrainingClass, live["class_id"])
    cls.room_code = True
    session.query(User).filter(User.username == "rose").update({"device_id": ROSE_DEVICE})
    session.commit()
    rose = _actor(session, "rose")
    nonface.record_refusal(session, rose, nonface.REFUSAL_VERSION, datetime.now(UTC) - timedelta(days=1))
    ctx = checkin.Context(recognizer=None, recognition_settings=app.config["RECOGNITION_SETTINGS"],  # type: ignore[arg-type]
                          store=app.extensions["hourproof_evidence"], room_code_key=app.config["SECRET_KEY"])
    return {**live, "ctx": ctx, "key": app.config["SECRET_KEY"]}


def _actor(session, username: str) -> Actor:
    return Actor.of(session.scalar(select(User).where(User.username == username)))


def _sub(kind: str, at: datetime, code: str | None, offset_m: float = 0.0, device: str = ROSE_DEVICE) -> checkin.Submission:
    fix = inside_fix(offset_m, fix_at=at)
    return checkin.Submission(kind=kind, nonce="", idempotency_key=uuid.uuid4().hex, device_id=device, camera_label=None,
                              lat=fix["lat"], lon=fix["lon"], accuracy_m=fix["accuracy_m"], datum="wgs84", frames=[],
                              fix_at=at, room_code=code)


def _through_teacher(session, w, kind: str, at: datetime) -> dict:
    """Rose asks from her phone at `at`; the teacher confirms her a minute later from the room."""
    code = room_codes.shown(w["key"], w["offline"], at).code
    status, req = nonface.submit_request(session, _actor(session, "rose"), w["offline"], _sub(kind, at, code), at, w["ctx"])
    assert status == 201 and req["verdict"] == "pending", req
    later = at + timedelta(minutes=1)
    status, event = nonface.attest(session, _actor(session, "teacher"), w["offline"], req["request_id"],
                                   _sub("check_in", later, room_codes.shown(w["key"], w["offline"], later).code, device="t"),
                                   later, w["ctx"])
    assert status == 201, event
    return event


def _offline(session, w, at: datetime) -> dict:
    out = ledger.enrollment_ledger(session, _actor(session, "supervisor"), _rose_enrollment(session, w), at)
    return next(x for x in out["lessons"] if x["lesson_id"] == w["offline"])


def _rose_enrollment(session, w) -> int:
    from server.models import Enrollment

    return session.scalar(select(Enrollment.id).where(Enrollment.trainee_id == w["other"]))


def test_the_attested_verdict_counts_directly_only_where_the_region_says_and_nothing_else_needs_a_look():
    verdict, why = attendance.attested_verdict("after_district_review", "POLICY §9", signals=False)
    assert verdict is attendance.EventVerdict.FLAGGED and why.code == "teacher_attested_needs_review"
    assert why.clause == "POLICY §9" and "区县人社复核" in why.detail
    verdict, why = attendance.attested_verdict("on_teacher_attestation", "js 4.2", signals=False)
    assert verdict is attendance.EventVerdict.VERIFIED and why.clause == "js 4.2" and "未使用人脸识别" in why.detail
    assert attendance.attested_verdict("on_teacher_attestation", "js 4.2", signals=True)[0] is attendance.EventVerdict.FLAGGED
    with pytest.raises(attendance.AttendanceError):
        attendance.attested_verdict("whenever", "POLICY §9", signals=False)


def test_a_region_file_sets_how_attested_check_ins_count_and_the_default_is_after_district_review(tmp_path):
    from policies import loader

    source = (loader.REGIONS_DIR / "cq.yaml").read_text(encoding="utf-8")
    assert loader.load_region("cq").attested_check_ins == Cited("after_district_review", "POLICY §9")
    allowed = tmp_path / "cq.yaml"
    allowed.write_text(source.replace("attested_check_ins: {counts: after_district_review, clause: POLICY §9}",
                                      "attested_check_ins: {counts: on_teacher_attestation, clause: cq 5.2}"), encoding="utf-8")
    assert loader.load_region_file(allowed).attested_check_ins == Cited("on_teacher_attestation", "cq 5.2")
    allowed.write_text(source.replace("counts: after_district_review", "counts: always"), encoding="utf-8")
    with pytest.raises(loader.PolicyFileError, match="attested_check_ins.counts"):
        loader.load_region_file(allowed)
    gone = tmp_path / "gone.yaml"
    gone.write_text("\n".join(x for x in source.splitlines() if not x.startswith("attested_check_ins")), encoding="utf-8")
    assert loader.load_region_file(gone).attested_check_ins == Cited("after_district_review", "POLICY §9")


def test_a_trainee_who_refused_face_processing_checks_in_through_the_teacher_and_is_credited_after_district_review(
        session, world):
    start = session.get(Lesson, world["offline"]).starts_at
    came = _through_teacher(session, world, "check_in", start - timedelta(minutes=5))
    left = _through_teacher(session, world, "check_out", start + timedelta(minutes=120))
    for e in (came, left):
        assert e["verdict"] == "flagged" and e["method"] == "teacher_attested"
        assert e["reasons"][0]["code"] == "teacher_attested_needs_review" and e["reasons"][0]["clause"] == "POLICY §9"
    stored = session.get(Event, came["event_id"])
    assert stored.evidence["frames"] == [] and "face" not in stored.evidence
    assert stored.evidence["teacher"]["fence"]["verdict"] == "inside" and stored.evidence["teacher"]["room_code"]["status"] == "ok"
    assert stored.evidence["trainee"]["room_code"]["status"] == "ok" and stored.evidence["trainee"]["consent_refusal"]["channel"] == "phone"
    lesson = _offline(session, world, start + timedelta(hours=3))
    assert lesson["credited_minutes"] == 0.0 and lesson["method_label"] == "老师确认（未使用人脸）"
    pending = [u for u in lesson["uncredited"] if u["code"] == "attested_pending_review"]
    assert pending and pending[0]["clause"] == "POLICY §9" and "未使用人脸识别" in pending[0]["detail"]
    # The district looks at the evidence in its usual queue and approves: then it counts.
    queue = review.queue(session, _actor(session, "supervisor"), world["class_id"])
    assert {came["event_id"], left["event_id"]} <= {e.id for e in queue}
    for e in (came, left):
        review.decide(session, _actor(session, "supervisor"), e["event_id"], "approved", "老师确认、位置与课堂码相符",
                      start + timedelta(hours=3, minutes=30))
    assert _offline(session, world, start + timedelta(hours=4))["credited_minutes"] == 120.0


def test_where_the_region_counts_attested_check_ins_directly_they_are_credited_without_review(
        session, world, monkeypatch):
    real = rules.region
    monkeypatch.setattr(rules, "region", lambda code: dataclasses.replace(
        real(code), attested_check_ins=Cited("on_teacher_attestation", "cq 5.2")))
    start = session.get(Lesson, world["offline"]).starts_at
    came = _through_teacher(session, world, "check_in", start - timedelta(minutes=5))
    _through_teacher(session, world, "check_out", start + timedelta(minutes=90))
    assert came["verdict"] == "verified" and came["reasons"][0] == {
        "code": "teacher_attested", "clause": "cq 5.2", "detail": came["reasons"][0]["detail"]}
    assert _offline(session, world, start + timedelta(hours=3))["credited_minutes"] == 90.0


def test_the_teacher_cannot_confirm_from_outside_the_room_with_a_wrong_code_for_another_lesson_or_twice(
        app, session, world, login):
    from server.adapters.passwords import hash_password

    cls = session.get(TrainingClass, world["class_id"])
    other = Teacher(institution_id=cls.institution_id, name="李老师")
    session.add(other)
    session.flush()
    session.add(User(username="teacher2", display_name="李老师", role=Role.teacher, institution_id=cls.institution_id,
                     teacher_id=other.id, password_hash=hash_password(PASSWORD)))
    session.commit()
    phone = Phone(app, "rose", ROSE_DEVICE)
    assert phone.client.get("/api/me/face-refusal").get_json()["refused"] is True
    now = datetime.now(UTC)
    code = room_codes.shown(world["key"], world["offline"], now).code
    body = {"kind": "check_in", "idempotency_key": uuid.uuid4().hex, "device": {"device_id": ROSE_DEVICE},
            "location": inside_fix(), "room_code": code}
    resp = phone.post(f"/api/lessons/{world['offline']}/nonface-events", json=body)
    assert resp.status_code == 201 and resp.get_json()["verdict"] == "pending", resp.get_json()
    request_id = resp.get_json()["request_id"]
    assert phone.post(f"/api/lessons/{world['offline']}/nonface-events", json=body).status_code == 200  # a retry

    teacher = login("teacher")
    url = f"/api/lessons/{world['offline']}/nonface-requests/{request_id}/attest"
    roll = teacher.get(f"/api/lessons/{world['offline']}/roll").get_json()
    row = next(t for t in roll["trainees"] if t["trainee_id"] == world["other"])
    assert row["face_refused"] is True and [a["request_id"] for a in row["awaiting_teacher"]] == [request_id]

    outside = teacher.post(url, json={"location": inside_fix(offset_m=2000), "room_code": code})
    assert outside.status_code == 422 and outside.get_json()["error"]["code"] == "teacher_place_not_verified"
    wrong = teacher.post(url, json={"location": inside_fix(), "room_code": "000000" if code != "000000" else "111111"})
    assert wrong.status_code == 422 and "课堂码" in wrong.get_json()["error"]["message"]
    # The request belongs to the offline lesson: named under another lesson, it is not there.
    elsewhere = teacher.post(f"/api/lessons/{world['online']}/nonface-requests/{request_id}/attest",
                             json={"location": inside_fix(), "room_code": code})
    assert elsewhere.status_code == 404
    # A teacher of the same institution who does not teach this lesson reads it as not there.
    assert login("teacher2").post(url, json={"location": inside_fix(), "room_code": code}).status_code == 404
    # A trainee cannot confirm anyone.
    assert phone.post(url, json={"location": inside_fix(), "room_code": code}).status_code == 403
    assert session.scalar(select(func.count(Event.id)).where(Event.trainee_id == world["other"])) == 0
    session.rollback()  # end the read: SQLite's writer would wait on it

    first = teacher.post(url, json={"location": inside_fix(), "room_code": code})
    assert first.status_code == 201 and first.get_json()["method"] == "teacher_attested", first.get_json()
    again = teacher.post(url, json={"location": inside_fix(), "room_code": code})
    assert again.status_code == 200 and again.get_json()["event_id"] == first.get_json()["event_id"]
    session.rollback()  # a fresh read: this session's last one saw the database before the tap
    assert session.scalar(select(func.count(Event.id)).where(Event.trainee_id == world["other"])) == 1
    roll = teacher.get(f"/api/lessons/{world['offline']}/roll").get_json()
    row = next(t for t in roll["trainees"] if t["trainee_id"] == world["other"])
    assert row["awaiting_teacher"] == [] and row["last"]["method_label"] == "老师确认（未使用人脸）"
    assert session.scalar(select(func.count(NonfaceRequest.id))) == 1  # the retry made no second request


def test_a_trainee_whose_face_consent_is_in_force_cannot_take_the_path_without_a_face(app, session, world):
    from tests.factories import MIRANDA_DEVICE

    phone = Phone(app, "miranda", MIRANDA_DEVICE)
    status = phone.client.get("/api/me/face-refusal").get_json()
    assert status["consent_in_force"] is True and status["refused"] is False
    body = {"kind": "check_in", "idempotency_key": uuid.uuid4().hex, "device": {"device_id": MIRANDA_DEVICE},
            "location": inside_fix(), "room_code": room_codes.shown(world["key"], world["offline"], datetime.now(UTC)).code}
    resp = phone.post(f"/api/lessons/{world['offline']}/nonface-events", json=body)
    assert resp.status_code == 409 and resp.get_json()["error"]["code"] == "face_consent_in_force"
    # Nor can the phone record a refusal over a consent in force (withdrawal erases the templates: the institution does it).
    refused = phone.post("/api/me/face-refusal", json={"text_version": nonface.REFUSAL_VERSION})
    assert refused.status_code == 409
    assert session.scalar(select(func.count(NonfaceRequest.id))) == 0


def test_exports_mark_an_attested_event_in_words_and_name_the_teacher():
    from types import SimpleNamespace

    from server.exports.tables import evidence_refs, kind_zh

    evidence = {"method": "teacher_attested", "frames": [], "location": {"lat": 29.6, "lon": 106.5, "accuracy_m": 8, "datum": "wgs84"},
                "teacher": {"username": "wang-teacher", "fence": {"verdict": "inside"}}}
    assert kind_zh(SimpleNamespace(kind="check_in", evidence=evidence)) == "签到·老师确认（未使用人脸）"
    assert kind_zh(SimpleNamespace(kind="check_in", evidence={"frames": ["a" * 64]})) == "签到"
    refs = evidence_refs(evidence)
    assert "老师确认（未使用人脸）：老师账号 wang-teacher，老师定位在场地围栏内" in refs and "帧" not in refs
