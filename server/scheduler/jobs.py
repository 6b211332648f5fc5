"""Scheduled duties, declared as data with stable ids (rescheduling is idempotent: a job with
the same id replaces itself). Each job calls a service with `now`; none holds rules of its own,
and each is idempotent (a unique constraint or a per-day check makes a second run a no-op).

Run them with `hourproof scheduler`, or inside the demo server. However many of those run
against one database, only the holder of the scheduler lock (server/scheduler/lock.py) runs jobs;
the others stand by and take over when it stops or dies. Each run is recorded in job_status
(job, runner, when, result)."""
from __future__ import annotations

import hashlib
import hmac
import logging
import os
import random
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import Flask
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from server.clock import utc_now
from server.models import Lesson, LessonMode, SpotCheck, TrainingClass
from server.services import rules
from server.services.presence import answer_window as _answer
from server.services.presence import plan_spot_checks, present

log = logging.getLogger("hourproof.jobs")


@dataclass(frozen=True)
class JobSpec:
    id: str
    func: str  # "module:function(app)"
    seconds: int
    description: str
    #: Also run once as soon as the scheduler starts (daily duties should not wait a day)
    at_start: bool = False


JOBS = (
    JobSpec("spot_checks.issue_due", "server.scheduler.jobs:issue_due_spot_checks", 20,
            "issue the random spot checks planned for lessons in progress "
            "to the trainees present (checked in; online, with the page open)"),
    JobSpec("lessons.transitions", "server.scheduler.jobs:record_lesson_transitions", 60,
            "record lessons opening (check-in window) and closing (check-out window)"),
    JobSpec("attendance.absences", "server.scheduler.jobs:mark_absences", 300,
            "record trainees absent from closed lessons of filed classes"),
    JobSpec("duties.deadlines", "server.scheduler.jobs:deadline_duties", 900,
            "compute filing deadlines as duties and record the reminders owed today", at_start=True),
    JobSpec("chain.anchor_daily", "server.scheduler.jobs:anchor_chain_heads", 3600,
            "anchor each event chain's head once a day in the data dir's append-only file and the log", at_start=True),
    JobSpec("exports.housekeeping", "server.scheduler.jobs:export_housekeeping", 60,
            "mark failed the export jobs no live process owns (killed or restarted); delete bundles past "
            "HOURPROOF_EXPORT_KEEP_DAYS and the temp dirs of exports that died", at_start=True),
    JobSpec("retention.review", "server.scheduler.jobs:review_retention", 86400,
            "report evidence past its keeping period (never younger than 5 years); erase withdrawn-consent templates; "
            "with HOURPROOF_RETENTION_PURGE=1 delete the photo files past it (rows stay)",
            at_start=True),
)


def lesson_rng(secret: str, lesson_id: int) -> random.Random:
    """The spot-check plan of a lesson: unpredictable without the server's secret, the same in
    every process and after a restart (so a restart does not redraw the times)."""
    digest = hmac.new(secret.encode(), f"spot-checks:{lesson_id}".encode(), hashlib.sha256).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def due_slots(session: Session, secret: str, now: datetime, lookback: timedelta = timedelta(minutes=2)):
    """(lesson, planned time) pairs whose time has come in the last `lookback` (older slots are
    skipped: a spot check issued long after its time would ask the impossible). Online lessons
    plan as many per started hour as their region's `online_spot_checks` says (default 2-4),
    offline lessons its `offline_spot_checks` (default 1-2)."""
    lessons = session.execute(select(Lesson, TrainingClass.region_code).join(TrainingClass, TrainingClass.id == Lesson.class_id)
                              .where(Lesson.cancelled_at.is_(None), Lesson.starts_at <= now, Lesson.ends_at >= now)).all()
    for lesson, region in lessons:
        policy = rules.region(region)
        per_hour = (policy.online_spot_checks if lesson.mode is LessonMode.online else policy.offline_spot_checks).value
        for t in plan_spot_checks(lesson.starts_at, lesson.ends_at, lesson_rng(secret, lesson.id), per_hour):
            if now - lookback <= t <= now:
                yield lesson, t


