"""签到 / 签退 / 随机抽查: the server decides, with server time only, whether a trainee was who,
where and when they say. Every check runs inside a guard: an exception in a check makes the
event unverified (flagged for a person to review) with the reason - never verified.

Verdicts: `verified` (every check passed, no fraud signal); `rejected` (a check failed: face,
liveness, fence, time window, nonce...); `flagged` (checks passed or could not be decided, but a
signal needs a person: location uncertain, frames seen before, shared phone, a check error)."""
from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import func, select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session

from policies import geofence
from server.adapters.filestore import EvidenceStore
from server.config import LocationSettings
from server.errors import ApiError
from server.models import (
    Challenge,
    Enrollment,
    Event,
    FaceTemplate,
    FrameFingerprint,
    Lesson,
    LessonMode,
    SpotCheck,
    User,
    Venue,
)
from server.services import chain, room_codes, rules, venue_fences
from server.services.consent import consent_in_force
from server.services.faces import active_template, decided, held_template
from server.services.scope import Actor, trainee_lesson

if TYPE_CHECKING:  # recognition loads numpy and OpenCV (~3 s): only the check-in's face work imports it
    from recognition import RecognitionSettings, Recognizer
    from server.adapters.facepool import FacePool
    from server.services.faceindex import TemplateIndex

PURPOSES = ("check_in", "check_out", "spot_check")
#: Camera labels of software that feeds a video file or a screen in as a camera.
VIRTUAL_CAMERA = re.compile(
    r"\bobs\b|virtual|manycam|xsplit|snap camera|v4l2loopback|e2esoft|vcam|droidcam|iriun|epoccam|camtwist|fake", re.I
)


@dataclass(frozen=True)
class CheckinSettings:
    """Window margins and input limits, with their defaults and why."""

    #: Check-in opens this long before the lesson (trainees arrive early); after the start it is late.
    open_before: timedelta = timedelta(minutes=30)
    #: Check-out is accepted until this long after the end (the lesson may overrun).
    close_after: timedelta = timedelta(minutes=30)
    min_frames: int = 5
    max_frames: int = 30
    max_frame_bytes: int = 2 * 1024 * 1024
    #: Frames whose face fingerprints (recognition.liveness.face_fingerprint) are within this
    #: Hamming distance of one seen before, as sent or mirrored, count as seen before: a replay
    #: re-encoded, cropped, turned a little or relit differs by a median of 4 bits, frames of the
    #: shared clip a second or more apart by at least 10.
    replay_hamming: int = 8
    #: A burst is flagged as replayed when at least this many of its frames were seen before
    #: (one chance coincidence among 20 x 600 comparisons is not a replay; a replay repeats many).
    replay_min_frames: int = 3
    #: How many of the trainee's latest fingerprints a burst is compared against.
    replay_window: int = 600
    #: Challenges a trainee may ask for in one lesson within a minute: without a limit a modified
    #: client asks for hundreds and waits for an easy one.
    challenges_per_minute: int = 3
    #: Time to answer a spot check.
    spot_check_window: timedelta = timedelta(seconds=60)
    #: After this many failed face attempts in one lesson, self-service stops for that lesson: the
    #: trainee goes to the teacher. Without a limit a friend could retry until the one-in-a-
    #: thousand false accept comes up.
    max_face_failures: int = 3
    #: Check-ins this soon after a re-enrolment are flagged for a person (a swapped face would be
    #: used at once).
    template_change_review: timedelta = timedelta(days=7)


@dataclass
class Outcome:
    verdict: str = "verified"
    reasons: list[dict] = field(default_factory=list)
    evidence: dict[str, Any] = field(default_factory=dict)

    def fail(self, code: str, clause: str, detail: str, **extra) -> None:
        self.reasons.append({"code": code, "clause": clause, "detail": detail, **extra})
        self.verdict = "rejected"

    def flag(self, code: str, clause: str, detail: str, **extra) -> None:
        self.reasons.append({"code": code, "clause": clause, "detail": detail, **extra})
        if self.verdict == "verified":
            self.verdict = "flagged"


def _guard(outcome: Outcome, clause: str, name: str, check: Callable[[], object]) -> None:
    """Run one check; an exception inside it flags the event instead of letting it through.

    Except a database error: then the event itself cannot be stored honestly (PostgreSQL has
    aborted the transaction, or the connection is gone), so the whole request fails with nothing
    written - 503, and the phone sends the same request again with the same idempotency key.
    Flagging it would only move the failure to the commit, as an unexplained 500."""
    try:
        check()
    except (ApiError, DBAPIError):
        raise
    except Exception as exc:  # noqa: BLE001 - fail closed on anything
        outcome.flag("check_error", clause, f"{name} 检查出错（{exc.__class__.__name__}），本次记录未核验，将由人工复核",
                     check=name)


# --- challenges ------------------------------------------------------------------------------


