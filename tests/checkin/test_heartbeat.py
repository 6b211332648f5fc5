"""Heartbeats (online presence) through the API, with the fast path in front of Flask
(server/api/heartbeat_fastpath.py) and without it: every case must get the same answer either way, and only
the ordinary case may be answered by the fast path."""
from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, update

from server.database.groupcommit import GroupCommitFailed
from server.models import Heartbeat, Lesson, LessonContent, LessonMode, User
from tests.factories import Phone


@pytest.fixture(params=["fast path", "flask only"])
def app(request, test_db_url, tmp_path):
    """The usual test app, once with the heartbeat fast path (the default) and once without."""
    from server import create_app

    config = {"TESTING": True, "database_url": test_db_url, "data_dir": tmp_path / "data", "secret_key": "test-secret",
              "ENV": {}}
    if request.param == "flask only":
        config["HEARTBEAT_FASTPATH"] = False
    app = create_app(config)
    yield app
    from server import close_app

    close_app(app)


def fast_path(app):
    from server.api.heartbeat_fastpath import HeartbeatFastPath

    return app.wsgi_app if isinstance(app.wsgi_app, HeartbeatFastPath) else None


def heartbeats(session, lesson_id=None) -> int:
    """Heartbeats stored (of one lesson, or all)."""
    session.expire_all()
    query = select(func.count()).select_from(Heartbeat)
    return session.scalar(query if lesson_id is None else query.where(Heartbeat.lesson_id == lesson_id))


def test_a_heartbeat_in_an_online_lesson_is_stored_and_answered(app, live, session):
    phone = Phone(app)
    before = datetime.now(UTC)
    resp = phone.post(f"/api/lessons/{live['online']}/heartbeat", json={"visible": True})
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    assert body["ok"] is True and body["visible"] is True
    at = datetime.fromisoformat(body["at"])
    assert before <= at <= datetime.now(UTC)  # server time, timezone-aware
    row = session.scalars(select(Heartbeat).where(Heartbeat.lesson_id == live["online"])).one()
    assert (row.trainee_id, row.visible, row.at) == (live["trainee"], True, at)
    fp = fast_path(app)
    if fp is not None:
        assert (fp.answered, fp.passed_on) == (1, 0)


def test_a_hidden_page_is_recorded_as_not_visible(app, live, session):
    phone = Phone(app)
    assert phone.post(f"/api/lessons/{live['online']}/heartbeat", json={"visible": False}).get_json()["visible"] is False
    assert session.scalars(select(Heartbeat.visible)).all() == [False]


@pytest.mark.parametrize("app", ["fast path"], indirect=True)
def test_the_fast_path_answers_byte_for_byte_what_the_flask_route_answers(live, test_db_url, tmp_path, app):
    """Same status, same headers that matter, same body (but for the time) as the route."""
    from server import create_app

    plain = create_app({"TESTING": True, "database_url": test_db_url, "data_dir": tmp_path / "plain",
                        "secret_key": "test-secret", "ENV": {}, "HEARTBEAT_FASTPATH": False})
    try:
        answers = []
        for a in (app, plain):
            phone = Phone(a)
            resp = phone.post(f"/api/lessons/{live['online']}/heartbeat", json={"visible": True})
            at = resp.get_json()["at"]
            answers.append((resp.status_code, resp.headers.get("Content-Type"), resp.headers.get("Vary"),
                            resp.get_data().replace(at.encode(), b"AT")))
        assert answers[0] == answers[1]
        assert fast_path(app).answered == 1
    finally:
        from server import close_app

        close_app(plain)


def _extra_lesson(session, live, **fields) -> int:
    cls_id = live["class_id"]
    now = datetime.now(UTC)
    values = {"class_id": cls_id, "starts_at": now - timedelta(minutes=10), "ends_at": now + timedelta(hours=1),
              "mode": LessonMode.online, "content": LessonContent.theory} | fields
    lesson = Lesson(**values)
    session.add(lesson)
    session.commit()
    return lesson.id


