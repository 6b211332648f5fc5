import dataclasses
from typing import Any, cast

from flask import current_app

from server import sockets
from server.api import responses
from server.api.blueprint import bp
from server.api.framework import endpoint, parse_form_json, read_uploads
from server.api.schemas import (
    AttestIn,
    ChallengeIn,
    CheckinMeta,
    FaceRefusalIn,
    HeartbeatIn,
    NonfaceCheckinIn,
    ReviewIn,
    SpotCheckIn,
)
from server.clock import utc_now
from server.config import LocationSettings
from server.extensions import db
from server.permissions import INSTITUTION_SIDE, Capability
from server.services import checkin, ledger, nonface, presence, review, room_codes
from server.services.scope import Actor


def _ctx() -> checkin.Context:
    app = current_app
    return checkin.Context(recognizer=app.extensions["hourproof_recognizer"](),
                           recognition_settings=app.config["RECOGNITION_SETTINGS"],
                           store=app.extensions["hourproof_evidence"],
                           settings=app.config.get("CHECKIN_SETTINGS", checkin.CheckinSettings()),
                           face_pool=app.extensions.get("hourproof_face_pool"),
                           face_index=app.extensions.get("hourproof_face_index"),
                           location=app.config.get("LOCATION_SETTINGS") or LocationSettings(),
                           room_code_key=app.config["SECRET_KEY"])


@endpoint(bp, "POST", "/lessons/<int:lesson_id>/challenge",
          summary="Start a check-in/out or spot-check answer: a one-use nonce and the liveness motions to perform",
          tag="check-in", capability=Capability.ATTEND_LESSONS, body=ChallengeIn, status=201, response=responses.ChallengeOut)
def challenge(actor: Actor, lesson_id: int, body: ChallengeIn):
    # CHALLENGE_RNG: tests pass a seeded Random to get the motions a real video shows.
    pool = current_app.extensions.get("hourproof_face_pool")
    if pool is not None:
        pool.start()  # the burst follows within seconds: have the face processes ready for it
    rng_factory = current_app.config.get("CHALLENGE_RNG")
    limits = current_app.config.get("CHECKIN_SETTINGS", checkin.CheckinSettings())
    if current_app.config.get("CHALLENGES_PER_MINUTE"):
        limits = dataclasses.replace(limits, challenges_per_minute=current_app.config["CHALLENGES_PER_MINUTE"])
    row = checkin.issue_challenge(db.session, actor, lesson_id, body.purpose, body.spot_check_id, utc_now(),
                                  current_app.config["RECOGNITION_SETTINGS"], rng_factory() if rng_factory else None,
                                  limits)
    return checkin.challenge_json(row)


@endpoint(bp, "POST", "/lessons/<int:lesson_id>/events",
          summary=("Check in, check out or answer a spot check: frames + location + device + nonce + idempotency"
                   " key; a retry with the same key returns the first answer"),
          tag="check-in", capability=Capability.ATTEND_LESSONS,
          multipart={"meta": "CheckinMeta as a JSON string", "frames": "5-30 JPEG/PNG/WebP frames of the burst"},
          status=201, also=(200,), response=responses.EventAnswerOut)  # 201: a new event; 200: a retry with the same key, the first answer
def submit_event(actor: Actor, lesson_id: int):
    meta: CheckinMeta = parse_form_json(CheckinMeta, "meta")
    s = current_app.config.get("CHECKIN_SETTINGS", checkin.CheckinSettings())
    frames = [data for _, data in read_uploads("frames", s.max_frame_bytes)]
    loc = meta.location
    sub = checkin.Submission(
        kind=meta.kind, nonce=meta.nonce, idempotency_key=meta.idempotency_key, device_id=meta.device.device_id,
        camera_label=meta.device.camera_label, lat=loc.lat if loc else None, lon=loc.lon if loc else None,
        accuracy_m=loc.accuracy_m if loc else None, datum=loc.datum if loc else "wgs84", frames=frames,
        spot_check_id=meta.spot_check_id, fix_at=loc.fix_at if loc else None, user_agent=meta.device.user_agent,
        frame_times=meta.frame_times, room_code=meta.room_code,
    )
    status, answer = checkin.submit(db.session, actor, lesson_id, sub, utc_now(), _ctx())
    if status == 201:  # a new event (a replayed answer was published the first time)
        sockets.publish_event(answer["event_id"])
    return answer, status