def issue_challenge(session: Session, actor: Actor, lesson_id: int, purpose: str, spot_check_id: int | None,
                    now: datetime, recognition_settings, rng=None, limits: CheckinSettings | None = None) -> Challenge:
    import recognition

    limits = limits or CheckinSettings()
    lesson, _cls, _enrollment = trainee_lesson(session, actor, lesson_id)
    recent = session.scalar(select(func.count(Challenge.id)).where(
        Challenge.trainee_id == actor.trainee_id, Challenge.lesson_id == lesson.id,
        Challenge.issued_at > now - timedelta(minutes=1))) or 0
    if recent >= limits.challenges_per_minute:
        raise ApiError(429, "too_many_challenges",
                       f"一分钟内最多开始 {limits.challenges_per_minute} 次核验，请稍等一分钟再点“开始”；"
                       "开始后未完成的核验也计为一次未通过")
    if purpose == "spot_check":
        check = session.get(SpotCheck, spot_check_id) if spot_check_id else None
        if check is None or check.trainee_id != actor.trainee_id or check.lesson_id != lesson.id:
            raise ApiError(404, "spot_check_not_found", "没有待回应的随机抽查")
    challenge = recognition.new_challenge(rng or secrets.SystemRandom(), now, recognition_settings)
    row = Challenge(nonce=challenge.nonce, trainee_id=actor.trainee_id, lesson_id=lesson.id, purpose=purpose,
                    spot_check_id=spot_check_id if purpose == "spot_check" else None, steps=list(challenge.steps),
                    prompts_ms=list(challenge.prompts_ms), issued_at=challenge.issued_at, expires_at=challenge.expires_at)
    session.add(row)
    session.commit()
    return row


def challenge_json(row: Challenge) -> dict:
    from recognition.liveness import STEP_MESSAGES

    return {"nonce": row.nonce, "purpose": row.purpose, "steps": row.steps,
            "instructions": [STEP_MESSAGES[s] for s in row.steps],
            # when to show each instruction, in ms from the first frame of the burst; every frame
            # is sent with its capture time on the same clock (meta.frame_times)
            "prompts_ms": row.prompts_ms or [], "issued_at": row.issued_at.isoformat(),
            "expires_at": row.expires_at.isoformat(), "spot_check_id": row.spot_check_id}


# --- the check-in itself ----------------------------------------------------------------------


@dataclass(frozen=True)
class Submission:
    kind: str
    nonce: str
    idempotency_key: str
    device_id: str
    camera_label: str | None
    lat: float | None
    lon: float | None
    accuracy_m: float | None
    datum: str
    frames: list[bytes]
    spot_check_id: int | None = None
    #: the phone's own time of the fix (the Geolocation API's timestamp): a fix older than the
    #: deployment allows by the server's clock, or none at all, fails an offline check-in
    fix_at: datetime | None = None
    #: each frame's capture time, in ms from the first frame of the burst (the prompts' clock)
    frame_times: list[float] | None = None
    user_agent: str | None = None
    #: the code read off the teacher's screen (课堂码), for a class that requires one
    room_code: str | None = None


@dataclass(frozen=True)
class Context:
    """What the service needs from the app, passed in (no globals): the face backend and settings."""

    recognizer: Recognizer
    recognition_settings: RecognitionSettings
    store: EvidenceStore
    settings: CheckinSettings = CheckinSettings()
    #: when set, liveness runs in the pool's worker processes (dlib holds the GIL)
    face_pool: FacePool | None = None
    #: the deployment's templates: each template's nearest others set its own thresholds
    face_index: TemplateIndex | None = None
    #: what the server trusts of a fix (datums, fix age, accuracy signals): server/config.py
    location: LocationSettings = LocationSettings()
    #: the deployment's SECRET_KEY, from which each lesson's room codes are derived
    room_code_key: str = ""


