"""The ORM, one module per aggregate. Importing this package registers every table on Base.metadata."""
from server.models.accounts import User
from server.models.audit import AuditEntry
from server.models.base import Base, Money, UTCDateTime
from server.models.biometrics import Consent, FaceTemplate, TemplateDecision
from server.models.duties import Absence, Duty, DutyReminder, JobStatus, LessonTransition
from server.models.enums import (
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
from server.models.evidence import ChainHead, Challenge, Event, FrameFingerprint, Heartbeat, NonfaceRequest, SpotCheck
from server.models.exports import AssessmentResult, ExportJob, GroupPhoto, Seal
from server.models.geo import City, District, Region
from server.models.institution import Institution, Teacher, Venue, VenueFenceDecision
from server.models.people import Certificate, Enrollment, Trainee
from server.models.subsidy_history import SubsidyHistoryCheck, SubsidyHistoryEntry
from server.models.training import ClassAmendment, Lesson, LessonMedia, LessonQuiz, QuizAttempt, TrainingClass

__all__ = [
    "Base", "Money", "UTCDateTime",
    "ClassStatus", "Datum", "EmploymentAfter", "EmploymentAtStart", "FenceKind", "Funding",
    "LessonContent", "LessonMode", "Level", "Role", "Sex",
    "City", "District", "Region", "Institution", "Teacher", "Venue", "VenueFenceDecision",
    "Certificate", "Enrollment", "Trainee", "Lesson", "LessonMedia", "LessonQuiz", "QuizAttempt", "TrainingClass", "User",
    "AuditEntry", "Consent", "FaceTemplate", "TemplateDecision", "ClassAmendment",
    "ChainHead", "Challenge", "Event", "FrameFingerprint", "Heartbeat", "NonfaceRequest", "SpotCheck",
    "Absence", "Duty", "DutyReminder", "JobStatus", "LessonTransition",
    "AssessmentResult", "ExportJob", "GroupPhoto", "Seal",
    "SubsidyHistoryCheck", "SubsidyHistoryEntry",
]
