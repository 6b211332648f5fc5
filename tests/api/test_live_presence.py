"""An online lesson's presence on the roll is pushed when it changes (server/sockets.py
PresencePush): a heartbeat that changes a trainee's status reaches the rooms of the class - the
same scopes as an event - and one that changes nothing sends nothing. Through the heartbeat fast
path and through the Flask route alike."""
from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from server.extensions import socketio


@pytest.fixture(params=["fast path", "flask only"])
def app(request, test_db_url, tmp_path):
    """The usual test app, once with the heartbeat fast path (the default) and once without."""
    from server import close_app, create_app

    config = {"TESTING": True, "database_url": test_db_url, "data_dir": tmp_path / "data", "secret_key": "test-secret",
              "ENV": {}}
    if request.param == "flask only":
        config["HEARTBEAT_FASTPATH"] = False
    app = create_app(config)
    yield app
    close_app(app)


def _online_lesson(session, world) -> int:
    from server.models import Lesson, LessonContent, LessonMode

    now = datetime.now(UTC)
    lesson = Lesson(class_id=world.class_id, starts_at=now - timedelta(minutes=10), ends_at=now + timedelta(hours=1),
                    mode=LessonMode.online, content=LessonContent.theory)
    session.add(lesson)
    session.commit()
    return lesson.id


def _pushed(sock) -> list[dict]:
    return [m["args"][0] for m in sock.get_received() if m["name"] == "presence"]