@endpoint(bp, "GET", "/lessons/<int:lesson_id>/room-code",
          summary="The room code (课堂码) the teacher's screen shows now and when it changes (offline lessons that require one)",
          tag="check-in", capability=Capability.SHOW_ROOM_CODES, response=responses.RoomCodeOut)
def room_code(actor: Actor, lesson_id: int):
    s = current_app.config.get("CHECKIN_SETTINGS", checkin.CheckinSettings())
    return room_codes.for_teacher(db.session, actor, lesson_id, utc_now(), current_app.config["SECRET_KEY"],
                                  s.open_before, s.close_after)


@endpoint(bp, "POST", "/lessons/<int:lesson_id>/heartbeat", summary="Online presence: the page is open (visible or hidden)",
          tag="check-in", capability=Capability.ATTEND_LESSONS, body=HeartbeatIn, response=responses.HeartbeatOut)
def heartbeat(actor: Actor, lesson_id: int, body: HeartbeatIn):
    # HeartbeatIn takes the three together or none of them
    player = None if body.playback is None or body.position_s is None or body.rate is None else (
        body.position_s, body.playback, body.rate, body.live_lag_s)
    now = utc_now()
    answer = presence.heartbeat(db.read_engine, current_app.extensions["hourproof_heartbeats"], actor, lesson_id,
                                body.visible, now, player)
    # stored: the roll hears of a change of status (sockets.PresencePush; as the fast path does)
    current_app.extensions["hourproof_presence_push"].note(lesson_id, actor.trainee_id, body.visible, body.playback,
                                                           body.position_s, now)
    return answer


@endpoint(bp, "GET", "/lessons/<int:lesson_id>/spot-checks/pending", summary="Spot checks waiting for my answer",
          tag="check-in", capability=Capability.ATTEND_LESSONS, response=list[responses.PendingOut])
def pending(actor: Actor, lesson_id: int):
    now = utc_now()
    checks = presence.pending_spot_checks(db.session, actor, lesson_id, now)
    # Where the region sets a miss budget, what missing one costs (the phone says so when it is missed).
    budget = presence.miss_budget_json(db.session, actor, lesson_id, now) if checks else None
    return [presence.spot_check_json(c, now) | {"miss_budget": budget} for c in checks]


@endpoint(bp, "POST", "/lessons/<int:lesson_id>/spot-checks", summary="Trigger a spot check now (teacher, supervisor)",
          tag="check-in", capability=Capability.TRIGGER_SPOT_CHECKS, body=SpotCheckIn, status=201,
          response=list[responses.TriggerSpotCheckOut])
def trigger_spot_check(actor: Actor, lesson_id: int, body: SpotCheckIn):
    now = utc_now()
    origin = "teacher" if actor.role in INSTITUTION_SIDE else "supervisor"
    checks = presence.issue_spot_checks(db.session, actor, lesson_id, body.trainee_ids, origin, now)
    sockets.publish_spot_checks(db.session, checks)
    return [presence.spot_check_json(c, now) | {"trainee_id": c.trainee_id} for c in checks]


@endpoint(bp, "GET", "/enrollments/<int:enrollment_id>/ledger",
          summary="学时台账: raw / verified / credited, offline / online, with the reasons minutes were not credited",
          tag="ledger", response=responses.EnrollmentLedgerOut)
def enrollment_ledger(actor: Actor, enrollment_id: int):
    return ledger.enrollment_ledger(db.session, actor, enrollment_id, utc_now())


@endpoint(bp, "GET", "/classes/<int:class_id>/review-queue", summary="Flagged events waiting for a decision",
          tag="review", capability=Capability.REVIEW_EVENTS, response=list[responses.ReviewQueueOut])
def review_queue(actor: Actor, class_id: int):
    return [checkin.event_answer(e) | {"trainee_id": e.trainee_id, "trainee_name": name}
            for e, name in review.queue_with_names(db.session, actor, class_id)]


@endpoint(bp, "POST", "/events/<int:event_id>/review", summary="Approve or reject an event; the decision is a new event",
          tag="review", capability=Capability.REVIEW_EVENTS, body=ReviewIn, status=201, response=responses.DecideOut)
