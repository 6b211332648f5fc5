"""Append-only audit trail of management actions (who, when, what, before/after)."""
from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.models import AuditEntry, Role
from server.services.scope import Actor


def record(session: Session, actor: Actor, action: str, entity: str, entity_id: int | None,
           before: dict[str, Any] | None, after: dict[str, Any] | None, *, institution_id: int | None = None) -> AuditEntry:
    entry = AuditEntry(
        actor_id=actor.user_id, actor_name=actor.username, actor_role=actor.role.value, action=action,
        entity=entity, entity_id=entity_id, institution_id=institution_id or actor.institution_id,
        before=before, after=after, ip=actor.ip,
    )
    session.add(entry)
    return entry


def entries(session: Session, actor: Actor, limit: int = 200) -> list[AuditEntry]:
    """The trail an actor may read: admins all, institution admins their institution's."""
    q = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
    if actor.role is not Role.admin:
        q = q.where(AuditEntry.institution_id == actor.institution_id)
    return list(session.scalars(q))
