"""Consent to biometric processing and face templates (PIPL: faces are sensitive personal
information, processed only with separate consent). Consents are append-only: a withdrawal is a
new consent row. A re-enrollment is a new template row that names the one it replaces; a template
row changes only when consent is withdrawn (its bytes are erased, the row stays).

One face, one identity: an enrolment whose face is another trainee's, or a re-enrolment whose face
is not the trainee's old one, is stored *held* (``FaceTemplate.hold``) and is not used for check-in
until a supervisor approves it. The decision is a row of its own (``TemplateDecision``, append-only,
one per template), never an edit of the template: template changes are evidence, not edits."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from server.clock import utc_now
from server.models.base import Base, SealedBytes, UTCDateTime


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
    #: recognition.Template.to_bytes(): the encodings, never the photos; sealed at rest (SealedBytes)
    template: Mapped[bytes] = mapped_column(SealedBytes)
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
    #: Set once, at creation, when the template is held for a supervisor's review (else None):
    #: {"why": "duplicate" | "changed_face" (the graver one when both apply), "reasons": [every
    #: reason that applies], "matches": [{"template_id", "trainee_id", "distance"}] (other
    #: identities within the dedup threshold), "previous_distance": distance to the template in
    #: force before it (None for a first enrolment), "thresholds": {...} (those used)}.
    #: none_as_null: "not held" is SQL NULL, so ``hold IS NULL`` finds it on both databases.
    hold: Mapped[dict | None] = mapped_column(JSON(none_as_null=True))


#: What a supervisor may decide about a held template.
DECISIONS = ("approve", "reject")


class TemplateDecision(Base):
    """A supervisor's decision on a held template: "approve" puts it in force, "reject" keeps it out
    for good (and out of the dedup index). Append-only (database triggers), and one per template:
    a second decision would contradict the first, so it is refused rather than recorded."""

    __tablename__ = "template_decisions"
    __table_args__ = (
        CheckConstraint("decision IN ('approve', 'reject')", name="decision_known"),
        UniqueConstraint("template_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    template_id: Mapped[int] = mapped_column(ForeignKey("face_templates.id"))
    decision: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(String(512))
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
