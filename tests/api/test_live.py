"""The live dashboard's Socket.IO side and its reads: a message reaches exactly the scopes that
contain its class, a reconnect loses nothing (snapshot since a cursor), frames are scoped and
their viewing audited."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from server.extensions import socketio


def _socket(app, api):
    return socketio.test_client(app, flask_test_client=api.client)


def _events(sock, name="event"):
    return [m["args"][0] for m in sock.get_received() if m["name"] == name]


def test_a_socket_without_a_signed_in_session_is_refused(app):
    sock = socketio.test_client(app, flask_test_client=app.test_client())
    assert not sock.is_connected()


def test_a_review_decision_reaches_its_districts_watchers_and_nobody_in_another_district(app, worlds, login):
    y = worlds["yubei"]
    watchers = {name: _socket(app, login(name)) for name in
                ("yubei-supervisor", "yubei-admin", "yubei-teacher", "city", "admin",
                 "nanan-supervisor", "nanan-admin", "nanan-teacher", "yubei-trainee", "nanan-trainee")}
    for sock in watchers.values():
        assert sock.is_connected()
        sock.get_received()  # the hello
    resp = login("yubei-supervisor").post(f"/api/events/{y.event_id}/review", json={"decision": "approved", "reason": "现场核实"})
    assert resp.status_code == 201, resp.get_json()
    decision_id = resp.get_json()["event_id"]
    heard = {name: _events(sock) for name, sock in watchers.items()}
    for name in ("yubei-supervisor", "yubei-admin", "yubei-teacher", "city", "admin"):
        assert [m["event_id"] for m in heard[name]] == [decision_id], name
        assert heard[name][0]["decides_event_id"] == y.event_id and heard[name][0]["class_id"] == y.class_id
        # the lesson's counts after the event ride along (counted once, not per dashboard)
        assert heard[name][0]["lesson_counts"] == {"enrolled": 1, "checked_in": 0, "verified": 0, "rejected": 0,
                                                   "flagged": 1, "spot_checks_missed": 0}
    for name in ("nanan-supervisor", "nanan-admin", "nanan-teacher", "yubei-trainee", "nanan-trainee"):
        assert heard[name] == [], f"{name} heard {heard[name]}"


def test_a_client_in_several_matching_rooms_hears_an_event_once(app, worlds, login):
    # the admin's "all" room and nothing else: one message; the supervisor: one message too
    y = worlds["yubei"]
    sup = _socket(app, login("yubei-supervisor"))
    sup.get_received()
    login("yubei-supervisor").post(f"/api/events/{y.event_id}/review", json={"decision": "rejected", "reason": "人不在场"})
    assert len(_events(sup)) == 1


def _lesson_now(session, lesson_id):
    from server.models import Lesson

    lesson = session.get(Lesson, lesson_id)
    now = datetime.now(UTC)
    lesson.starts_at, lesson.ends_at = now - timedelta(minutes=30), now + timedelta(hours=1)
    session.commit()


def test_a_spot_check_goes_to_the_trainees_present_is_pushed_to_their_phone_and_announced_to_the_class_watchers(app, worlds, login, session):
    y, n = worlds["yubei"], worlds["nanan"]
    _lesson_now(session, y.lesson_id)
    phone, other_phone = _socket(app, login("yubei-trainee")), _socket(app, login("nanan-trainee"))
    sup, other_sup = _socket(app, login("yubei-supervisor")), _socket(app, login("nanan-supervisor"))
    for s in (phone, other_phone, sup, other_sup):
        s.get_received()
    # The whole class is asked only who is present: a flagged check-in not yet reviewed is not.
    refused = login("yubei-teacher").post(f"/api/lessons/{y.lesson_id}/spot-checks", json={})
    assert refused.status_code == 409 and "没有已签到" in refused.get_json()["error"]["message"]
    approved = login("yubei-supervisor").post(f"/api/events/{y.event_id}/review", json={"decision": "approved", "reason": "现场核实"})
    assert approved.status_code == 201
    for s in (sup, other_sup):
        s.get_received()
    resp = login("yubei-teacher").post(f"/api/lessons/{y.lesson_id}/spot-checks", json={})
    assert resp.status_code == 201, resp.get_json()
    pushed = _events(phone, "spot_check")
    assert len(pushed) == 1 and pushed[0]["lesson_id"] == y.lesson_id
    assert datetime.fromisoformat(pushed[0]["due_at"]) > datetime.now(UTC)
    assert _events(other_phone, "spot_check") == []
    announced = _events(sup, "spot_checks_issued")
    assert announced and announced[0]["class_id"] == y.class_id and announced[0]["count"] == 1
    assert other_sup.get_received() == []
    assert n.class_id != y.class_id


def test_the_snapshot_replays_every_event_after_the_cursor_in_scope_only(app, worlds, login):
    y, n = worlds["yubei"], worlds["nanan"]
    sup = login("yubei-supervisor")
    first = sup.get("/api/live/snapshot?since=0").get_json()
    assert [e["event_id"] for e in first["events"]] == [y.event_id]  # not nanan's
    cursor = first["cursor"]
    resp = sup.post(f"/api/events/{y.event_id}/review", json={"decision": "approved", "reason": "现场核实"})
    assert resp.status_code == 201, resp.get_json()
    d1 = resp.get_json()["event_id"]
    login("nanan-supervisor").post(f"/api/events/{n.event_id}/review", json={"decision": "approved", "reason": "现场核实"})
    again = sup.get(f"/api/live/snapshot?since={cursor}").get_json()
    assert [e["event_id"] for e in again["events"]] == [d1]
    assert again["cursor"] == d1
    assert sup.get("/api/live/snapshot?since=-1").status_code == 422
    assert login("yubei-trainee").get("/api/live/snapshot").status_code == 403


def test_the_snapshot_lists_the_lessons_in_session_with_their_counts(app, worlds, login, session):
    y = worlds["yubei"]
    _lesson_now(session, y.lesson_id)
    body = login("yubei-supervisor").get("/api/live/snapshot").get_json()
    assert [row["lesson_id"] for row in body["lessons"]] == [y.lesson_id]
    lesson = body["lessons"][0]
    assert lesson["enrolled"] == 1 and lesson["flagged"] == 1 and lesson["checked_in"] == 0 and lesson["running"]
    assert login("nanan-supervisor").get("/api/live/snapshot").get_json()["lessons"] == []


def test_the_roll_shows_each_trainees_state_and_the_fence(app, worlds, login):
    y = worlds["yubei"]
    body = login("yubei-teacher").get(f"/api/lessons/{y.lesson_id}/roll").get_json()
    assert body["fence"]["kind"] == "circle" and body["fence"]["radius_m"] == 100
    [row] = body["trainees"]
    assert row["state"] == "pending_review" and row["last"]["event_id"] == y.event_id
    login("yubei-supervisor").post(f"/api/events/{y.event_id}/review", json={"decision": "approved", "reason": "现场核实"})
    [row] = login("yubei-teacher").get(f"/api/lessons/{y.lesson_id}/roll").get_json()["trainees"]
    assert row["state"] == "present"
    assert login("nanan-supervisor").get(f"/api/lessons/{y.lesson_id}/roll").status_code == 404


def test_viewing_a_frame_is_scoped_and_leaves_an_audit_entry(app, worlds, login, session):
    from server.models import AuditEntry, Event
    from server.services import chain

    y = worlds["yubei"]
    store = app.extensions["hourproof_evidence"]
    digest = store.put(b"\xff\xd8\xff\xe0 not really a jpeg")
    event = chain.append(session, chain.NewEvent(kind="check_in", class_id=y.class_id, lesson_id=y.lesson_id, enrollment_id=y.enrollment_id,
                         trainee_id=y.trainee_id, actor_id=y.trainee_user_id, at=datetime.now(UTC), verdict="rejected",
                         decides_event_id=None, spot_check_id=None, reasons=[], evidence={"frames": [digest]},
                         idempotency_key="frame-test", device_id=None))
    session.commit()
    assert login("nanan-supervisor").get(f"/api/events/{event.id}/frames/0").status_code == 404
    assert login("yubei-trainee").get(f"/api/events/{event.id}/frames/0").status_code == 403
    sup = login("yubei-supervisor")
    assert sup.get(f"/api/events/{event.id}/frames/1").status_code == 404
    resp = sup.get(f"/api/events/{event.id}/frames/0")
    assert resp.status_code == 200 and resp.data.startswith(b"\xff\xd8") and "no-store" in resp.headers["Cache-Control"]
    entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "evidence.view_frame"))
    assert entry is not None and entry.entity_id == event.id and entry.actor_name == "yubei-supervisor"
    assert session.get(Event, event.id) is not None


@pytest.mark.parametrize("since", ["abc", "1.5"])
def test_a_bad_cursor_is_a_clear_422(app, worlds, login, since):
    resp = login("yubei-supervisor").get(f"/api/live/snapshot?since={since}")
    assert resp.status_code == 422 and resp.get_json()["error"]["message"]


def test_the_counters_of_many_lessons_in_one_statement_each_count_only_their_own_lesson(app, worlds, session, monkeypatch):
    # Five lessons counted two per statement (three statements): each lesson's counters must be
    # its own, whatever statement it landed in.
    from server.models import Enrollment, Lesson, LessonContent, LessonMode, SpotCheck, Trainee
    from server.services import chain, dashboard

    monkeypatch.setattr(dashboard, "COUNTS_PER_STATEMENT", 2)
    y = worlds["yubei"]
    now = datetime.now(UTC)
    extra = Trainee(resident_id="500112199001011239", name="second trainee", phone="13800000009")
    session.add(extra)
    session.flush()
    second = Enrollment(class_id=y.class_id, trainee_id=extra.id)
    session.add(second)
    lessons = [Lesson(class_id=y.class_id, starts_at=now - timedelta(hours=1), ends_at=now + timedelta(hours=1),
                      mode=LessonMode.offline, content=LessonContent.practice, venue_id=y.venue_id,
                      teacher_id=y.teacher_id) for _ in range(5)]
    session.add_all(lessons)
    session.flush()

    def event(lesson, trainee_id, enrollment_id, kind, verdict, decides=None, spot=None):
        return chain.append(session, chain.NewEvent(kind=kind, class_id=y.class_id, lesson_id=lesson.id, enrollment_id=enrollment_id,
                            trainee_id=trainee_id, actor_id=y.trainee_user_id, at=now, verdict=verdict,
                            decides_event_id=decides, spot_check_id=spot, reasons=[], evidence={},
                            idempotency_key=None, device_id=None))

    a, b, c, d, e = lessons
    event(a, y.trainee_id, y.enrollment_id, "check_in", "verified")
    event(a, extra.id, second.id, "check_in", "verified")
    event(a, extra.id, second.id, "check_in", "verified")  # the same trainee twice: checked in once
    event(b, y.trainee_id, y.enrollment_id, "check_in", "rejected")
    flagged = event(c, y.trainee_id, y.enrollment_id, "check_in", "flagged")
    event(c, y.trainee_id, y.enrollment_id, "review", "approved", decides=flagged.id)  # a decision is not counted
    missed = SpotCheck(lesson_id=d.id, class_id=y.class_id, trainee_id=y.trainee_id, issued_at=now - timedelta(minutes=5),
                       due_at=now - timedelta(minutes=4), origin="teacher")
    answered = SpotCheck(lesson_id=d.id, class_id=y.class_id, trainee_id=extra.id, issued_at=now - timedelta(minutes=5),
                         due_at=now - timedelta(minutes=4), origin="teacher")
    pending = SpotCheck(lesson_id=e.id, class_id=y.class_id, trainee_id=extra.id, issued_at=now,
                        due_at=now + timedelta(minutes=1), origin="teacher")
    session.add_all([missed, answered, pending])
    session.flush()
    event(d, extra.id, second.id, "spot_check", "verified", spot=answered.id)
    session.commit()

    counts = dashboard.lesson_counts(session, [(lesson.id, lesson.class_id) for lesson in lessons], now)

    zero = {"enrolled": 2, "checked_in": 0, "verified": 0, "rejected": 0, "flagged": 0, "spot_checks_missed": 0}
    assert counts == {
        a.id: zero | {"checked_in": 2, "verified": 3},
        b.id: zero | {"rejected": 1},
        c.id: zero | {"flagged": 1},
        d.id: zero | {"verified": 1, "spot_checks_missed": 1},
        e.id: zero,
    }
    assert dashboard.lesson_counts(session, [], now) == {}