def submit(session: Session, actor: Actor, lesson_id: int, sub: Submission, now: datetime,
           ctx: Context) -> tuple[int, dict]:
    """Decide and record one event. Returns (HTTP status, answer). A retry with the same
    idempotency key returns the first answer (200) and writes nothing.

    Three phases, so the expensive face work never holds a database lock (on SQLite a held write
    lock would make every other request wait): (1) short reads, (2) face + liveness with no
    transaction open, (3) one short write transaction that claims the nonce, runs the cheap
    checks against the latest state, appends the event to the chain and commits."""
    previous = _by_key(session, actor, sub.idempotency_key)
    if previous is not None:
        return 200, event_answer(previous, replay=True)
    lesson, cls, enrollment = trainee_lesson(session, actor, lesson_id)
    if sub.kind not in PURPOSES:
        raise ApiError(422, "invalid_input", "kind 必须是 check_in、check_out 或 spot_check")
    s = ctx.settings
    if not s.min_frames <= len(sub.frames) <= s.max_frames:
        raise ApiError(422, "wrong_frame_count", f"需要 {s.min_frames}–{s.max_frames} 帧画面，实际 {len(sub.frames)} 帧，请重新拍摄")
    _check_frame_types(sub.frames)
    _check_nonce_is_theirs(session, actor, lesson, sub)
    policy = rules.region(cls.region_code)
    clause = policy.verification_clause
    out = Outcome()
    out.evidence = {"server_time": now.isoformat(), "device": {"device_id": sub.device_id, "camera_label": sub.camera_label,
                                                               "user_agent": sub.user_agent}}

    # (1) reads: consent, then what the face check needs, as plain values (ORM rows expire at the
    # rollback below). Without consent known to be in force no biometric processing happens at
    # all: no face work, and the frames are not kept (PIPL: processing rests on the consent).
    consented = _guard_value(out, clause, "consent", lambda: _consented(session, out, clause, actor))
    face_input = None
    if consented:
        face_input = _guard_value(out, clause, "face_input", lambda: _face_input(session, out, clause, actor, lesson, sub, now, ctx))
    ids = {"lesson": lesson.id, "class": cls.id, "enrollment": enrollment.id}
    needs_room_code = cls.room_code and lesson.mode is LessonMode.offline and sub.kind == "check_in"
    session.rollback()  # end the read transaction before the slow part

    # (2) face + liveness, no transaction open
    liveness = None
    if face_input is not None:
        liveness = _guard_value(out, clause, "face", lambda: _check_face(out, clause, face_input, sub, now, ctx))
    if consented:
        # content-addressed: a rollback leaves no half record
        out.evidence["frames"] = [ctx.store.put(frame) for frame in sub.frames]
    else:
        out.evidence["frames"] = []
        out.evidence["frames_not_kept"] = {"count": len(sub.frames),
                                           "why": "未确认人脸信息处理同意在有效期内：画面未保存，未做人脸比对"}

    # (3) one short write transaction
    session.connection(execution_options={"sqlite_begin": "IMMEDIATE"})
    previous = _by_key(session, actor, sub.idempotency_key)
    if previous is not None:  # the same key won the race while we were computing
        session.rollback()
        return 200, event_answer(previous, replay=True)
    lesson = session.get_one(Lesson, ids["lesson"])
    user = session.scalar(select(User).where(User.trainee_id == actor.trainee_id))
    _guard(out, clause, "device", lambda: _check_device(out, clause, user, sub))
    _guard(out, clause, "window", lambda: _check_window(out, clause, lesson, sub, now, s))
    _guard(out, clause, "nonce", lambda: _use_nonce(session, out, clause, actor, lesson, sub, now))
    spot = _guard_value(out, clause, "spot_check", lambda: _spot_check(session, out, clause, actor, lesson, sub, now, s))
    _guard(out, clause, "location", lambda: _check_location(session, out, clause, actor, lesson, sub, now, ctx.location))
    if needs_room_code:
        _guard(out, clause, "room_code", lambda: _check_room_code(out, clause, lesson, sub, now, ctx.room_code_key))
    _guard(out, clause, "replay", lambda: _check_replay(session, out, clause, actor, liveness, s))
    _guard(out, clause, "shared_device", lambda: _check_shared_device(session, out, clause, actor, lesson, sub))
    if sub.camera_label and VIRTUAL_CAMERA.search(sub.camera_label):
        out.flag("virtual_camera", clause, f"摄像头“{sub.camera_label}”疑似虚拟摄像头，需人工复核")
    try:
        event = chain.append(
            session, chain.NewEvent(kind=sub.kind, class_id=ids["class"], lesson_id=ids["lesson"], enrollment_id=ids["enrollment"],
            trainee_id=actor.trainee_id, actor_id=actor.user_id, at=now, verdict=out.verdict,
            decides_event_id=None, spot_check_id=spot.id if spot else None, reasons=out.reasons,
            evidence=out.evidence, idempotency_key=sub.idempotency_key, device_id=sub.device_id),
        )
        if liveness is not None:
            for fp in dict.fromkeys(liveness.fingerprints):
                session.add(FrameFingerprint(fingerprint=fp, trainee_id=actor.trainee_id, event_id=event.id, at=now))
        session.commit()
    except IntegrityError:
        # The same key raced in from a retry: the first one won; answer with it.
        session.rollback()
        previous = _by_key(session, actor, sub.idempotency_key)
        if previous is None:
            raise
        return 200, event_answer(previous, replay=True)
    return 201, event_answer(event)


@dataclass(frozen=True)
class FaceInput:
    template_bytes: bytes
    template_id: int
    nonce: str
    steps: tuple[str, ...]
    issued_at: datetime
    expires_at: datetime
    #: the newest template of every other trainee of the class (trainee id -> template bytes):
    #: the 1:N a friend's face must lose
    classmates: dict[int, bytes] = field(default_factory=dict)
    #: set when the template in force replaced an earlier one: when it was made
    changed_at: datetime | None = None
    #: failed face attempts already made in this lesson
    failures_before: int = 0
    #: distances to the deployment's nearest other templates (None: not known, strictest thresholds)
    cohort: tuple[float, ...] | None = None
    #: when each step was prompted (ms from the burst's start); empty on a pre-0009 challenge
    prompts_ms: tuple[int, ...] = ()

#: reasons that mean "the face was not the claimed trainee's" (they count towards the attempt limit)
FACE_FAILURES = frozenset({"identity_not_confirmed", "identity_changed_in_burst", "face_closer_to_other", "face_mismatch"})


