"""Verification evidence: challenges issued, the append-only hash-chained event log, presence
heartbeats, spot checks, and frame fingerprints for replay detection.

Events are never updated or deleted (database triggers refuse it); a correction is a new
event (a review decision) that names the one it decides. Each event stores the hash of its
content and the hash of the previous event of its chain (one chain per class), so an edit made
behind the application's back - even with the triggers disabled - breaks the chain at that row,
and `hourproof audit verify` names it."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from server.clock import utc_now
from server.models.base import Base, UTCDateTime


class Challenge(Base):
    """A liveness challenge issued to one trainee for one lesson. One nonce, one use."""

    __tablename__ = "challenges"

    id: Mapped[int] = mapped_column(primary_key=True)
    nonce: Mapped[str] = mapped_column(String(64), unique=True)
    trainee_id: Mapped[int] = mapped_column(ForeignKey("trainees.id"), index=True)
    lesson_id: Mapped[int] = mapped_column(ForeignKey("lessons.id"), index=True)
    #: check_in / check_out / spot_check
    purpose: Mapped[str] = mapped_column(String(16))
    spot_check_id: Mapped[int | None] = mapped_column(ForeignKey("spot_checks.id"))
    #: The motions asked for, in order, e.g. ["turn_left", "tilt_right", "turn_right"]
    steps: Mapped[list] = mapped_column(JSON)
    #: When each step is shown, in ms from the start of the burst (random: a recording cannot
    #: know when to turn). NULL only on challenges issued before they existed: such a burst fails.
    prompts_ms: Mapped[list | None] = mapped_column(JSON)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: Set once, by a conditional UPDATE (... WHERE used_at IS NULL): the second use loses
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ChainHead(Base):
    """The newest event of each chain: locked (SELECT ... FOR UPDATE) while an event is appended,
    so two concurrent check-ins of one class get consecutive sequence numbers."""

    __tablename__ = "chain_heads"

    chain: Mapped[str] = mapped_column(String(32), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, default=0)
    hash: Mapped[str] = mapped_column(String(64))


class Event(Base):
    """签到 / 签退 / 随机抽查 / 复核: one verification event with its evidence and reasons."""

    __tablename__ = "events"
    __table_args__ = (
        UniqueConstraint("chain", "seq"),
        # A retried request (same key) finds the first answer instead of writing a second event.
        UniqueConstraint("trainee_id", "idempotency_key"),
        Index("ix_events_lesson_trainee", "lesson_id", "trainee_id"),
        Index("ix_events_lesson_device", "lesson_id", "device_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: "class:<id>"
    chain: Mapped[str] = mapped_column(String(32))
    seq: Mapped[int] = mapped_column(Integer)
    #: check_in / check_out / spot_check / review_decision
    kind: Mapped[str] = mapped_column(String(24))
    class_id: Mapped[int] = mapped_column(ForeignKey("training_classes.id"), index=True)
    lesson_id: Mapped[int] = mapped_column(ForeignKey("lessons.id"))
    enrollment_id: Mapped[int | None] = mapped_column(ForeignKey("enrollments.id"), index=True)
    trainee_id: Mapped[int | None] = mapped_column(ForeignKey("trainees.id"))
    #: Who caused it: the trainee's account, or the reviewer for a review decision
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    #: Server time: the phone's clock is never trusted
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    #: verified / rejected / flagged; for review decisions: approved / rejected
    verdict: Mapped[str] = mapped_column(String(16))
    decides_event_id: Mapped[int | None] = mapped_column(ForeignKey("events.id"))
    spot_check_id: Mapped[int | None] = mapped_column(ForeignKey("spot_checks.id"))
    #: [{code, clause, detail}], the why of the verdict
    reasons: Mapped[list] = mapped_column(JSON)
    #: face distance + threshold + model, liveness, location fix + fence result, device, frame hashes
    evidence: Mapped[dict] = mapped_column(JSON)
    idempotency_key: Mapped[str | None] = mapped_column(String(64))
    #: The phone that sent it (bound at log-in); one device for several trainees is a fraud signal
    device_id: Mapped[str | None] = mapped_column(String(128))
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)


class Heartbeat(Base):
    """Online presence: the lesson page reports every <= 30 s and on visibility changes."""

    __tablename__ = "heartbeats"
    __table_args__ = (Index("ix_heartbeats_lesson_trainee_at", "lesson_id", "trainee_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    lesson_id: Mapped[int] = mapped_column(ForeignKey("lessons.id"))
    trainee_id: Mapped[int] = mapped_column(ForeignKey("trainees.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    visible: Mapped[bool] = mapped_column(Boolean)
    #: The player's state when the lesson plays a video in the page (None otherwise): seconds into
    #: the video, playing / paused / ended / buffering, and the playback rate. policies.attendance
    #: credits a recorded lesson's content watched at 1x, once, from these.
    position_s: Mapped[float | None] = mapped_column(Float)
    playback: Mapped[str | None] = mapped_column(String(16))
    rate: Mapped[float | None] = mapped_column(Float)
    #: a live stream: seconds behind its live edge, as the player reports it
    live_lag_s: Mapped[float | None] = mapped_column(Float)


class SpotCheck(Base):
    """随机抽查 asked of one trainee during a lesson: answer with face + liveness within the window."""

    __tablename__ = "spot_checks"
    __table_args__ = (
        Index("ix_spot_checks_lesson_trainee", "lesson_id", "trainee_id"),
        # A scheduled slot is issued once per trainee, however often the job runs.
        UniqueConstraint("lesson_id", "trainee_id", "planned_for"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    lesson_id: Mapped[int] = mapped_column(ForeignKey("lessons.id"))
    class_id: Mapped[int] = mapped_column(ForeignKey("training_classes.id"), index=True)
    trainee_id: Mapped[int] = mapped_column(ForeignKey("trainees.id"))
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: scheduled / teacher / supervisor
    origin: Mapped[str] = mapped_column(String(16))
    #: For scheduled checks: the planned moment (the job may run a little after it)
    planned_for: Mapped[datetime | None] = mapped_column(UTCDateTime)
    issued_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class FrameFingerprint(Base):
    """Perceptual hash of every frame received, to flag a frame seen before (a replayed burst)."""

    __tablename__ = "frame_fingerprints"

    id: Mapped[int] = mapped_column(primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(16), index=True)
    trainee_id: Mapped[int] = mapped_column(ForeignKey("trainees.id"), index=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime)


class NonfaceRequest(Base):
    """A trainee who refused face processing asks, from the bound phone, to be checked in (out,
    or a spot check answered) without a face: the phone's location and the room code, judged
    when it arrives. It counts for nothing by itself: the teacher confirms the trainee present on
    the teacher's own device (services/nonface.py), and that confirmation is the event in the
    chain that names this request (`Event.idempotency_key` "attest:<id>": one event per request).
    Append-only (database triggers): a request is never edited, a new one is made."""

    __tablename__ = "nonface_requests"
    __table_args__ = (
        # A retried request (same key) finds the first one instead of making a second.
        UniqueConstraint("trainee_id", "idempotency_key"),
        Index("ix_nonface_requests_lesson_trainee", "lesson_id", "trainee_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    trainee_id: Mapped[int] = mapped_column(ForeignKey("trainees.id"))
    lesson_id: Mapped[int] = mapped_column(ForeignKey("lessons.id"))
    class_id: Mapped[int] = mapped_column(ForeignKey("training_classes.id"))
    enrollment_id: Mapped[int] = mapped_column(ForeignKey("enrollments.id"))
    #: check_in / check_out / spot_check
    kind: Mapped[str] = mapped_column(String(16))
    spot_check_id: Mapped[int | None] = mapped_column(ForeignKey("spot_checks.id"))
    #: Server time of the request: the time the attested event is recorded at
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    device_id: Mapped[str] = mapped_column(String(128))
    idempotency_key: Mapped[str] = mapped_column(String(64))
    #: "pending" (waits for the teacher) or "rejected" (a check of the phone's part failed)
    verdict: Mapped[str] = mapped_column(String(16))
    #: [{code, clause, detail}]: every check that failed or raised a signal
    reasons: Mapped[list] = mapped_column(JSON)
    #: location + fence result, room code judgement, device
    evidence: Mapped[dict] = mapped_column(JSON)
