"""学时台账: from stored events, heartbeats and spot checks, through policies.attendance (what
each lesson credits) and policies.hours (the online cap; one person, one place, one time), to the
ledger the trainee, the institution and the district see.

One person, one place, one time (POLICY §10): an enrollment's verified time is set against the
verified time the same trainee's other enrollments claim in lessons whose times overlap its own
(`other_claims`); policies.hours.one_place_at_a_time gives each shared moment to the claim that
started first, and the other enrollment is not credited for it. The ledger endpoint and every
export go through compute_hours, so a subsidy decision sees the de-duplicated figures."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from policies import attendance
from policies.hours import Claim, Overlap, credited_hours, merge, one_place_at_a_time
from policies.model import Cited, Content, HourLedger, Interval, Mode, PlannedLesson
from policies.model import Level as PLevel
from server.errors import ApiError
from server.models import Enrollment, Event, Heartbeat, Lesson, LessonMode, Role, SpotCheck, TrainingClass
from server.services import rules
from server.services.lesson_media import policy_heartbeat
from server.services.scope import Actor, visible_class

#: How an event the teacher confirmed, no face used, is named wherever it is shown (roll, ledger, exports).
ATTESTED_LABEL = "老师确认（未使用人脸）"


def _planned(lesson: Lesson) -> PlannedLesson:
    return PlannedLesson(start=lesson.starts_at, end=lesson.ends_at, mode=Mode(lesson.mode.value),
                         content=Content(lesson.content.value), venue=str(lesson.venue_id) if lesson.venue_id else None)


def lesson_credit(session: Session, lesson: Lesson, trainee_id: int, now: datetime, clause: str) -> attendance.AttendanceResult:
    events = session.scalars(select(Event).where(Event.lesson_id == lesson.id, Event.trainee_id == trainee_id)
                             .order_by(Event.id)).all()
    heartbeats: Sequence[Heartbeat] = []
    if lesson.mode is LessonMode.online:
        heartbeats = session.scalars(select(Heartbeat).where(Heartbeat.lesson_id == lesson.id, Heartbeat.trainee_id == trainee_id)
                                     .order_by(Heartbeat.at)).all()
    checks = session.scalars(select(SpotCheck).where(SpotCheck.lesson_id == lesson.id, SpotCheck.trainee_id == trainee_id)
                             .order_by(SpotCheck.id)).all()
    media = (lesson_media_for_credit(session, [lesson.id]).for_trainee(lesson.id, trainee_id)
             if lesson.mode is LessonMode.online else None)
    policy = rules.region(lesson.training_class.region_code)
    return lesson_credit_from(lesson, events, heartbeats, checks, now, clause, media, answer_window(policy),
                              misses=policy.spot_check_misses)


def answer_window(policy) -> timedelta:
    """The region's time to answer a spot check (POLICY §9 default: 60 s)."""
    return timedelta(seconds=policy.spot_check_answer_seconds.value)


def lesson_credit_from(lesson: Lesson, events, heartbeats, spot_checks, now: datetime, clause: str,
                       media: attendance.RecordedMedia | attendance.LiveMedia | None = None,
                       window: timedelta = timedelta(seconds=60), *,
                       misses: Cited[int | None] | None = None) -> attendance.AttendanceResult:
    """What one lesson credits one trainee, from rows already loaded (events in id order, the
    lesson's heartbeats in time order, its spot checks; `media`: the recorded video the lesson
    plays in the page, whose content watched is what counts): the ledger and the exports share
    it, so an export is exactly the ledger. `misses`: the region's `spot_check_misses` (the
    spot checks an online lesson may miss, POLICY §9); not given, the lesson's region's."""
    policy = rules.region(lesson.training_class.region_code)
    if misses is None:
        misses = policy.spot_check_misses
    settings = attendance.AttendanceSettings(clause=clause, spot_check_window=window,
                                             miss_budget=misses.value, miss_budget_clause=misses.clause,
                                             attested_clause=policy.attested_check_ins.clause)
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
            # the method ("teacher_attested": no face) names the rule a pending event waits on
            att_events.append(attendance.AttendanceEvent(id=f"e{e.id}", kind=attendance.EventKind(e.kind), at=e.at, verdict=e.verdict,
                                                         method=(e.evidence or {}).get("method")))
    hb: tuple[attendance.Heartbeat, ...] = ()
    if online:
        hb = tuple(policy_heartbeat(h) for h in heartbeats)
    # Online the answer is judged through its spot check; offline the answer events are judged
    # themselves, and the spot checks say which were asked (one unanswered in time was missed).
    out = []
    for c in spot_checks:
        if c.issued_at > now:
            continue
        answers = [e for e in events if e.spot_check_id == c.id and e.kind == "spot_check" and e.at <= c.due_at]
        passed = next((a for a in answers if a.verdict == "verified"), None)
        answer = passed or (answers[0] if answers else None)
        out.append(attendance.SpotCheck(id=f"s{c.id}", issued_at=c.issued_at,
                                        answered_at=answer.at if answer else None, passed=passed is not None))
    checks = tuple(out)
    return attendance.credit_lesson(_planned(lesson), att_events, now, heartbeats=hb, spot_checks=checks, settings=settings,
                                    media=media)


