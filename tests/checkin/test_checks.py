"""The checks behind one check-in, each on its own, over HTTP with the real face pipeline on real
video frames and a real database (SQLite and PostgreSQL): the lesson's time window, consent and
the face template, and the guard that turns an error inside any check into a flagged event."""
from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from server.models import Consent, Event, FaceTemplate, Lesson
from server.services.consent import CONSENT_SHA256, CONSENT_VERSION
from tests.factories import Phone, inside_fix

pytestmark = pytest.mark.slow

WINDOW_CODES = {"too_early", "lesson_over", "lesson_not_started", "check_out_closed", "outside_lesson", "late"}


def _move(session, lesson_id: int, starts_at: datetime, ends_at: datetime) -> None:
    """Reschedule the lesson in the database, as the institution would."""
    lesson = session.get(Lesson, lesson_id)
    lesson.starts_at, lesson.ends_at = starts_at, ends_at
    session.commit()


def _codes(body: dict) -> list[str]:
    return [r["code"] for r in body["reasons"]]


def _stored(session, event_id: int) -> Event:
    session.rollback()  # see what the request committed
    return session.get(Event, event_id)


# --- the lesson's time window (签到 opens 30 min before the start; 签退 closes 30 min after the end)


def test_a_check_in_before_the_window_opens_is_rejected_with_when_it_opens(app, live, session, clip_burst):
    phone = Phone(app)
    now = datetime.now(UTC)
    _move(session, live["offline"], now + timedelta(minutes=35), now + timedelta(hours=4))
    resp = phone.send(live["offline"], clip_burst, location=inside_fix())
    assert resp.status_code == 201, resp.get_json()
    body = resp.get_json()
    assert body["verdict"] == "rejected"
    early = next(r for r in body["reasons"] if r["code"] == "too_early")
    assert "课前 30 分钟开放" in early["detail"] and early["clause"] == "cq 5.2"
    assert "late" not in _codes(body)
    event = _stored(session, body["event_id"])
    assert event.verdict == "rejected" and "too_early" in [r["code"] for r in event.reasons]


def test_a_check_in_twenty_minutes_before_the_start_is_verified_and_not_late(app, live, session, clip_burst):
    phone = Phone(app)
    now = datetime.now(UTC)
    _move(session, live["offline"], now + timedelta(minutes=20), now + timedelta(hours=4))
    body = phone.send(live["offline"], clip_burst, location=inside_fix()).get_json()
    assert body["verdict"] == "verified", body["reasons"]
    assert not WINDOW_CODES & set(_codes(body))
    assert "late_minutes" not in _stored(session, body["event_id"]).evidence


def test_a_check_in_after_the_start_is_verified_with_the_minutes_late_recorded(app, live, session, clip_burst):
    phone = Phone(app)
    now = datetime.now(UTC)
    # 25 min 20 s late when the request arrives (a few seconds later): 25 whole minutes.
    _move(session, live["offline"], now - timedelta(minutes=25, seconds=20), now + timedelta(hours=3))
    body = phone.send(live["offline"], clip_burst, location=inside_fix()).get_json()
    assert body["verdict"] == "verified", body["reasons"]  # late is recorded, not a failure
    late = [r for r in body["reasons"] if r["code"] == "late"]
    assert len(late) == 1 and "迟到 25 分钟" in late[0]["detail"]
    event = _stored(session, body["event_id"])
    assert event.evidence["late_minutes"] == 25
    assert body["message"].startswith("签到成功")


def test_a_check_in_after_the_lesson_ended_is_rejected_as_over(app, live, session, clip_burst):
    phone = Phone(app)
    now = datetime.now(UTC)
    _move(session, live["offline"], now - timedelta(hours=3), now - timedelta(minutes=5))
    body = phone.send(live["offline"], clip_burst, location=inside_fix()).get_json()
    assert body["verdict"] == "rejected"
    assert "lesson_over" in _codes(body) and "late" not in _codes(body)
    assert "late_minutes" not in _stored(session, body["event_id"]).evidence


def test_a_check_out_before_the_lesson_started_is_rejected(app, live, session, clip_burst):
    phone = Phone(app)
    now = datetime.now(UTC)
    _move(session, live["offline"], now + timedelta(minutes=20), now + timedelta(hours=4))
    body = phone.send(live["offline"], clip_burst, kind="check_out", location=inside_fix()).get_json()
    assert body["verdict"] == "rejected"
    assert "lesson_not_started" in _codes(body)


def test_a_check_out_more_than_thirty_minutes_after_the_end_is_rejected_as_closed(app, live, session, clip_burst):
    phone = Phone(app)
    now = datetime.now(UTC)
    _move(session, live["offline"], now - timedelta(hours=4), now - timedelta(minutes=35))
    body = phone.send(live["offline"], clip_burst, kind="check_out", location=inside_fix()).get_json()
    assert body["verdict"] == "rejected"
    closed = next(r for r in body["reasons"] if r["code"] == "check_out_closed")
    assert "不计入学时" in closed["detail"]


def test_a_check_out_twenty_minutes_after_the_end_is_verified(app, live, session, clip_burst):
    phone = Phone(app)
    now = datetime.now(UTC)
    _move(session, live["offline"], now - timedelta(hours=4), now - timedelta(minutes=20))
    body = phone.send(live["offline"], clip_burst, kind="check_out", location=inside_fix()).get_json()
    assert body["verdict"] == "verified", body["reasons"]
    assert not WINDOW_CODES & set(_codes(body))
    assert body["message"].startswith("签退成功")


