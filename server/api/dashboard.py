"""The live dashboard's reads: snapshot (+ events since a cursor), a lesson's roll, an event's
frames, and a flagged event's review context with the enrolment photos it concerns (biometric:
scoped and audited)."""

from flask import current_app

from server.api import responses
from server.api.blueprint import bp
from server.api.framework import endpoint, private_image
from server.api.schemas import LiveQuery
from server.clock import utc_now
from server.extensions import db
from server.permissions import Capability
from server.services import dashboard, review_context
from server.services.scope import Actor


@endpoint(bp, "GET", "/live/snapshot",
          summary=("Classes in session now with their counts, missed spot checks, and the events"
                   " after a cursor (reconnect without losing events)"),
          tag="live", capability=Capability.WATCH_LIVE, query=LiveQuery, response=responses.SnapshotOut)
def snapshot(actor: Actor, query: LiveQuery):
    return dashboard.snapshot(db.session, actor, utc_now(), query.since, query.institution_id)


@endpoint(bp, "GET", "/lessons/<int:lesson_id>/roll",
          summary="A lesson's roll: each trainee's state and the evidence of their latest event, with the venue's fence",
          tag="live", capability=Capability.WATCH_LIVE, response=responses.RollOut)
def roll(actor: Actor, lesson_id: int):
    return dashboard.roll(db.session, actor, lesson_id, utc_now())


@endpoint(bp, "GET", "/events/<int:event_id>/frames/<int:index>",
          summary="One frame of an event's burst (JPEG/PNG/WebP as sent; access is audited)",
          tag="live", capability=Capability.VIEW_FRAMES, produces="image/*")
def event_frame(actor: Actor, event_id: int, index: int):
    data = dashboard.view_frame(db.session, actor, event_id, index, current_app.extensions["hourproof_evidence"], utc_now())
    return private_image(data)


@endpoint(bp, "GET", "/events/<int:event_id>/context",
          summary=("What a reviewer decides an event with: reasons and clauses, how many frames and enrolment photos,"
                   " the earlier events a replay flag matched, the other identity a 1:N flag found, the fix and the fence"
                   " (no image)"),
          tag="review", capability=Capability.REVIEW_EVENTS, response=responses.EventContextOut)
def event_context(actor: Actor, event_id: int):
    return review_context.context(db.session, actor, event_id, utc_now())


@endpoint(bp, "GET", "/events/<int:event_id>/enrolment-photos/<int:trainee_id>/<int:index>",
          summary=("One enrolment photo of the event's trainee or of the other identity its 1:N check found"
                   " (access is audited)"),
          tag="review", capability=Capability.REVIEW_EVENTS, produces="image/*")
def event_enrolment_photo(actor: Actor, event_id: int, trainee_id: int, index: int):
    data = review_context.view_enrolment_photo(db.session, actor, event_id, trainee_id, index,
                                               current_app.extensions["hourproof_evidence"], utc_now())
    return private_image(data)
