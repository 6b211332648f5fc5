"""What a reviewer needs beside a flagged event to decide it: the reasons with their clauses, how
many frames and enrolment photos there are to look at, the earlier frames a replay flag matched,
the other identity a 1:N flag found, and the fix drawn against the fence.

The context itself holds no image (ids and counts only): every photo is fetched on request through
an endpoint that checks scope and records the view (PIPL), as the event's frames are
(dashboard.view_frame). The enrolment photos served here are only those of the two people the
event is about: its trainee and, for a 1:N flag, the other identity the check-in found.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.adapters.filestore import EvidenceStore
from server.errors import ApiError
from server.models import Enrollment, Event, FaceTemplate, FrameFingerprint, Lesson, Trainee, TrainingClass, Venue
from server.permissions import Capability
from server.services import audit, dashboard, faces
from server.services.scope import Actor, classes_query, require, visible_class

#: As many earlier fingerprints as the check-in compared with (checkin.CheckinSettings.replay_window):
#: the review looks where the check-in looked.
REPLAY_WINDOW = 600
#: 1:N outcomes that made the other identity part of the decision (an accepted 1:N names nobody).
ROSTER_FOUND = ("review", "refuse")


def context(session: Session, actor: Actor, event_id: int, now: datetime) -> dict[str, Any]:
    """The flagged event's review context (no image bytes; see the module's docstring)."""
    require(actor, Capability.REVIEW_EVENTS)
    event, _cls = _event(session, actor, event_id)
    ev = event.evidence or {}
    lesson = session.get(Lesson, event.lesson_id) if event.lesson_id else None
    venue = session.get(Venue, lesson.venue_id) if lesson is not None and lesson.venue_id else None
    location = ev.get("location")
    own = _template_at(session, event.trainee_id, event.at, (ev.get("face") or {}).get("template_id"))
    return {
        "event_id": event.id, "kind": event.kind, "verdict": event.verdict, "at": event.at.isoformat(),
        "trainee": {"id": event.trainee_id, "name": session.scalar(select(Trainee.name).where(Trainee.id == event.trainee_id))},
        "reasons": [{"code": r.get("code"), "clause": r.get("clause"), "detail": r.get("detail")} for r in event.reasons or []],
        "frames": len(ev.get("frames") or []),
        "enrolment_photos": _photo_count(own),
        "replay": _replay(session, actor, event),
        "other": _other(session, actor, event),
        "fix": dashboard.fix_in_venue_datum(location, venue) if location and venue else None,
        "fence": dashboard.venue_fence(venue) if venue is not None else None,
        "fence_verdict": ev.get("fence"),
        "review": dashboard.reviews_of(session, [event.id]).get(event.id),
    }


def view_enrolment_photo(session: Session, actor: Actor, event_id: int, trainee_id: int, index: int,
                         store: EvidenceStore, now: datetime) -> bytes:
    """One enrolment photo of the event's trainee, or of the other identity its 1:N check found,
    for a reviewer of the event's class; the look is recorded (who, which event, whose photo)."""
    require(actor, Capability.REVIEW_EVENTS)
    event, cls = _event(session, actor, event_id)
    ev = event.evidence or {}
    if trainee_id == event.trainee_id:
        template = _template_at(session, trainee_id, event.at, (ev.get("face") or {}).get("template_id"))
    elif trainee_id == _other_id(event):
        # Whoever may review the event sees whom its face resembled only while that person is in
        # a class the reviewer sees (a classmate, as the check-in compared with).
        if _visible_trainee(session, actor, trainee_id) is None:
            raise ApiError(404, "trainee_not_found", f"学员 {trainee_id} 不存在或不在您的管辖范围内")
        template = _template_at(session, trainee_id, event.at, None)
    else:  # any other trainee's face is not this review's business
        raise ApiError(404, "photo_not_found", f"记录 {event_id} 不涉及学员 {trainee_id} 的登记照片")
    hashes = [] if template is None or template.erased_at is not None else list(template.photo_hashes)
    if not 0 <= index < len(hashes):
        raise ApiError(404, "photo_not_found", f"学员 {trainee_id} 没有第 {index + 1} 张登记照片")
    try:
        data = store.get(hashes[index])
    except FileNotFoundError:
        raise ApiError(410, "photo_erased", "该照片已删除（学员撤回了同意，或已过保存期限），无法查看") from None
    audit.record(session, actor, "evidence.view_enrolment_photo", "event", event.id, None,
                 {"trainee_id": trainee_id, "template_id": template.id if template else None, "photo": index},
                 institution_id=cls.institution_id)
    session.commit()
    return data


# --- helpers ------------------------------------------------------------------------------------

def _event(session: Session, actor: Actor, event_id: int) -> tuple[Event, TrainingClass]:
    event = session.get(Event, event_id)
    if event is None or event.kind == "review_decision":
        raise ApiError(404, "event_not_found", f"记录 {event_id} 不存在")
    return event, visible_class(session, actor, event.class_id)


def _hamming(a: str, b: str) -> int:
    # recognition.images.hamming, without importing the image stack (numpy, OpenCV) into a read.
    return (int(a, 16) ^ int(b, 16)).bit_count()