class CreditMedia(dict[int, attendance.RecordedMedia | attendance.LiveMedia]):
    """Lesson id -> what the lesson plays in the page, as the credit rule takes it; with the
    lessons' checkpoint quizzes, which differ per trainee (`for_trainee`)."""

    def __init__(self, items: dict, gates) -> None:
        super().__init__(items)
        self.gates = gates

    def for_trainee(self, lesson_id: int, trainee_id: int | None) -> attendance.RecordedMedia | attendance.LiveMedia | None:
        return self.gates.apply(lesson_id, trainee_id, self.get(lesson_id))


def lesson_media_for_credit(session: Session, lesson_ids: Sequence[int]) -> CreditMedia:
    """What each of these lessons plays in the page (its latest media: a recorded video or a live
    stream) and its checkpoint quizzes, as the credit rule takes them, in three queries."""
    from server.services.lesson_media import latest_media, media_for_credit
    from server.services.quizzes import gates

    rows = latest_media(session, lesson_ids)
    out = {}
    for lesson_id, media in rows.items():
        found = media_for_credit(media)
        if found is not None:
            out[lesson_id] = found
    return CreditMedia(out, gates(session, rows))


def _for_trainee(media: dict | None, lesson_id: int, trainee_id: int | None):
    if isinstance(media, CreditMedia):
        return media.for_trainee(lesson_id, trainee_id)
    return (media or {}).get(lesson_id)


@dataclass(frozen=True)
class LessonHours:
    lesson: Lesson
    result: attendance.AttendanceResult
    running: bool
    pending: tuple
    #: where this lesson's verified time meets another enrollment's of the same person (POLICY §10)
    overlaps: tuple[Overlap, ...] = ()
    enrollment_id: int | None = None

    @property
    def lost(self) -> tuple[Overlap, ...]:
        """Verified time of this lesson credited to another enrollment instead."""
        return tuple(o for o in self.overlaps if o.lost.enrollment == self.enrollment_id and o.lost.lesson == self.lesson.id)

    @property
    def credited_seconds(self) -> float:
        """What the lesson credits, less the time another enrollment is credited with."""
        return max(0.0, self.result.credited_seconds - sum(o.seconds for o in self.lost))


@dataclass(frozen=True)
class EnrollmentHours:
    """One enrollment's ledger and what each lesson credited: the ledger endpoint and every
    export are formatted from this one computation."""

    ledger: HourLedger
    lessons: tuple[LessonHours, ...]


def required_hours(cls: TrainingClass) -> Decimal:
    return Decimal(rules.catalog().resolve(cls.occupation_code).required_hours(PLevel(cls.level.value)))


def class_lessons(session: Session, cls: TrainingClass, now: datetime) -> list[Lesson]:
    """The lessons that count: not cancelled, already started (in order: the n-th is 第n次课)."""
    return list(session.scalars(select(Lesson).where(Lesson.class_id == cls.id, Lesson.cancelled_at.is_(None),
                                                     Lesson.starts_at <= now).order_by(Lesson.starts_at, Lesson.id)))


def lesson_name(class_name: str, n: int, mode: LessonMode) -> str:
    """How a reviewer reads a lesson in a reason: 《云计算1班》第3次课（线下）."""
    return f"《{class_name}》第{n}次课（{'线下' if mode is LessonMode.offline else '线上'}）"


