"""The audit log of management actions: who, when, what, before/after. Append-only: the
migration adds triggers that refuse UPDATE and DELETE on PostgreSQL and SQLite alike."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from server.clock import utc_now
from server.models.base import Base, UTCDateTime


class AuditEntry(Base):
    __tablename__ = "audit_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now, index=True)
    #: None for actions of the system itself (scheduler, migrations)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    #: Kept as written at the time, so the entry reads right even if the user is renamed
    actor_name: Mapped[str] = mapped_column(String(64))
    actor_role: Mapped[str] = mapped_column(String(32))
    #: Dotted verb, e.g. "venue.create", "class.file", "face.enroll"
    action: Mapped[str] = mapped_column(String(64), index=True)
    entity: Mapped[str] = mapped_column(String(32))
    entity_id: Mapped[int | None] = mapped_column(Integer)
    #: The institution the entity belongs to, so institution admins see their own trail
    institution_id: Mapped[int | None] = mapped_column(ForeignKey("institutions.id"), index=True)
    #: Field values before and after; never biometric data or passwords
    before: Mapped[dict | None] = mapped_column(JSON)
    after: Mapped[dict | None] = mapped_column(JSON)
    ip: Mapped[str | None] = mapped_column(String(45))
