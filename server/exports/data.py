"""One pass over a class: for each enrollment, its trainee, its events, its ledger (computed by
services.ledger exactly as the ledger endpoint does) and its subsidy decision, which counts the
trainee's subsidy history (services.subsidy_history: other classes' seals, recorded entries and
checks) against the region's frequency limits.

Rows are produced one enrollment at a time from indexed queries, so memory stays flat however
many trainees and events a class has."""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from policies.model import Employment, Person, SubsidyDecision, SubsidyRequest
from policies.model import Level as PLevel
from policies.subsidy import decide_subsidy
from server import clock
from server.models import (
    AssessmentResult,
    Certificate,
    EmploymentAfter,
    EmploymentAtStart,
    Enrollment,
    Lesson,
    LessonMode,
    Trainee,
    TrainingClass,
)
from server.services import rules
from server.services.ledger import (
    EnrollmentHours,
    class_lessons,
    compute_hours,
    enrollment_rows,
    lesson_media_for_credit,
    other_claims,
    other_enrollments,
    required_hours,
)
from server.services.subsidy_history import TraineeHistory, histories

#: Enrollments (with their trainees) read per query: big enough to be cheap, small enough to be flat.
BATCH = 500


def local(dt: datetime) -> datetime:
    """Stored UTC, shown in the deployment's zone (server/clock.py; every region's file names the same)."""
    return clock.local(dt)


@dataclass(frozen=True)
class TraineeRecord:
    enrollment_id: int
    trainee_id: int
    name: str
    resident_id: str
    subsidy_category: str | None
    events: tuple
    hours: EnrollmentHours
    decision: SubsidyDecision
    has_training_certificate: bool
    #: The enrollment's EmploymentAtStart / EmploymentAfter values (employed, not_employed, unknown; ...)
    employment_at_start: str | None = None
    employment_after: str | None = None


def _employment(at_start: EmploymentAtStart, after: EmploymentAfter) -> Employment | None:
    if at_start is EmploymentAtStart.employed:
        return Employment.EMPLOYED_AT_START
    if after is EmploymentAfter.employed:
        return Employment.EMPLOYED_AFTER
    if after is EmploymentAfter.unemployed:
        return Employment.UNEMPLOYED_AFTER
    return None


def _value(v) -> str | None:
    return None if v is None else str(getattr(v, "value", v))


