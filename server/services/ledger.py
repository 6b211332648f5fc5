"""学时台账: from stored events, heartbeats and spot checks, through policies.attendance (what
each lesson credits) and policies.hours (the online cap), to the ledger the trainee, the
institution and the district see."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from policies import attendance
from policies.hours import credited_hours
from policies.model import Content, Interval, Mode, PlannedLesson

from ..errors import ApiError
from ..models import Enrollment, Event, Heartbeat, Lesson, LessonMode, Role, SpotCheck, TrainingClass
from . import rules
from .scope import Actor, visible_class


def _planned(lesson: Lesson) -> PlannedLesson:
    return PlannedLesson(start=lesson.starts_at, end=lesson.ends_at, mode=Mode(lesson.mode.value),
                         content=Content(lesson.content.value), venue=str(lesson.venue_id) if lesson.venue_id else None)


def lesson_credit(session: Session, lesson: Lesson, trainee_id: int, now: datetime, clause: str) -> attendance.AttendanceResult:
    events = session.scalars(select(Event).where(Event.lesson_id == lesson.id, Event.trainee_id == trainee_id)
                             .order_by(Event.id)).all()
    settings = attendance.AttendanceSettings(clause=clause)
    online = lesson.mode is LessonMode.online
    att_events = []
    for e in events:
        if e.kind == "review_decision":
            target = next((x for x in events if x.id == e.decides_event_id), None)
            # Online spot-check answers are judged through their spot check's id.
            decides = f"s{target.spot_check_id}" if (online and target is not None and target.kind == "spot_check") else f"e{e.decides_event_id}"
            att_events.append(attendance.AttendanceEvent(id=f"r{e.id}", kind="review_decision", at=e.at,
                                                         decides=decides, decision=e.verdict))
        elif not (online and e.kind == "spot_check"):
            att_events.append(attendance.AttendanceEvent(id=f"e{e.id}", kind=e.kind, at=e.at, verdict=e.verdict))
    heartbeats, spot_checks = (), ()
    if online:
        heartbeats = tuple(attendance.Heartbeat(at=h.at, visible=h.visible) for h in session.scalars(
            select(Heartbeat).where(Heartbeat.lesson_id == lesson.id, Heartbeat.trainee_id == trainee_id)
            .order_by(Heartbeat.at)))
        checks = []
        for c in session.scalars(select(SpotCheck).where(SpotCheck.lesson_id == lesson.id, SpotCheck.trainee_id == trainee_id)):
            answers = [e for e in events if e.spot_check_id == c.id and e.kind == "spot_check" and e.at <= c.due_at]
            passed = next((a for a in answers if a.verdict == "verified"), None)
            answer = passed or (answers[0] if answers else None)
            checks.append(attendance.SpotCheck(id=f"s{c.id}", issued_at=c.issued_at,
                                               answered_at=answer.at if answer else None, passed=passed is not None))
        spot_checks = tuple(checks)
    return attendance.credit_lesson(_planned(lesson), att_events, now, heartbeats=heartbeats,
                                    spot_checks=spot_checks, settings=settings)


def enrollment_ledger(session: Session, actor: Actor, enrollment_id: int, now: datetime) -> dict:
    enrollment = session.get(Enrollment, enrollment_id)
    if enrollment is None:
        raise ApiError(404, "enrollment_not_found", f"报名记录 {enrollment_id} 不存在")
    if actor.role is Role.trainee and actor.trainee_id != enrollment.trainee_id:
        raise ApiError(404, "enrollment_not_found", f"报名记录 {enrollment_id} 不存在")
    cls = visible_class(session, actor, enrollment.class_id)
    return ledger_for(session, cls, enrollment, now)


def ledger_for(session: Session, cls: TrainingClass, enrollment: Enrollment, now: datetime) -> dict:
    from decimal import Decimal

    from policies.model import Level as PLevel

    policy = rules.region(cls.region_code)
    required = Decimal(rules.catalog().resolve(cls.occupation_code).required_hours(PLevel(cls.level.value)))
    lessons = session.scalars(select(Lesson).where(Lesson.class_id == cls.id, Lesson.cancelled_at.is_(None),
                                                   Lesson.starts_at <= now).order_by(Lesson.starts_at)).all()
    intervals: list[Interval] = []
    per_lesson = []
    for lesson in lessons:
        result = lesson_credit(session, lesson, enrollment.trainee_id, now, policy.verification_clause)
        # While a lesson is still running, the time since the last verified check is not
        # "unverified" yet: it is pending until the check-out (or the next spot check) decides it.
        running = lesson.ends_at > now
        pending = [s for s in result.uncredited if running and s.claimed and s.reason.code == "no_check_out"]
        intervals += list(result.intervals) + [Interval(s.start, s.end, result.mode, verified=False)
                                               for s in result.uncredited if s.claimed and s not in pending]
        per_lesson.append({
            "lesson_id": lesson.id, "starts_at": lesson.starts_at.isoformat(), "ends_at": lesson.ends_at.isoformat(),
            "mode": lesson.mode.value, "credited_minutes": round(result.credited_seconds / 60, 1), "running": running,
            "uncredited": [{**s.as_dict(), "pending": s in pending} for s in result.uncredited],
        })
    ledger = credited_hours(intervals, policy, required)
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
