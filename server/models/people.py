"""学员 and 报名: a person (resident ID) and their place in a class."""
from __future__ import annotations

import re
from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from policies import identity

from .base import Base, UTCDateTime, str_enum, utcnow
from .enums import EmploymentAfter, EmploymentAtStart, Sex

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
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    enrollments: Mapped[list["Enrollment"]] = relationship(back_populates="trainee")

    @validates("resident_id")
    def _check_resident_id(self, _key: str, value: str) -> str:
        parsed = identity.parse_resident_id(value)
        self.birth_date = parsed.birth_date
        self.sex = Sex(parsed.sex)
        return parsed.number

    @validates("phone")
    def _check_phone(self, _key: str, value: str | None) -> str | None:
        if value is not None and not MOBILE.match(value):
            raise ValueError("phone must be an 11-digit mainland mobile number starting with 1")
        return value

    @property
    def masked_resident_id(self) -> str:
        return identity.mask_resident_id(self.resident_id)


class Enrollment(Base):
    """报名: one trainee in one class, with what the subsidy rules need to know about them."""

    __tablename__ = "enrollments"
    __table_args__ = (UniqueConstraint("class_id", "trainee_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    class_id: Mapped[int] = mapped_column(ForeignKey("training_classes.id"), index=True)
    trainee_id: Mapped[int] = mapped_column(ForeignKey("trainees.id"), index=True)
    #: Eligible-group code from the region's policy file (e.g. "graduate_of_year")
    subsidy_category: Mapped[str | None] = mapped_column(String(48))
    employment_at_start: Mapped[EmploymentAtStart] = mapped_column(
        str_enum(EmploymentAtStart, "employment_at_start"), default=EmploymentAtStart.unknown
    )
    employment_after: Mapped[EmploymentAfter] = mapped_column(
        str_enum(EmploymentAfter, "employment_after"), default=EmploymentAfter.unknown
    )
    training_certificate_no: Mapped[str | None] = mapped_column(String(64))
    level_certificate_no: Mapped[str | None] = mapped_column(String(64))
    level_certificate_on: Mapped[date | None] = mapped_column(Date)
    enrolled_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    trainee: Mapped[Trainee] = relationship(back_populates="enrollments")
    training_class: Mapped["TrainingClass"] = relationship()  # noqa: F821


from .training import TrainingClass  # noqa: E402  (resolve the relationship target)
