"""培训班 and its 课次 (lessons)."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import JSON, BigInteger, Boolean, CheckConstraint, Date, Float, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy import false as sa_false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.clock import utc_now
from server.models.base import Base, Money, UTCDateTime, str_enum
from server.models.enums import ClassStatus, Funding, LessonContent, LessonMode, Level


class TrainingClass(Base):
    """One occupation + direction + level, with dates, a plan (its lessons) and enrolled trainees."""

    __tablename__ = "training_classes"
    __table_args__ = (CheckConstraint("ends_on >= starts_on", name="dates_ordered"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"), index=True)
    #: The policy scope whose rules apply (policies/regions/<code>.yaml)
    region_code: Mapped[str] = mapped_column(ForeignKey("regions.code"), index=True)
    district_id: Mapped[int] = mapped_column(ForeignKey("districts.id"), index=True)
    name: Mapped[str] = mapped_column(String(128))
    #: Current national code (legacy codes are resolved by policies before storing)
    occupation_code: Mapped[str] = mapped_column(String(16))
    #: 方向; "—" when the occupation has none
    direction: Mapped[str] = mapped_column(String(64), default="—")
    level: Mapped[Level] = mapped_column(str_enum(Level, "level"))
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    funding: Mapped[Funding] = mapped_column(str_enum(Funding, "funding"), default=Funding.subsidised)
    #: 课堂码: an offline check-in must carry the code the teacher's screen shows
    #: (server/services/room_codes.py). Classes created through the API get it when subsidised;
    #: classes that existed before migration 0010 keep checking in without one.
    room_code: Mapped[bool] = mapped_column(default=False, server_default=sa_false())
    #: 课程测验: the institution turned checkpoint quizzes on for this class's recorded lessons
    #: (a region may turn them on for every class: RegionPolicy.checkpoint_quizzes).
    checkpoint_quizzes: Mapped[bool] = mapped_column(default=False, server_default=sa_false())
    #: What the institution charges a trainee; a JS subsidy never exceeds it
    fee: Mapped[Decimal | None] = mapped_column(Money)
    status: Mapped[ClassStatus] = mapped_column(str_enum(ClassStatus, "class_status"), default=ClassStatus.draft)
    filed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)

    lessons: Mapped[list[Lesson]] = relationship(back_populates="training_class", order_by="Lesson.starts_at")


class Lesson(Base):
    """课次: one scheduled block. Offline lessons have a venue (its geofence); online ones none."""

    __tablename__ = "lessons"
    __table_args__ = (
        CheckConstraint("ends_at > starts_at", name="times_ordered"),
        CheckConstraint("mode = 'online' OR venue_id IS NOT NULL", name="offline_has_venue"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    class_id: Mapped[int] = mapped_column(ForeignKey("training_classes.id"), index=True)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    mode: Mapped[LessonMode] = mapped_column(str_enum(LessonMode, "lesson_mode"))
    content: Mapped[LessonContent] = mapped_column(str_enum(LessonContent, "lesson_content"))
    venue_id: Mapped[int | None] = mapped_column(ForeignKey("venues.id"))
    teacher_id: Mapped[int | None] = mapped_column(ForeignKey("teachers.id"))
    title: Mapped[str | None] = mapped_column(String(128))
    #: Set by an amendment of a filed plan; a cancelled lesson stays, for the record
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    amendment_id: Mapped[int | None] = mapped_column(ForeignKey("class_amendments.id"))

    training_class: Mapped[TrainingClass] = relationship(back_populates="lessons")


class ClassAmendment(Base):
    """A change to a filed plan: what changed, why, who, and the plan check it passed."""

    __tablename__ = "class_amendments"

    id: Mapped[int] = mapped_column(primary_key=True)
    class_id: Mapped[int] = mapped_column(ForeignKey("training_classes.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reason: Mapped[str] = mapped_column(String(512))
    #: {"add_lessons": [...], "cancel_lessons": [ids]}
    change: Mapped[dict] = mapped_column(JSON)
    #: The plan check of the amended plan (accepted, online share, reasons)
    check: Mapped[dict] = mapped_column(JSON)


class LessonMedia(Base):
    """An online lesson's content, played inside the online classroom page: a recorded video the
    institution uploaded (stored by content hash beside the evidence, `sha256`) or linked from its
    own allow-listed media server (`url`), or a live HLS stream (`url`).

    Append-only like the evidence: a replaced video is a new row, and the lesson plays its latest
    one. Credit for a recorded lesson is content watched, so the duration is part of the record
    (measured from the file when uploaded, stated by the institution when linked)."""

    __tablename__ = "lesson_media"
    __table_args__ = (
        CheckConstraint("kind IN ('recorded', 'live')", name="media_kind"),
        CheckConstraint("(sha256 IS NULL) <> (url IS NULL)", name="file_or_link"),
        CheckConstraint("kind = 'live' OR duration_s > 0", name="recorded_has_duration"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    lesson_id: Mapped[int] = mapped_column(ForeignKey("lessons.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    sha256: Mapped[str | None] = mapped_column(String(64))
    url: Mapped[str | None] = mapped_column(String(1024))
    #: video/mp4 for an upload; application/vnd.apple.mpegurl for HLS
    content_type: Mapped[str] = mapped_column(String(64))
    size_bytes: Mapped[int | None] = mapped_column(BigInteger)
    duration_s: Mapped[float | None] = mapped_column(Float)
    #: the uploaded file's own name, shown to the institution (never used as a path)
    filename: Mapped[str | None] = mapped_column(String(256))
    added_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    added_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)


class LessonQuiz(Base):
    """A recorded lesson's checkpoint quizzes (课程测验) for one video (`media_id`): checkpoints in
    the video, each with 3-5 single-choice questions and their answers (policies/quiz.py checks
    them). Append-only: a changed quiz is a new row, accepted only before any trainee answered
    the lesson's current one; the lesson asks its latest quiz for its latest video."""

    __tablename__ = "lesson_quizzes"

    id: Mapped[int] = mapped_column(primary_key=True)
    lesson_id: Mapped[int] = mapped_column(ForeignKey("lessons.id"), index=True)
    media_id: Mapped[int] = mapped_column(ForeignKey("lesson_media.id"))
    #: {"checkpoints": [{"position_s", "questions": [{"text", "options", "answer"}]}]}
    checkpoints: Mapped[dict] = mapped_column(JSON)
    added_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    added_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)


class QuizAttempt(Base):
    """A trainee's answers to one checkpoint of a quiz, graded when received (evidence: what was
    answered, how many were right). Append-only; a retried request (same key) is the same attempt."""

    __tablename__ = "quiz_attempts"
    __table_args__ = (UniqueConstraint("trainee_id", "idempotency_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    quiz_id: Mapped[int] = mapped_column(ForeignKey("lesson_quizzes.id"), index=True)
    lesson_id: Mapped[int] = mapped_column(ForeignKey("lessons.id"), index=True)
    trainee_id: Mapped[int] = mapped_column(ForeignKey("trainees.id"), index=True)
    #: which checkpoint (0-based, in position order)
    checkpoint: Mapped[int] = mapped_column(Integer)
    answers: Mapped[list] = mapped_column(JSON)
    correct: Mapped[int] = mapped_column(Integer)
    total: Mapped[int] = mapped_column(Integer)
    passed: Mapped[bool] = mapped_column(Boolean)
    idempotency_key: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
