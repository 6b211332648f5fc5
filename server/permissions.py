"""Who may do what: every named capability and the roles that hold it, in one table.

The API's `@endpoint(capability=...)`, the services' checks (`scope.require`), the staff pages'
flags and the Socket.IO rooms all read `ROLES` below; no other module spells a set of roles
(tests/unit/test_permissions.py fails on a role tuple anywhere else under server/). What an
actor may *see* once allowed (which classes, trainees, rooms) is their scope: services/scope.py.

Changing a row here changes the API, the pages and the OpenAPI document together."""
from __future__ import annotations

import enum
from collections.abc import Mapping
from types import MappingProxyType

from server.models import Role


class Capability(str, enum.Enum):
    """A named permission. Each member's docstring says what it allows (shown in the OpenAPI document)."""

    __doc__: str

    def __new__(cls, value: str, doc: str) -> Capability:
        member = str.__new__(cls, value)
        member._value_ = value
        member.__doc__ = doc
        return member

    ATTEND_LESSONS = ("attend_lessons", "a trainee's own phone: my lessons, challenges, check-in / check-out, "
                                        "heartbeats, spot-check answers (and hearing spot checks pushed to it)")
    TRIGGER_SPOT_CHECKS = ("trigger_spot_checks", "ask the trainees of a lesson in progress for a face spot check now")
    SHOW_ROOM_CODES = ("show_room_codes", "show an offline lesson's room code (课堂码) on the teacher's screen")
    ATTEST_PRESENCE = ("attest_presence", "confirm, on the teacher's own device in the room, that a trainee who "
                                          "refused face processing is present (确认本人在场): only the lesson's teacher")
    REVIEW_EVENTS = ("review_events", "see a class's review queue and approve or reject an event")
    REVIEW_FACE_HOLDS = ("review_face_holds", "see the face enrolments held as another trainee's face or as not the "
                                              "trainee's own old face, with both people's enrolment photos (biometric "
                                              "data; every look is audited), and approve or reject them")
    WATCH_LIVE = ("watch_live", "the live dashboard (/live): classes in session, alerts, a lesson's roll; "
                                "Socket.IO rooms of one's scope")
    VIEW_FRAMES = ("view_frames", "look at a check-in event's frames (biometric data): 人社 who judge evidence, the "
                                  "administrator, the institution's staff, each in their scope; every look is audited")
    VIEW_ABSENCES = ("view_absences", "read the absences recorded in a class's closed lessons")
    VIEW_DUTIES = ("view_duties", "read the filing-deadline duties (待办事项) in one's scope")
    MARK_DUTIES_DONE = ("mark_duties_done", "reach the mark-a-duty-done endpoint; each duty then needs "
                                            "complete_filing_duties or review_applications")
    COMPLETE_FILING_DUTIES = ("complete_filing_duties", "mark an institution's filing duties done")
    REVIEW_APPLICATIONS = ("review_applications", "record the day 人社 accepted a class's subsidy application, "
                                                  "and mark the review duties counted from it done")
    FILE_CLASSES = ("file_classes", "create class plans, add and remove their lessons, file and amend them")
    ENROL_TRAINEES = ("enrol_trainees", "enrol and import trainees, enrol their faces, record paper consent")
    MANAGE_VENUES_AND_TEACHERS = ("manage_venues_and_teachers", "add an institution's venues and teachers, "
                                                                "change a venue's fence (it then needs approval again)")
    APPROVE_VENUE_FENCES = ("approve_venue_fences", "see the venues of one's district whose fence awaits approval, "
                                                    "and approve or reject a fence (区县人社 only: classes at a venue "
                                                    "are filed only once its fence is approved)")
    REGISTER_INSTITUTIONS = ("register_institutions", "register a training institution")
    MANAGE_ACCOUNTS = ("manage_accounts", "create staff accounts")
    UNBIND_PHONES = ("unbind_phones", "unbind a trainee's phone (they changed phones), with a reason the trainee "
                                      "is told at their next log-in")
    REISSUE_ACTIVATION_CODES = ("reissue_activation_codes", "re-issue a trainee's activation code (their password "
                                                            "and any earlier code stop working; the phone they "
                                                            "activate on is bound) and print activation slips")
    PROTECT_FACE_DATA = ("protect_face_data", "the deployment's duties as a processor of face data: the count of people "
                         "with face data, the cyberspace-office filing duty, keeping periods, the impact-assessment draft")
    READ_AUDIT_TRAIL = ("read_audit_trail", "read the audit trail (of one's scope)")
    SEE_FULL_RESIDENT_IDS = ("see_full_resident_ids", "see trainees' resident ID numbers unmasked")
    USE_MANAGE_PAGES = ("use_manage_pages", "use the institution's management pages (/manage)")
    VIEW_CLASS_HISTORY = ("view_class_history", "open the class list (/manage) and a class's page read-only: classes by "
                                                "state, lessons, each trainee's hours, exports the role may run")
    EXPORT_CLASSES = ("export_classes", "export a class as a signed bundle (the subsidy kind needs seal_subsidies "
                                        "too), follow and download export jobs")
    SEAL_SUBSIDIES = ("seal_subsidies", "export a class's subsidy decisions, sealing its hours")
    EXPORT_DISTRICTS = ("export_districts", "export a district roll-up")
    RECORD_RESULTS = ("record_results", "record trainees' assessment results and training certificates")
    UPLOAD_GROUP_PHOTOS = ("upload_group_photos", "upload an offline lesson's group photo")
    MANAGE_LESSON_MEDIA = ("manage_lesson_media", "upload an online lesson's video, or link one (or a live stream) "
                                                  "from the institution's allow-listed media server")
    SUBSIDY_HISTORY = ("subsidy_history", "read a trainee's subsidy history, record and withdraw entries, "
                                          "record checks of the full record")


