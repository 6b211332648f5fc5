"""A check-in without a face (人脸识别技术应用安全管理办法, in force 2025-06-01): face recognition
may not be the only way when another way serves the purpose, and a person who refuses it is
offered a reasonable, convenient alternative. Nobody is refused training for refusing it.

A trainee who refused face processing (their newest "biometric" consent row does not grant)
asks from the bound phone with its location and the room code (`submit_request`: a
NonfaceRequest, judged as it arrives, credit for nothing by itself). The lesson's teacher,
logged in on the teacher's own device in the room, taps 确认本人在场 on the roll (`attest`): the
teacher's fix is checked against the venue's fence and the room code as for the trainee, and
the confirmation is the event in the chain (method "teacher_attested", one per request),
audited. How it counts is the region's rule (`attested_check_ins`, policies.attendance.
attested_verdict): by default only after the district's review.

Consent rows are read here directly (services/consent.py answers only "in force or not")."""
from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from policies import attendance
from server.errors import ApiError
from server.models import Consent, Event, Lesson, LessonMode, NonfaceRequest, TrainingClass
from server.permissions import Capability
from server.services import audit, chain, checkin, ledger, rules
from server.services.scope import Actor, require, trainee_lesson

#: What the phone shows beside the choice, stored (version + hash) with the refusal.
REFUSAL_VERSION = "refuse-2026-12"
REFUSAL_TEXT = (
    "不同意人脸识别：我不同意本系统采集和比对我的人脸信息。签到、签退和随机抽查改用绑定手机的定位和课堂码，"
    "并由授课老师在教室内用老师本人的手机确认本人在场；这样记录的学时按本地区规定计入（默认经区县人社复核后计入）。"
    "拒绝人脸识别不影响参加培训。如以后愿意使用人脸核验，可到培训机构办理同意。"
)
REFUSAL_SHA256 = hashlib.sha256(REFUSAL_TEXT.encode()).hexdigest()
#: Shown wherever an event of this method is listed (roll, review, ledger, exports).
METHOD_LABEL = ledger.ATTESTED_LABEL
#: A request the teacher has not confirmed within this long must be sent again: the teacher
#: confirms who is in the room now, not who was there an hour ago.
ATTEST_WITHIN = timedelta(minutes=10)


def _latest_biometric(session: Session, trainee_id: int) -> Consent | None:
    return session.scalar(select(Consent).where(Consent.trainee_id == trainee_id, Consent.purpose == "biometric")
                          .order_by(Consent.id.desc()).limit(1))


def refusal(session: Session, trainee_id: int | None) -> Consent | None:
    """The trainee's refusal (or withdrawal) of face processing, if that is their newest word."""
    if trainee_id is None:
        return None
    latest = _latest_biometric(session, trainee_id)
    return latest if latest is not None and not latest.granted else None


def refusers(session: Session, trainee_ids: list[int]) -> set[int]:
    """Of these trainees, those whose newest biometric consent row does not grant (one query)."""
    if not trainee_ids:
        return set()
    newest: dict[int, bool] = {}
    for tid, granted in session.execute(select(Consent.trainee_id, Consent.granted).where(
            Consent.trainee_id.in_(trainee_ids), Consent.purpose == "biometric").order_by(Consent.id)):
        newest[tid] = granted
    return {tid for tid, granted in newest.items() if not granted}


def status(session: Session, actor: Actor) -> dict[str, Any]:
    """What the phone needs to offer the choice: whether a consent is in force, the refusal if any,
    and the text the choice shows."""
    latest = _latest_biometric(session, actor.trainee_id) if actor.trainee_id is not None else None
    refused = latest if latest is not None and not latest.granted else None
    return {"consent_in_force": latest is not None and latest.granted, "refused": refused is not None,
            "refused_at": refused.at.isoformat() if refused is not None else None,
            "text": REFUSAL_TEXT, "text_version": REFUSAL_VERSION, "method_label": METHOD_LABEL}


def record_refusal(session: Session, actor: Actor, text_version: str, now: datetime) -> dict[str, Any]:
    """The trainee refuses face processing on the phone: a consent row that does not grant, with
    the date and the text shown. Only while no consent is in force: withdrawing a consent erases
    the face templates, which is the institution's paper process (services/trainees.py)."""
    require(actor, Capability.ATTEND_LESSONS)
    if actor.trainee_id is None:
        raise ApiError(403, "forbidden", "只有学员本人可以选择不同意人脸识别")
    if text_version != REFUSAL_VERSION:
        raise ApiError(409, "refusal_text_changed", "说明文字已更新，请刷新页面阅读后重新选择")
    latest = _latest_biometric(session, actor.trainee_id)
    if latest is not None and latest.granted:
        raise ApiError(409, "face_consent_in_force",
                       "您已同意人脸识别。如需撤回同意、改用老师确认签到，请到培训机构办理撤回（撤回后将删除人脸模板）")
    if latest is None:
        session.add(Consent(trainee_id=actor.trainee_id, purpose="biometric", granted=False, text_version=REFUSAL_VERSION,
                            text_sha256=REFUSAL_SHA256, channel="phone", recorded_by_id=actor.user_id, at=now))
        audit.record(session, actor, "consent.refuse_biometric", "trainee", actor.trainee_id, None,
                     {"text_version": REFUSAL_VERSION, "text_sha256": REFUSAL_SHA256, "channel": "phone"})
        session.commit()
    return status(session, actor)


