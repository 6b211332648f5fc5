"""The success bodies of the API, one pydantic model per answer shape, named after the handler
that answers with it (`endpoint(..., response=...)` in server/api/*.py). The OpenAPI document
(server/api/openapi.py) publishes them; the API tests validate every success answer against them
(tests/conftest.py::app), so the document cannot drift from what the server sends.

Exact: a key the model does not name is an error (extra="forbid"). Times are ISO 8601 text, hours and
money decimal text (as the handlers write them); a field typed Any is one the tests have only seen
empty (null), so the document leaves it open rather than guess.
"""
from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Out(BaseModel):
    """A success body: exactly these keys."""

    model_config = ConfigDict(extra="forbid")


class NoticeOut(Out):
    at: str
    by: str
    kind: str
    message: str
    reason: str


class UserOut(Out):
    city_id: int | None
    device_bound: bool
    display_name: str
    district_id: int | None
    id: int
    institution_id: int | None
    role: str
    teacher_id: int | None
    trainee_id: int | None
    username: str


class SignedInOut(Out):
    csrf_token: str
    notices: list[NoticeOut]
    user: UserOut


class LogoutOut(Out):
    ok: bool


class MeOut(Out):
    csrf_token: str
    user: UserOut


class CreateUserOut(Out):
    activation_code: str | None
    user: UserOut


class UnbindDeviceOut(Out):
    user: UserOut


class ReissueActivationCodeOut(Out):
    activation_code: str
    name: str
    trainee_id: int
    user_id: int
    username: str


class ReissueClassCodesOutSkipped(Out):
    name: str
    reason: str
    trainee_id: int


class ReissueClassCodesOut(Out):
    issued: list[ReissueActivationCodeOut]
    skipped: list[ReissueClassCodesOutSkipped]


class ChallengeOut(Out):
    expires_at: str
    instructions: list[str]
    issued_at: str
    nonce: str
    prompts_ms: list[int]
    purpose: str
    spot_check_id: int | None
    steps: list[str]


class EventAnswerOut(Out):
    at: str
    distance_to_venue_m: float | None
    event_id: int
    face_distance: float | None
    face_threshold: float | None
    hash: str
    kind: str
    lesson_id: int
    message: str
    reasons: list[ClauseReasonOut]
    replayed: bool
    seq: int
    verdict: str
    #: "teacher_attested": the teacher confirmed the trainee present, no face was used
    method: str | None = None


class FaceRefusalOut(Out):
    consent_in_force: bool
    method_label: str
    refused: bool
    refused_at: str | None
    text: str
    text_version: str


class NonfaceRequestOut(Out):
    at: str
    kind: str
    lesson_id: int
    message: str
    method: str
    reasons: list[ClauseReasonOut]
    replayed: bool
    request_id: int
    verdict: str


class HeartbeatOut(Out):
    at: str
    ok: bool
    visible: bool


class TriggerSpotCheckOut(Out):
    due_at: str
    id: int
    issued_at: str
    lesson_id: int
    origin: str
    seconds_left: int
    trainee_id: int


class EnrollmentLedgerOutCredited(Out):
    complete: bool
    offline: str
    online: str
    online_cap: str
    total: str


class EnrollmentLedgerOutLessonsUncredited(Out):
    claimed: bool
    clause: str
    code: str
    detail: str
    end: str
    pending: bool
    seconds: float
    start: str


class EnrollmentLedgerOutLessons(Out):
    credited_minutes: float
    ends_at: str
    lesson_id: int
    mode: str
    overlaps: list[Any]
    running: bool
    starts_at: str
    uncredited: list[EnrollmentLedgerOutLessonsUncredited]
    #: "老师确认（未使用人脸）" when a check of this lesson was confirmed by the teacher, no face used
    method_label: str | None = None


class EnrollmentLedgerOutOverlap(Out):
    offline: str
    online: str


class ClauseReasonOut(Out):
    """Why: a code, the clause it applies and the detail in words; an event's reason may add the
    facts of its check (distance_m for the geofence, ...), so other keys are allowed here."""

    model_config = ConfigDict(extra="allow")

    clause: str
    code: str
    detail: str