def enrollment_rows(session: Session, enrollment_id: int, trainee_id: int, online_lesson_ids: list[int],
                    lesson_ids: Sequence[int] | None = None):
    """Everything an enrollment's hours depend on, in four indexed queries (by enrollment, by
    lesson + trainee for online presence and for the spot checks of every lesson in `lesson_ids`,
    online ones when None), instead of one query per lesson. Plain rows, not ORM objects: an
    export reads a million events and the session must not keep them."""
    ev, hb, sc = Event.__table__, Heartbeat.__table__, SpotCheck.__table__
    events = session.execute(select(ev).where(ev.c.enrollment_id == enrollment_id).order_by(ev.c.id)).all()
    heartbeats: dict[int, list] = {}
    checks: dict[int, list] = {}
    if online_lesson_ids:
        for h in session.execute(select(hb).where(hb.c.lesson_id.in_(online_lesson_ids), hb.c.trainee_id == trainee_id)
                                 .order_by(hb.c.at)):
            heartbeats.setdefault(h.lesson_id, []).append(h)
    asked = list(online_lesson_ids if lesson_ids is None else lesson_ids)
    if asked:
        for c in session.execute(select(sc).where(sc.c.lesson_id.in_(asked), sc.c.trainee_id == trainee_id)
                                 .order_by(sc.c.id)):
            checks.setdefault(c.lesson_id, []).append(c)
    return events, heartbeats, checks


def other_enrollments(session: Session, trainee_ids: Sequence[int], class_id: int) -> set[int]:
    """Which of these trainees are enrolled in another class too (one query for a batch): only
    they can claim the same minutes twice."""
    if not trainee_ids:
        return set()
    return set(session.scalars(select(Enrollment.trainee_id).where(Enrollment.trainee_id.in_(list(trainee_ids)),
                                                                   Enrollment.class_id != class_id).distinct()))


def other_claims(session: Session, trainee_id: int, enrollment_id: int, lessons: Sequence[Lesson],
                 now: datetime) -> list[Claim]:
    """The verified time the trainee's other enrollments claim in lessons whose scheduled times
    overlap any of `lessons` (credit never leaves a lesson's scheduled time, so no other lesson
    can share a moment with these), each named for the reviewer."""
    if not lessons:
        return []
    others = session.execute(
        select(Enrollment.id, TrainingClass.id.label("class_id"), TrainingClass.name, TrainingClass.region_code)
        .join(TrainingClass, TrainingClass.id == Enrollment.class_id)
        .where(Enrollment.trainee_id == trainee_id, Enrollment.id != enrollment_id).order_by(Enrollment.id)).all()
    if not others:
        return []
    spans = merge((x.starts_at, x.ends_at) for x in lessons)
    lo, hi = spans[0][0], spans[-1][1]
    claims: list[Claim] = []
    for other in others:
        clause = rules.region(other.region_code).verification_clause
        theirs = session.scalars(select(Lesson).where(Lesson.class_id == other.class_id, Lesson.cancelled_at.is_(None),
                                                      Lesson.starts_at <= now).order_by(Lesson.starts_at, Lesson.id)).all()
        for n, lesson in enumerate(theirs, start=1):
            if lesson.ends_at <= lo or lesson.starts_at >= hi or not any(
                    s < lesson.ends_at and lesson.starts_at < e for s, e in spans):
                continue
            result = lesson_credit(session, lesson, trainee_id, now, clause)
            what = lesson_name(other.name, n, lesson.mode)
            claims += [Claim(other.id, lesson.id, iv.start, iv.end, what) for iv in result.intervals]
    return claims