# --- the trainee's request --------------------------------------------------------------------


def _request_json(row: NonfaceRequest, replay: bool = False) -> dict[str, Any]:
    if row.verdict == "pending":
        message = "已提交：请到授课老师处，老师在点名册上点“确认本人在场”后记录（未使用人脸识别）"
    else:
        message = "未通过核验，老师无法确认：" + "；".join(r["detail"] for r in row.reasons if r["code"] != "late")
    return {"request_id": row.id, "kind": row.kind, "lesson_id": row.lesson_id, "at": row.at.isoformat(),
            "verdict": row.verdict, "message": message, "reasons": row.reasons, "replayed": replay,
            "method": attendance.TEACHER_ATTESTED}


def submit_request(session: Session, actor: Actor, lesson_id: int, sub: checkin.Submission, now: datetime,
                   ctx: checkin.Context) -> tuple[int, dict[str, Any]]:
    """Record a trainee's request to be confirmed by the teacher. Only for a trainee who refused
    face processing: one whose consent is in force checks in with the face (else the non-face
    path would be a way round the face check). A retry with the same key returns the first."""
    previous = session.scalar(select(NonfaceRequest).where(NonfaceRequest.trainee_id == actor.trainee_id,
                                                           NonfaceRequest.idempotency_key == sub.idempotency_key))
    if previous is not None:
        return 200, _request_json(previous, replay=True)
    lesson, cls, enrollment = trainee_lesson(session, actor, lesson_id)
    latest = _latest_biometric(session, actor.trainee_id) if actor.trainee_id is not None else None
    if latest is not None and latest.granted:
        raise ApiError(409, "face_consent_in_force", "您已同意人脸识别，请用人脸核验签到；老师确认签到只用于不同意人脸识别的学员")
    if latest is None:
        raise ApiError(409, "refusal_not_recorded", "请先选择“不同意人脸识别，改用老师确认签到”，再提交")
    if lesson.mode is not LessonMode.offline:
        raise ApiError(422, "online_lesson_needs_teacher",
                       "线上课暂不能由老师在教室确认，请联系培训机构安排（拒绝人脸识别不影响参加培训）")
    out = checkin.judge_without_face(session, actor, lesson, cls, sub, now, ctx)
    out.evidence["consent_refusal"] = {"consent_id": latest.id, "at": latest.at.isoformat(),
                                       "text_version": latest.text_version, "channel": latest.channel}
    if sub.room_code is not None:
        out.evidence.setdefault("room_code", {})["sent"] = True
    row = NonfaceRequest(trainee_id=actor.trainee_id, lesson_id=lesson.id, class_id=cls.id, enrollment_id=enrollment.id,
                         kind=sub.kind, spot_check_id=sub.spot_check_id if sub.kind == "spot_check" else None, at=now,
                         device_id=sub.device_id, idempotency_key=sub.idempotency_key,
                         verdict="rejected" if out.verdict == "rejected" else "pending", reasons=out.reasons,
                         evidence=out.evidence)
    session.add(row)
    try:
        session.commit()
    except IntegrityError:  # the same key raced in from a retry: the first one won
        session.rollback()
        previous = session.scalar(select(NonfaceRequest).where(NonfaceRequest.trainee_id == actor.trainee_id,
                                                               NonfaceRequest.idempotency_key == sub.idempotency_key))
        if previous is None:
            raise
        return 200, _request_json(previous, replay=True)
    return 201, _request_json(row)


# --- the teacher's confirmation ---------------------------------------------------------------


def _key(request_id: int) -> str:
    return f"attest:{request_id}"


def _teachers_lesson(session: Session, actor: Actor, lesson_id: int) -> tuple[Lesson, TrainingClass]:
    """The lesson, only to the teacher who teaches it (a colleague, another class's teacher or
    anyone else reads it as not there)."""
    require(actor, Capability.ATTEST_PRESENCE)
    lesson = session.get(Lesson, lesson_id)
    if (actor.teacher_id is None or lesson is None or lesson.cancelled_at is not None
            or lesson.teacher_id != actor.teacher_id):
        raise ApiError(404, "lesson_not_found", f"课次 {lesson_id} 不存在，或不是您授课的课次")
    return lesson, session.get_one(TrainingClass, lesson.class_id)