CASES = {
    # name: (how to make it, status, error code)
    "an offline lesson": ("offline", 409, "not_online"),
    "an unknown lesson": ("unknown", 404, "lesson_not_found"),
    "a cancelled lesson": ("cancelled", 404, "lesson_not_found"),
    "a lesson that ended an hour ago": ("ended", 409, "outside_lesson"),
    "a lesson that starts tomorrow": ("tomorrow", 409, "outside_lesson"),
    "another class's trainee": ("not_enrolled", 404, "lesson_not_found"),
    "no CSRF token": ("no_csrf", 403, "csrf_failed"),
    "a wrong CSRF token": ("wrong_csrf", 403, "csrf_failed"),
    "no session": ("logged_out", 401, "login_required"),
    "a password changed since log-in": ("password_changed", 401, "login_required"),
    "a deactivated user": ("deactivated", 401, "login_required"),
    "a supervisor, not a trainee": ("supervisor", 403, "forbidden"),
    "an extra field": ("extra_field", 422, "invalid_input"),
    "visible as a string": ("visible_string", 422, "invalid_input"),
    "no body": ("empty_object", 422, "invalid_input"),
    "a body that is not JSON": ("not_json", 400, "invalid_json"),
    "a form instead of JSON": ("form", 415, "unsupported_media_type"),
    "a lesson id past the database's integer": ("huge_id", 404, None),
}


@pytest.mark.parametrize("case", list(CASES))
def test_every_heartbeat_that_is_not_ordinary_gets_the_routes_answer_and_stores_nothing(app, live, session, case):
    how, status, code = CASES[case]
    lesson = live["online"]
    user = "miranda"
    body: object = {"visible": True}
    if how == "offline":
        lesson = live["offline"]
    elif how == "unknown":
        lesson = 99999
    elif how == "huge_id":
        lesson = 99999999999
    elif how == "cancelled":
        lesson = _extra_lesson(session, live, cancelled_at=datetime.now(UTC))
    elif how == "ended":
        now = datetime.now(UTC)
        lesson = _extra_lesson(session, live, starts_at=now - timedelta(hours=3), ends_at=now - timedelta(hours=1))
    elif how == "tomorrow":
        now = datetime.now(UTC)
        lesson = _extra_lesson(session, live, starts_at=now + timedelta(days=1), ends_at=now + timedelta(days=1, hours=1))
    elif how == "not_enrolled":
        lesson = _other_class_lesson(session, live)
    elif how == "supervisor":
        user = "supervisor"
    elif how == "extra_field":
        body = {"visible": True, "trainee_id": live["other"]}
    elif how == "visible_string":
        body = {"visible": "yes"}
    elif how == "empty_object":
        body = {}
    phone = Phone(app, username=user)
    if how == "password_changed":
        session.execute(update(User).where(User.username == "miranda").values(password_hash="changed-hash-000000000000"))
        session.commit()
    if how == "deactivated":
        session.execute(update(User).where(User.username == "miranda").values(active=False))
        session.commit()
    url = f"/api/lessons/{lesson}/heartbeat"
    if how == "logged_out":
        phone.client.post("/api/auth/logout", headers={"X-CSRF-Token": phone.csrf})
    if how == "no_csrf":
        resp = phone.client.post(url, json=body)
    elif how == "wrong_csrf":
        resp = phone.client.post(url, json=body, headers={"X-CSRF-Token": "x" * 43})
    elif how == "not_json":
        resp = phone.client.post(url, data=b"{visible: yes", content_type="application/json", headers={"X-CSRF-Token": phone.csrf})
    elif how == "form":
        resp = phone.client.post(url, data={"visible": "true"}, headers={"X-CSRF-Token": phone.csrf})
    else:
        resp = phone.post(url, json=body)
    assert resp.status_code == status, resp.get_data(as_text=True)
    if code is not None:
        assert resp.get_json()["error"]["code"] == code
    assert heartbeats(session) == 0
    fp = fast_path(app)
    if fp is not None:
        assert fp.answered == 0


