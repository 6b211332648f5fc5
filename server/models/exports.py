"""Exports and what a filing needs: export jobs (progress of a long export), seals (the hours a
subsidy export fixed), group photos of offline lessons (JS filing) and assessment results.

Seals, group photos and assessment results are append-only (database triggers): a correction is
a new row, and a later export shows it as an amendment next to what was sealed."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Boolean, CheckConstraint, Date, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from server.clock import utc_now
from server.models.base import Base, UTCDateTime


class ExportJob(Base):
    """One export run in the background: the API polls `done` / `total` and downloads the file
    when `status` is done. Mutable on purpose (progress); the evidence is in the file it signs."""

    __tablename__ = "export_jobs"
    __table_args__ = (
        CheckConstraint("status IN ('queued', 'running', 'done', 'failed')", name="status_known"),
        CheckConstraint("class_id IS NOT NULL OR district_id IS NOT NULL", name="has_subject"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: class / subsidy (seals the hours) / js_filing / certificates / district
    kind: Mapped[str] = mapped_column(String(24))
    class_id: Mapped[int | None] = mapped_column(ForeignKey("training_classes.id"), index=True)
    district_id: Mapped[int | None] = mapped_column(ForeignKey("districts.id"), index=True)
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(8), default="queued")
    #: Trainees written so far, of `total`
    done: Mapped[int] = mapped_column(Integer, default=0)
    total: Mapped[int] = mapped_column(Integer, default=0)
    #: The bundle's file name in <data dir>/exports and its SHA-256
    file_name: Mapped[str | None] = mapped_column(String(128))
    sha256: Mapped[str | None] = mapped_column(String(64))
    error: Mapped[str | None] = mapped_column(Text)


class Seal(Base):
    """封存: exporting for a subsidy fixes the class's hours at the chain head of that moment.
    Events after it are amendments in the next export, never silent changes."""

    __tablename__ = "export_seals"

    id: Mapped[int] = mapped_column(primary_key=True)
    class_id: Mapped[int] = mapped_column(ForeignKey("training_classes.id"), index=True)
    sealed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    sealed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    #: Kept as written at the time (who sealed), like the audit log
    sealed_by_name: Mapped[str] = mapped_column(String(64))
    chain_seq: Mapped[int] = mapped_column(Integer)
    chain_hash: Mapped[str] = mapped_column(String(64))
    #: Per enrollment: {"<enrollment id>": {"credited": "..", "verified": "..", "raw": "..", "eligible": .., "amount": ..}}
    figures: Mapped[dict] = mapped_column(JSON)
    job_id: Mapped[int | None] = mapped_column(ForeignKey("export_jobs.id"))
    #: SHA-256 of the signed bundle that carried these figures
    bundle_sha256: Mapped[str | None] = mapped_column(String(64))


class GroupPhoto(Base):
    """学员合影 of an offline lesson (js filing): kept by content hash in the evidence store, with
    the faces matched to the class roster by recognition.match_group_photo."""

    __tablename__ = "group_photos"

    id: Mapped[int] = mapped_column(primary_key=True)
    class_id: Mapped[int] = mapped_column(ForeignKey("training_classes.id"), index=True)
    lesson_id: Mapped[int] = mapped_column(ForeignKey("lessons.id"), index=True)
    sha256: Mapped[str] = mapped_column(String(64))
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    #: Trainee ids recognised in the photo
    present: Mapped[list] = mapped_column(JSON)
    #: GroupMatch.evidence(): faces, boxes, distances, threshold, model, reasons
    match: Mapped[dict] = mapped_column(JSON)


class AssessmentResult(Base):
    """结业考核 result of one enrollment; the JS filing pack lists those who passed. A later row
    for the same enrollment supersedes an earlier one (both stay)."""

    __tablename__ = "assessment_results"
    __table_args__ = (
        CheckConstraint("theory_score BETWEEN 0 AND 100 AND practice_score BETWEEN 0 AND 100", name="scores_in_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    enrollment_id: Mapped[int] = mapped_column(ForeignKey("enrollments.id"), index=True)
    theory_score: Mapped[int] = mapped_column(Integer)
    practice_score: Mapped[int] = mapped_column(Integer)
    passed: Mapped[bool] = mapped_column(Boolean)
    assessed_on: Mapped[date] = mapped_column(Date)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
