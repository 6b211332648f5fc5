from flask import current_app, request

from server.api import responses
from server.api.blueprint import bp
from server.api.framework import endpoint, read_uploads
from server.api.schemas import ConsentIn, ConsentTextQuery, EnrollmentIn, ListQuery
from server.clock import utc_now
from server.errors import ApiError
from server.extensions import db
from server.permissions import Capability, allows
from server.services import account_recovery, audit, faces
from server.services import trainees as svc
from server.services.scope import Actor


@endpoint(bp, "POST", "/classes/<int:class_id>/enrollments", summary="Enrol one trainee (creates their account)",
          tag="trainees", capability=Capability.ENROL_TRAINEES, body=EnrollmentIn, status=201, response=responses.EnrollOut)
def enroll(actor: Actor, class_id: int, body: EnrollmentIn):
    enrollment, code = svc.enroll(db.session, actor, class_id, body, utc_now())
    db.session.commit()
    return {**svc.enrollment_json(enrollment, enrollment.trainee, actor), "activation_code": code,
            "warnings": svc.category_warnings(db.session, enrollment.training_class)}


@endpoint(bp, "GET", "/classes/<int:class_id>/enrollments", summary="A class's trainees (IDs masked unless you need them)",
          tag="trainees", response=list[responses.ListEnrollmentsOut])
def list_enrollments(actor: Actor, class_id: int):
    rows = svc.enrollments(db.session, actor, class_id)
    ready = svc.readiness(db.session, [t.id for _, t in rows])
    # Staff who may recover accounts see each account's state (activated, phone bound).
    states = (account_recovery.account_states(db.session, [t.id for _, t in rows])
              if allows(actor.role, Capability.UNBIND_PHONES) else {})
    return [svc.enrollment_json(e, t, actor, {**ready[t.id], **states.get(t.id, {})}) for e, t in rows]


@endpoint(bp, "POST", "/trainees/import", summary="Import trainees from XLSX or CSV (UTF-8, UTF-8 with BOM, GBK): per-row report",
          tag="trainees", capability=Capability.ENROL_TRAINEES,
          multipart={"file": "the .xlsx or .csv file",
                     "class_id": "default class for rows without 班级编号"}, response=responses.ImportTraineesOut)
def import_trainees(actor: Actor):
    uploads = read_uploads("file", 10 * 1024 * 1024)
    if len(uploads) != 1:
        raise ApiError(422, "invalid_input", "请选择一个要导入的文件（字段名 file）",
                       fields=[{"field": "file", "message": "请只上传一个文件"}])
    filename, data = uploads[0]
    raw_class = request.form.get("class_id") or None
    if raw_class is not None and not (raw_class.isascii() and raw_class.isdigit() and 1 <= int(raw_class) <= svc.MAX_ID):
        raise ApiError(422, "invalid_input", "班级编号须为本机构培训班的编号",
                       fields=[{"field": "class_id", "message": "须为培训班编号（数字）"}])
    class_id = int(raw_class) if raw_class else None
    rows = svc.import_trainees(db.session, actor, filename, data, class_id, utc_now())
    return {
        "imported": sum(r.ok for r in rows),
        "failed": sum(not r.ok for r in rows),
        "rows": [r.__dict__ for r in rows],
    }


@endpoint(bp, "GET", "/consent-text",
          summary=("The consent notices, one per purpose (biometric: 人脸核验; photo_keeping: 留存签到照片作为证据), "
                   "with the figures of the trainee's region"),
          tag="trainees", query=ConsentTextQuery, response=responses.ConsentTextOut)
def consent_text(actor: Actor, query: ConsentTextQuery):
    region, notices = svc.consent_notices(db.session, actor, query.trainee_id)
    biometric = notices["biometric"]
    return {"purposes": [n.as_dict() for n in notices.values()], "region": region,
            "version": biometric.version, "sha256": biometric.sha256, "text": biometric.text}


@endpoint(bp, "POST", "/trainees/<int:trainee_id>/consent",
          summary=("Record a consent for one purpose (trainee on the phone, or staff for a paper form); false withdraws "
                   "(biometric: erases face templates; photo_keeping: photos then kept only for the review window)"),
          tag="trainees", body=ConsentIn, status=201, response=responses.ConsentOut)
def consent(actor: Actor, trainee_id: int, body: ConsentIn):
    c = svc.record_consent(db.session, actor, trainee_id, body, utc_now(), current_app.extensions["hourproof_evidence"],
                           current_app.extensions["hourproof_face_index"])
    return {"id": c.id, "trainee_id": c.trainee_id, "purpose": c.purpose, "granted": c.granted, "channel": c.channel,
            "text_version": c.text_version, "at": c.at.isoformat()}


@endpoint(bp, "POST", "/trainees/<int:trainee_id>/face",
          summary=("Enrol the trainee's face from 1-5 photos (needs consent; re-enrollment needs a reason). "
                   "202 with status \"held\": the face resembles another trainee's, or not the trainee's own "
                   "old one, and waits for 人社's review"),
          tag="trainees", capability=Capability.ENROL_TRAINEES,
          multipart={"photos": "1-5 image files (JPEG/PNG/WebP)", "reason": "why, when replacing a template"},
          also=(202,), response=responses.EnrollFaceOut)
def enroll_face(actor: Actor, trainee_id: int):
    photos = [data for _, data in read_uploads("photos", faces.MAX_PHOTO_BYTES)]
    t = faces.enroll_face(db.session, actor, trainee_id, photos, request.form.get("reason"),
                          current_app.extensions["hourproof_recognizer"](), current_app.config["RECOGNITION_SETTINGS"],
                          current_app.extensions["hourproof_evidence"], utc_now(),
                          index=current_app.extensions["hourproof_face_index"])
    answer = {"template_id": t.id, "trainee_id": t.trainee_id, "model": t.model, "model_version": t.model_version,
              "photos": len(t.photo_hashes), "replaces_id": t.replaces_id, "created_at": t.created_at.isoformat()}
    if t.hold is not None:
        # Stored, but not in force: never whom the face resembles (the reviewer sees that).
        return {**answer, "status": "held", "message": faces.held_message(t)}, 202
    return {**answer, "status": "enrolled"}


@endpoint(bp, "GET", "/audit", summary="The audit trail (admin: all; institution admin: own institution)", tag="audit",
          capability=Capability.READ_AUDIT_TRAIL, query=ListQuery, response=list[responses.AuditTrailOut])
def audit_trail(actor: Actor, query: ListQuery):
    return [
        {"id": e.id, "at": e.at.isoformat(), "actor": e.actor_name, "role": e.actor_role, "action": e.action,
         "entity": e.entity, "entity_id": e.entity_id, "before": e.before, "after": e.after}
        for e in audit.entries(db.session, actor, query.limit)
    ]
