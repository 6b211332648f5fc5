"""Face enrollment with consent. The template is built by recognition/ (quality gate included);
this service checks consent, keeps the photos by hash, records re-enrollment and erases
templates when consent is withdrawn (PIPL art. 47).

One face, one identity: every enrolment is compared with the whole deployment's templates (the
dedup index, services/faceindex.py) and a re-enrolment with the trainee's template in force. A
face within ``dedup_threshold`` of another trainee's, or a re-enrolment at or beyond
``match_threshold`` from the old face, is stored *held*: it is not used for check-in until a
supervisor approves it (services/face_holds.py). A template is *in force* when it is not erased
and either was never held or was approved; the newest one in force is the one check-in uses."""
from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy import ColumnElement, String, cast, exists, select
from sqlalchemy.orm import Session

from server.adapters.filestore import EvidenceStore
from server.errors import ApiError
from server.models import FaceTemplate, TemplateDecision
from server.permissions import Capability
from server.services import audit
from server.services.consent import consent_in_force
from server.services.scope import Actor, require, trainee_institution, visible_trainee

if TYPE_CHECKING:  # recognition and the index adapter load numpy/usearch: only for the types here
    from recognition import Template
    from server.adapters.faceindex import Hit

MAX_PHOTO_BYTES = 8 * 1024 * 1024
#: How many of the nearest other identities an enrolment is compared with (the hold names them all
#: for the reviewer; more than a handful within the strict dedup threshold is already a case).
DEDUP_NEIGHBOURS = 5

#: Why a template is held. "duplicate" is the graver one (another identity), so it names the hold
#: when both apply; the hold's "reasons" lists every one that applied.
DUPLICATE = "duplicate"
CHANGED_FACE = "changed_face"

#: What the institution is told about a held enrolment: what happened and what it means now. Never
#: whom the face resembles: the reviewer sees that, the enrolling side does not.
HELD_MESSAGES = {
    DUPLICATE: "与其他学员人脸相似，待人社复核",
    CHANGED_FACE: "与该学员原登记人脸差异较大，待人社复核",
}


class DedupIndex(Protocol):
    """What enrolment needs of the deployment's face index (services/faceindex.py)."""

    def search(self, session: Session, template: Template, k: int, exclude_trainee: int | None) -> list[Hit]: ...

    def add(self, template_id: int, trainee_id: int, template: Template) -> None: ...

    def remove(self, template_id: int) -> None: ...


def decided(decision: str | None = None) -> ColumnElement[bool]:
    """SQL: the template (FaceTemplate row) has a decision (of this kind, when given)."""
    q = exists().where(TemplateDecision.template_id == FaceTemplate.id)
    return q.where(TemplateDecision.decision == decision) if decision else q


def in_force() -> ColumnElement[bool]:
    """SQL: not erased, and never held or approved."""
    return FaceTemplate.erased_at.is_(None) & (FaceTemplate.hold.is_(None) | decided("approve"))


def held_undecided() -> ColumnElement[bool]:
    """SQL: not erased, held, and no decision yet."""
    return FaceTemplate.erased_at.is_(None) & FaceTemplate.hold.is_not(None) & ~decided()


def active_template(session: Session, trainee_id: int | None) -> FaceTemplate | None:
    """The newest template in force: while a re-enrolment is held the previous one stays in force;
    while a first enrolment is held the trainee has none."""
    if trainee_id is None:
        return None
    return session.scalar(select(FaceTemplate).where(FaceTemplate.trainee_id == trainee_id, in_force())
                          .order_by(FaceTemplate.id.desc()).limit(1))


def held_template(session: Session, trainee_id: int | None) -> FaceTemplate | None:
    """The newest template of the trainee held for review and not yet decided (check-in tells the
    trainee why they cannot check in by face when this is their only one)."""
    if trainee_id is None:
        return None
    return session.scalar(select(FaceTemplate).where(FaceTemplate.trainee_id == trainee_id, held_undecided())
                          .order_by(FaceTemplate.id.desc()).limit(1))


def held_message(template: FaceTemplate) -> str:
    """The institution's answer for a held enrolment: what happened, and what it means until 人社 decide."""
    hold = template.hold or {}
    said = HELD_MESSAGES.get(hold.get("why", ""), HELD_MESSAGES[DUPLICATE])
    now = "复核通过前该学员不能刷脸签到" if template.replaces_id is None else "复核前该学员仍以原登记的人脸签到"
    return f"{said}。{now}；如上传的照片有误，请填写原因后重新采集。"


