"""The ORM, one module per aggregate. Importing this package registers every table on Base.metadata."""
from .accounts import User
from .audit import AuditEntry
from .biometrics import Consent, FaceTemplate
from .duties import Absence, Duty, DutyReminder, JobStatus, LessonTransition
from .base import Base, Money, UTCDateTime
from .exports import AssessmentResult, ExportJob, GroupPhoto, Seal
from .evidence import ChainHead, Challenge, Event, FrameFingerprint, Heartbeat, SpotCheck
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
from .subsidy_history import SubsidyHistoryCheck, SubsidyHistoryEntry
from .training import ClassAmendment, Lesson, TrainingClass

__all__ = [
    "Base", "Money", "UTCDateTime",
    "ClassStatus", "Datum", "EmploymentAfter", "EmploymentAtStart", "FenceKind", "Funding",
    "LessonContent", "LessonMode", "Level", "Role", "Sex",
    "City", "District", "Region", "Institution", "Teacher", "Venue",
    "Certificate", "Enrollment", "Trainee", "Lesson", "TrainingClass", "User",
    "AuditEntry", "Consent", "FaceTemplate", "ClassAmendment",
    "ChainHead", "Challenge", "Event", "FrameFingerprint", "Heartbeat", "SpotCheck",
    "Absence", "Duty", "DutyReminder", "JobStatus", "LessonTransition",
    "AssessmentResult", "ExportJob", "GroupPhoto", "Seal",
    "SubsidyHistoryCheck", "SubsidyHistoryEntry",
]
