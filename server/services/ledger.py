"""学时台账: from stored events, heartbeats and spot checks, through policies.attendance (what
each lesson credits) and policies.hours (the online cap), to the ledger the trainee, the
institution and the district see."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from policies import attendance
from policies.hours import credited_hours
from policies.model import Content, HourLedger, Interval, Mode, PlannedLesson
from policies.model import Level as PLevel
from server.errors import ApiError
from server.models import Enrollment, Event, Heartbeat, Lesson, LessonMode, Role, SpotCheck, TrainingClass
from server.services import rules
from server.services.scope import Actor, visible_class


def _planned(lesson: Lesson) -> PlannedLesson:
    return PlannedLesson(start=lesson.starts_at, end=lesson.ends_at, mode=Mode(lesson.mode.value),
                         content=Content(lesson.content.value), venue=str(lesson.venue_id) if lesson.venue_id else None)


def lesson_credit(session: Session, lesson: Lesson, trainee_id: int, now: datetime, clause: str) -> attendance.AttendanceResult:
    events = session.scalars(select(Event).where(Event.lesson_id == lesson.id, Event.trainee_id == trainee_id)
                             .order_by(Event.id)).all()
    heartbeats: Sequence[Heartbeat] = []
    checks: Sequence[SpotCheck] = []
    if lesson.mode is LessonMode.online:
        heartbeats = session.scalars(select(Heartbeat).where(Heartbeat.lesson_id == lesson.id, Heartbeat.trainee_id == trainee_id)
                                     .order_by(Heartbeat.at)).all()
        checks = session.scalars(select(SpotCheck).where(SpotCheck.lesson_id == lesson.id,
                                                         SpotCheck.trainee_id == trainee_id)).all()
    return lesson_credit_from(lesson, events, heartbeats, checks, now, clause)


def lesson_credit_from(lesson: Lesson, events, heartbeats, spot_checks, now: datetime, clause: str) -> attendance.AttendanceResult:
    """What one lesson credits one trainee, from rows already loaded (events in id order, the
    lesson's heartbeats in time order, its spot checks): the ledger and the exports share it, so
    an export is exactly the ledger."""
    settings = attendance.AttendanceSettings(clause=clause)
    online = lesson.mode is LessonMode.online
    by_id = {e.id: e for e in events}
    att_events = []
    for e in events:
        if e.kind == "review_decision":
            target = by_id.get(e.decides_event_id)
            # Online spot-check answers are judged through their spot check's id.
            answers_spot_check = online and target is not None and target.kind == "spot_check"
            decides = f"s{target.spot_check_id}" if answers_spot_check and target is not None else f"e{e.decides_event_id}"
            att_events.append(attendance.AttendanceEvent(id=f"r{e.id}", kind=attendance.EventKind.REVIEW_DECISION, at=e.at,
                                                         decides=decides, decision=e.verdict))
        elif not (online and e.kind == "spot_check"):
            att_events.append(attendance.AttendanceEvent(id=f"e{e.id}", kind=attendance.EventKind(e.kind), at=e.at, verdict=e.verdict))
    hb: tuple[attendance.Heartbeat, ...] = ()
    checks: tuple[attendance.SpotCheck, ...] = ()
    if online:
        hb = tuple(attendance.Heartbeat(at=h.at, visible=h.visible) for h in heartbeats)
        out = []
        for c in spot_checks:
            answers = [e for e in events if e.spot_check_id == c.id and e.kind == "spot_check" and e.at <= c.due_at]
            passed = next((a for a in answers if a.verdict == "verified"), None)
            answer = passed or (answers[0] if answers else None)
            out.append(attendance.SpotCheck(id=f"s{c.id}", issued_at=c.issued_at,
                                            answered_at=answer.at if answer else None, passed=passed is not None))
        checks = tuple(out)
    return attendance.credit_lesson(_planned(lesson), att_events, now, heartbeats=hb, spot_checks=checks, settings=settings)


@dataclass(frozen=True)
class LessonHours:
    lesson: Lesson
    result: attendance.AttendanceResult
    running: bool
    pending: tuple


@dataclass(frozen=True)
class EnrollmentHours:
    """One enrollment's ledger and what each lesson credited: the ledger endpoint and every
    export are formatted from this one computation."""

    ledger: HourLedger
    lessons: tuple[LessonHours, ...]


def required_hours(cls: TrainingClass) -> Decimal:
    return Decimal(rules.catalog().resolve(cls.occupation_code).required_hours(PLevel(cls.level.value)))


def class_lessons(session: Session, cls: TrainingClass, now: datetime) -> list[Lesson]:
    """The lessons that count: not cancelled, already started."""
    return list(session.scalars(select(Lesson).where(Lesson.class_id == cls.id, Lesson.cancelled_at.is_(None),
                                                     Lesson.starts_at <= now).order_by(Lesson.starts_at)))


def enrollment_rows(session: Session, enrollment_id: int, trainee_id: int, online_lesson_ids: list[int]):
    """Everything an enrollment's hours depend on, in three indexed queries (by enrollment, and
    by lesson + trainee for online presence), instead of one query per lesson. Plain rows, not
    ORM objects: an export reads a million events and the session must not keep them."""
    ev, hb, sc = Event.__table__, Heartbeat.__table__, SpotCheck.__table__
    events = session.execute(select(ev).where(ev.c.enrollment_id == enrollment_id).order_by(ev.c.id)).all()
    heartbeats: dict[int, list] = {}
    checks: dict[int, list] = {}
    if online_lesson_ids:
        for h in session.execute(select(hb).where(hb.c.lesson_id.in_(online_lesson_ids), hb.c.trainee_id == trainee_id)
                                 .order_by(hb.c.at)):
            heartbeats.setdefault(h.lesson_id, []).append(h)
        for c in session.execute(select(sc).where(sc.c.lesson_id.in_(online_lesson_ids), sc.c.trainee_id == trainee_id)
                                 .order_by(sc.c.id)):
            checks.setdefault(c.lesson_id, []).append(c)
    return events, heartbeats, checks


def compute_hours(policy, required: Decimal, lessons: list[Lesson], events, heartbeats: dict, checks: dict,
                  now: datetime) -> EnrollmentHours:
    by_lesson: dict[int, list] = {}
    for e in events:
        by_lesson.setdefault(e.lesson_id, []).append(e)
    intervals: list[Interval] = []
    out = []
    for lesson in lessons:
        result = lesson_credit_from(lesson, by_lesson.get(lesson.id, []), heartbeats.get(lesson.id, ()),
                                    checks.get(lesson.id, ()), now, policy.verification_clause)
        # While a lesson is still running, the time since the last verified check is not
        # "unverified" yet: it is pending until the check-out (or the next spot check) decides it.
        running = lesson.ends_at > now
        pending = tuple(s for s in result.uncredited if running and s.claimed and s.reason.code == "no_check_out")
        intervals += list(result.intervals) + [Interval(s.start, s.end, result.mode, verified=False)
                                               for s in result.uncredited if s.claimed and s not in pending]
        out.append(LessonHours(lesson, result, running, pending))
    return EnrollmentHours(credited_hours(intervals, policy, required), tuple(out))


def enrollment_ledger(session: Session, actor: Actor, enrollment_id: int, now: datetime) -> dict:
    enrollment = session.get(Enrollment, enrollment_id)
    if enrollment is None:
        raise ApiError(404, "enrollment_not_found", f"报名记录 {enrollment_id} 不存在")
    if actor.role is Role.trainee and actor.trainee_id != enrollment.trainee_id:
        raise ApiError(404, "enrollment_not_found", f"报名记录 {enrollment_id} 不存在")
    cls = visible_class(session, actor, enrollment.class_id)
    return ledger_for(session, cls, enrollment, now)


def ledger_for(session: Session, cls: TrainingClass, enrollment: Enrollment, now: datetime) -> dict:
    policy = rules.region(cls.region_code)
    lessons = class_lessons(session, cls, now)
    online = [x.id for x in lessons if x.mode is LessonMode.online]
    events, heartbeats, checks = enrollment_rows(session, enrollment.id, enrollment.trainee_id, online)
    hours = compute_hours(policy, required_hours(cls), lessons, events, heartbeats, checks, now)
    ledger = hours.ledger
    per_lesson = [{
        "lesson_id": h.lesson.id, "starts_at": h.lesson.starts_at.isoformat(), "ends_at": h.lesson.ends_at.isoformat(),
        "mode": h.lesson.mode.value, "credited_minutes": round(h.result.credited_seconds / 60, 1), "running": h.running,
        "uncredited": [{**s.as_dict(), "pending": s in h.pending} for s in h.result.uncredited],
    } for h in hours.lessons]
    return {
        "enrollment_id": enrollment.id, "class_id": cls.id, "trainee_id": enrollment.trainee_id,
        "minutes_per_class_hour": ledger.minutes_per_class_hour, "required_hours": str(ledger.required_hours),
        "raw": {"offline": str(ledger.raw_offline), "online": str(ledger.raw_online)},
        "verified": {"offline": str(ledger.verified_offline), "online": str(ledger.verified_online)},
        "credited": _credited(ledger),
        "reasons": [{"code": r.code, "clause": r.clause, "detail": r.detail} for r in ledger.reasons],
        "lessons": per_lesson,
    }


def _credited(ledger) -> dict:
    return {"offline": str(ledger.credited_offline), "online": str(ledger.credited_online),
            "total": str(ledger.credited), "complete": ledger.complete,
            "online_cap": str(ledger._h(ledger.online_cap_seconds))}
