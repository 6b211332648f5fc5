"""Consent to biometric processing and face templates (PIPL: faces are sensitive personal
information, processed only with separate consent). Both tables are append-only: a withdrawal
is a new consent row, a re-enrollment is a new template row that names the one it replaces."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from server.clock import utc_now
from server.models.base import Base, UTCDateTime


class Consent(Base):
    __tablename__ = "consents"

    id: Mapped[int] = mapped_column(primary_key=True)
    trainee_id: Mapped[int] = mapped_column(ForeignKey("trainees.id"), index=True)
    #: What the consent covers: "biometric" (face collection and matching for attendance)
    purpose: Mapped[str] = mapped_column(String(32))
    #: True = granted, False = withdrawn; the newest row for a purpose is in force
    granted: Mapped[bool] = mapped_column(Boolean)
    #: Version and SHA-256 of the notice text the trainee saw
    text_version: Mapped[str] = mapped_column(String(32))
    text_sha256: Mapped[str] = mapped_column(String(64))
    #: "phone" (trainee ticked it) or "paper" (signed form, recorded by institution staff)
    channel: Mapped[str] = mapped_column(String(16))
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)


class FaceTemplate(Base):
    __tablename__ = "face_templates"

    id: Mapped[int] = mapped_column(primary_key=True)
    trainee_id: Mapped[int] = mapped_column(ForeignKey("trainees.id"), index=True)
    #: recognition.Template.to_bytes(): the encodings, never the photos
    template: Mapped[bytes] = mapped_column(LargeBinary)
    model: Mapped[str] = mapped_column(String(64))
    model_version: Mapped[str] = mapped_column(String(32))
    #: SHA-256 of each enrollment photo (the photos are kept by hash in the evidence store)
    photo_hashes: Mapped[list] = mapped_column(JSON)
    consent_id: Mapped[int] = mapped_column(ForeignKey("consents.id"))
    #: The template this one replaces (re-enrollment is recorded, never silent)
    replaces_id: Mapped[int | None] = mapped_column(ForeignKey("face_templates.id"))
    reason: Mapped[str | None] = mapped_column(String(256))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    #: Set when consent is withdrawn: the template bytes are erased, the row stays as the record
    erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