def issue_due(session: Session, secret: str, now: datetime) -> list[SpotCheck]:
    """Issue every due slot to each trainee present now (presence.present: a verified check-in
    not checked out since; online, with the page reporting too). Idempotent."""
    issued = []
    for lesson, slot in list(due_slots(session, secret, now)):
        for trainee_id in present(session, lesson, now):
            if session.scalar(select(SpotCheck.id).where(SpotCheck.lesson_id == lesson.id, SpotCheck.trainee_id == trainee_id,
                                                         SpotCheck.planned_for == slot)):
                continue
            check = SpotCheck(lesson_id=lesson.id, class_id=lesson.class_id, trainee_id=trainee_id, issued_at=now,
                              due_at=now + _answer(lesson), origin="scheduled", planned_for=slot)
            try:
                with session.begin_nested():
                    session.add(check)
                issued.append(check)
            except IntegrityError:  # another runner issued it a moment ago
                continue
    session.commit()
    return issued



def _writing_session(app: Flask) -> Session:
    """A session whose every transaction takes SQLite's write lock up front (BEGIN IMMEDIATE),
    also after a commit inside a service: a deferred transaction that reads and then writes
    fails at once ("database is locked") when another connection - a check-in, or another job -
    is writing, while an immediate one waits its turn. PostgreSQL ignores the option."""
    engine = app.extensions["hourproof_db"].engine.execution_options(sqlite_begin="IMMEDIATE")
    return Session(bind=engine, expire_on_commit=False)


def issue_due_spot_checks(app: Flask) -> str:
    from server import sockets

    with app.app_context(), _writing_session(app) as session:
        issued = issue_due(session, app.config["SECRET_KEY"], utc_now())
        if issued:  # the phones poll as well: a lost push only delays the prompt
            sockets.publish_spot_checks(session, issued)
    if issued:
        log.info("issued %d scheduled spot checks", len(issued))
    return f"{len(issued)} spot checks issued"


def record_lesson_transitions(app: Flask) -> str:
    from server.services import lesson_state

    with app.app_context(), _writing_session(app) as session:
        r = lesson_state.record_transitions(session, utc_now())
    if r.opened or r.closed:
        log.info("lessons: %d opened, %d closed", r.opened, r.closed)
    return f"{r.opened} opened, {r.closed} closed"


def mark_absences(app: Flask) -> str:
    from server.services import lesson_state

    with app.app_context(), _writing_session(app) as session:
        r = lesson_state.mark_absences(session, utc_now())
    if r.recorded:
        log.info("absences: %d recorded (%d awaiting review) in %d closed lessons", r.recorded, r.pending, r.lessons)
    return f"{r.recorded} absences recorded, {r.pending} awaiting review, {r.lessons} lessons looked at"


def deadline_duties(app: Flask) -> str:
    from server.services import duties

    now = utc_now()
    with app.app_context(), _writing_session(app) as session:
        synced = duties.sync(session, now)
        reminders = duties.remind(session, now)
        messages = [r.message for r in reminders]
    for message in messages:  # the log is a delivery channel too (shipped to operators)
        log.info("reminder: %s", message)
    skipped = f"; not computable (no anchor date recorded): {', '.join(sorted(synced.not_computable))}" if synced.not_computable else ""
    return f"{synced.created} duties created, {synced.updated} recomputed, {len(reminders)} reminders{skipped}"


def anchor_chain_heads(app: Flask) -> str:
    from server.services import anchors

    path = anchors.anchor_path(app.config["HOURPROOF_SETTINGS"].data_dir)
    with app.app_context(), app.extensions["hourproof_db"].sessionmaker() as session:
        written = anchors.anchor_heads(session, path, utc_now())
    return f"{len(written)} chain heads anchored in {path}"


def export_housekeeping(app: Flask) -> str:
    """Also run by every web process as it starts (server/wsgi.py): the temp dirs of a web
    container are only reachable from inside it."""
    from server.exports import housekeeping

    settings = app.config["HOURPROOF_SETTINGS"]
    now = utc_now()
    with app.app_context(), _writing_session(app) as session:
        failed = housekeeping.recover_jobs(session, settings.data_dir, now)
        swept = housekeeping.sweep_files(session, settings.data_dir, now, timedelta(days=settings.export_keep_days))
    temp = housekeeping.sweep_temp_dirs()
    return (f"{len(failed)} interrupted export jobs marked failed{' (' + ', '.join(map(str, failed)) + ')' if failed else ''}; "
            f"{swept.summary()}; {len(temp)} temp dirs removed")


