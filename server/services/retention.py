"""Retention: evidence is kept at least as long as the rules say, and never purged younger.

The keeping period is the longest `years_after` rule for electronic records among the region's
deadlines (JS: electronic records >= 5 years after training ends, js 4.2), and never less than
MIN_YEARS for any region: the seeds name no shorter period anywhere, and evidence behind a
subsidy must outlive any audit of it. Only evidence of a class that ended more than that long
ago, and whose own time is older than the same cut-off, is ever considered: both conditions are
in the query, so younger rows are not even loaded.

What the job does with it: it *reports* what would be purged, per table. It deletes nothing,
because the evidence tables are append-only (database triggers refuse DELETE) and removing
events would break the class's hash chain; a purge needs a decided procedure (seal and export
the class's bundle first, record a tombstone) that is not built yet.

It does act on one thing: face templates of trainees whose newest biometric consent is a
withdrawal are erased if a template somehow still holds bytes (withdrawal erases them at once;
this is the backstop, PIPL: processing ends with consent)."""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime, time

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from policies.deadlines import add_months

from ..models import (Absence, Challenge, Consent, Event, FaceTemplate, FrameFingerprint, Heartbeat, LessonTransition,
                      SpotCheck, TrainingClass)
from . import rules
from .duties import BEIJING, local_date
from .scope import Actor

log = logging.getLogger("hourproof.retention")
MIN_YEARS = 5


def keep_years(region_code: str) -> tuple[int, str]:
    """(years, clause) that evidence of a class in this region is kept after training ends."""
    policy = rules.region(region_code)
    kept = [(r.amount, r.clause) for r in policy.deadlines if r.kind == "years_after" and "electronic" in r.code]
    years, clause = max(kept, default=(MIN_YEARS, "POLICY §4 (js 4.2: 电子资料保管不少于5年)"))
    return (years, clause) if years >= MIN_YEARS else (MIN_YEARS, clause)


def _evidence_counts(session: Session, class_ids: list[int], cutoff: datetime) -> dict[str, int]:
    """Rows of each evidence table that belong to these classes and are older than `cutoff`."""
    from ..models import Lesson

    def count(model, when, *where):
        return session.scalar(select(func.count()).select_from(model).where(when < cutoff, *where))

    return {
        "events": count(Event, Event.at, Event.class_id.in_(class_ids)),
        "heartbeats": count(Heartbeat, Heartbeat.at, Heartbeat.lesson_id.in_(
            select(Lesson.id).where(Lesson.class_id.in_(class_ids)))),
        "spot_checks": count(SpotCheck, SpotCheck.issued_at, SpotCheck.class_id.in_(class_ids)),
        "challenges": count(Challenge, Challenge.issued_at, Challenge.lesson_id.in_(
            select(Lesson.id).where(Lesson.class_id.in_(class_ids)))),
        "frame_fingerprints": count(FrameFingerprint, FrameFingerprint.at, FrameFingerprint.event_id.in_(
            select(Event.id).where(Event.class_id.in_(class_ids)))),
        "absences": count(Absence, Absence.recorded_at, Absence.class_id.in_(class_ids)),
        "lesson_transitions": count(LessonTransition, LessonTransition.recorded_at, LessonTransition.class_id.in_(class_ids)),
    }


@dataclass
class RetentionReport:
    today: date
    #: class id -> (kept until, clause) for classes past their keeping period
    expired_classes: dict[int, tuple[date, str]] = field(default_factory=dict)
    would_purge: dict[str, int] = field(default_factory=dict)
    purged: int = 0
    templates_erased: int = 0

    def summary(self) -> str:
        rows = sum(self.would_purge.values())
        if not self.expired_classes:
            return (f"retention: nothing older than the keeping period (>= {MIN_YEARS} years after training ends); "
                    f"nothing purged; {self.templates_erased} withdrawn-consent templates erased")
        return (f"retention: {len(self.expired_classes)} classes past their keeping period, {rows} evidence rows would be "
                f"purged ({self.would_purge}); none purged (append-only, purge procedure not built); "
                f"{self.templates_erased} withdrawn-consent templates erased")


def review(session: Session, now: datetime, store=None) -> RetentionReport:
    today = local_date(now)
    report = RetentionReport(today)
    for cls in session.scalars(select(TrainingClass).where(TrainingClass.ends_on < add_months(today, -12 * MIN_YEARS))):
        years, clause = keep_years(cls.region_code)
        until = add_months(cls.ends_on, 12 * years)
        if until < today:
            report.expired_classes[cls.id] = (until, clause)
    if report.expired_classes:
        # The same age limit applies to each row: a class that ended long ago may still have a
        # younger row (a late review decision), and that row is kept.
        years = max(keep_years(session.get(TrainingClass, i).region_code)[0] for i in report.expired_classes)
        cutoff = datetime.combine(add_months(today, -12 * years), time(0), BEIJING)
        report.would_purge = _evidence_counts(session, list(report.expired_classes), cutoff)
    report.templates_erased = _erase_withdrawn(session, now, store)
    session.commit()
    log.info(report.summary())
    return report


def _erase_withdrawn(session: Session, now: datetime, store) -> int:
    from . import faces

    newest = (select(Consent.trainee_id, func.max(Consent.id).label("id")).where(Consent.purpose == "biometric")
              .group_by(Consent.trainee_id).subquery())
    withdrawn = select(Consent.trainee_id).join(newest, newest.c.id == Consent.id).where(Consent.granted.is_(False))
    trainees = session.scalars(select(FaceTemplate.trainee_id).where(FaceTemplate.erased_at.is_(None),
                                                                     FaceTemplate.trainee_id.in_(withdrawn)).distinct()).all()
    erased = 0
    for trainee_id in trainees:
        erased += faces.erase_templates(session, Actor.system(), trainee_id, now, store)
    return erased