def attest(session: Session, actor: Actor, lesson_id: int, request_id: int, place: checkin.Submission, now: datetime,
           ctx: checkin.Context) -> tuple[int, dict[str, Any]]:
    """The teacher confirms the trainee of a pending request present (确认本人在场), from the
    teacher's own device in the room. Idempotent: a second tap returns the first event (200)."""
    lesson, cls = _teachers_lesson(session, actor, lesson_id)
    row = session.get(NonfaceRequest, request_id)
    if row is None or row.lesson_id != lesson.id:
        raise ApiError(404, "request_not_found", "没有这条待确认的签到请求（或不属于本课次）")
    done = session.scalar(select(Event).where(Event.trainee_id == row.trainee_id, Event.idempotency_key == _key(row.id)))
    if done is not None:
        return 200, checkin.event_answer(done, replay=True)
    if row.verdict != "pending":
        raise ApiError(409, "request_rejected", "该请求未通过核验（见原因），不能确认；请学员重新提交")
    if now - row.at > ATTEST_WITHIN:
        raise ApiError(409, "request_expired",
                       f"该请求已超过 {int(ATTEST_WITHIN.total_seconds() // 60)} 分钟未确认，请学员重新提交后再确认")
    teacher = checkin.judge_teacher_place(session, actor, lesson, cls, place, now, ctx)
    if teacher.verdict == "rejected":
        # Refused, and the refusal is kept in the audit trail (who tried, from where, why).
        audit.record(session, actor, "event.attest_presence_refused", "nonface_request", row.id, None,
                     {"reasons": teacher.reasons, "evidence": teacher.evidence})
        session.commit()
        raise ApiError(422, "teacher_place_not_verified",
                       "无法确认：" + "；".join(r["detail"] for r in teacher.reasons), reasons=teacher.reasons)
    policy = rules.region(cls.region_code)
    rule = policy.attested_check_ins
    signals = any(r["code"] != "late" for r in row.reasons) or bool(teacher.reasons)
    verdict, why = attendance.attested_verdict(rule.value, rule.clause, signals)
    reasons = [{"code": why.code, "clause": why.clause, "detail": why.detail}] + list(row.reasons) + [
        {**r, "code": f"teacher_{r['code']}", "detail": f"老师的手机：{r['detail']}"} for r in teacher.reasons]
    trainee_part = dict(row.evidence)
    evidence: dict[str, Any] = {"method": attendance.TEACHER_ATTESTED, "method_label": METHOD_LABEL, "request_id": row.id,
                "requested_at": row.at.isoformat(), "server_time": now.isoformat(), "frames": [],
                "location": trainee_part.get("location"), "fence": trainee_part.get("fence"), "trainee": trainee_part,
                "teacher": {"user_id": actor.user_id, "username": actor.username, "teacher_id": actor.teacher_id,
                            "attested_at": now.isoformat(), **teacher.evidence},
                "rule": {"attested_check_ins": rule.value, "clause": rule.clause}}
    # One short write transaction, begun as a writer (SQLite): a second tap racing this one
    # waits, then finds the first event.
    session.rollback()
    session.connection(execution_options={"sqlite_begin": "IMMEDIATE"})
    done = session.scalar(select(Event).where(Event.trainee_id == row.trainee_id, Event.idempotency_key == _key(row.id)))
    if done is not None:
        session.rollback()
        return 200, checkin.event_answer(done, replay=True)
    try:
        event = chain.append(session, chain.NewEvent(
            kind=row.kind, class_id=row.class_id, lesson_id=row.lesson_id, enrollment_id=row.enrollment_id,
            trainee_id=row.trainee_id, actor_id=actor.user_id, at=row.at, verdict=verdict.value, decides_event_id=None,
            spot_check_id=row.spot_check_id, reasons=reasons, evidence=evidence, idempotency_key=_key(row.id),
            device_id=row.device_id))
        audit.record(session, actor, "event.attest_presence", "event", event.id, None,
                     {"request_id": row.id, "trainee_id": row.trainee_id, "kind": row.kind, "verdict": verdict.value,
                      "rule": rule.value, "clause": rule.clause})
        session.commit()
    except IntegrityError:  # a second tap raced in: the first one won
        session.rollback()
        done = session.scalar(select(Event).where(Event.trainee_id == row.trainee_id, Event.idempotency_key == _key(row.id)))
        if done is None:
            raise
        return 200, checkin.event_answer(done, replay=True)
    return 201, checkin.event_answer(event)


def pending_for_roll(session: Session, lesson_id: int, now: datetime) -> dict[int, list[dict[str, Any]]]:
    """Per trainee, the requests of a lesson the teacher can still confirm (pending, not yet
    confirmed, younger than ATTEST_WITHIN), oldest first."""
    rows = session.scalars(select(NonfaceRequest).where(
        NonfaceRequest.lesson_id == lesson_id, NonfaceRequest.verdict == "pending",
        NonfaceRequest.at >= now - ATTEST_WITHIN).order_by(NonfaceRequest.id)).all()
    if not rows:
        return {}
    done = set(session.scalars(select(Event.idempotency_key).where(
        Event.lesson_id == lesson_id, Event.idempotency_key.in_([_key(r.id) for r in rows]))))
    out: dict[int, list[dict[str, Any]]] = {}
    for r in rows:
        if _key(r.id) not in done:
            out.setdefault(r.trainee_id, []).append({"request_id": r.id, "kind": r.kind, "at": r.at.isoformat(),
                                                     "spot_check_id": r.spot_check_id})
    return out
