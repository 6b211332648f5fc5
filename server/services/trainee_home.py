"""The trainee's home on the phone: the lessons of a day (Beijing time) in the classes they are
enrolled in, each with its venue, its check-in window and what the trainee has already done
there (the latest event). Read-only: nothing here writes."""
from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.clock import at_local, local_date, zone
from server.errors import ApiError
from server.models import Enrollment, Event, Lesson, LessonMode, TrainingClass, Venue
from server.permissions import Capability, allows
from server.services.checkin import CheckinSettings, event_answer
from server.services.scope import Actor

#: Lessons are shown, and days are cut, in Beijing time; everything is stored in UTC.



def window_state(lesson: Lesson, now: datetime, s: CheckinSettings) -> str:
    """Where `now` sits against the lesson's check-in / check-out windows (the server decides
    again at submission; this only tells the page which button to offer)."""
    if now < lesson.starts_at - s.open_before:
        return "not_open"      # 未开放: check-in opens `open_before` ahead
    if now < lesson.starts_at:
        return "open"          # 可签到
    if now <= lesson.ends_at:
        return "in_progress"   # 上课中: check-in (late) and check-out accepted
    if now <= lesson.ends_at + s.close_after:
        return "check_out_only"  # 已下课: only check-out, until `close_after`
    return "closed"


def _event_json(e: Event, reviews: dict[int, Event] | None = None) -> dict:
    a = event_answer(e)
    out = {k: a[k] for k in ("event_id", "kind", "verdict", "at", "message", "reasons", "distance_to_venue_m")}
    review = (reviews or {}).get(e.id)
    if e.kind != "review_decision":
        # A flagged event is decided by a later review_decision event (evidence is append-only).
        out["review"] = {"decision": review.verdict, "at": review.at.isoformat(),
                         "reason": review.reasons[0]["detail"] if review.reasons else ""} if review else None
    return out


def lessons_on(session: Session, actor: Actor, day: date | None, now: datetime, class_id: int | None = None,
               settings: CheckinSettings | None = None) -> dict:
    """The lessons on `day` (default: today in Beijing) of every class the trainee is enrolled in
    (or only `class_id`, which must be one of them: 404 otherwise, like any class out of scope)."""
    if not allows(actor.role, Capability.ATTEND_LESSONS) or actor.trainee_id is None:
        raise ApiError(403, "forbidden", "只有学员可以查看自己的课表")
    s = settings or CheckinSettings()
    day = day or local_date(now)
    rows: Sequence[tuple[Enrollment, TrainingClass]] = session.execute(
        select(Enrollment, TrainingClass).join(TrainingClass, TrainingClass.id == Enrollment.class_id)
        .where(Enrollment.trainee_id == actor.trainee_id).order_by(TrainingClass.starts_on)).all()
    if class_id is not None:
        rows = [(e, c) for e, c in rows if c.id == class_id]
        if not rows:
            raise ApiError(404, "class_not_found", f"培训班 {class_id} 不存在，或您未报名该培训班")
    by_class = {c.id: (e, c) for e, c in rows}
    start = at_local(day, time(0))
    lessons = session.scalars(select(Lesson).where(Lesson.class_id.in_(list(by_class)), Lesson.cancelled_at.is_(None),
                                                   Lesson.starts_at < start + timedelta(days=1),
                                                   Lesson.ends_at > start).order_by(Lesson.starts_at, Lesson.id)).all()
    venues = {v.id: v for v in session.scalars(select(Venue).where(Venue.id.in_({x.venue_id for x in lessons if x.venue_id})))}
    events: dict[int, list[Event]] = {}
    if lessons:
        for e in session.scalars(select(Event).where(Event.trainee_id == actor.trainee_id,
                                                     Event.lesson_id.in_([x.id for x in lessons])).order_by(Event.id)):
            events.setdefault(e.lesson_id, []).append(e)
    out = []
    for lesson in lessons:
        enrollment, cls = by_class[lesson.class_id]
        mine = events.get(lesson.id, [])
        reviews = {e.decides_event_id: e for e in mine if e.kind == "review_decision" and e.decides_event_id}
        latest = {kind: next((e for e in reversed(mine) if e.kind == kind), None) for kind in ("check_in", "check_out")}
        venue = venues.get(lesson.venue_id) if lesson.venue_id else None
        out.append({
            "lesson_id": lesson.id, "class_id": cls.id, "class_name": cls.name, "enrollment_id": enrollment.id,
            "title": lesson.title, "mode": lesson.mode.value, "content": lesson.content.value,
            "room_code": cls.room_code and lesson.mode is LessonMode.offline,
            "starts_at": lesson.starts_at.isoformat(), "ends_at": lesson.ends_at.isoformat(),
            "state": window_state(lesson, now, s),
            "check_in_opens_at": (lesson.starts_at - s.open_before).isoformat(),
            "check_out_closes_at": (lesson.ends_at + s.close_after).isoformat(),
            "venue": _venue_json(venue) if venue else None,
            "latest_event": _event_json(mine[-1], reviews) if mine else None,
            "check_in": _event_json(latest["check_in"], reviews) if latest["check_in"] else None,
            "check_out": _event_json(latest["check_out"], reviews) if latest["check_out"] else None,
        })
    return {
        "date": day.isoformat(), "timezone": zone().key, "now": now.isoformat(),
        "enrollments": [{"enrollment_id": e.id, "class_id": c.id, "class_name": c.name, "region_code": c.region_code}
                        for e, c in rows],
        "lessons": out,
    }


def _venue_json(v: Venue) -> dict:
    return {"id": v.id, "name": v.name, "address": v.address, "datum": v.datum.value, "fence_kind": v.fence_kind.value,
            "centre": [v.centre_lat, v.centre_lon] if v.centre_lat is not None else None, "radius_m": v.radius_m,
            "max_accuracy_m": v.max_accuracy_m}
