"""Users and their scope: every role is tied to the one place it may see."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, CheckConstraint, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from server.clock import utc_now
from server.models.base import Base, UTCDateTime, str_enum
from server.models.enums import Role


class User(Base):
    __tablename__ = "users"
    # A role without its scope would see everything or nothing: refuse it in the database too.
    __table_args__ = (
        CheckConstraint("role != 'trainee' OR trainee_id IS NOT NULL", name="trainee_scoped"),
        CheckConstraint(
            "role NOT IN ('teacher', 'institution_admin') OR institution_id IS NOT NULL", name="institution_scoped"
        ),
        CheckConstraint("role != 'district_supervisor' OR district_id IS NOT NULL", name="district_scoped"),
        CheckConstraint("role != 'city_reviewer' OR city_id IS NOT NULL", name="city_scoped"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(64))
    #: argon2id hash (argon2-cffi); never the password
    password_hash: Mapped[str | None] = mapped_column(String(256))
    role: Mapped[Role] = mapped_column(str_enum(Role, "role"))
    institution_id: Mapped[int | None] = mapped_column(ForeignKey("institutions.id"), index=True)
    district_id: Mapped[int | None] = mapped_column(ForeignKey("districts.id"), index=True)
    city_id: Mapped[int | None] = mapped_column(ForeignKey("cities.id"), index=True)
    trainee_id: Mapped[int | None] = mapped_column(ForeignKey("trainees.id"), unique=True)
    teacher_id: Mapped[int | None] = mapped_column(ForeignKey("teachers.id"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    #: Trainees: the device bound at first log-in; another device is refused until unbound
    device_id: Mapped[str | None] = mapped_column(String(128))
    device_bound_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: Trainees without a password yet: argon2 hash of the one-time activation code
    activation_code_hash: Mapped[str | None] = mapped_column(String(256))
    #: Consecutive failed log-ins; reset on success (lock-out, accounts issue)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: Trainees: what the institution did to the account since the trainee last logged in (phone
    #: unbound, activation code re-issued: a list of {"kind", "at", "by", "reason"}), told once at the next
    #: log-in and then cleared (the audit trail keeps the record)
    account_notice: Mapped[list | None] = mapped_column(JSON)
    #: Sessions carry the generation they began in; raising it ends every session of the user at once
    #: (log-out, password reset, phone unbound: server/api/auth.py), signed cookies being otherwise
    #: good until they expire
    session_generation: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
