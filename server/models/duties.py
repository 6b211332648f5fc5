"""Scheduled duties' records: lesson state transitions, absences, filing deadlines with their
reminders, and the last run of each scheduled job.

Transitions, absences and reminders are append-only (database triggers, like events): each is
recorded once - a unique constraint makes a second run of the job a no-op, never a second row.
A duty is derived from the region's rules and the class's dates, so its due date may be
recomputed (a provisional working-day count becomes official when the holiday calendar is
published); marking it done is recorded with who and when, and in the audit trail."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Boolean, CheckConstraint, Date, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from server.clock import utc_now
from server.models.base import Base, UTCDateTime


class LessonTransition(Base):
    """A lesson opened (check-in window opened), closed (check-out window closed) or had its roll
    taken (every enrolled trainee decided present or absent, none left awaiting review), as
    recorded by the scheduler. `effective_at` is the scheduled moment (for roll_taken: when it
    was taken), `recorded_at` when the job saw it (later if the scheduler was down)."""

    __tablename__ = "lesson_transitions"
    __table_args__ = (
        UniqueConstraint("lesson_id", "state"),
        CheckConstraint("state IN ('opened', 'closed', 'roll_taken')", name="state_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    lesson_id: Mapped[int] = mapped_column(ForeignKey("lessons.id"))
    class_id: Mapped[int] = mapped_column(ForeignKey("training_classes.id"), index=True)
    #: opened / closed / roll_taken
    state: Mapped[str] = mapped_column(String(10))
    effective_at: Mapped[datetime] = mapped_column(UTCDateTime)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Absence(Base):
    """缺勤: an enrolled trainee with no verified check-in (offline) or no verified presence
    (online) in a closed lesson, with the reason, its clause and the events that were looked at."""

    __tablename__ = "absences"
    __table_args__ = (UniqueConstraint("lesson_id", "trainee_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    lesson_id: Mapped[int] = mapped_column(ForeignKey("lessons.id"))
    class_id: Mapped[int] = mapped_column(ForeignKey("training_classes.id"), index=True)
    enrollment_id: Mapped[int] = mapped_column(ForeignKey("enrollments.id"), index=True)
    trainee_id: Mapped[int] = mapped_column(ForeignKey("trainees.id"))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: [{code, clause, detail}]
    reasons: Mapped[list] = mapped_column(JSON)
    #: What the decision saw: lesson mode and window, ids and verdicts of the trainee's events
    evidence: Mapped[dict] = mapped_column(JSON)


class Duty(Base):
    """A filing deadline an institution must meet, computed by policies.deadlines from the
    region's rules and a date of the class (or of one trainee's certificate)."""

    __tablename__ = "duties"
    __table_args__ = (
        # One duty per rule per subject, however often the job runs.
        UniqueConstraint("code", "subject"),
        Index("ix_duties_due_on", "due_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The rule's code in the region file (e.g. "filing_before_opening")
    code: Mapped[str] = mapped_column(String(48))
    #: "class:<id>" or "enrollment:<id>" (ZJ: each trainee's level certificate starts a period)
    subject: Mapped[str] = mapped_column(String(32))
    class_id: Mapped[int] = mapped_column(ForeignKey("training_classes.id"), index=True)
    enrollment_id: Mapped[int | None] = mapped_column(ForeignKey("enrollments.id"))
    region_code: Mapped[str] = mapped_column(String(16))
    #: The anchor's name (class_opening, training_end, level_certificate_issued) and its date
    anchor: Mapped[str] = mapped_column(String(32))
    anchor_date: Mapped[date] = mapped_column(Date)
    due_on: Mapped[date] = mapped_column(Date)
    clause: Mapped[str] = mapped_column(String(32))
    detail: Mapped[str] = mapped_column(Text)
    #: Counted Monday-Friday because the holiday calendar does not know the year yet
    provisional: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    done_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    done_note: Mapped[str | None] = mapped_column(String(256))


class DutyReminder(Base):
    """A reminder recorded for one duty at one stage (ahead / due / overdue): once each."""

    __tablename__ = "duty_reminders"
    __table_args__ = (
        UniqueConstraint("duty_id", "stage"),
        CheckConstraint("stage IN ('ahead', 'due', 'overdue')", name="stage_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    duty_id: Mapped[int] = mapped_column(ForeignKey("duties.id"), index=True)
    stage: Mapped[str] = mapped_column(String(8))
    #: The due date the reminder was about (it may be recomputed later)
    due_on: Mapped[date] = mapped_column(Date)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    message: Mapped[str] = mapped_column(Text)


class JobStatus(Base):
    """Runs of each scheduled job per scheduler process (host:pid:start): the first and latest
    run, how many, and the latest result. Operators see which process is running the duties and
    when each last ran; the single-scheduler test sees that a standby process never ran one."""

    __tablename__ = "job_status"

    job_id: Mapped[str] = mapped_column(String(48), primary_key=True)
    runner: Mapped[str] = mapped_column(String(128), primary_key=True)
    first_started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ok: Mapped[bool | None] = mapped_column(Boolean)
    runs: Mapped[int] = mapped_column(default=0)
    result: Mapped[str | None] = mapped_column(Text)
