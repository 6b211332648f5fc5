"""Scheduled duties, declared as data with stable ids (rescheduling is idempotent: a job with
the same id replaces itself). Each job calls a service with `now`; none holds rules of its own.

Run them with `hourproof scheduler` (one process per deployment; see README), or inside the
demo server. Where several processes could run it, the single-runner guarantee comes with the
scheduled-duties work (an issue of its own); running this job twice is harmless anyway: a slot
is issued once per trainee (a unique constraint), whoever gets there first."""
from __future__ import annotations

import hashlib
import hmac
import logging
import random
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from flask import Flask
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from .models import Event, Lesson, LessonMode, SpotCheck
from .services.checkin import CheckinSettings
from .services.presence import plan_spot_checks

log = logging.getLogger("hourproof.jobs")


@dataclass(frozen=True)
class JobSpec:
    id: str
    func: str  # "module:function(app)"
    seconds: int
    description: str


JOBS = (
    JobSpec("spot_checks.issue_due", "server.jobs:issue_due_spot_checks", 20,
            "issue the random spot checks planned for online lessons in progress"),
)


def lesson_rng(secret: str, lesson_id: int) -> random.Random:
    """The spot-check plan of a lesson: unpredictable without the server's secret, the same in
    every process and after a restart (so a restart does not redraw the times)."""
    digest = hmac.new(secret.encode(), f"spot-checks:{lesson_id}".encode(), hashlib.sha256).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def due_slots(session: Session, secret: str, now: datetime, lookback: timedelta = timedelta(minutes=2)):
    """(lesson, planned time) pairs whose time has come in the last `lookback` (older slots are
    skipped: a spot check issued long after its time would ask the impossible)."""
    lessons = session.scalars(select(Lesson).where(Lesson.mode == LessonMode.online, Lesson.cancelled_at.is_(None),
                                                   Lesson.starts_at <= now, Lesson.ends_at >= now)).all()
    for lesson in lessons:
        for t in plan_spot_checks(lesson.starts_at, lesson.ends_at, lesson_rng(secret, lesson.id)):
            if now - lookback <= t <= now:
                yield lesson, t


def issue_due(session: Session, secret: str, now: datetime, settings: CheckinSettings = CheckinSettings()) -> list[SpotCheck]:
    """Issue every due slot to each trainee who has checked in to the lesson. Idempotent."""
    issued = []
    for lesson, slot in list(due_slots(session, secret, now)):
        present = session.scalars(select(Event.trainee_id).where(Event.lesson_id == lesson.id, Event.kind == "check_in")
                                  .distinct()).all()
        for trainee_id in present:
            if session.scalar(select(SpotCheck.id).where(SpotCheck.lesson_id == lesson.id, SpotCheck.trainee_id == trainee_id,
                                                         SpotCheck.planned_for == slot)):
                continue
            check = SpotCheck(lesson_id=lesson.id, class_id=lesson.class_id, trainee_id=trainee_id, issued_at=now,
                              due_at=now + settings.spot_check_window, origin="scheduled", planned_for=slot)
            try:
                with session.begin_nested():
                    session.add(check)
                issued.append(check)
            except IntegrityError:  # another runner issued it a moment ago
                continue
    session.commit()
    return issued


def issue_due_spot_checks(app: Flask) -> int:
    from .extensions import db

    with app.app_context():
        with db.sessionmaker() as session:
            issued = issue_due(session, app.config["SECRET_KEY"], datetime.now(timezone.utc))
    if issued:
        log.info("issued %d scheduled spot checks", len(issued))
    return len(issued)


def start(app: Flask, blocking: bool = False):
    """Start APScheduler 3 with every job in JOBS (replace_existing: ids are stable)."""
    from apscheduler.schedulers.background import BackgroundScheduler
    from apscheduler.schedulers.blocking import BlockingScheduler

    scheduler = (BlockingScheduler if blocking else BackgroundScheduler)(timezone="UTC")
    for spec in JOBS:
        module, name = spec.func.split(":")
        func = getattr(__import__(module, fromlist=[name]), name)
        scheduler.add_job(func, "interval", seconds=spec.seconds, id=spec.id, args=[app], replace_existing=True,
                          coalesce=True, max_instances=1, misfire_grace_time=spec.seconds)
    scheduler.start()
    return scheduler
