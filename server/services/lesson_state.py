"""Lessons opening and closing, and absences: what the scheduler records about lessons.

A lesson *opens* when its check-in window opens (CheckinSettings.open_before before the start)
and *closes* when its check-out window closes (close_after after the end). Each transition is
recorded once (lesson_transitions, append-only, unique per lesson and state), with the
scheduled moment and when the job saw it, so a scheduler outage shows as a late record instead
of a missing one. The check-in service keeps deciding windows from the clock itself: these
records are the trail, not a switch.

After a lesson closes, each trainee enrolled before it ended who has nothing verified is
recorded absent (absences, append-only, unique per lesson and trainee: a second run records
nothing). Offline: no check-in that is verified (or approved by a reviewer). Online: no credited
presence under the attendance rule (passed spot checks with the page visible between them).
A trainee with an event still waiting for review is not decided yet: the job looks again on its
next runs, for `lookback` after the lesson closed. Once every trainee of a lesson is decided,
the lesson's roll is taken (a `roll_taken` transition) and the job never loads it again - so
each run costs the lessons that closed since the last one, not the whole history.

An absence is what was known when the roll was taken. A reviewer who later approves a rejected
check-in writes a new event; the ledger (which reads events) credits it, and the absence row
stays as the record of the earlier state. The listing decides again at read time with the same
rule (absence_decision) over the events as they are now: an absence the trainee no longer owes
is shown as *superseded*, naming the events that were not there when it was recorded and now
count (the approval, or a verified event); the row itself is never changed."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, exists, select
from sqlalchemy.orm import Session

from server.database.rows import insert_once
from server.models import Absence, ClassStatus, Enrollment, Event, Lesson, LessonMode, LessonTransition, TrainingClass
from server.services import rules
from server.services.checkin import CheckinSettings


@dataclass(frozen=True)
class TransitionResult:
    opened: int
    closed: int


def record_transitions(session: Session, now: datetime, settings: CheckinSettings = CheckinSettings(),
                       limit: int = 2000) -> TransitionResult:
    """Record every opening and closing whose moment has come and is not recorded yet. Idempotent."""
    counts = {"opened": 0, "closed": 0}
    for state, due in (("opened", Lesson.starts_at <= now + settings.open_before),
                       ("closed", Lesson.ends_at <= now - settings.close_after)):
        recorded = exists().where(LessonTransition.lesson_id == Lesson.id, LessonTransition.state == state)
        lessons = session.scalars(select(Lesson).where(Lesson.cancelled_at.is_(None), due, ~recorded)
                                  .order_by(Lesson.starts_at).limit(limit)).all()
        for lesson in lessons:
            effective = lesson.starts_at - settings.open_before if state == "opened" else lesson.ends_at + settings.close_after
            if insert_once(session, LessonTransition(lesson_id=lesson.id, class_id=lesson.class_id, state=state,
                                                      effective_at=effective, recorded_at=now)):
                counts[state] += 1
    session.commit()
    return TransitionResult(**counts)


def _decided(events: list[Event]) -> tuple[list[Event], list[Event]]:
    """(events that count as verified, events still waiting for a person). The newest review
    decision on an event is the one in force."""
    decision: dict[int, str] = {}
    for e in sorted(events, key=lambda e: e.id):
        if e.kind == "review_decision" and e.decides_event_id is not None:
            decision[e.decides_event_id] = e.verdict
    counted, pending = [], []
    for e in events:
        if e.kind == "review_decision":
            continue
        d = decision.get(e.id)
        if d == "approved" or (d is None and e.verdict == "verified"):
            counted.append(e)
        elif d is None and e.verdict == "flagged":
            pending.append(e)
    return counted, pending


def absence_decision(lesson: Lesson, events: list[Event], online_credited_seconds: float | None, clause: str) -> tuple[str, list[dict]]:
    """("present" | "pending" | "absent", reasons). Pure over what the caller loaded."""
    counted, pending = _decided(events)
    if lesson.mode is LessonMode.offline:
        if any(e.kind == "check_in" for e in counted):
            return "present", []
        if any(e.kind == "check_in" for e in pending):
            return "pending", [{"code": "check_in_awaiting_review", "clause": clause,
                                "detail": "签到待人工复核，复核后再判定是否缺勤"}]
        tried = [e for e in events if e.kind == "check_in"]
        if tried:
            return "absent", [{"code": "check_in_not_verified", "clause": clause,
                               "detail": f"线下课次有 {len(tried)} 次签到，均未通过核验，按缺勤记录（不进不补）"}]
        return "absent", [{"code": "no_check_in", "clause": clause, "detail": "线下课次无签到记录，按缺勤记录（不进不补）"}]
    if online_credited_seconds and online_credited_seconds > 0:
        return "present", []
    if pending:
        return "pending", [{"code": "presence_awaiting_review", "clause": clause,
                            "detail": "在线课次有记录待人工复核，复核后再判定是否缺勤"}]
    return "absent", [{"code": "no_verified_presence", "clause": clause,
                       "detail": "在线课次没有通过核验的在线时段（随机抽查未通过或未在线），按缺勤记录（不进不补）"}]


@dataclass(frozen=True)
class AbsenceResult:
    recorded: int
    pending: int
    lessons: int


def mark_absences(session: Session, now: datetime, settings: CheckinSettings = CheckinSettings(),
                  lookback: timedelta = timedelta(days=30)) -> AbsenceResult:
    """Record absences for closed lessons of filed classes (a draft plan owes no attendance yet).
    Idempotent: a recorded absence is never recorded again."""
    from server.services.ledger import lesson_credit

    closed_before = now - settings.close_after
    taken = exists().where(LessonTransition.lesson_id == Lesson.id, LessonTransition.state == "roll_taken")
    lessons = session.execute(
        select(Lesson, TrainingClass).join(TrainingClass, TrainingClass.id == Lesson.class_id)
        .where(Lesson.cancelled_at.is_(None), TrainingClass.status == ClassStatus.filed,
               Lesson.ends_at <= closed_before, Lesson.ends_at > closed_before - lookback, ~taken)
        .order_by(Lesson.ends_at)).all()
    recorded = pending = 0
    for lesson, cls in lessons:
        clause = rules.region(cls.region_code).verification_clause
        already = select(Absence.id).where(Absence.lesson_id == lesson.id, Absence.trainee_id == Enrollment.trainee_id)
        enrollments = session.scalars(select(Enrollment).where(
            and_(Enrollment.class_id == cls.id, Enrollment.enrolled_at < lesson.ends_at, ~exists(already)))).all()
        by_trainee: dict[int | None, list[Event]] = {}
        for e in session.scalars(select(Event).where(Event.lesson_id == lesson.id)):
            by_trainee.setdefault(e.trainee_id, []).append(e)
        waiting = 0
        for enrollment in enrollments:
            events = by_trainee.get(enrollment.trainee_id, [])
            credited = None
            if lesson.mode is LessonMode.online:
                credited = lesson_credit(session, lesson, enrollment.trainee_id, now, clause).credited_seconds
            state, reasons = absence_decision(lesson, events, credited, clause)
            if state == "pending":
                waiting += 1
            if state != "absent":
                continue
            evidence: dict[str, Any] = {"mode": lesson.mode.value, "starts_at": lesson.starts_at.isoformat(),
                        "ends_at": lesson.ends_at.isoformat(),
                        "events": [{"id": e.id, "kind": e.kind, "verdict": e.verdict} for e in events]}
            if credited is not None:
                evidence["credited_seconds"] = credited
            if insert_once(session, Absence(lesson_id=lesson.id, class_id=cls.id, enrollment_id=enrollment.id,
                                             trainee_id=enrollment.trainee_id, recorded_at=now, reasons=reasons,
                                             evidence=evidence)):
                recorded += 1
        pending += waiting
        if not waiting:
            insert_once(session, LessonTransition(lesson_id=lesson.id, class_id=cls.id, state="roll_taken",
                                                   effective_at=now, recorded_at=now))
    session.commit()
    return AbsenceResult(recorded, pending, len(lessons))


def superseded_by(lesson: Lesson, absence: Absence, events: list[Event], online_credited_seconds: float | None,
                  clause: str) -> list[Event] | None:
    """None while the absence stands; else the events that supersede it (possibly none named,
    if the rule now credits the lesson from what was already known). Pure over what the caller
    loaded: `events` are the lesson's events of the trainee as they are now.

    The same rule as when it was recorded decides (absence_decision). The events that were not
    there then - the absence's evidence lists every event it looked at - and now count are the
    ones named: a reviewer's approval of a check-in (or of an online spot check), or a verified
    event."""
    state, _ = absence_decision(lesson, events, online_credited_seconds, clause)
    if state != "present":
        return None
    known = {e["id"] for e in (absence.evidence or {}).get("events", [])}
    counted, _ = _decided(events)
    counted_ids = {e.id for e in counted}
    approvals = {}
    for e in sorted(events, key=lambda e: e.id):
        if e.kind == "review_decision" and e.decides_event_id is not None:
            approvals[e.decides_event_id] = e  # the newest decision is the one in force
    out = []
    for e in events:
        if e.kind == "review_decision" or e.id not in counted_ids:
            continue
        if lesson.mode is LessonMode.offline and e.kind != "check_in":
            continue
        why = approvals.get(e.id)
        why = why if why is not None and why.verdict == "approved" else e
        if why.id not in known and why not in out:
            out.append(why)
    return sorted(out, key=lambda e: e.id)


def absences_of_class(session: Session, actor, class_id: int, now: datetime) -> list[dict]:
    """The absences recorded in a class the actor may see, newest lesson first, each with its
    reason and clause (staff, teachers and 人社; a trainee sees their own hours in the ledger),
    and whether a later event has superseded it (`superseded`, `superseded_by`: id, kind,
    verdict, time of each)."""
    from server.models import Trainee
    from server.permissions import Capability
    from server.services.ledger import lesson_credit
    from server.services.scope import require, visible_class

    require(actor, Capability.VIEW_ABSENCES)
    cls = visible_class(session, actor, class_id)
    clause = rules.region(cls.region_code).verification_clause
    rows = session.execute(select(Absence, Lesson, Trainee).join(Lesson, Lesson.id == Absence.lesson_id)
                           .join(Trainee, Trainee.id == Absence.trainee_id)
                           .where(Absence.class_id == class_id).order_by(Lesson.starts_at.desc(), Trainee.name)).all()
    events: dict[tuple[int | None, int | None], list[Event]] = {}
    if rows:
        for e in session.scalars(select(Event).where(Event.lesson_id.in_({lesson.id for _, lesson, _ in rows}))
                                 .order_by(Event.id)):
            events.setdefault((e.lesson_id, e.trainee_id), []).append(e)
    out = []
    for a, lesson, trainee in rows:
        credited = None
        if lesson.mode is LessonMode.online:
            credited = lesson_credit(session, lesson, a.trainee_id, now, clause).credited_seconds
        by = superseded_by(lesson, a, events.get((lesson.id, a.trainee_id), []), credited, clause)
        out.append({"id": a.id, "lesson_id": lesson.id, "lesson_starts_at": lesson.starts_at.isoformat(),
                    "lesson_mode": lesson.mode.value, "enrollment_id": a.enrollment_id, "trainee_id": a.trainee_id,
                    "trainee_name": trainee.name, "recorded_at": a.recorded_at.isoformat(), "reasons": a.reasons,
                    "superseded": by is not None,
                    "superseded_by": [{"event_id": e.id, "kind": e.kind, "verdict": e.verdict, "at": e.at.isoformat(),
                                       "decides_event_id": e.decides_event_id} for e in by or []]})
    return out
