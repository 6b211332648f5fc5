"""Review decisions: a person approves or rejects a flagged (or any) event. The decision is a new
event in the chain (who, when, why); the decided event is never changed."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.errors import ApiError
from server.models import Event, Trainee
from server.permissions import Capability, allows
from server.services import audit, chain, dashboard
from server.services.scope import Actor, visible_class


def decide(session: Session, actor: Actor, event_id: int, decision: str, reason: str, now: datetime) -> Event:
    if not allows(actor.role, Capability.REVIEW_EVENTS):
        raise ApiError(403, "forbidden", "只有区县监管、市级复核人员可以复核")
    target = session.get(Event, event_id)
    # Out of the reviewer's scope reads the same as not there: no answer tells which ids exist.
    missing = ApiError(404, "event_not_found", f"记录 {event_id} 不存在或不在您的管辖范围内")
    if target is None or target.kind == "review_decision":
        raise missing
    try:
        visible_class(session, actor, target.class_id)
    except ApiError:
        raise missing from None
    event = chain.append(
        session, chain.NewEvent(kind="review_decision", class_id=target.class_id, lesson_id=target.lesson_id,
        enrollment_id=target.enrollment_id, trainee_id=target.trainee_id, actor_id=actor.user_id, at=now,
        verdict=decision, decides_event_id=target.id, spot_check_id=target.spot_check_id,
        reasons=[{"code": f"review_{decision}", "clause": "", "detail": reason}],
        evidence={"reviewer": actor.username, "reviewer_role": actor.role.value}, idempotency_key=None, device_id=None),
    )
    audit.record(session, actor, f"event.review_{decision}", "event", target.id, {"verdict": target.verdict},
                 {"decision": decision, "reason": reason, "review_event_id": event.id})
    session.commit()
    return event


def shown(session: Session, decision: Event) -> dict[str, Any] | None:
    """A decision as the dashboard shows it beside the event it decided (dashboard.review_json:
    what, the reviewer's name, when, why), for the reviewer's own row to say at once."""
    decided = decision.decides_event_id
    return None if decided is None else dashboard.reviews_of(session, [decided]).get(decided)


def queue(session: Session, actor: Actor, class_id: int) -> list[Event]:
    """Flagged events of a class that no decision has decided yet."""
    visible_class(session, actor, class_id)
    decided = select(Event.decides_event_id).where(Event.class_id == class_id, Event.decides_event_id.is_not(None))
    return list(session.scalars(select(Event).where(Event.class_id == class_id, Event.verdict == "flagged",
                                                    Event.id.not_in(decided)).order_by(Event.id)))


def queue_with_names(session: Session, actor: Actor, class_id: int) -> list[tuple[Event, str | None]]:
    """The queue, each event with its trainee's name (one query for all the names)."""
    events = queue(session, actor, class_id)
    names = dict(session.execute(select(Trainee.id, Trainee.name).where(
        Trainee.id.in_({e.trainee_id for e in events if e.trainee_id}))).all())
    return [(e, names.get(e.trainee_id) if e.trainee_id else None) for e in events]