#: The one table: capability -> the roles that hold it (each row in the order `Role` declares them).
ROLES: Mapping[Capability, frozenset[Role]] = MappingProxyType({
    Capability.ATTEND_LESSONS: frozenset({Role.trainee}),
    Capability.TRIGGER_SPOT_CHECKS: frozenset({Role.teacher, Role.institution_admin, Role.district_supervisor, Role.admin}),
    # The teaching side shows the code in the room; a supervisor watching from afar has no screen
    # there, and a code that travels is what the code defends against.
    Capability.SHOW_ROOM_CODES: frozenset({Role.teacher, Role.institution_admin}),
    # The one who teaches the lesson stands in the room and knows the trainees by sight.
    Capability.ATTEST_PRESENCE: frozenset({Role.teacher}),
    Capability.REVIEW_EVENTS: frozenset({Role.district_supervisor, Role.city_reviewer, Role.admin}),
    Capability.REVIEW_FACE_HOLDS: frozenset({Role.district_supervisor, Role.city_reviewer, Role.admin}),
    Capability.WATCH_LIVE: frozenset({Role.teacher, Role.institution_admin, Role.district_supervisor, Role.city_reviewer, Role.admin}),
    Capability.VIEW_FRAMES: frozenset({Role.teacher, Role.institution_admin, Role.district_supervisor, Role.city_reviewer, Role.admin}),
    Capability.VIEW_ABSENCES: frozenset({Role.teacher, Role.institution_admin, Role.district_supervisor, Role.city_reviewer, Role.admin}),
    Capability.VIEW_DUTIES: frozenset({Role.institution_admin, Role.district_supervisor, Role.city_reviewer, Role.admin}),
    Capability.MARK_DUTIES_DONE: frozenset({Role.institution_admin, Role.district_supervisor, Role.city_reviewer, Role.admin}),
    Capability.COMPLETE_FILING_DUTIES: frozenset({Role.institution_admin, Role.admin}),
    Capability.REVIEW_APPLICATIONS: frozenset({Role.district_supervisor, Role.city_reviewer, Role.admin}),
    Capability.FILE_CLASSES: frozenset({Role.institution_admin, Role.admin}),
    Capability.ENROL_TRAINEES: frozenset({Role.institution_admin, Role.admin}),
    Capability.MANAGE_VENUES_AND_TEACHERS: frozenset({Role.institution_admin, Role.admin}),
    Capability.APPROVE_VENUE_FENCES: frozenset({Role.district_supervisor}),
    Capability.REGISTER_INSTITUTIONS: frozenset({Role.admin}),
    Capability.MANAGE_ACCOUNTS: frozenset({Role.admin}),
    Capability.UNBIND_PHONES: frozenset({Role.institution_admin, Role.admin}),
    # Whoever holds a fresh code can become the trainee on the phone: only those who enrol them.
    Capability.REISSUE_ACTIVATION_CODES: frozenset({Role.institution_admin, Role.admin}),
    Capability.PROTECT_FACE_DATA: frozenset({Role.admin}),
    Capability.READ_AUDIT_TRAIL: frozenset({Role.institution_admin, Role.admin}),
    Capability.SEE_FULL_RESIDENT_IDS: frozenset({Role.institution_admin, Role.city_reviewer, Role.admin}),
    Capability.USE_MANAGE_PAGES: frozenset({Role.institution_admin, Role.admin}),
    # 人社 need a class's history (past lessons, hours, exports) as much as the institution does;
    # the pages show them only the controls their other capabilities allow.
    Capability.VIEW_CLASS_HISTORY: frozenset({Role.institution_admin, Role.district_supervisor, Role.city_reviewer, Role.admin}),
    Capability.EXPORT_CLASSES: frozenset({Role.institution_admin, Role.district_supervisor, Role.city_reviewer, Role.admin}),
    Capability.SEAL_SUBSIDIES: frozenset({Role.institution_admin, Role.admin}),
    Capability.EXPORT_DISTRICTS: frozenset({Role.district_supervisor, Role.city_reviewer, Role.admin}),
    Capability.RECORD_RESULTS: frozenset({Role.institution_admin, Role.admin}),
    Capability.UPLOAD_GROUP_PHOTOS: frozenset({Role.teacher, Role.institution_admin, Role.admin}),
    Capability.MANAGE_LESSON_MEDIA: frozenset({Role.institution_admin, Role.admin}),
    Capability.SUBSIDY_HISTORY: frozenset({Role.institution_admin, Role.district_supervisor, Role.city_reviewer, Role.admin}),
})

#: Not a permission: the roles that act for an institution rather than for 人社. A spot check one
#: of them asks for is recorded with origin "teacher"; the others' with origin "supervisor".
INSTITUTION_SIDE: frozenset[Role] = frozenset({Role.teacher, Role.institution_admin})


def roles_for(capability: Capability) -> frozenset[Role]:
    """The roles that hold `capability`."""
    return ROLES[capability]


def allows(role: Role, capability: Capability) -> bool:
    """Whether `role` holds `capability`."""
    return role in ROLES[capability]


def role_names(capability: Capability) -> list[str]:
    """The roles holding `capability`, in the order `Role` declares them (for documents)."""
    return [r.value for r in Role if r in ROLES[capability]]