class EnrollmentLedgerOut(Out):
    class_id: int
    credited: EnrollmentLedgerOutCredited
    enrollment_id: int
    lessons: list[EnrollmentLedgerOutLessons]
    minutes_per_class_hour: int
    overlap: EnrollmentLedgerOutOverlap
    raw: EnrollmentLedgerOutOverlap
    reasons: list[ClauseReasonOut]
    required_hours: str
    trainee_id: int
    verified: EnrollmentLedgerOutOverlap


class ReviewDecisionOut(Out):
    at: str
    by: str
    decision: str
    event_id: int
    reason: str


class DecideOut(Out):
    at: str
    decides_event_id: int
    decision: str
    event_id: int
    hash: str
    review: ReviewDecisionOut
    seq: int


class SubsidyCategoryOut(Out):
    clause: str
    code: str
    detail: str
    name: str


class ClauseWarningOut(Out):
    clause: str
    code: str
    message: str


class ClassOut(Out):
    """A training class as services.classes.class_json gives it; the operations add their own."""

    checkpoint_quizzes: bool
    direction: str
    district_id: int
    ends_on: str
    fee: str | None
    filed_at: str | None
    funding: str
    id: int
    institution_id: int
    level: str
    name: str
    occupation_code: str
    quizzes_enabled: bool
    region_code: str
    room_code: bool
    starts_on: str
    status: str
    subsidy_categories: list[SubsidyCategoryOut]


class CreateClassOut(ClassOut):
    warnings: list[ClauseWarningOut]


class ListClassesOut(ClassOut):
    in_session: bool
    sealed_at: str | None
    timing: str


class GetClassOutLessons(Out):
    amendment_id: int | None
    cancelled_at: str | None
    class_id: int
    content: str
    ends_at: str
    id: int
    media: Any
    mode: str
    quiz_checkpoints: int
    starts_at: str
    teacher_id: int | None
    title: str | None
    venue_id: int | None


class GetClassOut(ClassOut):
    amendments: list[Any]
    lessons: list[GetClassOutLessons]


class AddLessonsOutLessons(Out):
    amendment_id: int | None
    cancelled_at: str | None
    class_id: int
    content: str
    ends_at: str
    id: int
    mode: str
    starts_at: str
    teacher_id: int | None
    title: str | None
    venue_id: int | None


class AddLessonsOut(Out):
    lessons: list[AddLessonsOutLessons]
    warnings: list[ClauseWarningOut]


class RemoveLessonOut(Out):
    removed: int


class PlanCheckOut(Out):
    accepted: bool
    minutes_per_class_hour: int
    online_hours: str
    online_share: str
    required_hours: str
    scheduled_hours: str
    violations: list[ClauseReasonOut]
    warnings: list[ClauseWarningOut]


class FileClassOut(ClassOut):
    check: PlanCheckOut


class AmendClassOutChangeAddLessons(Out):
    content: str
    ends_at: str
    mode: str
    starts_at: str
    teacher_id: int | None
    title: str | None
    venue_id: int | None


class AmendClassOutChange(Out):
    add_lessons: list[AmendClassOutChangeAddLessons]
    cancel_lesson_ids: list[int]


class AmendClassOutCheck(Out):
    accepted: bool
    minutes_per_class_hour: int
    online_hours: str
    online_share: str
    required_hours: str
    scheduled_hours: str
    violations: list[ClauseReasonOut]


class AmendClassOut(Out):
    at: str
    change: AmendClassOutChange
    check: AmendClassOutCheck
    class_id: int
    id: int
    reason: str
    warnings: list[ClauseWarningOut]


class SnapshotOutCrossChecks(Out):
    alert: str
    at: str
    class_id: int
    class_name: str
    detail: str
    group_photo_id: int
    kind: str
    lesson_id: int
    trainee_id: int
    trainee_name: str


class SnapshotOutEvents(Out):
    alert: str | None
    at: str
    class_id: int
    class_name: str
    cursor: int
    decides_event_id: int | None
    distance_to_venue_m: float | None
    district_id: int
    event_id: int
    face_distance: float | None
    face_threshold: float | None
    institution_id: int
    kind: str
    lesson_id: int
    reasons: list[ClauseReasonOut]
    review: ReviewDecisionOut | None
    trainee_id: int
    trainee_name: str
    verdict: str


