"""人社's review of held face enrolments, and the record of a class's template changes.

An enrolment is held (services/faces.py) when the face is within the dedup threshold of another
trainee's template anywhere in the deployment ("duplicate"), or a re-enrolment is not the
trainee's old face ("changed_face"). A supervisor sees both people side by side - names,
institutions, enrolment photos, distances - and approves (the template comes into force) or
rejects it (it never does, and leaves the dedup index). One decision per template, appended,
never edited: template changes are evidence, not edits.

Scope: a supervisor sees the holds of trainees enrolled in their scope's classes. A match outside
that scope is shown only as a distance and a district (no name, no photo: another district's
trainee is not theirs to see), and such a hold is decided by someone who sees both sides (the
city reviewer of both districts, or the administrator): approving it blind would defeat the check.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from server.adapters.filestore import EvidenceStore
from server.errors import ApiError
from server.models import District, Enrollment, FaceTemplate, Institution, TemplateDecision, Trainee, TrainingClass
from server.permissions import Capability, allows
from server.services import audit, faces
from server.services.scope import Actor, classes_query, require, trainee_institution, visible_class, visible_trainee

#: How far back the class's template changes go unless asked otherwise.
RECENT_DAYS = 30

DECISION_WORDS = {"approve": "通过", "reject": "不通过"}


# --- the supervisor's list ----------------------------------------------------------------------

def holds(session: Session, actor: Actor) -> list[dict[str, Any]]:
    """The held, undecided templates of the trainees the actor sees, oldest first, each with the
    identities it resembles (and for a re-enrolment the template it would replace)."""
    require(actor, Capability.REVIEW_FACE_HOLDS)
    rows = list(session.scalars(select(FaceTemplate).where(
        faces.held_undecided(), FaceTemplate.trainee_id.in_(_visible_trainee_ids(actor))).order_by(FaceTemplate.id)))
    match_ids = {m["template_id"] for t in rows for m in (t.hold or {}).get("matches", [])}
    others = {t.id: t for t in session.scalars(select(FaceTemplate).where(
        FaceTemplate.id.in_(match_ids | {t.replaces_id for t in rows if t.replaces_id})))}
    trainee_ids = {t.trainee_id for t in rows} | {t.trainee_id for t in others.values()}
    people = _people(session, actor, trainee_ids)
    status = _statuses(session, list(others.values()))
    out = []
    for t in rows:
        hold = t.hold or {}
        matches = []
        for m in hold.get("matches", []):
            other = others.get(m["template_id"])
            person = people.get(m["trainee_id"])
            if person is None or other is None:
                matches.append({"visible": False, "distance": m["distance"],
                                "district": _district_name(session, m["trainee_id"])})
                continue
            matches.append({"visible": True, "distance": m["distance"], "template_id": other.id,
                            "status": status[other.id], "trainee": person, **_photos(other)})
        previous = others.get(t.replaces_id) if t.replaces_id else None
        out.append({
            "template_id": t.id, "created_at": t.created_at.isoformat(), "reason": t.reason,
            "why": hold.get("why"), "reasons": hold.get("reasons", [hold.get("why")]),
            "thresholds": hold.get("thresholds"), "trainee": people[t.trainee_id], **_photos(t),
            "previous": None if previous is None else {
                "template_id": previous.id, "distance": hold.get("previous_distance"), "status": status[previous.id],
                **_photos(previous)},
            "matches": matches,
            # Someone who cannot see every match cannot judge the hold (see the module's docstring).
            "decidable": all(m["visible"] for m in matches),
        })
    return out


def _visible_trainee_ids(actor: Actor):
    return select(Enrollment.trainee_id).where(Enrollment.class_id.in_(classes_query(actor).with_only_columns(TrainingClass.id)))


def _people(session: Session, actor: Actor, trainee_ids: set[int]) -> dict[int, dict[str, Any]]:
    """Id, name and institution of each trainee the actor sees (the institution of their newest
    enrolment in the actor's scope); those out of scope are absent."""
    out: dict[int, dict[str, Any]] = {}
    for trainee_id, name, inst_id, inst_name in session.execute(
            select(Trainee.id, Trainee.name, Institution.id, Institution.name)
            .join(Enrollment, Enrollment.trainee_id == Trainee.id)
            .join(TrainingClass, TrainingClass.id == Enrollment.class_id)
            .join(Institution, Institution.id == TrainingClass.institution_id)
            .where(Trainee.id.in_(trainee_ids), TrainingClass.id.in_(classes_query(actor).with_only_columns(TrainingClass.id)))
            .order_by(Enrollment.id)):
        out[trainee_id] = {"id": trainee_id, "name": name, "institution": {"id": inst_id, "name": inst_name}}
    return out


def _district_name(session: Session, trainee_id: int) -> str | None:
    """The district of the trainee's newest enrolment: all a reviewer out of scope is told."""
    return session.scalar(select(District.name).join(TrainingClass, TrainingClass.district_id == District.id)
                          .join(Enrollment, Enrollment.class_id == TrainingClass.id)
                          .where(Enrollment.trainee_id == trainee_id).order_by(Enrollment.id.desc()).limit(1))


def _photos(t: FaceTemplate) -> dict[str, Any]:
    """The template's enrolment photos: by hash (the evidence store's name), and where to see them."""
    hashes = [] if t.erased_at is not None else list(t.photo_hashes)
    return {"photo_hashes": hashes, "photos": [f"/api/face-templates/{t.id}/photos/{i}" for i in range(len(hashes))]}


def _statuses(session: Session, templates: list[FaceTemplate]) -> dict[int, str]:
    """in_force | held | approved | rejected | erased, for each template."""
    decisions = dict(session.execute(select(TemplateDecision.template_id, TemplateDecision.decision)
                                     .where(TemplateDecision.template_id.in_([t.id for t in templates]))).all())
    return {t.id: _status(t, decisions.get(t.id)) for t in templates}


def _status(t: FaceTemplate, decision: str | None) -> str:
    if t.erased_at is not None:
        return "erased"
    if t.hold is None:
        return "in_force"
    return {"approve": "approved", "reject": "rejected"}.get(decision or "", "held")


# --- the decision -------------------------------------------------------------------------------

def decide(session: Session, actor: Actor, template_id: int, decision: str, reason: str, now: datetime,
           index: faces.DedupIndex | None = None) -> TemplateDecision:
    """Approve (the template comes into force) or reject a held template, once. With ``index``
    (the process's dedup index) a rejected template leaves it at once."""
    require(actor, Capability.REVIEW_FACE_HOLDS)
    t = session.get(FaceTemplate, template_id)
    if t is None:
        raise ApiError(404, "template_not_found", f"人脸模板 {template_id} 不存在或不在您的管辖范围内")
    visible_trainee(session, actor, t.trainee_id)
    earlier = session.scalar(select(TemplateDecision).where(TemplateDecision.template_id == t.id))
    if earlier is not None:
        raise _already_decided(earlier.decision)
    if t.hold is None:
        raise ApiError(409, "not_held", "该人脸模板没有被暂停使用，无需复核")
    if t.erased_at is not None:
        raise ApiError(409, "template_erased", "该学员已撤回同意，人脸模板已删除，无需复核")
    people = _people(session, actor, {m["trainee_id"] for m in t.hold.get("matches", [])})
    if any(m["trainee_id"] not in people for m in t.hold.get("matches", [])):
        raise ApiError(403, "match_out_of_scope", "该人脸与您管辖范围以外的学员相似，须由能看到双方的市级复核人员或系统管理员复核")
    row = TemplateDecision(template_id=t.id, decision=decision, reason=reason, decided_by_id=actor.user_id, at=now)
    session.add(row)
    try:
        session.flush()
    except IntegrityError:  # a second reviewer decided the same hold a moment earlier
        session.rollback()
        decided = session.scalar(select(TemplateDecision.decision).where(TemplateDecision.template_id == template_id))
        raise _already_decided(decided or decision) from None
    audit.record(session, actor, f"face.hold_{decision}", "face_template", t.id, {"hold": t.hold.get("reasons")},
                 {"trainee_id": t.trainee_id, "decision": decision, "reason": reason, "decision_id": row.id},
                 institution_id=trainee_institution(session, t.trainee_id, actor))
    session.commit()
    if decision == "reject" and index is not None:
        index.remove(t.id)  # after the commit: until then the template was still a valid comparison
    return row


def _already_decided(decision: str) -> ApiError:
    return ApiError(409, "already_decided",
                    f"该人脸登记已复核（{DECISION_WORDS.get(decision, decision)}），不能再次复核。"
                    "如结果有误，请培训机构填写原因后为学员重新采集人脸，新的登记会再次进入复核。")


# --- the enrolment photos -----------------------------------------------------------------------

def view_photo(session: Session, actor: Actor, template_id: int, index: int, store: EvidenceStore, now: datetime) -> bytes:
    """One enrolment photo of a template of a trainee the reviewer sees; the look is recorded (PIPL:
    every view of a face photo is on the record: who, which template, which photo)."""
    require(actor, Capability.REVIEW_FACE_HOLDS)
    t = session.get(FaceTemplate, template_id)
    if t is None:
        raise ApiError(404, "template_not_found", f"人脸模板 {template_id} 不存在或不在您的管辖范围内")
    visible_trainee(session, actor, t.trainee_id)
    if not 0 <= index < len(t.photo_hashes):
        raise ApiError(404, "photo_not_found", f"人脸模板 {template_id} 没有第 {index + 1} 张照片")
    try:
        data = store.get(t.photo_hashes[index])
    except FileNotFoundError:
        raise ApiError(410, "photo_erased", "该照片已删除（学员撤回了同意，或已过保存期限），无法查看") from None
    audit.record(session, actor, "evidence.view_enrolment_photo", "face_template", t.id, None, {"photo": index},
                 institution_id=trainee_institution(session, t.trainee_id, actor))
    session.commit()
    return data


# --- a class's template changes (the dashboard) -------------------------------------------------

def recent_template_changes(session: Session, actor: Actor, class_id: int, since: datetime | None,
                            now: datetime) -> list[dict[str, Any]]:
    """Templates created since ``since`` (default: the last 30 days) for the class's trainees,
    newest first: who, when, what it replaced and why, and where its review stands. Whom a held
    face resembles is not here (the reviewer's list has it); the reviewer's reason is shown to
    those who may review."""
    visible_class(session, actor, class_id)
    since = since or now - timedelta(days=RECENT_DAYS)
    rows = session.execute(
        select(FaceTemplate, Trainee.name)
        .join(Trainee, Trainee.id == FaceTemplate.trainee_id)
        .where(FaceTemplate.trainee_id.in_(select(Enrollment.trainee_id).where(Enrollment.class_id == class_id)),
               FaceTemplate.created_at >= since)
        .order_by(FaceTemplate.id.desc())).all()
    templates = [t for t, _ in rows]
    decisions = {d.template_id: d for d in session.scalars(select(TemplateDecision).where(
        TemplateDecision.template_id.in_([t.id for t in templates])))}
    current = set()  # the template each trainee checks in with now
    for trainee_id in {t.trainee_id for t in templates}:
        active = faces.active_template(session, trainee_id)
        if active is not None:
            current.add(active.id)
    reviewer = allows(actor.role, Capability.REVIEW_FACE_HOLDS)
    out = []
    for t, name in rows:
        d = decisions.get(t.id)
        out.append({
            "template_id": t.id, "trainee": {"id": t.trainee_id, "name": name}, "created_at": t.created_at.isoformat(),
            "replaces_id": t.replaces_id, "reason": t.reason,
            "status": _status(t, d.decision if d else None), "in_use": t.id in current,
            "hold": None if t.hold is None else {"why": t.hold.get("why"), "reasons": t.hold.get("reasons", [t.hold.get("why")])},
            "decision": None if d is None else {"decision": d.decision, "at": d.at.isoformat(),
                                                **({"reason": d.reason} if reviewer else {})},
            "erased_at": t.erased_at.isoformat() if t.erased_at else None,
        })
    return out
