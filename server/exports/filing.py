"""What the JS filing records, beside the exports that read it (kinds.js_filing_export,
kinds.certificates_export): assessment results, the training certificate numbers the province
generated, and the offline lessons' group photos. Institutions record them (teachers may upload
photos too); every record is audited.

They are kept apart from the export jobs because they are writes made by people, one row at a
time, while an export only ever reads them."""
from __future__ import annotations

import logging
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from server.adapters.filestore import EvidenceStore
from server.errors import ApiError
from server.exports.data import latest_assessments
from server.models import (
    AssessmentResult,
    Certificate,
    Enrollment,
    GroupPhoto,
    Institution,
    Lesson,
    LessonMode,
    TrainingClass,
)
from server.permissions import Capability
from server.services import audit, faces
from server.services.scope import Actor, require, visible_class

log = logging.getLogger(__name__)


def _writable_enrollment(session: Session, actor: Actor, enrollment_id: int) -> tuple[Enrollment, TrainingClass]:
    e = session.get(Enrollment, enrollment_id)
    if e is None:
        raise ApiError(404, "enrollment_not_found", f"报名记录 {enrollment_id} 不存在")
    try:
        cls = visible_class(session, actor, e.class_id)
    except ApiError:
        raise ApiError(404, "enrollment_not_found", f"报名记录 {enrollment_id} 不存在") from None
    require(actor, Capability.RECORD_RESULTS)
    return e, cls


def record_assessment(session: Session, actor: Actor, enrollment_id: int, theory: int, practice: int, passed: bool,
                      assessed_on: date, now: datetime) -> AssessmentResult:
    e, cls = _writable_enrollment(session, actor, enrollment_id)
    a = AssessmentResult(enrollment_id=e.id, theory_score=theory, practice_score=practice, passed=passed,
                         assessed_on=assessed_on, recorded_by_id=actor.user_id, recorded_at=now)
    session.add(a)
    session.flush()
    audit.record(session, actor, "assessment.record", "enrollment", e.id, None,
                 {"theory": theory, "practice": practice, "passed": passed, "assessed_on": assessed_on.isoformat()},
                 institution_id=cls.institution_id)
    session.commit()
    return a


def record_training_certificate(session: Session, actor: Actor, enrollment_id: int, number: str, issued_on: date,
                                now: datetime) -> Certificate:
    """The number the province generated (js 2.2): only for a trainee whose assessment passed."""
    e, cls = _writable_enrollment(session, actor, enrollment_id)
    latest = latest_assessments(session, [e.id]).get(e.id)
    if latest is None or not latest.passed:
        raise ApiError(409, "assessment_not_passed", "该学员没有考核通过的记录，不能登记培训合格证书")
    if session.scalar(select(func.count()).select_from(Certificate).where(Certificate.kind == "training",
                                                                          Certificate.number == number)):
        raise ApiError(409, "certificate_number_taken", f"证书编号 {number} 已被使用")
    if session.scalar(select(func.count()).select_from(Certificate).where(Certificate.kind == "training",
                                                                          Certificate.enrollment_id == e.id)):
        raise ApiError(409, "certificate_exists", "该报名已登记培训合格证书")
    inst = session.get_one(Institution, cls.institution_id)
    c = Certificate(trainee_id=e.trainee_id, kind="training", occupation_code=cls.occupation_code, direction=cls.direction or "—",
                    level=cls.level, number=number, issued_on=issued_on, issuer=inst.name, enrollment_id=e.id)
    session.add(c)
    session.flush()
    audit.record(session, actor, "certificate.record", "enrollment", e.id, None, {"number": number, "issued_on": issued_on.isoformat()},
                 institution_id=cls.institution_id)
    session.commit()
    return c


def upload_group_photo(session: Session, actor: Actor, lesson_id: int, photo: bytes, recognizer_factory, settings,
                       store: EvidenceStore, now: datetime) -> GroupPhoto:
    """学员合影 of an offline lesson: stored by hash, matched to the enrolled trainees' templates.
    The recognizer is made only once scope and role are checked (loading it costs a second)."""
    import recognition
    from recognition import Template

    lesson = session.get(Lesson, lesson_id)
    if lesson is None:
        raise ApiError(404, "lesson_not_found", f"课次 {lesson_id} 不存在")
    try:
        cls = visible_class(session, actor, lesson.class_id)
    except ApiError:
        raise ApiError(404, "lesson_not_found", f"课次 {lesson_id} 不存在") from None
    require(actor, Capability.UPLOAD_GROUP_PHOTOS)
    if lesson.mode is not LessonMode.offline:
        raise ApiError(422, "not_offline", "合影只用于线下课次")
    if not photo:
        raise ApiError(422, "photo_missing", "请上传一张合影照片（photo）")
    # Decoded before anything is kept: a text file, a pixel bomb or a cut-off JPEG is refused, not
    # stored as evidence with "no faces" (match_group_photo alone fails closed but would store it).
    try:
        loaded = recognition.load_image(photo, settings)
    except recognition.ImageError as exc:
        raise ApiError(422, f"photo_{exc.code}", f"合影照片无法使用：{exc.message}",
                       fields=[{"field": "photo", "message": exc.message}]) from None
    roster = {}
    for e in session.scalars(select(Enrollment).where(Enrollment.class_id == cls.id)):
        t = faces.active_template(session, e.trainee_id)  # a held one is no one's face yet
        if t is not None and t.template:
            roster[str(e.trainee_id)] = Template.from_bytes(t.template)
    try:
        match = recognition.match_group_photo(loaded, roster, recognizer_factory(), settings)
    except Exception as exc:  # fail closed: nothing is stored
        log.warning("group photo matching failed: %s", type(exc).__name__)
        raise ApiError(503, "face_backend_error", "人脸服务暂时不可用，未保存任何内容，请稍后重试") from None
    digest = store.put(photo)
    g = GroupPhoto(class_id=cls.id, lesson_id=lesson.id, sha256=digest, uploaded_by_id=actor.user_id, uploaded_at=now,
                   present=[int(t) for t in match.present], match=match.evidence())
    session.add(g)
    session.flush()
    audit.record(session, actor, "group_photo.upload", "lesson", lesson.id, None,
                 {"group_photo_id": g.id, "sha256": digest, "present": len(match.present), "faces": len(match.faces)},
                 institution_id=cls.institution_id)
    session.commit()
    return g


def group_photo_json(g: GroupPhoto, cross_check: list | None = None) -> dict:
    return {"id": g.id, "class_id": g.class_id, "lesson_id": g.lesson_id, "sha256": g.sha256,
            "uploaded_at": g.uploaded_at.isoformat(), "present": g.present, "match": g.match,
            "cross_check": cross_check or []}


def group_photo_cross_check(session: Session, g: GroupPhoto) -> list[dict]:
    """The photo against the lesson's check-ins (services/dashboard.group_photo_cross_check)."""
    from server.services.dashboard import group_photo_cross_check as check

    return check(session, g.lesson_id, list(g.present or []), g.uploaded_at, [int(t) for t in (g.match or {}).get("absent", [])])
