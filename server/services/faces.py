"""Face enrollment with consent. The template is built by recognition/ (quality gate included);
this service checks consent, keeps the photos by hash, records re-enrollment and erases
templates when consent is withdrawn (PIPL art. 47)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.adapters.filestore import EvidenceStore
from server.errors import ApiError
from server.models import FaceTemplate
from server.permissions import Capability
from server.services import audit
from server.services.consent import consent_in_force
from server.services.scope import Actor, require, trainee_institution, visible_trainee

MAX_PHOTO_BYTES = 8 * 1024 * 1024


def active_template(session: Session, trainee_id: int | None) -> FaceTemplate | None:
    if trainee_id is None:
        return None
    return session.scalar(select(FaceTemplate).where(FaceTemplate.trainee_id == trainee_id,
                                                     FaceTemplate.erased_at.is_(None))
                          .order_by(FaceTemplate.id.desc()).limit(1))


def enroll_face(session: Session, actor: Actor, trainee_id: int, photos: list[bytes], reason: str | None,
                recognizer, settings, store: EvidenceStore, now: datetime) -> FaceTemplate:
    import recognition

    require(actor, Capability.ENROL_TRAINEES)
    trainee = visible_trainee(session, actor, trainee_id)
    consent = consent_in_force(session, trainee.id)
    if consent is None:
        raise ApiError(409, "consent_required", "该学员尚未同意人脸信息处理（或已撤回），不能采集人脸。请先登记单独同意。")
    if not 1 <= len(photos) <= 5:
        raise ApiError(422, "wrong_photo_count", f"请上传 1–5 张照片，实际 {len(photos)} 张")
    for i, p in enumerate(photos):
        if len(p) > MAX_PHOTO_BYTES:
            raise ApiError(413, "photo_too_large", f"第{i + 1}张照片超过 {MAX_PHOTO_BYTES // 1024 // 1024} MB")
    previous = active_template(session, trainee.id)
    if previous is not None and not (reason and reason.strip()):
        raise ApiError(422, "reason_required", "该学员已有人脸模板，重新采集须填写原因",
                       fields=[{"field": "reason", "message": "required for re-enrollment"}])
    try:
        result = recognition.enroll(photos, recognizer, settings)
    except Exception as exc:  # fail closed: a backend error stores nothing
        raise ApiError(503, "face_backend_error", f"人脸服务暂时不可用，未保存任何内容，请稍后重试（{exc.__class__.__name__}）") from None
    if not result.ok or result.template is None:
        raise ApiError(422, "face_quality", "；".join(r.message for r in result.reasons),
                       reasons=[{"code": r.code, "message": r.message} for r in result.reasons])
    hashes = [store.put(p) for p in photos]
    template = FaceTemplate(
        trainee_id=trainee.id, template=result.template.to_bytes(), model=result.template.model_name,
        model_version=result.template.model_version, photo_hashes=hashes, consent_id=consent.id,
        replaces_id=previous.id if previous else None, reason=reason, created_by_id=actor.user_id, created_at=now,
    )
    session.add(template)
    session.flush()
    audit.record(session, actor, "face.reenroll" if previous else "face.enroll", "trainee", trainee.id,
                 {"template_id": previous.id} if previous else None,
                 {"template_id": template.id, "photos": len(hashes), "model": template.model, "reason": reason},
                 institution_id=trainee_institution(session, trainee.id, actor))
    session.commit()
    return template


def erase_templates(session: Session, actor: Actor, trainee_id: int, now: datetime, store: EvidenceStore | None = None) -> int:
    """Consent withdrawn: erase template bytes (and photos when a store is given); the row stays
    as the record that a template existed and when it was erased."""
    erased = 0
    for t in session.scalars(select(FaceTemplate).where(FaceTemplate.trainee_id == trainee_id, FaceTemplate.erased_at.is_(None))):
        t.template = b""
        t.erased_at = now
        if store is not None:
            for digest in t.photo_hashes:
                store.delete(digest)
        erased += 1
    if erased:
        audit.record(session, actor, "face.erase", "trainee", trainee_id, None, {"templates_erased": erased})
    return erased
