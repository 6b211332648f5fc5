"""学员 and 报名: a person (resident ID) and their place in a class."""
from __future__ import annotations

import re
from datetime import date, datetime

from sqlalchemy import CheckConstraint, Date, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from policies import identity
from server.clock import utc_now
from server.models.base import Base, UTCDateTime, str_enum
from server.models.enums import EmploymentAfter, EmploymentAtStart, Level, Sex

MOBILE = re.compile(r"^1[3-9]\d{9}$")


class Trainee(Base):
    __tablename__ = "trainees"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: 18-character resident ID, GB 11643-1999 check digit verified; shown masked to most users
    resident_id: Mapped[str] = mapped_column(String(18), unique=True)
    name: Mapped[str] = mapped_column(String(64))
    phone: Mapped[str | None] = mapped_column(String(11))
    #: Derived from the resident ID (digits 7-14); never entered separately
    birth_date: Mapped[date] = mapped_column(Date)
    #: Derived from the 17th digit (odd = male)
    sex: Mapped[Sex] = mapped_column(str_enum(Sex, "sex"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)

    enrollments: Mapped[list[Enrollment]] = relationship(back_populates="trainee")

    @validates("resident_id")
    def _check_resident_id(self, _key: str, value: str) -> str:
        parsed = identity.parse_resident_id(value)
        self.birth_date = parsed.birth_date
        self.sex = Sex(parsed.sex.value)
        return parsed.number

    @validates("phone")
    def _check_phone(self, _key: str, value: str | None) -> str | None:
        if value is not None and not MOBILE.match(value):
            raise ValueError("phone must be an 11-digit mainland mobile number starting with 1")
        return value

    @property
    def masked_resident_id(self) -> str:
        """What most users see: area and check digit only (5001**********0419)."""
        return mask_resident_id(self.resident_id)


def mask_resident_id(number: str) -> str:
    return number[:4] + "*" * 10 + number[-4:]


class Enrollment(Base):
    """报名: one trainee in one class, with what the subsidy rules need to know about them."""

    __tablename__ = "enrollments"
    __table_args__ = (UniqueConstraint("class_id", "trainee_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    class_id: Mapped[int] = mapped_column(ForeignKey("training_classes.id"), index=True)
    trainee_id: Mapped[int] = mapped_column(ForeignKey("trainees.id"), index=True)
    #: Eligible-group code from the region's policy file (e.g. "graduate_of_the_year"), read from what
    #: the institution wrote by policies/categories.py
    subsidy_category: Mapped[str | None] = mapped_column(String(48))
    employment_at_start: Mapped[EmploymentAtStart] = mapped_column(
        str_enum(EmploymentAtStart, "employment_at_start"), default=EmploymentAtStart.unknown
    )
    employment_after: Mapped[EmploymentAfter] = mapped_column(
        str_enum(EmploymentAfter, "employment_after"), default=EmploymentAfter.unknown
    )
    enrolled_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)

    trainee: Mapped[Trainee] = relationship(back_populates="enrollments")
    training_class: Mapped[TrainingClass] = relationship()  # noqa: F821


from server.models.training import TrainingClass  # noqa: E402  (resolve the relationship target)


class Certificate(Base):
    """A certificate a trainee holds: earned here or declared with its number. The subsidy
    rules read them (JS: no subsidy for a lower level of an occupation already held at a higher
    one; ZJ: apply within 12 months of the level certificate's issue date)."""

    __tablename__ = "certificates"
    __table_args__ = (
        UniqueConstraint("kind", "number"),
        CheckConstraint("kind IN ('training', 'level')", name="kind_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    trainee_id: Mapped[int] = mapped_column(ForeignKey("trainees.id"), index=True)
    #: "training" (培训合格证书) or "level" (职业技术等级证书)
    kind: Mapped[str] = mapped_column(String(16))
    occupation_code: Mapped[str] = mapped_column(String(16))
    direction: Mapped[str] = mapped_column(String(64), default="—")
    level: Mapped[Level] = mapped_column(str_enum(Level, "level"))
    number: Mapped[str] = mapped_column(String(64))
    issued_on: Mapped[date] = mapped_column(Date)
    issuer: Mapped[str | None] = mapped_column(String(128))
    #: The enrollment that earned it, when earned through hourproof
    enrollment_id: Mapped[int | None] = mapped_column(ForeignKey("enrollments.id"))