class ClassData:
    """What every export of one class needs, loaded once; `records()` streams the trainees."""

    def __init__(self, session: Session, cls: TrainingClass, now: datetime) -> None:
        self.session, self.cls, self.now = session, cls, now
        self.today: date = local(now).date()
        self.policy = rules.region(cls.region_code)
        self.occupation = rules.catalog().resolve(cls.occupation_code)
        self.required = required_hours(cls)
        self.lessons: list[Lesson] = class_lessons(session, cls, now)
        self.online_ids = [x.id for x in self.lessons if x.mode is LessonMode.online]
        self.lesson_ids = [x.id for x in self.lessons]
        self.media = lesson_media_for_credit(session, self.online_ids)
        self.total = session.scalar(select(func.count()).select_from(Enrollment).where(Enrollment.class_id == cls.id)) or 0

    def decide(self, hours: EnrollmentHours, resident_id: str, category: str | None, employment: Employment | None,
               training_certificate: bool, level_cert: tuple[bool, date | None],
               history: TraineeHistory) -> SubsidyDecision:
        from policies.subsidy import person_from_resident_id

        known: dict[str, Any] = dict(groups=frozenset({category}) if category else None, history=history.entries,
                     history_checked_on=history.checked_on)
        try:
            person = person_from_resident_id(resident_id, **known)
        except ValueError:
            person = Person(**known)
        ledger = hours.ledger
        request = SubsidyRequest(
            occupation=self.occupation.code, level=PLevel(self.cls.level.value), credited_hours=ledger.credited,
            person=person, employment=employment, training_certificate=training_certificate,
            level_certificate=level_cert[0], level_certificate_issued_on=level_cert[1],
            training_start=self.cls.starts_on, fee=self.cls.fee, hour_reasons=ledger.reasons,
        )
        return decide_subsidy(request, self.policy, rules.catalog(), today=self.today)

    def records(self) -> Iterator[TraineeRecord]:
        s = self.session
        e, t = Enrollment.__table__, Trainee.__table__
        last = 0
        while True:
            batch = s.execute(
                select(e.c.id, e.c.trainee_id, e.c.subsidy_category, e.c.employment_at_start, e.c.employment_after,
                       t.c.name, t.c.resident_id)
                .join(t, t.c.id == e.c.trainee_id)
                .where(e.c.class_id == self.cls.id, e.c.id > last).order_by(e.c.id).limit(BATCH)).all()
            if not batch:
                return
            last = batch[-1].id
            certs = self._certificates([r.id for r in batch], [r.trainee_id for r in batch])
            # This class's own seal is not an earlier subsidy of its trainees.
            history = histories(s, [r.trainee_id for r in batch], except_class_id=self.cls.id)
            # One person, one place, one time (POLICY §10): trainees enrolled elsewhere too have
            # their other classes' overlapping minutes set against these, as in the ledger.
            elsewhere = other_enrollments(s, [r.trainee_id for r in batch], self.cls.id)
            for r in batch:
                events, heartbeats, checks = enrollment_rows(s, r.id, r.trainee_id, self.online_ids, self.lesson_ids)
                claims = other_claims(s, r.trainee_id, r.id, self.lessons, self.now) if r.trainee_id in elsewhere else []
                hours = compute_hours(self.policy, self.required, self.lessons, events, heartbeats, checks, self.now,
                                      enrollment_id=r.id, class_name=self.cls.name, elsewhere=claims, media=self.media,
                                      trainee_id=r.trainee_id)
                training = r.id in certs["training"]
                level = certs["level"].get(r.trainee_id, (False, None))
                decision = self.decide(hours, r.resident_id, r.subsidy_category,
                                       _employment(EmploymentAtStart(r.employment_at_start), EmploymentAfter(r.employment_after)),
                                       training, level, history[r.trainee_id])
                yield TraineeRecord(r.id, r.trainee_id, r.name, r.resident_id, r.subsidy_category, tuple(events), hours,
                                    decision, training, _value(r.employment_at_start), _value(r.employment_after))

    def _certificates(self, enrollment_ids: list[int], trainee_ids: list[int]) -> dict:
        """Which enrollments earned their training certificate, and which trainees hold the level
        certificate of this class's occupation and level (with its issue date)."""
        c = Certificate.__table__
        training = set(self.session.scalars(select(c.c.enrollment_id).where(
            c.c.kind == "training", c.c.enrollment_id.in_(enrollment_ids))))
        level: dict[int, tuple[bool, date | None]] = {}
        for row in self.session.execute(select(c.c.trainee_id, c.c.issued_on).where(
                c.c.kind == "level", c.c.trainee_id.in_(trainee_ids), c.c.occupation_code == self.occupation.code,
                c.c.level == self.cls.level.value).order_by(c.c.issued_on)):
            level[row.trainee_id] = (True, row.issued_on)
        return {"training": training, "level": level}


def latest_assessments(session: Session, enrollment_ids: list[int]) -> dict[int, AssessmentResult]:
    """Each enrollment's newest assessment result: a later result supersedes an earlier one (a
    resit), and only the newest says whether the trainee passed."""
    out: dict[int, AssessmentResult] = {}
    for a in session.scalars(select(AssessmentResult).where(AssessmentResult.enrollment_id.in_(enrollment_ids))
                             .order_by(AssessmentResult.id)):
        out[a.enrollment_id] = a  # the newest row supersedes
    return out
