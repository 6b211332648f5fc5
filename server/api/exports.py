"""Exports: start a background export (class, subsidy with seal, JS filing pack, certificates,
district roll-up), poll its progress, download the signed bundle; the deployment's public key;
and what the JS filing records (assessment results, certificate numbers, group photos)."""
from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Literal
from urllib.parse import quote

from flask import Flask, current_app, send_file
from pydantic import Field

from server.api import responses
from server.api.blueprint import bp
from server.api.framework import endpoint, read_uploads
from server.api.schemas import PlausibleDate, Strict
from server.clock import utc_now
from server.exports import filing, signing
from server.exports import service as svc
from server.extensions import db
from server.permissions import Capability
from server.services.scope import Actor


class ClassExportIn(Strict):
    #: class: 考勤表 + hour log + decisions (+ amendments after a seal); subsidy: the same, and seals
    #: the hours; js_filing: attendance sheet, passing scores, group photos; certificates: the PDF
    kind: Literal["class", "subsidy", "js_filing", "certificates"] = "class"


class AssessmentIn(Strict):
    theory_score: Annotated[int, Field(ge=0, le=100)]
    practice_score: Annotated[int, Field(ge=0, le=100)]
    passed: bool
    assessed_on: PlausibleDate


class CertificateIn(Strict):
    #: The number the province generated for this trainee (js 2.2)
    number: Annotated[str, Field(min_length=4, max_length=64, pattern=r"^[0-9A-Za-z\-]+$")]
    issued_on: PlausibleDate



def _settings():
    return current_app.config["HOURPROOF_SETTINGS"]


def _keep() -> timedelta:
    return timedelta(days=_settings().export_keep_days)


@endpoint(bp, "POST", "/classes/<int:class_id>/exports", summary="Start an export of a class (signed bundle; kind subsidy seals the hours)",
          tag="exports", capability=Capability.EXPORT_CLASSES, body=ClassExportIn, status=202, response=responses.ExportJobOut)
def start_class_export(actor: Actor, class_id: int, body: ClassExportIn):
    now = utc_now()
    job = svc.create_job(db.session, actor, kind=body.kind, class_id=class_id, now=now, data_dir=_settings().data_dir)
    svc.start_job(_app(), job, actor, now)
    return svc.job_json(job, now, _keep())


@endpoint(bp, "POST", "/districts/<int:district_id>/exports", summary="Start a district roll-up export (supervisors, reviewers)",
          tag="exports", capability=Capability.EXPORT_DISTRICTS, status=202, response=responses.ExportJobOut)
def start_district_export(actor: Actor, district_id: int):
    now = utc_now()
    job = svc.create_job(db.session, actor, kind="district", district_id=district_id, now=now, data_dir=_settings().data_dir)
    svc.start_job(_app(), job, actor, now)
    return svc.job_json(job, now, _keep())


@endpoint(bp, "GET", "/export-jobs/<int:job_id>", summary="An export's progress (done of total trainees) and, when done, its download",
          tag="exports", capability=Capability.EXPORT_CLASSES, response=responses.ExportJobOut)
def get_export_job(actor: Actor, job_id: int):
    return svc.job_json(svc.visible_job(db.session, actor, job_id), utc_now(), _keep())


@endpoint(bp, "GET", "/export-jobs/<int:job_id>/download",
          summary="Download a finished export (zip with manifest.json and its Ed25519 signature)",
          tag="exports", capability=Capability.EXPORT_CLASSES, produces="application/zip")
def download_export(actor: Actor, job_id: int):
    job = svc.visible_job(db.session, actor, job_id)
    path = svc.job_file(_settings().data_dir, job, utc_now(), _keep())
    name = svc.download_name(job)
    resp = send_file(path, mimetype="application/zip", as_attachment=True, download_name=name)
    # The Chinese name as RFC 5987's filename* (what browsers use), a plain ASCII one for the rest.
    resp.headers["Content-Disposition"] = (f'attachment; filename="hourproof-export-{job.id}.zip"; '
                                           f"filename*=UTF-8''{quote(name, safe='')}")
    return resp


@endpoint(bp, "GET", "/signing-key", summary="The deployment's Ed25519 public key that signs export bundles", tag="exports",
          public=True, response=responses.SigningKeyOut)
def signing_key():
    return signing.describe(signing.load_or_create(_settings().data_dir).public_key())


@endpoint(bp, "POST", "/enrollments/<int:enrollment_id>/assessment", summary="Record a trainee's assessment result (结业考核)",
          tag="exports", capability=Capability.RECORD_RESULTS, body=AssessmentIn, status=201, response=responses.RecordAssessmentOut)
def record_assessment(actor: Actor, enrollment_id: int, body: AssessmentIn):
    a = filing.record_assessment(db.session, actor, enrollment_id, body.theory_score, body.practice_score, body.passed,
                                 body.assessed_on, utc_now())
    return {"id": a.id, "enrollment_id": a.enrollment_id, "theory_score": a.theory_score, "practice_score": a.practice_score,
            "passed": a.passed, "assessed_on": a.assessed_on.isoformat()}


@endpoint(bp, "POST", "/enrollments/<int:enrollment_id>/training-certificate",
          summary="Record the training certificate number the province generated (after a passed assessment)",
          tag="exports", capability=Capability.RECORD_RESULTS, body=CertificateIn, status=201,
          response=responses.RecordTrainingCertificateOut)
def record_training_certificate(actor: Actor, enrollment_id: int, body: CertificateIn):
    c = filing.record_training_certificate(db.session, actor, enrollment_id, body.number, body.issued_on, utc_now())
    return {"id": c.id, "enrollment_id": c.enrollment_id, "number": c.number, "issued_on": c.issued_on.isoformat()}


@endpoint(bp, "POST", "/lessons/<int:lesson_id>/group-photos",
          summary="Upload an offline lesson's group photo; faces matched to the roster",
          tag="exports", capability=Capability.UPLOAD_GROUP_PHOTOS, multipart={"photo": "a JPEG or PNG group photo"}, status=201,
          response=responses.UploadGroupPhotoOut)
def upload_group_photo(actor: Actor, lesson_id: int):
    from server.services.faces import MAX_PHOTO_BYTES

    uploads = read_uploads("photo", MAX_PHOTO_BYTES)
    app = current_app
    g = filing.upload_group_photo(db.session, actor, lesson_id, uploads[0][1] if uploads else b"",
                                  app.extensions["hourproof_recognizer"], app.config["RECOGNITION_SETTINGS"],
                                  app.extensions["hourproof_evidence"], utc_now())
    # Checked against the lesson's check-ins at once: a face in the photo with no check-in (or the
    # reverse) goes to the class's watchers as an alert, and back to the uploader.
    cross = filing.group_photo_cross_check(db.session, g)
    if cross:
        from server.sockets import publish_cross_checks

        publish_cross_checks(db.session, g, cross)
    return filing.group_photo_json(g, cross)


def _app() -> Flask:
    """The app itself, not the context-local proxy: the export runs in a thread after the request."""
    return current_app._get_current_object()  # type: ignore[attr-defined]  # werkzeug's LocalProxy
