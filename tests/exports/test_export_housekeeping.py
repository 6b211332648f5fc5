"""Export jobs whose process died, and the files exports leave behind: a job no live process owns
is marked failed (its owner holds a flock the kernel drops when the process dies, tested with
real processes killed with SIGKILL), a finished bundle is deleted after its keeping period and
its download then answers 410 while a subsidy export's seal stays, and temp dirs are removed
only when no export holds them."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

from server.exports import housekeeping
from server.models import ExportJob, Seal
from tests.factories import PASSWORD, add_attendance, export

REPO = Path(__file__).resolve().parents[2]
KEEP = timedelta(days=7)
HOLD = """
import sys, time
from pathlib import Path
from server.exports.housekeeping import JobLock
JobLock.take(Path(sys.argv[1]), int(sys.argv[2]))
print("held", flush=True)
time.sleep(300)
"""


def _owner(data_dir: Path, job_id: int) -> subprocess.Popen:
    """A real process that owns job `job_id` the way a web worker's export thread does."""
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(data_dir), str(job_id)], cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    if line.strip() != "held":
        proc.kill()
        _, err = proc.communicate()
        pytest.fail(f"the owner process did not take the lock: {line!r} {err[-2000:]}")
    return proc


def _kill(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    proc.stdout.close()
    proc.stderr.close()


def _job(session, world, status="running", **values) -> int:
    job = ExportJob(kind="class", class_id=world.class_id, status=status, done=3, total=10,
                    created_at=datetime.now(UTC) - timedelta(minutes=2), **values)
    session.add(job)
    session.commit()
    return job.id


def test_a_job_whose_process_was_killed_is_reported_failed_and_a_job_whose_process_lives_is_left_alone(
        worlds, login, session, data_dir):
    y = worlds["yubei"]
    dead_id, live_id = _job(session, y), _job(session, y, status="queued")
    doomed, alive = _owner(data_dir, dead_id), _owner(data_dir, live_id)
    try:
        now = datetime.now(UTC)
        assert housekeeping.recover_jobs(session, data_dir, now) == []  # both owners alive: nothing to do
        _kill(doomed)
        assert housekeeping.recover_jobs(session, data_dir, now) == [dead_id]
        api = login("yubei-admin")
        dead = api.get(f"/api/export-jobs/{dead_id}").get_json()
        assert (dead["status"], dead["error"], dead["download"]) == ("failed", "导出中断（服务重启），请重新导出", None)
        assert dead["done"] == 3  # how far it got stays visible
        assert api.get(f"/api/export-jobs/{live_id}").get_json()["status"] == "queued"
    finally:
        _kill(alive)
    assert housekeeping.recover_jobs(session, data_dir, datetime.now(UTC)) == [live_id]
    assert not list((data_dir / "exports" / ".jobs").glob("*.lock"))  # claimed locks are cleaned up


def test_a_queued_job_without_any_lock_is_failed_and_a_finished_job_is_never_touched(worlds, session, data_dir):
    y = worlds["yubei"]
    orphan = _job(session, y, status="queued")  # e.g. its process died between commit and thread start
    done = _job(session, y, status="done", file_name="x.zip", finished_at=datetime.now(UTC))
    failed = housekeeping.recover_jobs(session, data_dir, datetime.now(UTC))
    assert failed == [orphan]
    session.rollback()
    assert session.get(ExportJob, done).status == "done" and session.get(ExportJob, done).error is None


def test_an_export_keeps_its_lock_until_its_outcome_is_recorded_and_is_then_never_marked_failed(worlds, login, session,
                                                                                                data_dir):
    y = worlds["yubei"]
    add_attendance(session, y)
    job, _ = export(login("yubei-admin"), y.class_id)
    assert not (data_dir / "exports" / ".jobs" / f"{job['id']}.lock").exists()
    assert housekeeping.recover_jobs(session, data_dir, datetime.now(UTC)) == []
    session.rollback()
    assert session.get(ExportJob, job["id"]).status == "done"


def test_a_bundle_past_its_keeping_period_is_deleted_its_download_answers_410_and_the_seal_stays(worlds, login, session,
                                                                                                 data_dir):
    y = worlds["yubei"]
    add_attendance(session, y)
    api = login("yubei-admin")
    job, _ = export(api, y.class_id, "subsidy")
    path = data_dir / "exports" / session.get(ExportJob, job["id"]).file_name
    finished = session.get(ExportJob, job["id"]).finished_at
    session.rollback()
    assert path.exists() and job["file_expired"] is False
    assert job["expires_at"] == (finished + KEEP).isoformat()

    # The day before it expires nothing goes; at its expiry the file goes, the seal stays.
    assert housekeeping.sweep_files(session, data_dir, finished + KEEP - timedelta(seconds=1), KEEP).expired == []
    assert path.exists()
    swept = housekeeping.sweep_files(session, data_dir, finished + KEEP, KEEP)
    assert swept.expired == [path.name] and not path.exists()
    seal = session.scalar(select(Seal).where(Seal.class_id == y.class_id))
    assert seal is not None and seal.bundle_sha256 == job["sha256"] and seal.job_id == job["id"]

    # Through the API (which reads the real clock): the job finished 8 days ago.
    session.execute(update(ExportJob).where(ExportJob.id == job["id"])
                    .values(finished_at=datetime.now(UTC) - timedelta(days=8)))
    session.commit()
    got = api.get(f"/api/export-jobs/{job['id']}").get_json()
    assert got["status"] == "done" and got["file_expired"] is True and got["download"] is None
    assert "保存期限" in got["file_message"] and "重新导出" in got["file_message"]
    resp = api.get(f"/api/export-jobs/{job['id']}/download")
    assert resp.status_code == 410
    assert resp.get_json()["error"]["code"] == "export_file_expired" and "保存期限" in resp.get_json()["error"]["message"]


def test_what_failed_jobs_left_is_deleted_and_files_of_running_jobs_and_of_the_cli_are_kept(worlds, session, data_dir):
    y = worlds["yubei"]
    failed = _job(session, y, status="failed", error="boom")
    running = _job(session, y, status="running")
    exports = data_dir / "exports"
    exports.mkdir(parents=True, exist_ok=True)
    files = {name: exports / name for name in (f"{failed}-class-class1-20260301-100000.zip.part",
                                               f"{running}-class-class1-20260301-100000.zip.part",
                                               "cli-class-class1-20260301-100000.zip", "99999-class-class1-x.zip")}
    for p in files.values():
        p.write_bytes(b"PK")
    swept = housekeeping.sweep_files(session, data_dir, datetime.now(UTC), KEEP)
    assert swept.abandoned == [f"{failed}-class-class1-20260301-100000.zip.part"] and swept.expired == []
    assert sorted(p.name for p in exports.iterdir() if p.is_file()) == sorted(
        [f"{running}-class-class1-20260301-100000.zip.part", "cli-class-class1-20260301-100000.zip", "99999-class-class1-x.zip"])


def _age(path: Path, minutes: int) -> None:
    t = time.time() - minutes * 60
    os.utime(path, (t, t))


def test_only_temp_dirs_no_export_holds_are_removed_and_only_once_they_are_a_few_minutes_old(tmp_path, monkeypatch):
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    old = tmp_path / "hourproof-export-dead"
    young = tmp_path / "hourproof-export-starting"
    other = tmp_path / "somebody-elses"
    for d in (old, young, other):
        d.mkdir()
        (d / "class1.csv").write_text("x")
    _age(old, 60)
    _age(other, 60)
    # A real process that held its dir and was killed leaves it unlocked.
    killed = tmp_path / "hourproof-export-killed"
    killed.mkdir()
    proc = subprocess.Popen([sys.executable, "-c", "import fcntl, os, sys, time; fd = os.open(sys.argv[1], os.O_RDONLY); "
                             "fcntl.flock(fd, fcntl.LOCK_EX); print('held', flush=True); time.sleep(300)", str(killed)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "held"
    _age(killed, 60)
    assert housekeeping.sweep_temp_dirs(tmp_path) == ["hourproof-export-dead"]
    assert killed.exists()  # its process still holds it
    _kill(proc)
    with housekeeping.work_dir() as running:
        assert running.parent == tmp_path
        _age(running, 60)
        assert housekeeping.sweep_temp_dirs(tmp_path) == ["hourproof-export-killed"]
        assert running.exists()  # held by this export
    assert young.exists() and other.exists() and not old.exists() and not killed.exists()
    assert not running.exists()  # an export removes its own dir when it ends


def test_closing_an_app_waits_for_its_running_export_and_leaves_no_database_connection_open(worlds, login, session, app):
    # Found in the full test run: export threads outlived their test's app, so the job's
    # connection went back to an engine already disposed and was collected still open.
    from server import close_app

    y = worlds["yubei"]
    add_attendance(session, y)
    session.commit()
    job = login("yubei-admin").post(f"/api/classes/{y.class_id}/exports", json={"kind": "class"}).get_json()
    threads = app.extensions["hourproof_export_threads"]
    assert [t.name for t in threads] == [f"export-{job['id']}"]
    close_app(app)
    assert not threads[0].is_alive()
    handle = app.extensions["hourproof_db"]
    assert handle.engine.pool.checkedout() == 0 and handle.read_engine.pool.checkedout() == 0
    with handle.sessionmaker() as s:
        assert s.get(ExportJob, job["id"]).status == "done"


@pytest.mark.slow
def test_a_server_stopped_gracefully_finishes_its_running_export_before_the_worker_exits(worlds, session, app, tmp_path):
    from datetime import date

    import requests

    from policies.identity import resident_id_check_digit
    from server.models import Enrollment, Trainee
    from tests.served import start

    y = worlds["yubei"]
    add_attendance(session, y)
    # 150 more trainees: an export of a few seconds (the PDF lays out every row), so that the
    # stop arrives while it runs.
    for i in range(150):
        first17 = f"500112199001{i // 28 + 1:02d}{i % 28 + 100:03d}"
        trainee = Trainee(resident_id=first17 + resident_id_check_digit(first17), name=f"学员{i:03d}",
                          birth_date=date(1990, 1, 1), sex="male")
        session.add(trainee)
        session.flush()
        session.add(Enrollment(class_id=y.class_id, trainee_id=trainee.id))
    session.commit()
    log = tmp_path / "server.log"
    proc, base = start(app, log, drop_env=("REDIS_URL",), HOURPROOF_FACE_PROCESSES="0")
    try:
        s = requests.Session()
        r = s.post(f"{base}/api/auth/login", json={"username": "yubei-admin", "password": PASSWORD}, timeout=10)
        s.headers["X-CSRF-Token"] = r.json()["csrf_token"]
        r = s.post(f"{base}/api/classes/{y.class_id}/exports", json={"kind": "class"}, timeout=30)
        assert r.status_code == 202, r.text
        os.killpg(proc.pid, signal.SIGTERM)  # a deploy: stop gracefully, with the export running
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    session.rollback()
    job = session.get(ExportJob, r.json()["id"])
    assert job.status == "done", (job.status, job.error, log.read_text()[-2000:])