def _until_pushed(sock, timeout_s: float = 5.0) -> list[dict]:
    """What the push's own thread sends (after its coalescing wait), without a flush."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        heard = _pushed(sock)
        if heard:
            return heard
        time.sleep(0.05)
    return []


def test_a_heartbeat_that_changes_a_trainees_status_is_pushed_to_the_class_watchers_once_and_to_no_other_district(
        app, worlds, login, session):
    y = worlds["yubei"]
    lesson_id = _online_lesson(session, y)
    push = app.extensions["hourproof_presence_push"]
    watchers = {name: socketio.test_client(app, flask_test_client=login(name).client)
                for name in ("yubei-supervisor", "yubei-teacher", "yubei-admin", "city", "admin")}
    outsiders = {name: socketio.test_client(app, flask_test_client=login(name).client)
                 for name in ("nanan-supervisor", "nanan-teacher", "nanan-trainee", "yubei-trainee")}
    for sock in (*watchers.values(), *outsiders.values()):
        assert sock.is_connected()
        sock.get_received()  # the hello
    phone = login("yubei-trainee")
    beat = {"visible": True, "position_s": 12.5, "playback": "playing", "rate": 1}

    # The first report: watching, sent by the push's thread within its coalescing wait.
    resp = phone.post(f"/api/lessons/{lesson_id}/heartbeat", json=beat)
    assert resp.status_code == 200, resp.get_json()
    first = _until_pushed(watchers["yubei-supervisor"])
    assert first == [{"lesson_id": lesson_id, "class_id": y.class_id,
                      "trainees": [{"trainee_id": y.trainee_id, "status": "watching", "position_s": 12.5,
                                    "at": resp.get_json()["at"]}]}]  # nothing else: no biometric data, no names
    for name in ("yubei-teacher", "yubei-admin", "city", "admin"):
        assert _until_pushed(watchers[name]) == first, name
    push.COALESCE_S = 60  # from here on the test sends (flush), not the thread: no race for the queue

    # The same status again (the video further on): nothing to push.
    assert phone.post(f"/api/lessons/{lesson_id}/heartbeat", json=beat | {"position_s": 27.5}).status_code == 200
    push.flush()
    assert [_pushed(s) for s in watchers.values()] == [[]] * len(watchers)

    # Hidden, then the video paused: each pushed.
    assert phone.post(f"/api/lessons/{lesson_id}/heartbeat", json=beat | {"visible": False}).status_code == 200
    push.flush()
    assert [t["status"] for m in _pushed(watchers["yubei-supervisor"]) for t in m["trainees"]] == ["hidden"]
    assert phone.post(f"/api/lessons/{lesson_id}/heartbeat", json={"visible": True}).status_code == 200
    push.flush()
    assert [t["status"] for m in _pushed(watchers["yubei-supervisor"]) for t in m["trainees"]] == ["watching"]
    assert phone.post(f"/api/lessons/{lesson_id}/heartbeat", json=beat | {"playback": "paused"}).status_code == 200
    push.flush()
    assert [t["status"] for m in _pushed(watchers["yubei-supervisor"]) for t in m["trainees"]] == ["paused"]

    for name, sock in outsiders.items():
        assert sock.get_received() == [], name


def test_changes_queued_together_go_out_as_one_message_per_lesson_with_each_trainees_latest_status(app, worlds, session):
    y = worlds["yubei"]
    lesson_id = _online_lesson(session, y)
    sent: list[tuple[str, dict, list[str]]] = []
    from server.sockets import PresencePush, presence_rooms_reader

    push = PresencePush(presence_rooms_reader(app.extensions["hourproof_db"].sessionmaker),
                        emit=lambda name, message, rooms: sent.append((name, message, rooms)))
    push.COALESCE_S = 60  # this test sends, not the thread
    try:
        t0 = datetime.now(UTC)
        push.note(lesson_id, 1, True, "playing", 10.0, t0)
        push.note(lesson_id, 2, True, None, None, t0)
        push.note(lesson_id, 1, False, "playing", 11.0, t0 + timedelta(seconds=1))
        push.note(lesson_id, 1, True, "paused", 12.0, t0 + timedelta(seconds=2))
        assert push.flush() == 1
        [(name, message, rooms)] = sent
        assert name == "presence" and message["lesson_id"] == lesson_id and message["class_id"] == y.class_id
        assert {t["trainee_id"]: (t["status"], t["position_s"]) for t in message["trainees"]} == {
            1: ("paused", 12.0), 2: ("watching", None)}
        assert f"district:{y.district_id}" in rooms and f"institution:{y.institution_id}" in rooms
    finally:
        push.close()


def test_a_report_overtaken_by_a_later_one_changes_nothing_and_one_after_a_long_silence_is_pushed_again(app, worlds, session):
    # Two reports of a page race each other to the server (hidden, then visible): the later one
    # decided. A page not heard from for GONE_AFTER_S shows as gone on the roll (the poll): its
    # next report is a change even if it says what was pushed last.
    from server.services.dashboard import GONE_AFTER_S
    from server.sockets import PresencePush

    sent: list[dict] = []
    push = PresencePush(lambda ids: {i: (7, ["all"]) for i in ids}, emit=lambda name, message, rooms: sent.append(message))
    push.COALESCE_S = 60
    try:
        t0 = datetime.now(UTC)
        push.note(5, 1, True, None, None, t0 + timedelta(seconds=1))
        push.note(5, 1, False, None, None, t0)  # older: overtaken
        push.flush()
        assert [t["status"] for m in sent for t in m["trainees"]] == ["watching"]
        push.note(5, 1, True, None, None, t0 + timedelta(seconds=1 + GONE_AFTER_S + 1))
        push.flush()
        assert [t["status"] for m in sent for t in m["trainees"]] == ["watching", "watching"]
    finally:
        push.close()


def test_a_push_that_cannot_be_sent_fails_no_heartbeat_and_goes_with_the_next_one(app, worlds, login, session, monkeypatch, caplog):
    y = worlds["yubei"]
    lesson_id = _online_lesson(session, y)

    def broken(*args, **kwargs):
        raise ConnectionError("redis is down")

    monkeypatch.setattr(socketio, "emit", broken)
    push = app.extensions["hourproof_presence_push"]
    push.COALESCE_S = 60  # the test sends, not the thread
    phone = login("yubei-trainee")
    resp = phone.post(f"/api/lessons/{lesson_id}/heartbeat", json={"visible": True})
    assert resp.status_code == 200, resp.get_json()
    assert push.flush() == 0
    assert "could not push presence" in caplog.text
    # Sending works again: the same status is sent with the next heartbeat, as it never was.
    monkeypatch.undo()
    sup = socketio.test_client(app, flask_test_client=login("yubei-supervisor").client)
    sup.get_received()
    assert phone.post(f"/api/lessons/{lesson_id}/heartbeat", json={"visible": True}).status_code == 200
    assert push.flush() == 1
    assert [t["status"] for m in _pushed(sup) for t in m["trainees"]] == ["watching"]