def review_retention(app: Flask) -> str:
    """Reports; deletes check-in photos whose review window closed without consent to keep them
    (always: a legal duty, POLICY §11), and photo files past their keeping period only with
    HOURPROOF_RETENTION_PURGE."""
    from server.services import retention

    now, store = utc_now(), app.extensions.get("hourproof_evidence")
    with app.app_context(), _writing_session(app) as session:
        report = retention.review(session, now, store)
    expired = None
    if store is not None:
        # Its own session, like the purge: the long read must not hold SQLite's write lock.
        with app.app_context(), app.extensions["hourproof_db"].sessionmaker() as session:
            expired = retention.expire_frames(session, now, store)
        log.info(expired.summary())
    if app.config["HOURPROOF_SETTINGS"].retention_purge and store is not None:
        # A session of its own: the purge's long read must not hold SQLite's write lock (it
        # takes it for each class's audit entry only).
        with app.app_context(), app.extensions["hourproof_db"].sessionmaker() as session:
            report.photos = retention.purge_photos(session, now, store, dry_run=False)
        log.info(report.photos.summary())
    return report.summary() + (f"; {expired.summary()}" if expired is not None else "")


def runner_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _run_job(app: Flask, spec: JobSpec, func: Callable[[Flask], str], runner: str, lock) -> None:
    """Run one job if this process still holds the lock; record the run in job_status."""
    from server.models import JobStatus

    if lock is not None and not lock.still_held():
        log.warning("job %s skipped: this process no longer holds the scheduler lock", spec.id)
        return
    started = utc_now()
    try:
        result, ok = func(app), True
    except Exception as exc:  # a failing job must not stop the others; it is logged and recorded
        log.exception("job %s failed", spec.id)
        result, ok = f"{exc.__class__.__name__}: {exc}", False
    try:
        with _writing_session(app) as session:
            row = session.get(JobStatus, (spec.id, runner))
            if row is None:
                row = JobStatus(job_id=spec.id, runner=runner, first_started_at=started, runs=0)
                session.add(row)
            row.started_at, row.finished_at, row.ok, row.result = started, utc_now(), ok, str(result)[:2000]
            row.runs += 1
            session.commit()
    except Exception:  # recording is bookkeeping: never let it kill the scheduler
        log.exception("could not record the run of %s", spec.id)


def _func(spec: JobSpec) -> Callable[[Flask], str]:
    module, name = spec.func.split(":")
    return getattr(__import__(module, fromlist=[name]), name)


def start_jobs(app: Flask, runner: str, lock=None, seconds: int | None = None):
    """Start APScheduler 3 (background) with every job in JOBS (replace_existing: ids are
    stable). `seconds` overrides every interval (tests, and watching the jobs run)."""
    from apscheduler.schedulers.background import BackgroundScheduler

    scheduler = BackgroundScheduler(timezone="UTC")
    for spec in JOBS:
        interval = seconds or spec.seconds
        extra = {"next_run_time": utc_now()} if spec.at_start else {}
        scheduler.add_job(_run_job, "interval", seconds=interval, id=spec.id, args=[app, spec, _func(spec), runner, lock],
                          replace_existing=True, coalesce=True, max_instances=1, misfire_grace_time=interval, **extra)
    scheduler.start()
    return scheduler


def run_guarded(app: Flask, stop: threading.Event, poll: float = 5.0, seconds: int | None = None, lock=None) -> None:
    """Stand by until this process holds the scheduler lock, run the jobs while it does, and
    stop them the moment it does not (then stand by again). Returns when `stop` is set."""
    from server.scheduler.lock import lock_for

    settings = app.config["HOURPROOF_SETTINGS"]
    lock = lock or lock_for(settings.database_url, settings.data_dir)
    runner = runner_id()
    announced = False
    while not stop.is_set():
        try:
            acquired = lock.try_acquire()
        except Exception:  # the database is down: keep trying, it may come back
            log.exception("scheduler %s: could not try the lock", runner)
            acquired = False
        if not acquired:
            if not announced:
                log.info("scheduler %s: standing by, another scheduler holds the %s", runner, lock.description)
                announced = True
            stop.wait(poll)
            continue
        announced = False
        log.info("scheduler %s: holds the %s; running %s", runner, lock.description, ", ".join(j.id for j in JOBS))
        scheduler = start_jobs(app, runner, lock, seconds)
        try:
            while not stop.wait(poll):
                if not lock.still_held():
                    log.warning("scheduler %s: lost the lock; stopping jobs", runner)
                    break
        finally:
            scheduler.shutdown(wait=True)
            lock.release()
    log.info("scheduler %s: stopped", runner)


def start(app: Flask, poll: float = 5.0) -> threading.Event:
    """The demo's in-process scheduler: a daemon thread running run_guarded. Set the returned
    event to stop it."""
    stop = threading.Event()
    threading.Thread(target=run_guarded, args=(app, stop, poll), name="hourproof-scheduler", daemon=True).start()
    return stop
