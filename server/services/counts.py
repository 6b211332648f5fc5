"""The live dashboard's figures for a lesson, each defined once (issue 19):

- enrolled: trainees enrolled in the lesson's class;
- checked_in: trainees (not attempts) with a check-in that counts: verified, or approved by a
  reviewer (the latest decision about an event wins, as presence.present_offline reads it);
- rejected: trainees who tried and have no check-in that counts and none awaiting review: each
  of their check-ins was rejected (by the checks or by a reviewer);
- awaiting_review: flagged events of the lesson no reviewer has decided yet, exactly what the
  review queue lists for it (services/review.queue);
- spot_checks_missed: spot checks of the lesson past their time with no answer.

A review decision changes these at once: the decision's own push carries them (sockets.publish_event).
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from server.models import Enrollment, Event, SpotCheck

NAMES = ("enrolled", "checked_in", "rejected", "awaiting_review", "spot_checks_missed")


def effective(events: Iterable[Any]) -> dict[int, str]:
    """Each event's verdict after review, by event id: a decision (the latest one wins) turns it
    verified (approved) or rejected; an undecided event keeps its own verdict. `events` are rows
    with id, kind, verdict and decides_event_id, in id order; a decision is the event that
    decides another (kind review_decision)."""
    out: dict[int, str] = {}
    for e in events:
        if e.decides_event_id is not None:
            if e.decides_event_id in out:
                out[e.decides_event_id] = "verified" if e.verdict == "approved" else "rejected"
        else:
            out[e.id] = e.verdict
    return out


def count_lesson(events: Sequence[Any], enrolled: int, missed: int) -> dict[str, int]:
    """The figures of one lesson from its events (id order) and the two counts that are not events."""
    verdict = effective(events)
    decided = {e.decides_event_id for e in events if e.decides_event_id is not None}
    checked_in: set[int] = set()
    pending: set[int] = set()
    tried: set[int] = set()
    awaiting = 0
    for e in events:
        if e.decides_event_id is not None:
            continue
        if e.verdict == "flagged" and e.id not in decided:
            awaiting += 1
        if e.kind != "check_in" or e.trainee_id is None:
            continue
        tried.add(e.trainee_id)
        if verdict[e.id] == "verified":
            checked_in.add(e.trainee_id)
        elif verdict[e.id] == "flagged":
            pending.add(e.trainee_id)
    return {"enrolled": enrolled, "checked_in": len(checked_in), "rejected": len(tried - checked_in - pending),
            "awaiting_review": awaiting, "spot_checks_missed": missed}


def lesson_counts(session: Session, lessons: list[tuple[int, int]], now: datetime) -> dict[int, dict[str, int]]:
    """The figures of each (lesson id, class id), in three queries for all of them."""
    if not lessons:
        return {}
    lesson_ids = [lid for lid, _ in lessons]
    class_ids = {cid for _, cid in lessons}
    enrolled = dict(session.execute(select(Enrollment.class_id, func.count()).where(Enrollment.class_id.in_(class_ids))
                                    .group_by(Enrollment.class_id)).all())
    answered = select(Event.id).where(Event.spot_check_id == SpotCheck.id).exists()
    missed = dict(session.execute(select(SpotCheck.lesson_id, func.count()).where(
        SpotCheck.lesson_id.in_(lesson_ids), SpotCheck.due_at < now, ~answered).group_by(SpotCheck.lesson_id)).all())
    by_lesson: dict[int, list[Any]] = {lid: [] for lid in lesson_ids}
    for row in session.execute(select(Event.id, Event.lesson_id, Event.trainee_id, Event.kind, Event.verdict,
                                      Event.decides_event_id).where(Event.lesson_id.in_(lesson_ids)).order_by(Event.id)):
        by_lesson[row.lesson_id].append(row)
    return {lid: count_lesson(by_lesson[lid], int(enrolled.get(cid, 0)), int(missed.get(lid, 0))) for lid, cid in lessons}