def _face_input(session: Session, out: Outcome, clause: str, actor: Actor, lesson: Lesson, sub: Submission,
                now: datetime, ctx: Context) -> FaceInput | None:
    """The template and the challenge to judge the motions against; None (with the reason) when
    the face check cannot be run at all. Runs only once consent is known (``_consented``)."""
    template_row = active_template(session, actor.trainee_id)
    if template_row is None:
        if held_template(session, actor.trainee_id) is not None:
            out.fail("face_template_held", clause, "您的人脸登记正在等待人社复核，暂不能自助签到，请联系授课老师")
        else:
            out.fail("no_face_template", clause, "您还没有登记人脸，请联系培训机构采集")
        return None
    s = ctx.settings
    failures = _face_failures(session, actor, lesson, sub.nonce, now)
    if failures >= s.max_face_failures:
        out.flag("face_attempts_exhausted", clause,
                 f"本节课已有 {failures} 次核验未通过或开始后未完成，不能再自助签到：请找授课老师当面核验，本次提交已留存待复核")
        out.evidence["face_failures_before"] = failures
        return None
    challenge = session.scalar(select(Challenge).where(Challenge.nonce == sub.nonce))
    if challenge is None or challenge.trainee_id != actor.trainee_id or challenge.lesson_id != lesson.id:
        return None  # the nonce check in the write phase says why
    return FaceInput(template_row.template, template_row.id, challenge.nonce, tuple(challenge.steps),
                     challenge.issued_at, challenge.expires_at, _classmates(session, actor, lesson),
                     template_row.created_at if template_row.replaces_id is not None else None, failures,
                     _cohort(session, actor, template_row.template, ctx), tuple(challenge.prompts_ms or ()))


def _cohort(session: Session, actor: Actor, template_bytes: bytes, ctx: Context) -> tuple[float, ...] | None:
    """Distances from the trainee's template to the nearest other people's templates in the
    deployment: they set this template's own thresholds (recognition.identity.template_shift).
    None (the strictest thresholds) when there is no index."""
    if ctx.face_index is None:
        return None
    import recognition

    template = recognition.Template.from_bytes(template_bytes)
    hits = ctx.face_index.search(session, template, ctx.recognition_settings.cohort_k, exclude_trainee=actor.trainee_id)
    return tuple(h.distance for h in hits)


def _face_failures(session: Session, actor: Actor, lesson: Lesson, current_nonce: str, now: datetime) -> int:
    """Failed attempts in this lesson: events that failed on the face, and challenges that were
    expired without an answer (a client that asks for challenges until it likes one burns its
    attempts). The challenge being answered now is not one of them."""
    rows = session.scalars(select(Event.reasons).where(Event.trainee_id == actor.trainee_id, Event.lesson_id == lesson.id,
                                                       Event.verdict == "rejected"))
    failed = sum(1 for reasons in rows if any(r.get("code") in FACE_FAILURES for r in reasons or ()))
    unanswered = session.scalar(select(func.count(Challenge.id)).where(
        Challenge.trainee_id == actor.trainee_id, Challenge.lesson_id == lesson.id, Challenge.used_at.is_(None),
        Challenge.nonce != current_nonce, Challenge.expires_at < now))
    return failed + (unanswered or 0)


def _classmates(session: Session, actor: Actor, lesson: Lesson) -> dict[int, bytes]:
    """The newest template of every other trainee enrolled in the lesson's class, neither erased
    nor rejected. Held templates count too: a face somebody tried to enrol is a face to compare with."""
    newest = (select(FaceTemplate.trainee_id, FaceTemplate.template)
              .join(Enrollment, (Enrollment.trainee_id == FaceTemplate.trainee_id) & (Enrollment.class_id == lesson.class_id))
              .where(FaceTemplate.erased_at.is_(None), ~decided("reject"), FaceTemplate.trainee_id != actor.trainee_id)
              .order_by(FaceTemplate.id))
    return {trainee_id: template for trainee_id, template in session.execute(newest)}


#: what a browser's camera capture encodes to (canvas.toBlob): anything else is not a frame
FRAME_SIGNATURES = {"JPEG": (b"\xff\xd8\xff",), "PNG": (b"\x89PNG\r\n\x1a\n",)}


def _frame_type(data: bytes) -> str | None:
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WebP"
    return next((name for name, heads in FRAME_SIGNATURES.items() if data.startswith(heads)), None)


def _check_frame_types(frames: list[bytes]) -> None:
    """Input, not evidence: a file that is not a JPEG/PNG/WebP image is refused (415) before any
    face work, and nothing is written. (A file that is an image by its signature but does not
    decode is judged by the face check: rejected, with its reason.)"""
    bad = [i + 1 for i, data in enumerate(frames) if _frame_type(data) is None]
    if bad:
        shown = "、".join(str(i) for i in bad[:5]) + ("…" if len(bad) > 5 else "")
        raise ApiError(415, "unsupported_frame_type",
                       f"第 {shown} 帧不是 JPEG、PNG 或 WebP 图片，请用手机相机重新拍摄后提交", frames=bad)