def _other_class_lesson(session, live) -> int:
    """An online lesson of a second class of the same institution that Miranda is not in."""
    from server.models import TrainingClass

    cls = session.get(TrainingClass, live["class_id"])
    other = TrainingClass(institution_id=cls.institution_id, region_code=cls.region_code, district_id=cls.district_id,
                          name="另一个班", occupation_code=cls.occupation_code, level=cls.level, starts_on=cls.starts_on,
                          ends_on=cls.ends_on)
    session.add(other)
    session.flush()
    now = datetime.now(UTC)
    lesson = Lesson(class_id=other.id, starts_at=now - timedelta(minutes=5), ends_at=now + timedelta(hours=1),
                    mode=LessonMode.online, content=LessonContent.theory)
    session.add(lesson)
    session.commit()
    return lesson.id


def test_a_failed_commit_answers_503_with_a_message_and_stores_nothing(app, live, session, monkeypatch):
    writer = app.extensions["hourproof_heartbeats"]

    def refuse(row):
        raise GroupCommitFailed("heartbeats: OperationalError")

    monkeypatch.setattr(writer, "write", refuse)
    resp = Phone(app).post(f"/api/lessons/{live['online']}/heartbeat", json={"visible": True})
    assert resp.status_code == 503
    assert "心跳未记录" in resp.get_json()["error"]["message"]
    assert heartbeats(session, live["online"]) == 0


def test_heartbeats_from_many_phones_at_once_are_each_stored_exactly_once(app, live, session):
    phones = [Phone(app) for _ in range(8)]
    statuses: list[int] = []

    def beat(phone):
        for _ in range(10):
            statuses.append(phone.post(f"/api/lessons/{live['online']}/heartbeat", json={"visible": True}).status_code)

    threads = [threading.Thread(target=beat, args=(p,)) for p in phones]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert statuses == [200] * 80
    assert heartbeats(session, live["online"]) == 80


def test_a_heartbeat_carries_the_lesson_videos_position_state_and_rate(app, live, session):
    phone = Phone(app)
    body = {"visible": True, "position_s": 61.25, "playback": "playing", "rate": 1}
    resp = phone.post(f"/api/lessons/{live['online']}/heartbeat", json=body)
    assert resp.status_code == 200, resp.get_json()
    session.expire_all()
    row = session.scalars(select(Heartbeat).where(Heartbeat.lesson_id == live["online"])).one()
    assert (row.visible, row.position_s, row.playback, row.rate) == (True, 61.25, "playing", 1.0)
    fp = fast_path(app)
    if fp is not None:  # the player's state is the ordinary case of a video lesson: answered fast
        assert (fp.answered, fp.passed_on) == (1, 0)


@pytest.mark.parametrize("body", [
    pytest.param({"visible": True, "position_s": 10.0}, id="position without state and rate"),
    pytest.param({"visible": True, "position_s": -1, "playback": "playing", "rate": 1}, id="negative position"),
    pytest.param({"visible": True, "position_s": 1, "playback": "rewinding", "rate": 1}, id="unknown state"),
    pytest.param({"visible": True, "position_s": 1, "playback": "playing", "rate": 0}, id="zero rate"),
    pytest.param({"visible": True, "position_s": "1", "playback": "playing", "rate": 1}, id="position as text"),
])
def test_a_heartbeat_with_a_malformed_player_state_is_refused_and_nothing_is_stored(app, live, session, body):
    phone = Phone(app)
    resp = phone.post(f"/api/lessons/{live['online']}/heartbeat", json=body)
    assert resp.status_code == 422, resp.get_json()
    assert resp.get_json()["error"]["message"].startswith("输入有误")
    assert heartbeats(session) == 0