class SnapshotOutLessons(Out):
    awaiting_review: int
    checked_in: int
    class_id: int
    class_name: str
    district_id: int
    ends_at: str
    enrolled: int
    institution_id: int
    lesson_id: int
    mass_failure: bool
    mode: str
    rejected: int
    running: bool
    spot_checks_missed: int
    starts_at: str
    title: str | None


class SnapshotOut(Out):
    cross_checks: list[SnapshotOutCrossChecks]
    cursor: int
    events: list[SnapshotOutEvents]
    events_truncated: bool
    lessons: list[SnapshotOutLessons]
    missed_spot_checks: list[Any]
    now: str
    rooms: list[str]


class RollOutFence(Out):
    datum: str
    kind: str
    lat: float
    lon: float
    max_accuracy_m: float
    name: str
    points: Any
    radius_m: float | None


class RollOutLesson(Out):
    class_id: int
    class_name: str
    ends_at: str
    id: int
    mode: str
    online: bool
    starts_at: str
    title: str | None


class RollOutTraineesLastFace(Out):
    distance: float | None
    events: Any
    model: Any
    passed: Any
    steps: Any
    threshold: float | None


class RollOutTraineesLast(Out):
    at: str
    effective: str
    event_id: int
    face: RollOutTraineesLastFace
    fence: Any
    fix: Any
    frames: int
    kind: str
    reasons: list[ClauseReasonOut]
    review: ReviewDecisionOut | None
    verdict: str
    #: "teacher_attested" (and its label) when the teacher confirmed the trainee, no face used
    method: str | None = None
    method_label: str | None = None


class RollOutTraineesAwaiting(Out):
    at: str
    kind: str
    request_id: int
    spot_check_id: int | None


class RollOutTraineesPresenceSpotChecks(Out):
    missed: int
    passed: int


class RollOutTraineesPresence(Out):
    age_s: int | None
    credited_minutes: float
    last_at: str | None
    playback: str | None
    position_s: float | None
    spot_checks: RollOutTraineesPresenceSpotChecks
    status: str


class RollOutTrainees(Out):
    events: int
    last: RollOutTraineesLast | None
    name: str
    state: str
    trainee_id: int
    presence: RollOutTraineesPresence | None = None
    #: the trainee refused face processing: checks go through the teacher (确认本人在场)
    face_refused: bool = False
    #: their requests the teacher can confirm now
    awaiting_teacher: list[RollOutTraineesAwaiting] = []


class RollOut(Out):
    fence: RollOutFence | None
    lesson: RollOutLesson
    trainees: list[RollOutTrainees]


class EventContextOutFenceVerdict(Out):
    distance_m: float
    verdict: str


class EventContextOutFix(Out):
    accuracy_m: float
    fix_age_s: Any
    lat: float
    lon: float


class EventContextOutOther(Out):
    claimed_distance: float
    distance: float
    enrolment_photos: int
    name: str
    outcome: str
    same_class: bool
    trainee_id: int
    visible: bool


class EventContextOutReplayMatches(Out):
    at: str
    event_id: int
    frames: list[int]
    kind: str
    this_frames: list[int]
    visible: bool


class EventContextOutReplay(Out):
    frames_seen_before: list[int]
    matches: list[EventContextOutReplayMatches]
    max_bits: int
    unmatched: int


class IdNameOut(Out):
    id: int
    name: str


class EventContextOut(Out):
    at: str
    enrolment_photos: int
    event_id: int
    fence: RollOutFence
    fence_verdict: EventContextOutFenceVerdict | None
    fix: EventContextOutFix | None
    frames: int
    kind: str
    other: EventContextOutOther | None
    reasons: list[ClauseReasonOut]
    replay: EventContextOutReplay | None
    review: ReviewDecisionOut | None
    trainee: IdNameOut
    verdict: str


class MyConsentOut(Out):
    purpose: str
    title: str
    version: str
    text: str
    sha256: str
    state: str
    at: str | None
    agreed_version: str | None


class MyTemplatesOut(Out):
    held: int
    since: str | None
    erased: int
    kept_until: str | None