def enroll_face(session: Session, actor: Actor, trainee_id: int, photos: list[bytes], reason: str | None,
                recognizer, settings, store: EvidenceStore, now: datetime, *, index: DedupIndex) -> FaceTemplate:
    """Enrol (or re-enrol) a trainee's face. The template is stored either in force or held (see
    the module's docstring): ``template.hold`` says which, ``held_message`` what to tell the caller."""
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
    # A held enrolment waiting for review counts too: replacing it is a re-enrolment, never silent.
    if (previous is not None or held_template(session, trainee.id) is not None) and not (reason and reason.strip()):
        raise ApiError(422, "reason_required", "该学员已有人脸模板，重新采集须填写原因",
                       fields=[{"field": "reason", "message": "重新登记人脸须填写原因"}])
    try:
        result = recognition.enroll(photos, recognizer, settings)
    except Exception as exc:  # fail closed: a backend error stores nothing
        raise ApiError(503, "face_backend_error", f"人脸服务暂时不可用，未保存任何内容，请稍后重试（{exc.__class__.__name__}）") from None
    if not result.ok or result.template is None:
        raise ApiError(422, "face_quality", "；".join(r.message for r in result.reasons),
                       reasons=[{"code": r.code, "message": r.message} for r in result.reasons])
    hold = _hold(session, result.template, trainee.id, previous, settings, index)
    hashes = [store.put(p) for p in photos]
    template = FaceTemplate(
        trainee_id=trainee.id, template=result.template.to_bytes(), model=result.template.model_name,
        model_version=result.template.model_version, photo_hashes=hashes, consent_id=consent.id,
        replaces_id=previous.id if previous else None, reason=reason, created_by_id=actor.user_id, created_at=now,
        hold=hold,
    )
    session.add(template)
    session.flush()
    institution_id = trainee_institution(session, trainee.id, actor)
    audit.record(session, actor, "face.reenroll" if previous else "face.enroll", "trainee", trainee.id,
                 {"template_id": previous.id} if previous else None,
                 {"template_id": template.id, "photos": len(hashes), "model": template.model, "reason": reason,
                  "held": hold["reasons"] if hold else None},
                 institution_id=institution_id)
    if hold is not None:
        # The institution reads its audit trail: the record says why and how near, never whom.
        audit.record(session, actor, "face.held", "face_template", template.id, None,
                     {"trainee_id": trainee.id, "why": hold["why"], "reasons": hold["reasons"],
                      "matches": len(hold["matches"]),
                      "nearest_distance": hold["matches"][0]["distance"] if hold["matches"] else None,
                      "previous_distance": hold["previous_distance"]},
                     institution_id=institution_id)
    session.commit()
    # Held ones too: a second enrolment of the same face, while the first waits, is held as well.
    # After the commit, so the index never names a template the database does not have.
    index.add(template.id, trainee.id, result.template)
    return template


def _hold(session: Session, template: Template, trainee_id: int, previous: FaceTemplate | None, settings,
          index: DedupIndex) -> dict[str, Any] | None:
    """The hold of a new template (None: in force at once): other identities within the dedup
    threshold, and for a re-enrolment the distance to the face in force before it."""
    from recognition import Template

    hits = index.search(session, template, DEDUP_NEIGHBOURS, exclude_trainee=trainee_id)
    matches = [{"template_id": h.template_id, "trainee_id": h.trainee_id, "distance": round(h.distance, 4)}
               for h in hits if h.distance < settings.dedup_threshold]
    previous_distance = None
    if previous is not None and (previous.model, previous.model_version) == (template.model_name, template.model_version):
        # Another model's encodings are not comparable: a model upgrade is no evidence of a new face.
        previous_distance = round(Template.from_bytes(previous.template).distance(template.centroid), 4)
    reasons = [DUPLICATE] if matches else []
    if previous_distance is not None and previous_distance >= settings.match_threshold:
        reasons.append(CHANGED_FACE)
    if not reasons:
        return None
    return {"why": reasons[0], "reasons": reasons, "matches": matches, "previous_distance": previous_distance,
            "thresholds": {"dedup": settings.dedup_threshold, "match": settings.match_threshold}}


def erase_templates(session: Session, actor: Actor, trainee_id: int, now: datetime, store: EvidenceStore | None = None,
                    index: DedupIndex | None = None) -> int:
    """Consent withdrawn: erase template bytes (and photos when a store is given); the row stays
    as the record that a template existed and when it was erased. With ``index`` (the process's
    dedup index) the templates leave it at once; other processes' indexes drop them on their own
    (services/faceindex.py checks every hit against the database)."""
    erased = 0
    for t in session.scalars(select(FaceTemplate).where(FaceTemplate.trainee_id == trainee_id, FaceTemplate.erased_at.is_(None))):
        t.template = b""
        t.erased_at = now
        if store is not None:
            for digest in t.photo_hashes:
                if not _named_elsewhere(session, digest, t.id):
                    store.delete(digest)
        if index is not None:
            # Before the commit, on purpose: if the commit then fails, the template is missing from
            # this index until it next reconciles (a missed comparison), rather than findable
            # after its erasure.
            index.remove(t.id)
        erased += 1
    if erased:
        audit.record(session, actor, "face.erase", "trainee", trainee_id, None, {"templates_erased": erased})
    return erased


def _named_elsewhere(session: Session, digest: str, template_id: int) -> bool:
    """Whether another template not erased names this photo. Photos are stored by content, so the
    same photo enrolled for two trainees is one file: erasing the first trainee's must not take the
    photo that shows the second one's enrolment to its reviewer. (A scan of the photo lists, by
    text first: erasures are rare, one a withdrawal of consent.)"""
    candidates = session.scalars(select(FaceTemplate.photo_hashes).where(
        FaceTemplate.id != template_id, FaceTemplate.erased_at.is_(None),
        cast(FaceTemplate.photo_hashes, String).contains(digest, autoescape=True)))
    return any(digest in hashes for hashes in candidates)
