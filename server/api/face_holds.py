"""人社's review of held face enrolments ("one face, one identity"), their enrolment photos, and a
class's recent template changes."""

from flask import current_app

from server.api import responses
from server.api.blueprint import bp
from server.api.framework import endpoint, private_image
from server.api.schemas import FaceHoldDecisionIn, TemplateChangesQuery
from server.clock import utc_now
from server.extensions import db
from server.permissions import Capability
from server.services import face_holds
from server.services.scope import Actor


@endpoint(bp, "GET", "/face-holds",
          summary=("Face enrolments held for review (another trainee's face, or not the trainee's old one), each with "
                   "the identities it resembles and both sides' enrolment photos"),
          tag="review", capability=Capability.REVIEW_FACE_HOLDS, response=list[responses.ListFaceHoldsOut])
def list_face_holds(actor: Actor):
    return face_holds.holds(db.session, actor)


@endpoint(bp, "POST", "/face-holds/<int:template_id>/decision",
          summary="Approve (the template comes into force) or reject a held face enrolment, once, with a reason",
          tag="review", capability=Capability.REVIEW_FACE_HOLDS, body=FaceHoldDecisionIn, status=201, response=responses.DecideFaceHoldOut)
def decide_face_hold(actor: Actor, template_id: int, body: FaceHoldDecisionIn):
    d = face_holds.decide(db.session, actor, template_id, body.decision, body.reason, utc_now(),
                          current_app.extensions["hourproof_face_index"])
    return {"id": d.id, "template_id": d.template_id, "decision": d.decision, "reason": d.reason, "at": d.at.isoformat()}


@endpoint(bp, "GET", "/face-templates/<int:template_id>/photos/<int:index>",
          summary="One enrolment photo of a face template, for the review of held enrolments (access is audited)",
          tag="review", capability=Capability.REVIEW_FACE_HOLDS, produces="image/*")
def face_template_photo(actor: Actor, template_id: int, index: int):
    data = face_holds.view_photo(db.session, actor, template_id, index, current_app.extensions["hourproof_evidence"], utc_now())
    return private_image(data)


@endpoint(bp, "GET", "/classes/<int:class_id>/template-changes",
          summary="Face templates enrolled for the class's trainees lately (default 30 days): replacements, holds, decisions",
          tag="live", capability=Capability.WATCH_LIVE, query=TemplateChangesQuery, response=list[responses.TemplateChangesOut])
def template_changes(actor: Actor, class_id: int, query: TemplateChangesQuery):
    return face_holds.recent_template_changes(db.session, actor, class_id, query.since, utc_now())