class MyPhotosOut(Out):
    count: int
    first_at: str | None
    last_at: str | None
    kept_until: str | None
    open_reviews: int
    rule: str


class MyViewOut(Out):
    at: str
    who: str
    what: str


class MyRequestOut(Out):
    at: str
    what: str
    by: str
    answer: str


class MyFaceDataOut(Out):
    consents: list[MyConsentOut]
    templates: MyTemplatesOut
    photos: MyPhotosOut
    views: list[MyViewOut]
    requests: list[MyRequestOut]


class PrivacyFilingOut(Out):
    reached_on: str
    due_on: str
    provisional: bool
    status: str
    detail: str
    clause: str
    done_at: str | None
    done_by: str | None
    receipt: str | None


class PrivacyConsentsOut(Out):
    face_consent_in_force: int
    face_refused_or_withdrawn: int
    photo_keeping_in_force: int


class PrivacyKeepingOut(Out):
    region: str
    name: str
    evidence_years: int
    evidence_clause: str
    photo_window_days: int
    photo_window_clause: str
    attested_check_ins: str
    attested_clause: str


class PrivacySealingOut(Out):
    keys: int
    primary: str
    key_file_in_data_dir: bool
    warning: str | None


class PrivacyOut(Out):
    people_with_face_data: int
    filing_threshold: int
    filing: PrivacyFilingOut | None
    consents: PrivacyConsentsOut
    keeping: list[PrivacyKeepingOut]
    sealing: PrivacySealingOut
    database: str
    who_sees_photos: list[str]
    who_reviews: list[str]


class DutyOut(Out):
    anchor: str
    anchor_date: str
    anchor_name: str
    can_mark_done: bool
    class_id: int
    class_name: str
    clause: str
    code: str
    days_left: int
    detail: str
    district_id: int
    done_at: str | None
    done_note: str | None
    due_on: str
    enrollment_id: int | None
    id: int
    institution_id: int
    provisional: bool
    region_code: str
    reminders: list[Any]
    status: str
    status_zh: str


class DutyDoneOut(DutyOut):
    """A duty just marked done: the same, with when and the note."""

    done_at: str
    done_note: str


class ClassAbsencesOutSupersededBy(Out):
    at: str
    decides_event_id: int
    event_id: int
    kind: str
    verdict: str


class ClassAbsencesOut(Out):
    enrollment_id: int
    id: int
    lesson_id: int
    lesson_mode: str
    lesson_starts_at: str
    reasons: list[ClauseReasonOut]
    recorded_at: str
    superseded: bool
    superseded_by: list[ClassAbsencesOutSupersededBy]
    trainee_id: int
    trainee_name: str


class ExportJobOut(Out):
    """An export job (server/exports/service.py::job_json): its progress, and the download once done."""

    class_id: int | None
    created_at: str
    district_id: int | None
    done: int
    download: str | None
    error: str | None
    expires_at: str | None
    file_expired: bool
    file_message: str | None
    finished_at: str | None
    id: int
    kind: str
    progress: float
    sha256: str | None
    status: str
    total: int


class UploadGroupPhotoOutCrossCheck(Out):
    detail: str
    kind: str
    trainee_id: int
    trainee_name: str


class UploadGroupPhotoOutMatchFaces(Out):
    box: list[int]
    distance: float
    trainee: str | None


class UploadGroupPhotoOutMatch(Out):
    absent: list[str]
    faces: list[UploadGroupPhotoOutMatchFaces]
    model_name: str
    model_version: str
    present: list[str]
    reasons: list[Any]
    review_threshold: float
    threshold: float
    uncertain: list[Any]


class UploadGroupPhotoOut(Out):
    class_id: int
    cross_check: list[UploadGroupPhotoOutCrossCheck]
    id: int
    lesson_id: int
    match: UploadGroupPhotoOutMatch
    present: list[int]
    sha256: str
    uploaded_at: str


class ListFaceHoldsOutMatchesTrainee(Out):
    id: int
    institution: IdNameOut
    name: str


class ListFaceHoldsOutMatches(Out):
    distance: float
    photo_hashes: list[str] | None = None
    photos: list[str] | None = None
    status: str | None = None
    template_id: int | None = None
    trainee: ListFaceHoldsOutMatchesTrainee | None = None
    visible: bool
    district: str | None = None


