"""Online presence (heartbeats) and spot checks (随机抽查), scheduled at random or on demand: in
online lessons to the trainees who checked in, in offline lessons to the trainees present at that
moment (a verified check-in, not checked out since), answered with face + liveness (+ location offline)."""
from __future__ import annotations

import random
import secrets
from datetime import datetime, timedelta

from sqlalchemy import bindparam, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from server.database.groupcommit import GroupCommitFailed, GroupCommitWriter
from server.errors import ApiError
from server.models import Enrollment, Event, Lesson, LessonMode, SpotCheck
from server.permissions import Capability, allows
from server.services import audit
from server.services.scope import Actor, trainee_lesson, visible_class

#: Spot checks per started hour when no region says: the region's policy has its own
#: (`online_spot_checks`, `offline_spot_checks`, POLICY §9), as it has the seconds to answer.
SPOT_CHECKS_PER_HOUR = (2, 4)


_L, _E = Lesson.__table__.c, Enrollment.__table__.c
#: the lesson, if the trainee is enrolled in its class (built once: it runs for every heartbeat)
_HEARTBEAT_LESSON = (select(_L.mode, _L.starts_at, _L.ends_at, _L.cancelled_at)
                     .select_from(Lesson.__table__.join(Enrollment.__table__, _E.class_id == _L.class_id))
                     .where(_L.id == bindparam("lesson_id"), _E.trainee_id == bindparam("trainee_id")))


def heartbeat(engine: Engine, writer: GroupCommitWriter, actor: Actor, lesson_id: int, visible: bool,
              now: datetime, player: tuple[float, str, float, float | None] | None = None) -> dict:
    """Record that the trainee's lesson page is open (and whether it is visible).

    The hottest request of an online lesson (every phone, every <= 30 s), so it reads the one row
    it needs with one narrow query on an autocommit connection (``engine``), and its insert goes
    through a group commit shared with the other heartbeats of the moment (database/groupcommit.py). The
    answer still comes only after the row is committed. `player`: the lesson video's (position
    in seconds, state, rate, seconds behind a live stream's edge) when the page plays one: recorded as reported, judged by the ledger."""
    if not allows(actor.role, Capability.ATTEND_LESSONS):
        raise ApiError(403, "forbidden", "只有学员本人可以签到")
    with engine.connect() as conn:
        row = conn.execute(_HEARTBEAT_LESSON, {"lesson_id": lesson_id, "trainee_id": actor.trainee_id}).first()
    if row is None:
        raise ApiError(404, "lesson_not_found", f"课次 {lesson_id} 不存在，或您未报名该培训班")
    refusal = heartbeat_refusal(row, now)
    if refusal is not None:
        raise refusal
    try:
        position, playback, rate, lag = player if player is not None else (None, None, None, None)
        writer.write({"lesson_id": lesson_id, "trainee_id": actor.trainee_id, "at": now, "visible": visible,
                      "position_s": position, "playback": playback, "rate": rate, "live_lag_s": lag})
    except GroupCommitFailed:
        raise ApiError(503, "database_unavailable", "数据库暂时不可用，本次心跳未记录，请稍后重试") from None
    return heartbeat_answer(now, visible)


def heartbeat_refusal(lesson, now: datetime) -> ApiError | None:
    """Why a heartbeat for this lesson (a row with mode, starts_at, ends_at, cancelled_at) is not
    taken now, or None. Shared with the fast path (server/api/heartbeat_fastpath.py), so the rule is in one place."""
    if lesson.cancelled_at is not None:
        return ApiError(404, "lesson_not_found", "课次已取消")
    if LessonMode(lesson.mode) is not LessonMode.online:
        return ApiError(409, "not_online", "线下课无需在线心跳")
    if not lesson.starts_at - timedelta(minutes=30) <= now <= lesson.ends_at + timedelta(minutes=5):
        return ApiError(409, "outside_lesson", "不在上课时间内，心跳不计")
    return None


def heartbeat_answer(now: datetime, visible: bool) -> dict:
    return {"ok": True, "at": now.isoformat(), "visible": visible}