def decide(actor: Actor, event_id: int, body: ReviewIn):
    e = review.decide(db.session, actor, event_id, body.decision, body.reason, utc_now())
    sockets.publish_event(e.id)
    # `review`: the decision as the dashboard shows it beside the event (who by name, when, why),
    # so the reviewer's row can say it at once.
    return {"event_id": e.id, "decides_event_id": e.decides_event_id, "decision": e.verdict, "at": e.at.isoformat(),
            "seq": e.seq, "hash": e.hash, "review": review.shown(db.session, e)}


# --- without a face (services/nonface.py) ------------------------------------------------------


def _place_ctx() -> checkin.Context:
    """What the checks without a face need: no recognizer (loading one takes seconds, and no face
    is processed on this path)."""
    app = current_app
    return checkin.Context(recognizer=cast(Any, None), recognition_settings=app.config["RECOGNITION_SETTINGS"],
                           store=app.extensions["hourproof_evidence"],
                           settings=app.config.get("CHECKIN_SETTINGS", checkin.CheckinSettings()),
                           location=app.config.get("LOCATION_SETTINGS") or LocationSettings(),
                           room_code_key=app.config["SECRET_KEY"])


def _place(kind: str, key: str, device_id: str, user_agent: str | None, loc, room_code: str | None,
           spot_check_id: int | None = None) -> checkin.Submission:
    return checkin.Submission(
        kind=kind, nonce="", idempotency_key=key, device_id=device_id, camera_label=None,
        lat=loc.lat if loc else None, lon=loc.lon if loc else None, accuracy_m=loc.accuracy_m if loc else None,
        datum=loc.datum if loc else "wgs84", frames=[], spot_check_id=spot_check_id, fix_at=loc.fix_at if loc else None,
        user_agent=user_agent, room_code=room_code)


@endpoint(bp, "GET", "/me/face-refusal",
          summary="Whether my face consent is in force or I refused face processing, and the refusal text the phone shows",
          tag="check-in", capability=Capability.ATTEND_LESSONS, response=responses.FaceRefusalOut)
def face_refusal(actor: Actor):
    return nonface.status(db.session, actor)


@endpoint(bp, "POST", "/me/face-refusal",
          summary="Refuse face processing on the phone (recorded with the date and the text shown); check-ins then go through the teacher",
          tag="check-in", capability=Capability.ATTEND_LESSONS, body=FaceRefusalIn, response=responses.FaceRefusalOut)
def refuse_face(actor: Actor, body: FaceRefusalIn):
    return nonface.record_refusal(db.session, actor, body.text_version, utc_now())


@endpoint(bp, "POST", "/lessons/<int:lesson_id>/nonface-events",
          summary=("Check in, check out or answer a spot check without a face (a trainee who refused face processing):"
                   " location + room code from the bound phone; the teacher then confirms the trainee present"),
          tag="check-in", capability=Capability.ATTEND_LESSONS, body=NonfaceCheckinIn, status=201, also=(200,),
          response=responses.NonfaceRequestOut)  # 201: a new request; 200: a retry with the same key
def submit_nonface(actor: Actor, lesson_id: int, body: NonfaceCheckinIn):
    sub = _place(body.kind, body.idempotency_key, body.device.device_id, body.device.user_agent, body.location,
                 body.room_code, body.spot_check_id)
    status, answer = nonface.submit_request(db.session, actor, lesson_id, sub, utc_now(), _place_ctx())
    return answer, status


@endpoint(bp, "POST", "/lessons/<int:lesson_id>/nonface-requests/<int:request_id>/attest",
          summary=("确认本人在场: the lesson's teacher, on the teacher's own device in the room (its fix and the room code"
                   " checked), confirms a trainee who refused face processing present; the confirmation is the event"),
          tag="check-in", capability=Capability.ATTEST_PRESENCE, body=AttestIn, status=201, also=(200,),
          response=responses.EventAnswerOut)  # 201: the event; 200: a second tap, the first event
def attest_presence(actor: Actor, lesson_id: int, request_id: int, body: AttestIn):
    place = _place("check_in", "attest", "teacher", None, body.location, body.room_code)
    status, answer = nonface.attest(db.session, actor, lesson_id, request_id, place, utc_now(), _place_ctx())
    if status == 201:
        sockets.publish_event(answer["event_id"])
    return answer, status