class ListFaceHoldsOutPrevious(Out):
    distance: float
    photo_hashes: list[str]
    photos: list[str]
    status: str
    template_id: int


class ListFaceHoldsOutThresholds(Out):
    dedup: float
    match: float


class ListFaceHoldsOut(Out):
    created_at: str
    decidable: bool
    matches: list[ListFaceHoldsOutMatches]
    photo_hashes: list[str]
    photos: list[str]
    previous: ListFaceHoldsOutPrevious | None
    reason: str | None
    reasons: list[str]
    template_id: int
    thresholds: ListFaceHoldsOutThresholds
    trainee: ListFaceHoldsOutMatchesTrainee
    why: str


class DecideFaceHoldOut(Out):
    at: str
    decision: str
    id: int
    reason: str
    template_id: int


class TemplateChangesOutHold(Out):
    reasons: list[str]
    why: str


class TemplateChangesOut(Out):
    created_at: str
    decision: Any
    erased_at: str | None
    hold: TemplateChangesOutHold | None
    in_use: bool
    reason: str | None
    replaces_id: int | None
    status: str
    template_id: int
    trainee: IdNameOut


class InstitutionOut(Out):
    address: str
    district_id: int
    id: int
    legal_representative: str
    listed_for: list[Any]
    listed_on: str | None
    name: str
    region_code: str
    uscc: str


class FenceDecisionOut(Out):
    at: str
    decided_by_id: int | None
    decision: str
    id: int
    reason: str


class FenceApprovalOut(Out):
    """Where the approval of the venue's fence, as it is now, stands (services/venue_fences.py::approval)."""

    decision: FenceDecisionOut | None
    fence_version: int
    status: str
    status_text: str


class VenueOut(Out):
    """A venue and its fence (services/institutions.py::venue_json), with its approval."""

    address: str
    area_m2: int | None
    capacity: int | None
    centre_lat: float
    centre_lon: float
    datum: str
    fence_approval: FenceApprovalOut
    fence_kind: str
    fence_version: int
    id: int
    institution_id: int
    max_accuracy_m: float
    name: str
    polygon: list[list[float]] | None
    radius_m: float | None


class FenceMeasuresOut(Out):
    """What the fence's plausibility check measured (policies/geofence.py::fence_plausibility): a
    fence that is not a valid shape has only the declared area."""

    declared_area_m2: int | None
    area_factor: float | None = None
    fence_area_m2: int | None = None
    fence_extent_m: float | None = None
    fence_kind: str | None = None
    margin_m: float | None = None
    max_extent_m: float | None = None
    allowed_extent_m: float | None = None


class PendingFencesOutVenue(Out):
    address: str
    area_m2: int | None
    centre_lat: float
    centre_lon: float
    datum: str
    fence_kind: str
    fence_version: int
    id: int
    institution_id: int
    max_accuracy_m: float
    name: str
    polygon: list[list[float]] | None
    radius_m: float | None


class PendingFencesOut(Out):
    institution: IdNameOut
    measures: FenceMeasuresOut
    nearby: list[Any]
    plausible: bool
    reasons: list[Any]
    venue: PendingFencesOutVenue


class DecideFenceOut(Out):
    at: str
    decision: str
    fence_version: int
    id: int
    measures: FenceMeasuresOut
    reason: str
    venue_id: int


class TeacherOut(Out):
    employer: str | None
    full_time: bool
    id: int
    institution_id: int
    name: str
    title: str | None


class DistrictOut(Out):
    adcode: str
    city: str
    id: int
    name: str
    region_code: str


class UploadMediaOut(Out):
    added_at: str
    content_type: str
    duration_s: float
    filename: str
    id: int
    kind: str
    size_bytes: int
    src: str


class LinkMediaOut(Out):
    added_at: str
    content_type: str
    duration_s: float | None
    filename: str | None
    id: int
    kind: str
    size_bytes: int | None
    src: str


class GetMediaOut(Out):
    added_at: str
    content_type: str
    duration_s: float | None
    filename: str | None
    furthest_s: float | None = None
    id: int
    kind: str
    size_bytes: int | None
    src: str


class SetClassQuizzesOut(ClassOut):
    pass


