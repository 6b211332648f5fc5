"""A frame purged after its keeping period answers 410 with a message that says so; a frame that
should still be there and is not is named as missing (not a bare 500 stack trace)."""
from __future__ import annotations

from datetime import UTC, date, datetime

from server.models import TrainingClass
from server.services import chain, retention


def _event(session, world, digest: str, at: datetime, key: str):
    e = chain.append(session, chain.NewEvent(
        kind="check_in", class_id=world.class_id, lesson_id=world.lesson_id, enrollment_id=world.enrollment_id,
                     trainee_id=world.trainee_id, actor_id=world.trainee_user_id, at=at, verdict="verified",
                     decides_event_id=None, spot_check_id=None, reasons=[], evidence={"frames": [digest]}, idempotency_key=key,
                     device_id=None))
    session.commit()
    return e


def test_a_frame_purged_after_its_keeping_period_answers_410_saying_so(app, worlds, login, session):
    y = worlds["yubei"]
    cls = session.get(TrainingClass, y.class_id)
    cls.starts_on, cls.ends_on = date(2015, 3, 1), date(2015, 6, 30)  # ended more than 5 years before today
    store = app.extensions["hourproof_evidence"]
    event = _event(session, y, store.put(b"\xff\xd8\xff\xe0 a frame of 2015"), datetime(2015, 3, 2, 1, tzinfo=UTC), "old")
    sup = login("yubei-supervisor")
    assert sup.get(f"/api/events/{event.id}/frames/0").status_code == 200

    assert retention.purge_photos(session, datetime.now(UTC), store, dry_run=False).files == 1
    resp = sup.get(f"/api/events/{event.id}/frames/0")
    assert resp.status_code == 410
    assert resp.get_json()["error"] == {"code": "evidence_purged", "message": "证据照片已按保存期限删除"}
    # Scope is still checked first: another district does not learn that the event exists.
    assert login("nanan-supervisor").get(f"/api/events/{event.id}/frames/0").status_code == 404


def test_a_frame_missing_inside_its_keeping_period_is_named_as_missing(app, worlds, login, session):
    y = worlds["yubei"]
    store = app.extensions["hourproof_evidence"]
    digest = store.put(b"\xff\xd8\xff\xe0 a frame of this year")
    event = _event(session, y, digest, datetime(2026, 3, 2, 1, 5, tzinfo=UTC), "young")
    store.delete(digest)
    resp = login("yubei-supervisor").get(f"/api/events/{event.id}/frames/0")
    assert resp.status_code == 500 and resp.get_json()["error"]["code"] == "evidence_missing"
    assert "未到保存期限" in resp.get_json()["error"]["message"]