def compute_hours(policy, required: Decimal, lessons: list[Lesson], events, heartbeats: dict, checks: dict,
                  now: datetime, *, enrollment_id: int | None = None, class_name: str = "",
                  elsewhere: Sequence[Claim] = (), media: dict | None = None, trainee_id: int | None = None) -> EnrollmentHours:
    """One enrollment's ledger. `elsewhere`: the verified time the same trainee's other
    enrollments claim in overlapping lessons (other_claims); with `enrollment_id` set, time both
    claim is credited once, to the claim that started first (POLICY §10)."""
    by_lesson: dict[int, list] = {}
    for e in events:
        by_lesson.setdefault(e.lesson_id, []).append(e)
    intervals: list[Interval] = []
    parts = []
    mine: list[Claim] = []
    for n, lesson in enumerate(lessons, start=1):
        result = lesson_credit_from(lesson, by_lesson.get(lesson.id, []), heartbeats.get(lesson.id, ()),
                                    checks.get(lesson.id, ()), now, policy.verification_clause,
                                    _for_trainee(media, lesson.id, trainee_id),
                                    answer_window(policy), misses=policy.spot_check_misses)
        # While a lesson is still running, the time since the last verified check is not
        # "unverified" yet: it is pending until the check-out (or the next spot check) decides it.
        running = lesson.ends_at > now
        pending = tuple(s for s in result.uncredited if running and s.claimed and s.reason.code == "no_check_out")
        intervals += list(result.intervals) + [Interval(s.start, s.end, result.mode, verified=False)
                                               for s in result.uncredited if s.claimed and s not in pending]
        parts.append((lesson, result, running, pending))
        if enrollment_id is not None and elsewhere:
            what = lesson_name(class_name, n, lesson.mode)
            mine += [Claim(enrollment_id, lesson.id, iv.start, iv.end, what) for iv in result.intervals]
    overlaps = one_place_at_a_time([*mine, *elsewhere]) if mine else ()
    out = tuple(LessonHours(lesson, result, running, pending,
                            tuple(o for o in overlaps if lesson.id in (o.kept.lesson, o.lost.lesson)
                                  and enrollment_id in (o.kept.enrollment, o.lost.enrollment)), enrollment_id)
                for lesson, result, running, pending in parts)
    return EnrollmentHours(credited_hours(intervals, policy, required, enrollment=enrollment_id, overlaps=overlaps), out)


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
    events, heartbeats, checks = enrollment_rows(session, enrollment.id, enrollment.trainee_id, online,
                                                 [x.id for x in lessons])
    elsewhere = other_claims(session, enrollment.trainee_id, enrollment.id, lessons, now)
    hours = compute_hours(policy, required_hours(cls), lessons, events, heartbeats, checks, now,
                          enrollment_id=enrollment.id, class_name=cls.name, elsewhere=elsewhere,
                          media=lesson_media_for_credit(session, online), trainee_id=enrollment.trainee_id)
    ledger = hours.ledger
    # Lessons with a check the teacher confirmed (no face used): shown as such (policies.attendance.TEACHER_ATTESTED)
    attested = {e.lesson_id for e in events if (e.evidence or {}).get("method") == attendance.TEACHER_ATTESTED}
    per_lesson = [{
        "lesson_id": h.lesson.id, "starts_at": h.lesson.starts_at.isoformat(), "ends_at": h.lesson.ends_at.isoformat(),
        "mode": h.lesson.mode.value, "credited_minutes": round(h.credited_seconds / 60, 1), "running": h.running,
        "uncredited": sorted([{**s.as_dict(), "pending": s in h.pending} for s in h.result.uncredited]
                             + [_overlap_json(o, enrollment.id) for o in h.lost], key=lambda u: (u["start"], u["end"])),
        "overlaps": [_overlap_json(o, enrollment.id) for o in h.overlaps],
        "method_label": ATTESTED_LABEL if h.lesson.id in attested else None,
    } for h in hours.lessons]
    return {
        "enrollment_id": enrollment.id, "class_id": cls.id, "trainee_id": enrollment.trainee_id,
        "minutes_per_class_hour": ledger.minutes_per_class_hour, "required_hours": str(ledger.required_hours),
        "raw": {"offline": str(ledger.raw_offline), "online": str(ledger.raw_online)},
        "verified": {"offline": str(ledger.verified_offline), "online": str(ledger.verified_online)},
        "credited": _credited(ledger),
        "overlap": {"offline": str(ledger._h(ledger.overlap_offline_seconds)),
                    "online": str(ledger._h(ledger.overlap_online_seconds))},
        "reasons": [{"code": r.code, "clause": r.clause, "detail": r.detail} for r in ledger.reasons],
        "lessons": per_lesson,
    }


def _credited(ledger) -> dict:
    return {"offline": str(ledger.credited_offline), "online": str(ledger.credited_online),
            "total": str(ledger.credited), "complete": ledger.complete,
            "online_cap": str(ledger._h(ledger.online_cap_seconds))}


def _overlap_json(o: Overlap, enrollment_id: int) -> dict:
    """A stretch this enrollment shares with another of the same person: which side keeps it,
    the other lesson named, and the reason (POLICY §10) the ledger gives for it."""
    from policies.hours import overlap_reasons

    here = o.kept.enrollment == enrollment_id
    other = o.lost if here else o.kept
    [reason] = overlap_reasons([o], enrollment_id)
    return {"start": o.start.isoformat(), "end": o.end.isoformat(), "seconds": o.seconds, "claimed": True,
            "credited_here": here, "other_enrollment_id": other.enrollment, "other_lesson_id": other.lesson,
            "other": other.what, "pending": False, **reason.as_dict()}