class SaveQuizOutQuizCheckpointsQuestions(Out):
    answer: int
    options: list[str]
    text: str


class SaveQuizOutQuizCheckpoints(Out):
    position_s: float
    questions: list[SaveQuizOutQuizCheckpointsQuestions]


class SaveQuizOutQuiz(Out):
    added_at: str
    checkpoints: list[SaveQuizOutQuizCheckpoints]
    id: int


class SaveQuizOut(Out):
    enabled: bool
    media_id: int
    quiz: SaveQuizOutQuiz


class GetQuizOutQuizCheckpointsQuestions(Out):
    answer: int | None = None
    options: list[str]
    text: str


class GetQuizOutQuizCheckpointsLast(Out):
    at: str
    correct: int
    total: int


class GetQuizOutQuizCheckpoints(Out):
    position_s: float
    questions: list[GetQuizOutQuizCheckpointsQuestions]
    index: int | None = None
    last: GetQuizOutQuizCheckpointsLast | None = None
    number: int | None = None
    segment_start_s: float | None = None
    status: str | None = None


class GetQuizOutQuiz(Out):
    added_at: str | None = None
    checkpoints: list[GetQuizOutQuizCheckpoints]
    id: int
    media_id: int | None = None


class GetQuizOut(Out):
    enabled: bool
    quiz: GetQuizOutQuiz | None
    media_id: int | None = None


class AnswerQuizOut(Out):
    at: str
    attempt_id: int
    checkpoint: int
    correct: int
    message: str
    passed: bool
    position_s: float
    segment_start_s: float
    total: int


class SubsidyHistoryCheckOut(Out):
    checked_on: str
    id: int
    note: str | None
    recorded_at: str
    recorded_by: str
    source: str
    source_zh: str


class SubsidyHistoryOutEntriesRetracted(Out):
    at: str
    by: str
    id: int
    reason: str


class SubsidyHistoryEntryOut(Out):
    class_: IdNameOut | None = Field(alias="class")
    id: int | None
    kind: str
    level: str
    note: str | None
    occupation_code: str
    occupation_name: str
    recorded_at: str
    recorded_by: str | None
    region_code: str
    retracted: SubsidyHistoryOutEntriesRetracted | None
    source: str
    source_zh: str
    training_start: str
    amount: str | None = None


class SubsidyHistoryOut(Out):
    checked_on: str | None
    checks: list[SubsidyHistoryCheckOut]
    entries: list[SubsidyHistoryEntryOut]
    trainee_id: int


class RecordSubsidyHistoryOut(Out):
    class_: IdNameOut | None = Field(alias="class")
    id: int
    kind: str
    level: str
    note: str | None
    occupation_code: str
    occupation_name: str
    recorded_at: str
    recorded_by: str
    region_code: str
    retracted: Any
    source: str
    source_zh: str
    training_start: str


class RetractSubsidyHistoryOut(Out):
    at: str
    id: int
    reason: str
    retracts_id: int


class MyLessonsOutEnrollments(Out):
    class_id: int
    class_name: str
    enrollment_id: int
    region_code: str


class MyLessonsOutLessonsCheckInReview(Out):
    at: str
    decision: str
    reason: str


class MyLessonsOutLessonsCheckIn(Out):
    at: str
    distance_to_venue_m: float | None
    event_id: int
    kind: str
    message: str
    reasons: list[ClauseReasonOut]
    review: MyLessonsOutLessonsCheckInReview | None
    verdict: str


class MyLessonsOutLessonsLatestEvent(Out):
    at: str
    distance_to_venue_m: float | None
    event_id: int
    kind: str
    message: str
    reasons: list[ClauseReasonOut]
    review: ReviewDecisionOut | None = None
    verdict: str


class MyLessonsOutLessonsVenue(Out):
    address: str
    centre: list[float]
    datum: str
    fence_kind: str
    id: int
    max_accuracy_m: float
    name: str
    radius_m: float | None


class MyLessonsOutLessons(Out):
    check_in: MyLessonsOutLessonsCheckIn | None
    check_in_opens_at: str
    check_out: MyLessonsOutLessonsCheckIn | None
    check_out_closes_at: str
    class_id: int
    class_name: str
    content: str
    ends_at: str
    enrollment_id: int
    latest_event: MyLessonsOutLessonsLatestEvent | None
    lesson_id: int
    mode: str
    room_code: bool
    starts_at: str
    state: str
    title: str | None
    venue: MyLessonsOutLessonsVenue | None


