"""Several server processes, one Socket.IO audience: with REDIS_URL, an event stored through one
process reaches a dashboard connected to another. Two real gunicorn processes (the deployed
config) against the real Redis at 127.0.0.1:6379 (HOURPROOF_TEST_REDIS_URL), on the test's own
database (SQLite file and PostgreSQL)."""
from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
import uuid
from pathlib import Path

import pytest
import requests

from tests.factories import DEVICE, PASSWORD
from tests.served import start

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def redis_url():
    import redis

    url = os.environ.get("HOURPROOF_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
    try:
        redis.Redis.from_url(url, socket_connect_timeout=3).ping()
    except Exception as exc:  # noqa: BLE001 - any failure means "no Redis here"
        if os.environ.get("HOURPROOF_REQUIRE_REDIS"):
            pytest.fail(f"Redis not reachable at {url}: {type(exc).__name__} (HOURPROOF_REQUIRE_REDIS is set)")
        pytest.skip(f"Redis not reachable at {url}")
    return url


def _start(app, redis_url: str, channel: str, log: Path):
    return start(app, log, REDIS_URL=redis_url, HOURPROOF_SOCKETIO_CHANNEL=channel, HOURPROOF_FACE_PROCESSES="0")


def _logged_in(base: str, username: str) -> requests.Session:
    s = requests.Session()
    device = {"device_id": DEVICE} if "trainee" in username else {}
    r = s.post(f"{base}/api/auth/login", json={"username": username, "password": PASSWORD} | device, timeout=10)
    assert r.status_code == 200, r.text
    s.headers["X-CSRF-Token"] = r.json()["csrf_token"]
    return s


def _listener(base: str, session: requests.Session, name: str = "event"):
    import socketio

    heard: list[dict] = []
    got = threading.Event()
    client = socketio.Client(reconnection=False)

    @client.on(name)
    def _event(message):
        heard.append(message)
        got.set()

    cookie = "; ".join(f"{k}={v}" for k, v in session.cookies.items())
    client.connect(base, headers={"Cookie": cookie}, transports=["websocket"], wait_timeout=10)
    return client, heard, got


def test_an_event_stored_through_one_process_reaches_a_dashboard_on_another(app, worlds, redis_url, tmp_path):
    y = worlds["yubei"]
    channel = f"hourproof-test-{uuid.uuid4().hex[:8]}"  # parallel runs do not hear each other
    procs = []
    clients = []
    try:
        a, base_a = _start(app, redis_url, channel, tmp_path / "a.log")
        procs.append(a)
        b, base_b = _start(app, redis_url, channel, tmp_path / "b.log")
        procs.append(b)
        watcher, heard, got = _listener(base_b, _logged_in(base_b, "yubei-supervisor"))
        outsider, outsider_heard, _ = _listener(base_b, _logged_in(base_b, "nanan-supervisor"))
        clients += [watcher, outsider]

        resp = _logged_in(base_a, "yubei-supervisor").post(f"{base_a}/api/events/{y.event_id}/review",
                                                            json={"decision": "approved", "reason": "现场核实"}, timeout=10)
        assert resp.status_code == 201, resp.text
        assert got.wait(10), "the dashboard on process B heard nothing of the event stored through process A"
        assert [m["event_id"] for m in heard] == [resp.json()["event_id"]]
        assert heard[0]["decides_event_id"] == y.event_id
        time.sleep(1.0)  # anything else sent would have arrived by now
        assert outsider_heard == []
    finally:
        for c in clients:
            c.disconnect()
        for p in procs:
            os.killpg(p.pid, signal.SIGTERM)
        for p in procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()


def test_a_presence_change_reported_to_one_process_reaches_a_dashboard_on_another(app, worlds, session, redis_url, tmp_path):
    # The push's own thread sends it (sockets.PresencePush), through Redis like an event.
    from datetime import UTC, datetime, timedelta

    from server.models import Lesson, LessonContent, LessonMode

    y = worlds["yubei"]
    now = datetime.now(UTC)
    lesson = Lesson(class_id=y.class_id, starts_at=now - timedelta(minutes=10), ends_at=now + timedelta(hours=1),
                    mode=LessonMode.online, content=LessonContent.theory)
    session.add(lesson)
    session.commit()
    channel = f"hourproof-test-{uuid.uuid4().hex[:8]}"
    procs, clients = [], []
    try:
        for name in ("a", "b"):
            proc, base = _start(app, redis_url, channel, tmp_path / f"{name}.log")
            procs.append((proc, base))
        (_, base_a), (_, base_b) = procs
        watcher, heard, got = _listener(base_b, _logged_in(base_b, "yubei-supervisor"), "presence")
        outsider, outsider_heard, _ = _listener(base_b, _logged_in(base_b, "nanan-supervisor"), "presence")
        clients += [watcher, outsider]

        resp = _logged_in(base_a, "yubei-trainee").post(f"{base_a}/api/lessons/{lesson.id}/heartbeat",
                                                         json={"visible": False}, timeout=10)
        assert resp.status_code == 200, resp.text
        assert got.wait(10), "the dashboard on process B heard nothing of the report to process A"
        assert heard == [{"lesson_id": lesson.id, "class_id": y.class_id, "trainees": [
            {"trainee_id": y.trainee_id, "status": "hidden", "position_s": None, "at": resp.json()["at"]}]}]
        time.sleep(1.0)
        assert outsider_heard == []
    finally:
        for c in clients:
            c.disconnect()
        for p, _ in procs:
            os.killpg(p.pid, signal.SIGTERM)
        for p, _ in procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()
