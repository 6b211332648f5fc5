"""Only one scheduler runs jobs, however many are started: two real `hourproof scheduler`
processes against one database (SQLite file, then PostgreSQL), the first runs every job, the
second stands by and never runs one; kill the first (SIGKILL, as a crash) and the second takes
over. The evidence is job_status, where every run names its process (host:pid)."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from server.extensions import make_engine
from server.models import JobStatus
from server.scheduler import jobs
from server.scheduler.lock import FileLock, PostgresAdvisoryLock, lock_for
from tests.factories import yubei_institution

HOURPROOF = str(Path(sys.executable).with_name("hourproof"))


def _env(url: str, data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"REDIS_URL"}}
    env.update(DATABASE_URL=url, HOURPROOF_DATA_DIR=str(data_dir), SECRET_KEY="test-secret")
    return env


def _start(url: str, data_dir: Path, log: Path) -> subprocess.Popen:
    out = open(log, "w")
    try:
        return subprocess.Popen([HOURPROOF, "scheduler", "--poll", "0.3", "--seconds", "1"], env=_env(url, data_dir),
                                stdout=out, stderr=subprocess.STDOUT)
    finally:
        out.close()  # the child has its own copy


def _runs(engine) -> dict[str, set[str]]:
    """runner -> the job ids it ran"""
    with engine.connect() as conn:
        rows = conn.execute(select(JobStatus.runner, JobStatus.job_id)).all()
    out: dict[str, set[str]] = {}
    for runner, job in rows:
        out.setdefault(runner, set()).add(job)
    return out


def _wait(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.kill()
        proc.wait(timeout=10)


def test_two_scheduler_processes_run_jobs_one_at_a_time_and_the_standby_takes_over_when_the_first_dies(test_db_url, tmp_path):
    engine = make_engine(test_db_url)
    host = socket.gethostname()
    every_job = {j.id for j in jobs.JOBS}
    first = _start(test_db_url, tmp_path / "data", tmp_path / "first.log")
    second = None
    try:
        runner_a = f"{host}:{first.pid}"
        _wait(lambda: _runs(engine).get(runner_a, set()) >= every_job, 60, "the first scheduler to run every job")

        second = _start(test_db_url, tmp_path / "data", tmp_path / "second.log")
        runner_b = f"{host}:{second.pid}"
        _wait(lambda: "standing by" in (tmp_path / "second.log").read_text(), 60, "the second scheduler to stand by")
        # Several job intervals (1 s) with both alive: the first keeps running, the second never does.
        with engine.connect() as conn:
            before = conn.execute(select(JobStatus.runs).where(JobStatus.runner == runner_a,
                                                               JobStatus.job_id == "spot_checks.issue_due")).scalar()
        time.sleep(4)
        runs = _runs(engine)
        assert runner_b not in runs, (tmp_path / "second.log").read_text()
        with engine.connect() as conn:
            after = conn.execute(select(JobStatus.runs).where(JobStatus.runner == runner_a,
                                                              JobStatus.job_id == "spot_checks.issue_due")).scalar()
        assert after >= before + 2  # the first was running jobs all along

        first.send_signal(signal.SIGKILL)  # a crash: no clean release of the lock
        first.wait(timeout=10)
        killed_at = datetime.now(UTC)
        _wait(lambda: _runs(engine).get(runner_b, set()) >= every_job, 60, "the second scheduler to take over")
        with engine.connect() as conn:
            first_run_b = conn.execute(select(JobStatus.first_started_at).where(JobStatus.runner == runner_b)
                                       .order_by(JobStatus.first_started_at)).scalars().first()
        assert first_run_b >= killed_at  # not one job of the second ran while the first was alive
        assert "holds the" in (tmp_path / "second.log").read_text()

        second.send_signal(signal.SIGTERM)  # a clean stop ends with exit code 0
        assert second.wait(timeout=30) == 0
    finally:
        _stop(first)
        if second is not None:
            _stop(second)
        engine.dispose()


def test_the_lock_is_held_by_one_holder_at_a_time_and_free_again_after_release(test_db_url, tmp_path):
    a, b = lock_for(test_db_url, tmp_path), lock_for(test_db_url, tmp_path)
    expected = PostgresAdvisoryLock if test_db_url.startswith("postgresql") else FileLock
    assert isinstance(a, expected)
    try:
        assert a.try_acquire() is True
        assert b.try_acquire() is False
        assert a.still_held() is True and b.still_held() is False
        a.release()
        assert a.still_held() is False
        assert b.try_acquire() is True
    finally:
        a.release()
        b.release()


def test_a_lock_file_replaced_under_the_holder_counts_as_lost(tmp_path):
    lock = FileLock(tmp_path / "x.scheduler-lock")
    assert lock.try_acquire()
    (tmp_path / "x.scheduler-lock").unlink()
    try:
        assert lock.still_held() is False
    finally:
        lock.release()


def test_every_job_has_a_stable_unique_id_and_a_function_that_resolves():
    ids = [j.id for j in jobs.JOBS]
    assert len(ids) == len(set(ids))
    for spec in jobs.JOBS:
        assert callable(jobs._func(spec)), spec.func


def test_a_failing_job_is_recorded_as_failed_and_the_next_one_still_runs(app, session):
    spec = jobs.JobSpec("test.fails", "x:y", 1, "fails")

    def boom(_app):
        raise RuntimeError("no luck")

    jobs._run_job(app, spec, boom, "host:1", None)
    jobs._run_job(app, jobs.JobSpec("test.works", "x:y", 1, "works"), lambda _app: "fine", "host:1", None)
    rows = {r.job_id: r for r in session.scalars(select(JobStatus))}
    assert rows["test.fails"].ok is False and "no luck" in rows["test.fails"].result
    assert rows["test.works"].ok is True and rows["test.works"].result == "fine" and rows["test.works"].runs == 1


def test_a_job_does_not_run_in_a_process_that_lost_the_lock(app, session):
    class Lost:
        def still_held(self):
            return False

    ran = []
    jobs._run_job(app, jobs.JobSpec("test.guarded", "x:y", 1, "x"), lambda _app: ran.append(1) or "ran", "host:2", Lost())
    assert ran == [] and session.scalars(select(JobStatus)).all() == []


def test_the_spot_check_job_runs_through_the_job_wrapper(app, session):
    jobs._run_job(app, jobs.JOBS[0], jobs._func(jobs.JOBS[0]), "host:3", None)
    row = session.scalar(select(JobStatus))
    assert (row.job_id, row.ok, row.result) == ("spot_checks.issue_due", True, "0 spot checks issued")


@pytest.mark.parametrize("job", [j.id for j in jobs.JOBS])
def test_each_job_runs_on_an_empty_database_without_error(app, session, job):
    spec = next(j for j in jobs.JOBS if j.id == job)
    jobs._run_job(app, spec, jobs._func(spec), "host:4", None)
    row = session.scalar(select(JobStatus))
    assert row.ok is True, row.result


def test_jobs_started_together_all_succeed_each_waiting_its_turn_to_write(app, session):
    """At start several jobs run at once (APScheduler's thread pool). On SQLite a transaction that
    reads and then writes fails at once if another one is writing, unless it took the write lock
    up front: every job transaction does (BEGIN IMMEDIATE), so they wait for each other instead."""
    import threading
    from datetime import date, timedelta

    from server.models import ClassStatus, Funding, Level, TrainingClass

    district, inst = yubei_institution(session)
    today = date.today()
    for i in range(20):  # enough duties that the deadline job writes for a while
        session.add(TrainingClass(institution_id=inst.id, region_code="cq", district_id=district.id, name=f"自费班 {i}",
                                  occupation_code="2-02-38-04", level=Level.junior, starts_on=today - timedelta(days=60),
                                  ends_on=today - timedelta(days=25), funding=Funding.self_paid, status=ClassStatus.filed))
    session.commit()

    start = threading.Barrier(len(jobs.JOBS) * 2)

    def run(spec, runner):
        start.wait()
        jobs._run_job(app, spec, jobs._func(spec), runner, None)

    threads = [threading.Thread(target=run, args=(spec, f"host:{n}")) for spec in jobs.JOBS for n in (1, 2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    session.rollback()
    rows = session.scalars(select(JobStatus)).all()
    assert len(rows) == len(jobs.JOBS) * 2
    assert [(r.job_id, r.result) for r in rows if not r.ok] == []


def test_scheduler_status_prints_each_jobs_latest_run_and_who_ran_it(app, session, capsys, monkeypatch):
    from server.cli import main

    monkeypatch.setenv("DATABASE_URL", app.config["HOURPROOF_SETTINGS"].database_url)
    monkeypatch.setenv("HOURPROOF_DATA_DIR", str(app.config["HOURPROOF_SETTINGS"].data_dir))
    assert main(["scheduler", "--status"]) == 0
    assert "no job has run yet" in capsys.readouterr().out
    jobs._run_job(app, jobs.JOBS[0], jobs._func(jobs.JOBS[0]), "old-host:1", None)
    jobs._run_job(app, jobs.JOBS[0], jobs._func(jobs.JOBS[0]), "new-host:2", None)
    assert main(["scheduler", "--status"]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1 and out[0].startswith("spot_checks.issue_due") and "by new-host:2" in out[0]
