"""The face worker pool (server/adapters/facepool.py): the same liveness decision as in-process, fail
closed when a worker dies, and no face processes left behind by a killed web process."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from concurrent.futures.process import BrokenProcessPool
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.factories import Phone, inside_fix, seed_for

pytestmark = pytest.mark.slow

STEPS = ("turn_right", "turn_left")  # the motion in clip_burst


@pytest.fixture(scope="module")
def pool():
    from server.adapters.facepool import FacePool

    p = FacePool(1)
    p.start()
    yield p
    p.shutdown()


def _challenge():
    import recognition

    now = datetime.now(UTC)
    return recognition.Challenge("pool-test", STEPS, now, now + timedelta(minutes=2)), now


def test_the_pool_decides_a_burst_exactly_as_the_web_process_would(pool, clip_burst, miranda_template, recognizer):
    import recognition
    from recognition.testing import clip_times, prompted_challenge

    settings = recognition.RecognitionSettings()
    times = clip_times(len(clip_burst))
    ch = prompted_challenge(clip_burst, times, STEPS, miranda_template, recognizer, settings, datetime.now(UTC))
    now = ch.issued_at + timedelta(seconds=10)
    here = recognition.check_liveness(clip_burst, ch, miranda_template, recognizer, settings, now, frame_times=times)
    there = pool.check_liveness(clip_burst, ch, miranda_template, settings, now, None, times)
    assert there.passed and here.passed, (there.reasons, here.reasons)
    assert there.events == here.events
    assert [f.distance for f in there.frames] == [f.distance for f in here.frames]
    assert there.fingerprints == here.fingerprints
    assert os.getpid() not in pool.worker_pids()


def test_a_check_in_through_the_pool_is_verified(app, live, clip_burst, pool):
    app.extensions["hourproof_face_pool"] = pool
    app.config["CHALLENGE_RNG"] = lambda: __import__("random").Random(seed_for(STEPS))
    body = Phone(app).send(live["offline"], clip_burst, location=inside_fix()).get_json()
    assert body["verdict"] == "verified", body["reasons"]


def test_a_face_worker_that_dies_makes_the_check_unverified_and_the_next_check_gets_a_new_pool(
        app, live, clip_burst, miranda_template):
    import recognition
    from server.adapters.facepool import FacePool

    pool = FacePool(1)
    try:
        for pid in pool.worker_pids():
            os.kill(pid, signal.SIGKILL)  # what the OOM killer or a crash inside dlib does
        ch, now = _challenge()
        with pytest.raises(BrokenProcessPool):
            pool.check_liveness(clip_burst, ch, miranda_template, recognition.RecognitionSettings(), now)
        # A fresh pool answers the next check; kill that one's worker too, through the service.
        for pid in pool.worker_pids():
            os.kill(pid, signal.SIGKILL)
        app.extensions["hourproof_face_pool"] = pool
        app.config["CHALLENGE_RNG"] = lambda: __import__("random").Random(seed_for(STEPS))
        phone = Phone(app)
        failed = phone.send(live["offline"], clip_burst, location=inside_fix()).get_json()
        assert failed["verdict"] != "verified"
        assert any(r["code"] == "check_error" and "BrokenProcessPool" in r["detail"] for r in failed["reasons"])
        again = phone.send(live["offline"], clip_burst, kind="check_out", location=inside_fix()).get_json()
        assert "check_error" not in [r["code"] for r in again["reasons"]], again["reasons"]
    finally:
        pool.shutdown()


ORPHAN = r"""
import sys, time
sys.path.insert(0, sys.argv[1])
from server.adapters.facepool import FacePool
pool = FacePool(1)
print(sorted(pool.worker_pids())[0], flush=True)
time.sleep(600)
"""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie is gone for our purposes: it runs nothing
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().split()[2] == "Z")


def test_face_workers_exit_when_their_web_process_is_killed(tmp_path):
    root = Path(__file__).resolve().parents[2]
    proc = subprocess.Popen([sys.executable, "-c", ORPHAN, str(root)], stdout=subprocess.PIPE, text=True,
                            cwd=tmp_path)
    try:
        worker = int(proc.stdout.readline())
        assert _alive(worker)
    finally:
        proc.kill()
        proc.wait()
        proc.stdout.close()
    deadline = time.monotonic() + 15
    while _alive(worker) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not _alive(worker), f"face worker {worker} outlived its killed parent"
