"""The live dashboard's reads: snapshot (+ events since a cursor), a lesson's roll, and an
event's frames (biometric: scoped and audited)."""
from datetime import UTC, datetime

from flask import Response, current_app

from server.api.blueprint import bp
from server.api.framework import endpoint
from server.api.schemas import LiveQuery
from server.errors import ApiError
from server.extensions import db
from server.models import Event, Role
from server.services import audit, dashboard, retention
from server.services.scope import Actor, visible_class

STAFF = (Role.teacher, Role.district_supervisor, Role.admin, Role.institution_admin, Role.city_reviewer)
#: who may look at a trainee's check-in frames (biometric data): the supervisors and reviewers who
#: judge evidence, the administrator, and the institution's staff for their own classes.
FRAME_VIEWERS = STAFF


def _now() -> datetime:
    return datetime.now(UTC)


@endpoint(bp, "GET", "/live/snapshot", summary="Classes in session now with their counts, missed spot checks, and the events after a cursor (reconnect without losing events)",
          tag="live", roles=STAFF, query=LiveQuery)
def snapshot(actor: Actor, query: LiveQuery):
    return dashboard.snapshot(db.session, actor, _now(), query.since, query.institution_id)


@endpoint(bp, "GET", "/lessons/<int:lesson_id>/roll", summary="A lesson's roll: each trainee's state and the evidence of their latest event, with the venue's fence",
          tag="live", roles=STAFF)
def roll(actor: Actor, lesson_id: int):
    return dashboard.roll(db.session, actor, lesson_id)


@endpoint(bp, "GET", "/events/<int:event_id>/frames/<int:index>", summary="One frame of an event's burst (JPEG/PNG/WebP as sent; access is audited)",
          tag="live", roles=FRAME_VIEWERS)
def event_frame(actor: Actor, event_id: int, index: int):
    event = db.session.get(Event, event_id)
    if event is None:
        raise ApiError(404, "event_not_found", f"记录 {event_id} 不存在")
    cls = visible_class(db.session, actor, event.class_id)
    frames = (event.evidence or {}).get("frames") or []
    if not 0 <= index < len(frames):
        raise ApiError(404, "frame_not_found", f"记录 {event_id} 没有第 {index + 1} 帧")
    try:
        data = current_app.extensions["hourproof_evidence"].get(frames[index])
    except FileNotFoundError:  # purged after its keeping period (410), or lost (an integrity problem)
        raise retention.missing_photo_error(db.session, event, frames[index], _now()) from None
    # PIPL: every look at a face photo is on the record (who, which event, which frame).
    audit.record(db.session, actor, "evidence.view_frame", "event", event.id, None, {"frame": index},
                 institution_id=cls.institution_id)
    db.session.commit()
    kind = "image/png" if data[:8] == b"\x89PNG\r\n\x1a\n" else "image/webp" if data[8:12] == b"WEBP" else "image/jpeg"
    return Response(data, mimetype=kind, headers={"Cache-Control": "private, no-store", "X-Content-Type-Options": "nosniff"})