def _template_at(session: Session, trainee_id: int | None, at: datetime, template_id: int | None) -> FaceTemplate | None:
    """The template the check-in compared with: the one its evidence names; else (a classmate's,
    which the evidence does not name) the newest in force created by then; else the one in force now."""
    if trainee_id is None:
        return None
    if template_id is not None:
        named = session.get(FaceTemplate, template_id)
        if named is not None and named.trainee_id == trainee_id:
            return named
    then = session.scalar(select(FaceTemplate).where(FaceTemplate.trainee_id == trainee_id, faces.in_force(),
                                                     FaceTemplate.created_at <= at).order_by(FaceTemplate.id.desc()).limit(1))
    return then or faces.active_template(session, trainee_id)


def _photo_count(template: FaceTemplate | None) -> int:
    return 0 if template is None or template.erased_at is not None else len(template.photo_hashes)


def _visible_trainee(session: Session, actor: Actor, trainee_id: int) -> Trainee | None:
    """The trainee when enrolled in a class the actor sees (scope.visible_trainee, without the 404)."""
    return session.scalar(select(Trainee).join(Enrollment, Enrollment.trainee_id == Trainee.id).where(
        Trainee.id == trainee_id, Enrollment.class_id.in_(classes_query(actor).with_only_columns(TrainingClass.id)))
        .limit(1))


def _other_id(event: Event) -> int | None:
    roster = ((event.evidence or {}).get("face") or {}).get("class_1n") or {}
    near = roster.get("nearest_other") or {}
    if roster.get("outcome") not in ROSTER_FOUND or near.get("trainee_id") is None:
        return None
    return int(near["trainee_id"])


def _other(session: Session, actor: Actor, event: Event) -> dict[str, Any] | None:
    """For a 1:N flag: whom the face also resembled, how near, and whether in the same class."""
    other_id = _other_id(event)
    if other_id is None:
        return None
    roster = (event.evidence or {})["face"]["class_1n"]
    person = _visible_trainee(session, actor, other_id)
    same_class = session.scalar(select(Enrollment.id).where(Enrollment.class_id == event.class_id,
                                                            Enrollment.trainee_id == other_id).limit(1)) is not None
    template = _template_at(session, other_id, event.at, None) if person is not None else None
    return {"trainee_id": other_id, "name": person.name if person is not None else None, "visible": person is not None,
            "same_class": same_class, "outcome": roster.get("outcome"), "distance": roster["nearest_other"].get("distance"),
            "claimed_distance": roster.get("claimed_distance"), "enrolment_photos": _photo_count(template)}


def _replay(session: Session, actor: Actor, event: Event) -> dict[str, Any] | None:
    """For a replay flag: which of this burst's frames were seen before, and in which earlier
    events (and which of their frames). The check-in recorded only the positions of its own frames,
    so the earlier ones are found again from the stored fingerprints, as the check-in found them.
    A frame that matched only as a mirror image is not found again (mirror fingerprints are never
    stored): it is counted in ``unmatched``."""
    ev = event.evidence or {}
    replay = ev.get("replay")
    if not replay or not replay.get("frames_seen_before"):
        return None
    bits = int(replay.get("max_bits") or 8)
    prints = {f["index"]: f["fingerprint"] for f in (ev.get("face") or {}).get("frames") or [] if f.get("fingerprint")}
    seen = [i - 1 for i in replay["frames_seen_before"]]  # recorded from 1, as the trainee's message counts
    earlier = session.execute(select(FrameFingerprint.fingerprint, FrameFingerprint.event_id)
                              .where(FrameFingerprint.trainee_id == event.trainee_id, FrameFingerprint.event_id < event.id)
                              .order_by(FrameFingerprint.id.desc()).limit(REPLAY_WINDOW)).all()
    hits: dict[int, list[tuple[int, str]]] = {}  # earlier event id -> (this frame, the earlier fingerprint)
    unmatched = 0
    for i in seen:
        fp = prints.get(i)
        near = [(old_event, old_fp) for old_fp, old_event in earlier if fp and _hamming(fp, old_fp) <= bits]
        if not near:
            unmatched += 1
        for old_event, old_fp in near:
            hits.setdefault(old_event, []).append((i, old_fp))
    matches = []
    for old in session.scalars(select(Event).where(Event.id.in_(hits)).order_by(Event.id)):
        old_prints = [(f["index"], f["fingerprint"]) for f in ((old.evidence or {}).get("face") or {}).get("frames") or []
                      if f.get("fingerprint")]
        old_frames = sorted({j for _, old_fp in hits[old.id] for j, fp in old_prints if _hamming(fp, old_fp) <= bits})
        # An earlier event of another district's class is named by id only: its frames are not
        # this reviewer's to see (view_frame answers 404), so the panel offers none.
        visible = session.scalar(classes_query(actor).where(TrainingClass.id == old.class_id)) is not None
        matches.append({"event_id": old.id, "kind": old.kind, "at": old.at.isoformat(), "visible": visible,
                        "frames": old_frames, "this_frames": sorted({i for i, _ in hits[old.id]})})
    return {"frames_seen_before": seen, "max_bits": bits, "matches": matches, "unmatched": unmatched}