class MyLessonsOut(Out):
    date: str
    enrollments: list[MyLessonsOutEnrollments]
    lessons: list[MyLessonsOutLessons]
    now: str
    timezone: str


class EnrollOutTrainee(Out):
    birth_date: str
    id: int
    name: str
    phone: str | None
    resident_id: str
    sex: str


class EnrollOut(Out):
    activation_code: str
    class_id: int
    employment_after: str
    employment_at_start: str
    enrolled_at: str
    id: int
    subsidy_category: str | None
    subsidy_category_known: bool
    subsidy_category_name: str | None
    trainee: EnrollOutTrainee
    warnings: list[ClauseWarningOut]


class ListEnrollmentsOutAccount(Out):
    activated: bool
    device_bound: bool
    device_bound_at: str | None
    user_id: int


class ListEnrollmentsOutTrainee(Out):
    birth_date: str | None
    id: int
    name: str
    phone: str | None
    resident_id: str
    sex: str


class ListEnrollmentsOut(Out):
    account: ListEnrollmentsOutAccount | None = None
    class_id: int
    consent: str | None
    employment_after: str
    employment_at_start: str
    enrolled_at: str
    face_enrolled: bool
    face_held: bool
    id: int
    subsidy_category: str | None
    subsidy_category_known: bool
    subsidy_category_name: str | None
    trainee: ListEnrollmentsOutTrainee


class ImportTraineesOutRowsErrors(Out):
    code: str
    field: str
    message: str


class ImportTraineesOutRows(Out):
    activation_code: str | None
    enrollment_id: int | None
    errors: list[ImportTraineesOutRowsErrors]
    name: str
    note: str | None
    ok: bool
    row: int
    trainee_id: int | None
    warnings: list[str]


class ImportTraineesOut(Out):
    failed: int
    imported: int
    rows: list[ImportTraineesOutRows]


class ConsentNoticeOut(Out):
    purpose: str
    sha256: str
    text: str
    title: str
    version: str


class ConsentTextOut(Out):
    #: Each purpose's notice ("biometric", "photo_keeping"), consented to separately
    purposes: list[ConsentNoticeOut]
    #: The region whose figures the notices state (None: the defaults)
    region: str | None
    #: The biometric notice's (as before purposes were separate)
    sha256: str
    text: str
    version: str


class ConsentOut(Out):
    at: str
    channel: str
    granted: bool
    id: int
    purpose: str
    text_version: str
    trainee_id: int


class EnrollFaceOut(Out):
    created_at: str
    model: str
    model_version: str
    photos: int
    replaces_id: int | None
    status: str
    template_id: int
    trainee_id: int
    message: str | None = None


class AuditTrailOut(Out):
    action: str
    actor: str
    #: The entity as the change left it and as it was before: each kind of entity its own fields.
    after: dict[str, Any] | None
    at: str
    before: dict[str, Any] | None
    entity: str
    entity_id: int | None  # an import, a log-in: no one row
    id: int
    role: str


class RoomCodeOut(Out):
    lesson_id: int
    code: str
    valid_from: str
    changes_at: str
    interval_s: int
    accepted_for_s: int


class MissBudgetOut(Out):
    allowed: int
    missed: int
    ends_lesson: bool
    detail: str
    clause: str


class PendingOut(Out):
    due_at: str
    id: int
    issued_at: str
    lesson_id: int
    origin: str
    seconds_left: int
    miss_budget: MissBudgetOut | None


class ReviewQueueOut(EventAnswerOut):
    trainee_id: int
    trainee_name: str


class SigningKeyOut(Out):
    algorithm: str
    key_id: str
    public_key_base64: str
    public_key_pem: str


class RecordAssessmentOut(Out):
    id: int
    enrollment_id: int
    theory_score: int
    practice_score: int
    passed: bool
    assessed_on: str


class RecordTrainingCertificateOut(Out):
    id: int
    enrollment_id: int
    number: str
    issued_on: str