def _check_nonce_is_theirs(session: Session, actor: Actor, lesson: Lesson, sub: Submission) -> None:
    """A nonce that was never issued, or issued to someone else, for another lesson or another
    operation, is bad input: 422 and nothing written. (Reuse and expiry of one's own nonce are
    fraud signals instead: recorded as a rejected event, in the write phase.)"""
    row = session.execute(select(Challenge.trainee_id, Challenge.lesson_id, Challenge.purpose)
                          .where(Challenge.nonce == sub.nonce)).first()
    if row is None:
        raise ApiError(422, "nonce_invalid", "验证码无效（服务器没有签发过），请重新开始签到")
    if row.trainee_id != actor.trainee_id:
        raise ApiError(422, "nonce_not_yours", "该验证码不是签发给您的，请用自己的账号在自己的手机上重新开始签到")
    if row.lesson_id != lesson.id or row.purpose != sub.kind:
        raise ApiError(422, "nonce_invalid", "验证码不是为本次课和本次操作签发的，请返回课程页面重新开始")


def _consented(session: Session, out: Outcome, clause: str, actor: Actor) -> bool:
    if consent_in_force(session, actor.trainee_id) is None:
        out.fail("no_consent", clause, "您尚未同意（或已撤回）人脸信息处理，无法进行人脸核验")
        return False
    return True


def _guard_value(out: Outcome, clause: str, name: str, fn: Callable[[], Any]) -> Any:
    box: list[Any] = []
    _guard(out, clause, name, lambda: box.append(fn()))
    return box[0] if box else None


def _by_key(session: Session, actor: Actor, key: str) -> Event | None:
    return session.scalar(select(Event).where(Event.trainee_id == actor.trainee_id, Event.idempotency_key == key))


def _check_device(out: Outcome, clause: str, user: User | None, sub: Submission) -> None:
    if user is None or user.device_id != sub.device_id:
        out.fail("device_mismatch", clause, "本次提交的设备不是登录时绑定的手机，请用绑定的手机签到")


