"""SIGKILL the server (gunicorn, as deployed) in the middle of a burst of check-ins: after a
restart every check-in that got a 2xx answer is there, complete (its frames stored, its hash
right), the chain verifies, and a retry of an unanswered request never makes a second event."""
from __future__ import annotations

import json
import os
import signal
import threading
import time
import uuid
from datetime import UTC

import pytest
import requests
from sqlalchemy import select

from server.models import Event
from server.services import chain
from tests.factories import MIRANDA_DEVICE, PASSWORD, inside_fix
from tests.served import free_port, start

pytestmark = pytest.mark.slow
def _phone(base: str) -> requests.Session:
    s = requests.Session()
    r = s.post(f"{base}/api/auth/login", json={"username": "miranda", "password": PASSWORD, "device_id": MIRANDA_DEVICE}, timeout=10)
    assert r.status_code == 200, r.text
    s.headers["X-CSRF-Token"] = r.json()["csrf_token"]
    return s


def _check_in(s: requests.Session, base: str, lesson: int, frames: list[bytes], key: str) -> requests.Response:
    nonce = s.post(f"{base}/api/lessons/{lesson}/challenge", json={"purpose": "check_in"}, timeout=30).json()["nonce"]
    meta = {"kind": "check_in", "nonce": nonce, "idempotency_key": key, "device": {"device_id": MIRANDA_DEVICE},
            "location": inside_fix()}
    files = [("frames", (f"f{i}.jpg", f, "image/jpeg")) for i, f in enumerate(frames)]
    return s.post(f"{base}/api/lessons/{lesson}/events", data={"meta": json.dumps(meta)}, files=files, timeout=60)


def test_every_answered_check_in_survives_a_sigkill_and_the_chain_verifies(app, live, clip_burst, session, tmp_path):
    app.config["CHALLENGE_RNG"] = None  # the server process draws its own challenges
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = tmp_path / "server.log"
    proc, _ = start(app, log, port, drop_env=("REDIS_URL",), HOURPROOF_CHALLENGES_PER_MINUTE="1000")  # one trainee, many check-ins
    answered: list[tuple[str, int]] = []
    unanswered: list[str] = []
    lock = threading.Lock()
    stop = threading.Event()

    def phone_loop():
        s = _phone(base)
        while not stop.is_set():
            key = uuid.uuid4().hex
            try:
                r = _check_in(s, base, live["offline"], clip_burst[:8], key)
            except (requests.RequestException, ValueError, KeyError):
                with lock:
                    unanswered.append(key)
                return
            with lock:
                if r.status_code in (200, 201):
                    answered.append((key, r.json()["event_id"]))
                else:
                    unanswered.append(key)

    threads = [threading.Thread(target=phone_loop) for _ in range(4)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 120
    while len(answered) < 6 and time.monotonic() < deadline:
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)  # master and worker, mid-burst
    proc.wait(timeout=10)
    stop.set()
    for t in threads:
        t.join(timeout=60)
    assert len(answered) >= 6, log.read_text()[-2000:]

    proc, _ = start(app, log, port, drop_env=("REDIS_URL",), HOURPROOF_CHALLENGES_PER_MINUTE="1000")  # one trainee, many check-ins
    try:
        session.rollback()
        store = app.extensions["hourproof_evidence"]
        for key, event_id in answered:
            event = session.get(Event, event_id)
            assert event is not None and event.idempotency_key == key, f"answered check-in {event_id} lost"
            assert all(store.exists(h) for h in event.evidence["frames"]), "frames of an answered event missing"
        checked, problems = chain.verify(session)
        assert problems == [] and checked >= len(answered)
        # Complete means whole too: every frame the stored events name re-hashes to its name
        # (written to a temp file, fsynced, renamed: a kill never leaves half a photo).
        from datetime import datetime

        files, purged, photo_problems = chain.verify_photos(session, store, datetime.now(UTC))
        assert photo_problems == [] and purged == 0 and files >= 8 * len(answered)
        # Retrying every unanswered request with its key: at most one event per key, ever.
        s = _phone(base)
        for key in unanswered[:3]:
            _check_in(s, base, live["offline"], clip_burst[:8], key)
        session.rollback()
        for key in unanswered[:3]:
            assert len(session.scalars(select(Event).where(Event.idempotency_key == key)).all()) <= 1
        assert chain.verify(session)[1] == []
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=20)