def plan_spot_checks(start: datetime, end: datetime, rng: random.Random,
                     per_hour: tuple[int, int] = SPOT_CHECKS_PER_HOUR) -> list[datetime]:
    """Random moments for spot checks: for each started hour of the lesson, `per_hour` (fewest,
    most: 2-4 online) times drawn uniformly inside it (never in the first or last 5 minutes, so a
    check-in or a check-out is not immediately followed by one)."""
    times: list[datetime] = []
    hour = timedelta(hours=1)
    t = start
    while t < end:
        lo, hi = t + timedelta(minutes=5), min(t + hour, end) - timedelta(minutes=5)
        if hi > lo:
            n = rng.randint(*per_hour)
            span = (hi - lo).total_seconds()
            times += sorted(lo + timedelta(seconds=rng.uniform(0, span)) for _ in range(n))
        t += hour
    return times


def issue_spot_checks(session: Session, actor: Actor, lesson_id: int, trainee_ids: list[int] | None, origin: str,
                      now: datetime) -> list[SpotCheck]:
    """Ask trainees of a lesson for a face check now (on demand by a teacher or supervisor, or
    by the scheduler with origin='scheduled')."""
    lesson = session.get(Lesson, lesson_id)
    # Out of the actor's scope reads the same as not there: no answer tells which ids exist.
    missing = ApiError(404, "lesson_not_found", f"课次 {lesson_id} 不存在或不在您的管辖范围内")
    if lesson is None:
        raise missing
    if origin != "scheduled":
        if not allows(actor.role, Capability.TRIGGER_SPOT_CHECKS):
            raise ApiError(403, "forbidden", "只有教师和监管人员可以发起抽查")
        try:
            visible_class(session, actor, lesson.class_id)
        except ApiError:
            raise missing from None
    if not lesson.starts_at <= now <= lesson.ends_at:
        raise ApiError(409, "outside_lesson", "只能在上课期间发起抽查")
    enrolled = session.scalars(select(Enrollment.trainee_id).where(Enrollment.class_id == lesson.class_id)).all()
    if trainee_ids:
        # Named trainees: the asker's own choice (a teacher who sees someone in the room).
        targets = [t for t in trainee_ids if t in set(enrolled)]
        if len(targets) != len(set(trainee_ids)):
            raise ApiError(422, "unknown_trainee", "部分学员不在该培训班中")
    else:
        # The whole class: only those in the lesson now. A trainee who never checked in (or never
        # activated an account) cannot answer, and would only be counted as a missed check.
        targets = present(session, lesson, now)
        if not targets:
            raise ApiError(409, "nobody_present", "当前没有已签到在课堂中的学员，无需发起抽查")
    checks = [SpotCheck(lesson_id=lesson.id, class_id=lesson.class_id, trainee_id=t, issued_at=now,
                        due_at=now + answer_window(lesson), origin=origin, issued_by_id=actor.user_id)
              for t in targets]
    session.add_all(checks)
    session.flush()
    if origin != "scheduled":
        audit.record(session, actor, "spot_check.issue", "lesson", lesson.id, None,
                     {"trainees": len(checks), "origin": origin})
    session.commit()
    return checks


def answer_window(lesson: Lesson) -> timedelta:
    """The seconds the lesson's region gives to answer a spot check (default 60, POLICY §9)."""
    from server.services import rules

    return timedelta(seconds=rules.region(lesson.training_class.region_code).spot_check_answer_seconds.value)


def present_offline(session: Session, lesson_id: int, at: datetime) -> list[int]:
    """The trainees present in an offline lesson at `at`: their latest check-in or check-out that
    counts (verified, or approved by a reviewer; the latest decision about an event wins) is a
    check-in. A flagged check-in not yet reviewed, or a rejected one, does not make one present."""
    rows = session.execute(select(Event.id, Event.kind, Event.trainee_id, Event.at, Event.verdict, Event.decides_event_id)
                           .where(Event.lesson_id == lesson_id, Event.at <= at,
                                  Event.kind.in_(("check_in", "check_out", "review_decision")))
                           .order_by(Event.at, Event.id)).all()
    verdict = {r.id: r.verdict for r in rows if r.kind != "review_decision"}
    for r in rows:
        if r.kind == "review_decision" and r.decides_event_id in verdict:
            verdict[r.decides_event_id] = "verified" if r.verdict == "approved" else "rejected"
    last: dict[int, str] = {}
    for r in rows:
        if r.kind != "review_decision" and verdict[r.id] == "verified" and r.trainee_id is not None:
            last[r.trainee_id] = r.kind
    return sorted(t for t, kind in last.items() if kind == "check_in")


