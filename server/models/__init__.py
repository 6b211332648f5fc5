"""The ORM, one module per aggregate. Importing this package registers every table on Base.metadata."""
from .accounts import User
from .base import Base, Money, UTCDateTime
from .enums import (
    ClassStatus,
    Datum,
    EmploymentAfter,
    EmploymentAtStart,
    FenceKind,
    Funding,
    LessonContent,
    LessonMode,
    Level,
    Role,
    Sex,
)
from .geo import City, District, Region
from .institution import Institution, Teacher, Venue
from .people import Certificate, Enrollment, Trainee
from .training import Lesson, TrainingClass

__all__ = [
    "Base", "Money", "UTCDateTime",
    "ClassStatus", "Datum", "EmploymentAfter", "EmploymentAtStart", "FenceKind", "Funding",
    "LessonContent", "LessonMode", "Level", "Role", "Sex",
    "City", "District", "Region", "Institution", "Teacher", "Venue",
    "Certificate", "Enrollment", "Trainee", "Lesson", "TrainingClass", "User",
]