# --- consent and the face template ---------------------------------------------------------------


def test_a_trainee_who_withdrew_consent_is_rejected_with_no_consent_and_no_face_work(app, live, session, clip_burst):
    phone = Phone(app)
    resp = phone.post(f"/api/trainees/{live['trainee']}/consent",
                      json={"granted": False, "channel": "phone", "text_version": CONSENT_VERSION})
    assert resp.status_code == 201, resp.get_json()
    session.rollback()
    # Append-only: the grant is still there, the withdrawal is a newer row.
    assert [c.granted for c in session.scalars(select(Consent).where(Consent.trainee_id == live["trainee"])
                                               .order_by(Consent.id))] == [True, False]
    body = phone.send(live["offline"], clip_burst, location=inside_fix()).get_json()
    assert body["verdict"] == "rejected"
    assert "no_consent" in _codes(body)
    assert body["face_distance"] is None
    evidence = _stored(session, body["event_id"]).evidence
    assert "face" not in evidence
    # ...and the frames were not kept: without consent no biometric data is stored at all
    assert evidence["frames"] == [] and evidence["frames_not_kept"]["count"] == len(clip_burst)
    store = app.extensions["hourproof_evidence"]
    assert not any(store.exists(hashlib.sha256(f).hexdigest()) for f in clip_burst)


def test_a_withdrawal_stops_face_work_even_while_a_template_is_still_on_file(app, live, session, clip_burst, monkeypatch):
    import recognition

    calls = []
    real = recognition.check_liveness
    monkeypatch.setattr(recognition, "check_liveness", lambda *a, **k: calls.append(1) or real(*a, **k))
    # The withdrawal row alone (its template not yet erased): consent is what is checked first.
    session.add(Consent(trainee_id=live["trainee"], purpose="biometric", granted=False, text_version=CONSENT_VERSION,
                        text_sha256=CONSENT_SHA256, channel="phone"))
    session.commit()
    assert session.scalar(select(func.count()).select_from(FaceTemplate)
                          .where(FaceTemplate.trainee_id == live["trainee"], FaceTemplate.erased_at.is_(None))) == 1
    body = Phone(app).send(live["offline"], clip_burst, location=inside_fix()).get_json()
    assert body["verdict"] == "rejected" and "no_consent" in _codes(body)
    assert calls == []  # no liveness, no matching
    assert "face" not in _stored(session, body["event_id"]).evidence


def test_a_trainee_with_consent_but_no_face_template_is_rejected_with_no_face_template(app, live, session, clip_burst):
    rose = Phone(app, "rose", device="phone-rose-000001")
    resp = rose.post(f"/api/trainees/{live['other']}/consent",
                     json={"granted": True, "channel": "phone", "text_version": CONSENT_VERSION})
    assert resp.status_code == 201, resp.get_json()
    body = rose.send(live["offline"], clip_burst, location=inside_fix()).get_json()
    assert body["verdict"] == "rejected"
    assert "no_face_template" in _codes(body) and "no_consent" not in _codes(body)
    assert "face" not in _stored(session, body["event_id"]).evidence


# --- the guard: an error inside a check flags the event, never verifies it -----------------------

GUARDED = {
    "device": "_check_device",
    "window": "_check_window",
    "nonce": "_use_nonce",
    "spot_check": "_spot_check",
    "location": "_check_location",
    "replay": "_check_replay",
    "shared_device": "_check_shared_device",
    "face_input": "_face_input",
    "consent": "_consented",
}


def _boom(*_a, **_k):
    raise RuntimeError("the check fell over")


@pytest.mark.parametrize("name", list(GUARDED))
def test_an_error_inside_a_check_flags_the_event_for_review_naming_the_check(app, live, session, clip_burst,
                                                                               monkeypatch, name):
    from server.services import checkin

    monkeypatch.setattr(checkin, GUARDED[name], _boom)
    body = Phone(app).send(live["offline"], clip_burst, location=inside_fix()).get_json()
    assert body["verdict"] == "flagged", body["reasons"]  # every other check passes
    errors = [r for r in body["reasons"] if r["code"] == "check_error"]
    assert [r["check"] for r in errors] == [name]
    assert errors[0]["clause"] == "cq 5.2" and "RuntimeError" in errors[0]["detail"]
    event = _stored(session, body["event_id"])
    assert event.verdict == "flagged" and any(r.get("check") == name for r in event.reasons)
    if name == "consent":  # consent not known to be in force: no face work, frames not kept
        assert "face" not in event.evidence and event.evidence["frames"] == []


def test_an_error_escaping_the_face_check_flags_the_event_never_verified(app, live, session, clip_burst, monkeypatch):
    import recognition

    monkeypatch.setattr(recognition, "check_liveness", _boom)
    body = Phone(app).send(live["offline"], clip_burst, location=inside_fix()).get_json()
    assert body["verdict"] == "flagged", body["reasons"]
    errors = [r for r in body["reasons"] if r["code"] == "check_error"]
    assert [r["check"] for r in errors] == ["face"]
    event = _stored(session, body["event_id"])
    assert event.verdict == "flagged" and "face" not in event.evidence