#: A page not heard from for longer than this is gone (it reports every 15-30 s; one late report
#: is tolerated, as in policies.attendance's max_heartbeat_gap). The roll says "gone" after it, and
#: a spot check is no longer sent to that trainee.
GONE_AFTER_S = 45


def present(session: Session, lesson: Lesson, at: datetime) -> list[int]:
    """Who a spot check at `at` goes to: offline, the trainees present (present_offline); online,
    those checked in (the same rule) whose page reported within the last GONE_AFTER_S seconds,
    visible or not (a hidden page is what a spot check is there to catch; a closed one, gone,
    cannot be asked anything)."""
    from server.models import Heartbeat

    checked_in = present_offline(session, lesson.id, at)
    if lesson.mode is LessonMode.offline or not checked_in:
        return checked_in
    recent = set(session.scalars(select(Heartbeat.trainee_id).where(
        Heartbeat.lesson_id == lesson.id, Heartbeat.trainee_id.in_(checked_in),
        Heartbeat.at >= at - timedelta(seconds=GONE_AFTER_S), Heartbeat.at <= at).distinct()))
    return [t for t in checked_in if t in recent]


def pending_spot_checks(session: Session, actor: Actor, lesson_id: int, now: datetime) -> list[SpotCheck]:
    trainee_lesson(session, actor, lesson_id)
    checks = session.scalars(select(SpotCheck).where(SpotCheck.lesson_id == lesson_id,
                                                     SpotCheck.trainee_id == actor.trainee_id,
                                                     SpotCheck.due_at >= now).order_by(SpotCheck.id)).all()
    answered = set(session.scalars(select(Event.spot_check_id).where(Event.spot_check_id.in_([c.id for c in checks]),
                                                                     Event.verdict == "verified")))
    return [c for c in checks if c.id not in answered]


def spot_check_json(c: SpotCheck, now: datetime) -> dict:
    return {"id": c.id, "lesson_id": c.lesson_id, "issued_at": c.issued_at.isoformat(), "due_at": c.due_at.isoformat(),
            "seconds_left": max(0, int((c.due_at - now).total_seconds())), "origin": c.origin}


def miss_budget_json(session: Session, actor: Actor, lesson_id: int, now: datetime) -> dict | None:
    """What missing a spot check now costs the trainee in an online lesson whose region sets a
    miss budget (`spot_check_misses`, POLICY §9): the spot checks allowed and missed so far (not
    answered within their window; a failed answer is not a miss), whether one more miss ends the
    lesson's credit (no make-up either: policies/attendance.py), and that in Chinese. None
    without a budget, and offline."""
    from server.services import rules

    lesson, cls, _ = trainee_lesson(session, actor, lesson_id)
    setting = rules.region(cls.region_code).spot_check_misses
    if setting.value is None or lesson.mode is not LessonMode.online:
        return None
    due = session.scalars(select(SpotCheck).where(SpotCheck.lesson_id == lesson_id, SpotCheck.trainee_id == actor.trainee_id,
                                                  SpotCheck.due_at < now)).all()
    answers = session.execute(select(Event.spot_check_id, Event.at).where(
        Event.spot_check_id.in_([c.id for c in due]), Event.kind == "spot_check")).all()
    due_at = {c.id: c.due_at for c in due}
    in_time = {a.spot_check_id for a in answers if a.at <= due_at[a.spot_check_id]}
    allowed, missed = setting.value, sum(1 for c in due if c.id not in in_time)
    if missed > allowed:
        detail = f"本课次已错过 {missed} 次随机抽查，超过本地区允许的 {allowed} 次，本课次此后的学习时间不再计入学时"
    elif missed == allowed:
        detail = (f"本课次已错过 {missed} 次随机抽查（本地区每课次最多允许 {allowed} 次）：本次抽查若超时未完成，"
                  "本课次此后的学习时间不再计入学时，重新观看也不能补回")
    else:
        detail = f"本地区每课次最多允许错过 {allowed} 次随机抽查，本课次已错过 {missed} 次；超过后本课次此后的学习时间不再计入学时"
    return {"allowed": allowed, "missed": missed, "ends_lesson": missed >= allowed, "detail": detail,
            "clause": setting.clause}


def new_rng() -> random.Random:
    return secrets.SystemRandom()