def _check_window(out: Outcome, clause: str, lesson: Lesson, sub: Submission, now: datetime, s: CheckinSettings) -> None:
    start, end = lesson.starts_at, lesson.ends_at
    if sub.kind == "check_in":
        if now < start - s.open_before:
            out.fail("too_early", clause, f"签到将于课前 {int(s.open_before.total_seconds() // 60)} 分钟开放，请稍后再试")
        elif now > end:
            out.fail("lesson_over", clause, "本次课已结束，不能再签到")
        elif now > start:
            late = int((now - start).total_seconds() // 60)
            out.evidence["late_minutes"] = late
            if late:
                out.reasons.append({"code": "late", "clause": clause, "detail": f"迟到 {late} 分钟：迟到前的时间不计学时"})
    elif sub.kind == "check_out":
        if now < start:
            out.fail("lesson_not_started", clause, "本次课尚未开始，不能签退")
        elif now > end + s.close_after:
            out.fail("check_out_closed", clause, "签退时间已过，本次签退不计入学时；如有异议请联系培训机构")
    elif not start <= now <= end + s.close_after:
        out.fail("outside_lesson", clause, "不在上课时间内，无法回应抽查")


def _use_nonce(session: Session, out: Outcome, clause: str, actor: Actor, lesson: Lesson, sub: Submission,
               now: datetime) -> Challenge | None:
    row = session.scalar(select(Challenge).where(Challenge.nonce == sub.nonce))
    if row is None or row.trainee_id != actor.trainee_id or row.lesson_id != lesson.id or row.purpose != sub.kind:
        out.fail("nonce_invalid", clause, "验证码无效（不是为本次课和本次操作签发的），请重新开始签到")
        return None
    if row.expires_at < now:
        out.fail("nonce_expired", clause, "动作验证已超时，请重新开始签到")
        return None
    # One nonce, one use: the conditional UPDATE lets exactly one request claim it.
    claimed = cast("CursorResult[Any]", session.execute(
        update(Challenge).where(Challenge.id == row.id, Challenge.used_at.is_(None)).values(used_at=now))).rowcount
    if claimed != 1:
        out.fail("nonce_reused", clause, "该验证码已使用过，请重新开始签到")
        return None
    return row


def _spot_check(session: Session, out: Outcome, clause: str, actor: Actor, lesson: Lesson, sub: Submission,
                now: datetime, s: CheckinSettings) -> SpotCheck | None:
    if sub.kind != "spot_check":
        return None
    check = session.get(SpotCheck, sub.spot_check_id) if sub.spot_check_id else None
    if check is None or check.trainee_id != actor.trainee_id or check.lesson_id != lesson.id:
        out.fail("spot_check_unknown", clause, "没有对应的随机抽查")
        return None
    if now > check.due_at:
        given = int((check.due_at - check.issued_at).total_seconds())
        out.fail("spot_check_late", clause, f"抽查须在 {given} 秒内回应，本次已超时")
    answered = session.scalar(select(Event.id).where(Event.spot_check_id == check.id, Event.verdict == "verified"))
    if answered:
        out.fail("spot_check_answered", clause, "该抽查已回应过")
    return check


def _check_face(out: Outcome, clause: str, face: FaceInput, sub: Submission, now: datetime, ctx: Context):
    import recognition

    template = recognition.Template.from_bytes(face.template_bytes)
    ch = recognition.Challenge(nonce=face.nonce, steps=face.steps, issued_at=face.issued_at, expires_at=face.expires_at,
                               prompts_ms=face.prompts_ms)
    if ctx.face_pool is not None:
        result = ctx.face_pool.check_liveness(sub.frames, ch, template, ctx.recognition_settings, now, face.cohort,
                                              sub.frame_times)
    else:
        result = recognition.check_liveness(sub.frames, ch, template, ctx.recognizer, ctx.recognition_settings, now,
                                            frame_times=sub.frame_times, cohort=face.cohort)
    for signal in result.signals:  # injection signals: a person looks, nothing is decided on them alone
        out.flag(signal.code, clause, signal.message)
    out.evidence["face"] = {**result.evidence(), "template_id": face.template_id}
    if result.probe is not None and face.classmates:
        # 1:N against the class: a classmate's face on this account is refused even when it is
        # near enough to the claimed template. Run even when the face already failed, so the
        # reviewer learns whose face it was; the trainee is told nothing about whom.
        others = {tid: recognition.Template.from_bytes(raw) for tid, raw in face.classmates.items() if raw}
        roster = recognition.check_roster(result.probe, template, others, ctx.recognition_settings)
        out.evidence["face"]["class_1n"] = {**roster.evidence(), "compared": len(others)}
        if roster.outcome == recognition.REFUSE:
            out.fail(roster.reasons[0].code, clause, roster.reasons[0].message)
        elif roster.outcome == recognition.REVIEW and result.passed:
            out.flag(roster.reasons[0].code, clause, roster.reasons[0].message)
    if not result.passed:
        for r in result.reasons:
            out.fail(r.code, clause, r.message)
    elif result.needs_review:
        out.flag("face_uncertain", clause, result.identity.reasons[0].message)
    _count_failure(out, clause, face, ctx.settings)
    if not result.passed:
        return result
    if face.changed_at is not None and now - face.changed_at < ctx.settings.template_change_review:
        out.flag("template_recently_changed", clause,
                 f"人脸模板于 {ctx.settings.template_change_review.days} 天内更换过，本次签到需人工复核")
    return result


def _count_failure(out: Outcome, clause: str, face: FaceInput, s: CheckinSettings) -> None:
    """Say so when this failure was the last self-service attempt of the lesson."""
    if any(r["code"] in FACE_FAILURES for r in out.reasons) and face.failures_before + 1 >= s.max_face_failures:
        out.reasons.append({"code": "face_attempts_exhausted", "clause": clause,
                            "detail": f"本节课人脸核验已 {s.max_face_failures} 次未通过，不能再自助签到，请找授课老师当面核验"})


def _check_location(session: Session, out: Outcome, clause: str, actor: Actor, lesson: Lesson, sub: Submission,
                    now: datetime, loc: LocationSettings,
                    recent: list[tuple[geofence.Fix, datetime]] | None = None) -> None:
    """Where the phone was, as far as the server can trust it: the datum is what a browser
    reports (WGS-84) unless the deployment accepts more; the fix must be from now (server clock
    against `fix_at`); implausible accuracy and repeated coordinates are flagged; the venue's
    fence must be the one its district approved. Every figure goes into the evidence."""
    if lesson.mode is LessonMode.online:
        return  # online lessons are verified by face and presence, not place
    if sub.lat is None or sub.lon is None or sub.accuracy_m is None:
        out.fail("no_location", clause, "没有收到定位信息，请允许浏览器获取位置后重试")
        return
    venue = session.get(Venue, lesson.venue_id) if lesson.venue_id is not None else None
    if venue is None:  # filing requires one; if it is missing, _guard flags the event as a check error
        raise LookupError(f"offline lesson {lesson.id} has no venue")
    evidence: dict[str, Any] = {"lat": sub.lat, "lon": sub.lon, "accuracy_m": sub.accuracy_m, "datum": sub.datum,
                                "accepted_datums": list(loc.client_datums)}
    out.evidence["location"] = evidence
    # The datum is what the client is, not what it says: a browser reports WGS-84.
    refused = geofence.datum_claim_reason(sub.datum, loc.client_datums)
    if refused is not None:
        out.fail(refused.code, refused.clause, refused.detail)
        return
    try:
        fix = geofence.Fix(sub.lat, sub.lon, sub.accuracy_m, geofence.Datum.parse(sub.datum))
    except geofence.FixError as exc:
        out.fail(exc.code, clause, exc.detail)
        return
    # The fix must be from now, by the server's clock (a saved position may be from anywhere).
    evidence["max_fix_age_s"] = loc.max_fix_age_s
    evidence["fix_clock_skew_s"] = loc.fix_clock_skew_s
    if sub.fix_at is not None:
        evidence["fix_at"] = sub.fix_at.isoformat()
        evidence["fix_age_s"] = round((now - sub.fix_at).total_seconds(), 1)
    for r in geofence.fix_time_reasons(sub.fix_at, now, loc.max_fix_age_s, loc.fix_clock_skew_s, clause=clause):
        out.fail(r.code, r.clause, r.detail)
    if recent is None:  # the trainee's own latest fixes (a teacher's are not kept: `judge_teacher_place`)
        recent = _recent_fixes(session, actor, RECENT_FIXES)
    previous = recent[0] if recent else None
    signals = geofence.SignalSettings(clause=clause, min_accuracy_m=loc.min_fix_accuracy_m,
                                      same_accuracy_run=loc.same_accuracy_run)
    evidence["signals"] = {"min_accuracy_m": loc.min_fix_accuracy_m, "same_accuracy_run": loc.same_accuracy_run,
                           "recent_accuracies_m": [f.accuracy_m for f, _ in recent[:loc.same_accuracy_run - 1]],
                           "compared_fixes": len(recent)}
    for r in geofence.fix_signals(fix, previous, now, signals, earlier=[f for f, _ in recent[1:]]):
        out.flag(r.code, clause, r.detail)
    # The fence counts only as its district approved it (a changed fence is not approved yet).
    approval = venue_fences.approval(session, venue)
    out.evidence["venue_fence"] = {"venue_id": venue.id, "fence_version": approval["fence_version"],
                                   "status": approval["status"],
                                   "decision_id": (approval["decision"] or {}).get("id")}
    if approval["status"] != "approved":
        out.flag("fence_not_approved", clause,
                 "培训场地的电子围栏未经区县人社审核通过（或审核后有变更），本次记录已留存，需人工复核后计入学时；"
                 "请提醒培训机构提交场地围栏审核")
    if sub.accuracy_m == 0:
        return  # flagged above; an exact fix cannot be placed against the fence honestly
    fence = geofence.fence_from_record(venue.fence_kind.value, venue.datum.value, lat=venue.centre_lat,
                                       lon=venue.centre_lon, radius_m=venue.radius_m, points=venue.polygon)
    result = geofence.locate(fix, fence, venue.max_accuracy_m, clause=clause)
    out.evidence["fence"] = result.as_dict()
    verdict = result.verdict.value
    for r in result.reasons:
        extra = {"distance_m": round(result.distance_m, 1)}
        if verdict == "uncertain":
            out.flag(r.code, r.clause, r.detail, **extra)
        elif verdict in ("outside", "too_inaccurate"):
            out.fail(r.code, r.clause, r.detail, **extra)


def _check_room_code(out: Outcome, clause: str, lesson: Lesson, sub: Submission, now: datetime, key: str) -> None:
    """The code on the teacher's screen, read in the room: a location can be mocked, the screen
    cannot be seen from elsewhere. Another lesson's code, an old one, or none fails."""
    judged = room_codes.judge(key, lesson.id, sub.room_code, now)
    out.evidence["room_code"] = {"status": judged.status, "age_s": judged.age_s, "interval_s": room_codes.INTERVAL_S,
                                 "grace_s": room_codes.INTERVAL_S * room_codes.GRACE_WINDOWS}
    if judged.status == "missing":
        out.fail("room_code_missing", clause, "本班线下签到需要课堂码：请输入教室屏幕（或老师手机）上显示的 6 位课堂码后重新签到")
    elif judged.status == "stale":
        out.fail("room_code_stale", clause, f"课堂码已过期（约 {judged.age_s} 秒前已更换）：课堂码每 {room_codes.INTERVAL_S} 秒"
                 "更换一次，请输入屏幕上当前的课堂码后重新签到")
    elif judged.status == "wrong":
        out.fail("room_code_wrong", clause,
                 "课堂码不正确（不是本次课当前的课堂码）：请核对教室屏幕上当前显示的 6 位数字后重新签到")


#: How many of the trainee's latest fixes a new one is compared with (repeats, accuracy runs).
RECENT_FIXES = 10


def _recent_fixes(session: Session, actor: Actor, limit: int) -> list[tuple[geofence.Fix, datetime]]:
    """The trainee's latest fixes with their server times, newest first. Two columns, not Event
    rows: building ORM objects was most of this check's time."""
    out: list[tuple[geofence.Fix, datetime]] = []
    for evidence, at in session.execute(select(Event.evidence, Event.at).where(Event.trainee_id == actor.trainee_id)
                                        .order_by(Event.id.desc()).limit(limit * 2)):
        loc = (evidence or {}).get("location")
        if not loc:
            continue
        try:
            out.append((geofence.Fix(loc["lat"], loc["lon"], loc["accuracy_m"] or 0.0, loc["datum"]), at))
        except (geofence.FixError, KeyError, TypeError):
            continue  # a fix that was refused as bad input is nothing to compare with
        if len(out) >= limit:
            break
    return out


def _check_replay(session: Session, out: Outcome, clause: str, actor: Actor, liveness, s: CheckinSettings) -> None:
    """Frames seen before: every frame, as sent and mirrored, against the trainee's latest
    fingerprints. Robust to re-encoding, small crops and turns, relighting (the fingerprint is
    of the face aligned by its eyes); a burst is flagged when several of its frames repeat."""
    if liveness is None or not liveness.fingerprints:
        return
    import numpy as np

    recent = session.scalars(select(FrameFingerprint.fingerprint).where(FrameFingerprint.trainee_id == actor.trainee_id)
                             .order_by(FrameFingerprint.id.desc()).limit(s.replay_window)).all()
    if not recent:
        return
    # Hamming distances of every new frame to every recent one at once (64-bit hashes as
    # integers): the Python loop over hex strings cost ~20 ms per check-in at a full window.
    old = np.array([int(fp, 16) for fp in recent], dtype=np.uint64)

    def nearest(fp: str) -> int:
        return int(np.bitwise_count(old ^ np.uint64(int(fp, 16))).min())

    mirrors = liveness.mirror_fingerprints or liveness.fingerprints
    seen = [i for i, (fp, mirrored) in enumerate(zip(liveness.fingerprints, mirrors, strict=True))
            if min(nearest(fp), nearest(mirrored)) <= s.replay_hamming]
    out.evidence["replay"] = {"frames_seen_before": [i + 1 for i in seen], "compared_with": len(recent),
                              "max_bits": s.replay_hamming}
    if len(seen) >= s.replay_min_frames:
        out.flag("frames_seen_before", clause,
                 f"本次画面中有 {len(seen)} 帧与以前提交的画面相同（含裁剪、调光或镜像后的），疑似重放，需人工复核")


def _check_shared_device(session: Session, out: Outcome, clause: str, actor: Actor, lesson: Lesson, sub: Submission) -> None:
    others = session.scalars(select(Event.trainee_id).where(Event.lesson_id == lesson.id, Event.device_id == sub.device_id,
                                                            Event.trainee_id != actor.trainee_id).distinct()).all()
    if others:
        out.flag("shared_device", clause, f"同一部手机在本次课中为 {len(others) + 1} 名学员签到，需人工复核")


# --- without a face (services/nonface.py) -----------------------------------------------------


def judge_without_face(session: Session, actor: Actor, lesson: Lesson, cls, sub: Submission, now: datetime,
                       ctx: Context) -> Outcome:
    """The checks of a check-in (check-out, spot-check answer) that need no face, for a trainee
    who refused face processing: the bound phone, the time window, the spot check, the location
    against the venue's approved fence, the room code (as for a face check-in) and a phone
    shared in the lesson. No nonce: nothing here can be replayed into credit, since only the
    teacher's confirmation in the room (`judge_teacher_place`) makes an event."""
    clause = rules.region(cls.region_code).verification_clause
    out = Outcome()
    out.evidence = {"server_time": now.isoformat(), "device": {"device_id": sub.device_id, "user_agent": sub.user_agent}}
    user = session.scalar(select(User).where(User.trainee_id == actor.trainee_id))
    _guard(out, clause, "device", lambda: _check_device(out, clause, user, sub))
    _guard(out, clause, "window", lambda: _check_window(out, clause, lesson, sub, now, ctx.settings))
    _guard(out, clause, "spot_check", lambda: _spot_check(session, out, clause, actor, lesson, sub, now, ctx.settings))
    _guard(out, clause, "location", lambda: _check_location(session, out, clause, actor, lesson, sub, now, ctx.location))
    if cls.room_code and lesson.mode is LessonMode.offline and sub.kind == "check_in":
        _guard(out, clause, "room_code", lambda: _check_room_code(out, clause, lesson, sub, now, ctx.room_code_key))
    _guard(out, clause, "shared_device", lambda: _check_shared_device(session, out, clause, actor, lesson, sub))
    return out


def judge_teacher_place(session: Session, actor: Actor, lesson: Lesson, cls, sub: Submission, now: datetime,
                        ctx: Context) -> Outcome:
    """Where the teacher's own device was when they confirmed a trainee present: the same fence
    and fix checks as a trainee's fix, and the room code wherever the class uses one."""
    clause = rules.region(cls.region_code).verification_clause
    out = Outcome()
    _guard(out, clause, "location", lambda: _check_location(session, out, clause, actor, lesson, sub, now, ctx.location,
                                                            recent=[]))
    if cls.room_code and lesson.mode is LessonMode.offline:
        _guard(out, clause, "room_code", lambda: _check_room_code(out, clause, lesson, sub, now, ctx.room_code_key))
    return out


# --- answers ---------------------------------------------------------------------------------

MESSAGES = {
    ("check_in", "verified"): "签到成功，已核验",
    ("check_out", "verified"): "签退成功，已核验",
    ("spot_check", "verified"): "抽查已通过",
}


def event_answer(event: Event, replay: bool = False) -> dict:
    """The answer for the phone: verdict, every reason with its clause, what to do next."""
    if event.verdict == "verified":
        message = MESSAGES.get((event.kind, "verified"), "已核验")
    elif event.verdict == "flagged":
        message = "已提交，需人工复核后才计入学时：" + "；".join(r["detail"] for r in event.reasons if r["code"] != "late")
    else:
        message = "未通过核验，本次不计入学时：" + "；".join(r["detail"] for r in event.reasons if r["code"] != "late")
    fence = (event.evidence or {}).get("fence") or {}
    face = (event.evidence or {}).get("face") or {}
    return {
        "event_id": event.id, "kind": event.kind, "verdict": event.verdict, "at": event.at.isoformat(),
        "lesson_id": event.lesson_id, "message": message, "reasons": event.reasons, "replayed": replay,
        "distance_to_venue_m": fence.get("distance_m"), "face_distance": face.get("best_distance"),
        "face_threshold": face.get("threshold"), "seq": event.seq, "hash": event.hash,
        # "teacher_attested": no face was used (the trainee refused face processing)
        "method": (event.evidence or {}).get("method"),
    }
