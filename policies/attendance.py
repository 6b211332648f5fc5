"""From verification events to verified intervals (核验时段).

The check-in service stores append-only events: check-ins, check-outs, spot checks, and review
decisions that approve or reject an earlier event (corrections are new events that reference the
old one). This module turns one trainee's events for one lesson into:

- the intervals the hour rule (policies.hours.credited_hours) credits, as model.Interval, and
- every stretch of the lesson that was *not* credited, each with its reason (code, clause and a
  Chinese sentence), so a trainee or an auditor can ask "why" (凡补必进、不进不补, POLICY §1).

The rule in one line: time counts only between two consecutive verified checks, and only inside
the lesson's scheduled time. Offline, the checks are the verified check-in, spot checks and
check-out; online, passed spot checks too, and in between the page must have been visible with
heartbeats at most `max_heartbeat_gap` apart. A recorded lesson (录播课, `RecordedMedia`) further
credits only the time in which new content of its video was watched at 1x (POLICY §9).

Pure: events in, result out; `now` is an argument; only timezone-aware datetimes are accepted.
"""
from __future__ import annotations

import enum
import math
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone

from policies.hours import intersect as _intersect
from policies.hours import merge as _merge
from policies.hours import subtract as _subtract
from policies.model import ATTESTED_RULES, Interval, Mode, PlannedLesson, Reason

#: Clause cited when the caller passes none; the service passes `policy.verification_clause`.
DEFAULT_CLAUSE = "POLICY §1"
#: Clause cited on the recorded-lesson reasons: a rule the notices leave to the project.
WATCHED_CLAUSE = "POLICY §9"
#: The method of an event a teacher attested for a trainee who refused face processing (人脸识别
#:技术应用安全管理办法, in force 2025-06-01: a person who refuses is offered another way).
TEACHER_ATTESTED = "teacher_attested"
#: China keeps one offset all year; times in sentences are shown in Beijing time.
_BEIJING = timezone(timedelta(hours=8))

EventId = str | int
Span = tuple[datetime, datetime]
_EARLIEST = datetime.min.replace(tzinfo=UTC)


class EventKind(str, enum.Enum):
    CHECK_IN = "check_in"  # 签到
    CHECK_OUT = "check_out"  # 签退
    SPOT_CHECK = "spot_check"  # 随机抽查 (offline: one face + location check during the lesson)
    REVIEW_DECISION = "review_decision"  # 人工复核结论 on an earlier event

    @property
    def zh(self) -> str:
        return {"check_in": "签到", "check_out": "签退", "spot_check": "随机抽查",
                "review_decision": "复核"}[self.value]


class EventVerdict(str, enum.Enum):
    """What the automatic checks decided when the event was recorded."""

    VERIFIED = "verified"
    REJECTED = "rejected"
    FLAGGED = "flagged"  # needs a person to look (e.g. a borderline face, a location signal)


class ReviewOutcome(str, enum.Enum):
    APPROVED = "approved"
    REJECTED = "rejected"


class AttendanceError(ValueError):
    """Events that cannot be read as a history (naive times, a decision about nothing, ...)."""


def _aware(at: object, name: str) -> datetime:
    if not isinstance(at, datetime):
        raise AttendanceError(f"{name} must be a datetime, got {type(at).__name__}")
    if at.tzinfo is None or at.utcoffset() is None:
        raise AttendanceError(f"{name} must be timezone-aware (store UTC, show Asia/Shanghai), got {at.isoformat()}")
    return at.astimezone(UTC)


@dataclass(frozen=True)
class AttendanceEvent:
    """One stored verification event.

    check_in / check_out / spot_check carry the automatic `verdict`. A review_decision carries
    `decides` (the id of the event it decides) and `decision`; the latest decision about an event
    replaces its verdict (approved counts, rejected does not), so a reviewer can both rescue a
    flagged check-in and overturn a verified one found to be fraud.
    """

    id: EventId
    kind: EventKind
    at: datetime
    verdict: EventVerdict | None = None
    decides: EventId | None = None
    decision: ReviewOutcome | None = None
    #: How presence was verified: None for the face check, TEACHER_ATTESTED for a trainee who
    #: refused face processing (the teacher confirmed them in the room; `attested_verdict`)
    method: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", EventKind(self.kind))
        object.__setattr__(self, "at", _aware(self.at, f"event {self.id!r} time"))
        if self.kind is EventKind.REVIEW_DECISION:
            if self.decides is None or self.decision is None:
                raise AttendanceError(f"review decision {self.id!r} needs `decides` and `decision`")
            if self.verdict is not None:
                raise AttendanceError(f"review decision {self.id!r} has a decision, not a verdict")
            object.__setattr__(self, "decision", ReviewOutcome(self.decision))
        else:
            if self.verdict is None:
                raise AttendanceError(f"{self.kind.value} event {self.id!r} needs a verdict")
            if self.decides is not None or self.decision is not None:
                raise AttendanceError(f"{self.kind.value} event {self.id!r} cannot decide another event")
            object.__setattr__(self, "verdict", EventVerdict(self.verdict))


def attested_verdict(rule: str, clause: str, signals: bool) -> tuple[EventVerdict, Reason]:
    """The verdict of a check-in, check-out or spot-check answer that the teacher attested on
    their own device in the room, for a trainee who refused face processing: verified only where
    the region's rule (`rule`, one of ATTESTED_RULES, cited as `clause`) counts attested events
    directly and none of the checks raised a signal (`signals`); otherwise flagged, for the
    district's review. Nothing here refuses the trainee: the event is recorded either way."""
    if rule not in ATTESTED_RULES:
        raise AttendanceError(f"unknown rule for teacher-attested events: {rule!r}")
    if rule == "on_teacher_attestation" and not signals:
        return EventVerdict.VERIFIED, Reason(
            "teacher_attested", clause, "老师确认本人在场（未使用人脸识别）：按本地区规定，老师确认后直接计入学时")
    why = ("按本地区规定须经区县人社复核通过后计入学时" if rule == "after_district_review"
           else "核验中有需人工查看的情况，须经区县人社复核通过后计入学时")
    return EventVerdict.FLAGGED, Reason("teacher_attested_needs_review", clause, f"老师确认本人在场（未使用人脸识别）：{why}")


def _finite(value: object, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise AttendanceError(f"{name} must be a finite number, got {value!r}")
    return float(value)


#: What a recorded lesson's player reports; only "playing" can be watching.
PLAYBACK_STATES = ("playing", "paused", "ended", "buffering")


@dataclass(frozen=True)
class Playback:
    """The lesson video's state when a heartbeat was sent: `position` seconds into the video,
    the player's `state` (one of PLAYBACK_STATES) and its playback `rate` (1.0 is normal speed);
    for a live stream, `lag` too: seconds behind the live edge (None when the player cannot tell)."""

    position: float
    state: str
    rate: float = 1.0
    lag: float | None = None

    def __post_init__(self) -> None:
        position = _finite(self.position, "playback position")
        if position < 0:
            raise AttendanceError(f"playback position must be >= 0 seconds, got {self.position!r}")
        if not isinstance(self.state, str) or self.state not in PLAYBACK_STATES:
            raise AttendanceError(f"playback state must be one of {', '.join(PLAYBACK_STATES)}, got {self.state!r}")
        rate = _finite(self.rate, "playback rate")
        if rate <= 0:
            raise AttendanceError(f"playback rate must be > 0, got {self.rate!r}")
        object.__setattr__(self, "position", position)
        object.__setattr__(self, "rate", rate)
        if self.lag is not None:
            lag = _finite(self.lag, "live lag")
            if lag < 0:
                raise AttendanceError(f"live lag must be >= 0 seconds, got {self.lag!r}")
            object.__setattr__(self, "lag", lag)


@dataclass(frozen=True)
class LiveMedia:
    """A live stream the online lesson plays inside our page (直播课): only time watched at the live
    edge counts, `max_lag` seconds behind it at most (an HLS player runs a few segments behind;
    further back is watching a recording of what already happened)."""

    max_lag: float = 60.0

    def __post_init__(self) -> None:
        lag = _finite(self.max_lag, "live max lag")
        if lag <= 0:
            raise AttendanceError(f"live max lag must be > 0 seconds, got {self.max_lag!r}")
        object.__setattr__(self, "max_lag", lag)


@dataclass(frozen=True)
class QuizGate:
    """A checkpoint quiz (课程测验) at `position` seconds into a recorded video, for one trainee:
    the content from the previous checkpoint (or the start) up to here counts once they passed it
    (`passed_at`; None = not yet). policies/quiz.py grades the answers."""

    position: float
    passed_at: datetime | None = None

    def __post_init__(self) -> None:
        position = _finite(self.position, "checkpoint position")
        if position <= 0:
            raise AttendanceError(f"checkpoint position must be > 0 seconds, got {self.position!r}")
        object.__setattr__(self, "position", position)
        if self.passed_at is not None:
            object.__setattr__(self, "passed_at", _aware(self.passed_at, "quiz passed time"))


@dataclass(frozen=True)
class RecordedMedia:
    """The recorded video an online lesson plays inside our page (录播课): its length in seconds,
    and, where checkpoint quizzes are on, the trainee's `checkpoints` (in position order)."""

    duration: float
    checkpoints: tuple[QuizGate, ...] = ()

    def __post_init__(self) -> None:
        duration = _finite(self.duration, "recorded video duration")
        if duration <= 0:
            raise AttendanceError(f"recorded video duration must be > 0 seconds, got {self.duration!r}")
        object.__setattr__(self, "duration", duration)
        gates = tuple(self.checkpoints)
        if not all(isinstance(g, QuizGate) for g in gates):
            raise AttendanceError("checkpoints must be QuizGate values")
        if any(b.position <= a.position for a, b in zip(gates, gates[1:], strict=False)):
            raise AttendanceError("checkpoints must be in increasing position order")
        object.__setattr__(self, "checkpoints", gates)

    def segments(self) -> list[tuple[float, float, QuizGate]]:
        """Each checkpoint's segment of the video: (from, to, gate)."""
        starts = [0.0, *(g.position for g in self.checkpoints)]
        return [(a, min(g.position, self.duration), g) for a, g in zip(starts, self.checkpoints, strict=False)]

    def locked(self, now: datetime) -> list[tuple[float, float, int]]:
        """The content (seconds from, to, segment number from 1) whose quiz is not passed by `now`."""
        return [(a, b, i) for i, (a, b, g) in enumerate(self.segments(), start=1)
                if b > a and (g.passed_at is None or g.passed_at > now)]


@dataclass(frozen=True)
class Heartbeat:
    """The online page's presence report: sent every <= 30 s and whenever visibility changes.
    On a recorded lesson it carries the player's `playback` state (sent on every play, pause,
    seek and rate change as well)."""

    at: datetime
    visible: bool
    playback: Playback | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "at", _aware(self.at, "heartbeat time"))
        if not isinstance(self.visible, bool):
            raise AttendanceError(f"heartbeat `visible` must be a bool, got {self.visible!r}")
        if self.playback is not None and not isinstance(self.playback, Playback):
            raise AttendanceError(f"heartbeat `playback` must be a Playback or None, got {type(self.playback).__name__}")


@dataclass(frozen=True)
class SpotCheck:
    """A spot check: issued at a random moment, answered (face; offline also place) within the
    window or missed. Online, its answer is judged here; offline, the answer is an event.

    `passed` is the automatic result of the answer; a review decision in the events that names
    this check's `id` replaces it. An answer after the window counts as missed.
    """

    id: EventId
    issued_at: datetime
    answered_at: datetime | None = None
    passed: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "issued_at", _aware(self.issued_at, f"spot check {self.id!r} issue time"))
        if self.answered_at is not None:
            answered = _aware(self.answered_at, f"spot check {self.id!r} answer time")
            if answered < self.issued_at:
                raise AttendanceError(f"spot check {self.id!r} was answered before it was issued")
            object.__setattr__(self, "answered_at", answered)
        elif self.passed:
            raise AttendanceError(f"spot check {self.id!r} cannot pass without an answer")


@dataclass(frozen=True)
class AttendanceSettings:
    """Settings with their defaults and why.

    - max_heartbeat_gap 45 s: the page reports every 30 s; one late report is tolerated, a
      missing one is not (the page was closed, the network was off, or the phone slept).
    - spot_check_window 60 s: time to answer a spot check. Offline, a failed spot check followed
      within this window by a verified one is a retry, not a failure.
    - clause: cited on every reason; pass the region's `policy.verification_clause`.
    - miss_budget None: how many spot checks an online lesson may miss (not answered within
      the window); after the miss that exceeds it nothing more of that lesson is credited, nor
      made up. None = no budget (each miss voids only its own span). The region's
      `spot_check_misses`, cited as `miss_budget_clause` (POLICY §9).
    """

    max_heartbeat_gap: timedelta = timedelta(seconds=45)
    spot_check_window: timedelta = timedelta(seconds=60)
    clause: str = DEFAULT_CLAUSE
    miss_budget: int | None = None
    miss_budget_clause: str = "POLICY §9"
    #: the region's `attested_check_ins` clause: cited when a teacher-attested event waits for
    #: the district's review (`attested_verdict`)
    attested_clause: str = "POLICY §9"

    def __post_init__(self) -> None:
        for name in ("max_heartbeat_gap", "spot_check_window"):
            value = getattr(self, name)
            if not isinstance(value, timedelta) or value <= timedelta(0):
                raise AttendanceError(f"{name} must be a positive timedelta, got {value!r}")
        budget = self.miss_budget
        if budget is not None and (isinstance(budget, bool) or not isinstance(budget, int) or budget < 0):
            raise AttendanceError(f"miss_budget must be a whole number >= 0 or None, got {budget!r}")


@dataclass(frozen=True)
class UncreditedSpan:
    """A stretch that did not count, and why.

    `claimed` is True for lesson time the trainee's own events claim (a check-in that was not
    verified, time after the last check, a hidden page...): "raw" time that the hour ledger
    shows as unverified. Time nobody claimed (before check-in, after check-out) and time outside
    the schedule are False.
    """

    start: datetime
    end: datetime
    reason: Reason
    claimed: bool

    @property
    def seconds(self) -> float:
        return (self.end - self.start).total_seconds()

    def as_dict(self) -> dict[str, object]:
        return {"start": self.start.isoformat(), "end": self.end.isoformat(), "seconds": self.seconds,
                "claimed": self.claimed, **self.reason.as_dict()}


@dataclass(frozen=True)
class AttendanceResult:
    """Credited intervals (sorted, disjoint, inside the lesson, up to `now`) and what did not count."""

    mode: Mode
    intervals: tuple[Interval, ...]
    uncredited: tuple[UncreditedSpan, ...]

    @property
    def credited_seconds(self) -> float:
        return sum((iv.end - iv.start).total_seconds() for iv in self.intervals)

    @property
    def reasons(self) -> tuple[Reason, ...]:
        """Each distinct reason once, in the order it first applies."""
        seen: dict[Reason, None] = {}
        for span in self.uncredited:
            seen.setdefault(span.reason, None)
        return tuple(seen)

    def ledger_intervals(self) -> tuple[Interval, ...]:
        """What policies.hours.credited_hours takes: the credited intervals (verified=True) and
        the claimed-but-unverified time inside the lesson (verified=False), so the 学时台账 shows
        raw time next to verified time."""
        unverified = tuple(Interval(s.start, s.end, self.mode, verified=False) for s in self.uncredited if s.claimed)
        return self.intervals + unverified


# --- span arithmetic (UTC datetimes) -----------------------------------------------------------


def _covers(merged: Sequence[Span], at: datetime) -> bool:
    i = bisect_right(merged, (at, datetime.max.replace(tzinfo=UTC))) - 1
    return i >= 0 and merged[i][0] <= at < merged[i][1]


# --- sentences ---------------------------------------------------------------------------------


def _hm(at: datetime) -> str:
    return at.astimezone(_BEIJING).strftime("%H:%M")


def _secs(delta: timedelta) -> str:
    s = delta.total_seconds()
    return f"{s:g} 秒" if s < 120 else f"{s / 60:g} 分钟"


# Priority when several reasons cover the same moment: the most specific first.
_PRIORITY = {
    "spot_check_failed": 0, "spot_check_missed": 0, "not_verified": 0, "pending_review": 0, "miss_budget_exceeded": 0,
    "attested_pending_review": 0,
    "no_check_out": 1, "page_hidden": 2, "heartbeat_gap": 3, "no_check_in": 4, "checked_out": 5,
    "not_checked_in": 6,
    # Recorded lessons: these label time inside the visible, verified presence only.
    "paused": 2, "playback_rate": 2, "seek_ahead": 2, "seek": 2, "replayed": 2, "behind_live": 2, "not_watched": 3,
    "quiz_pending": 2,
}


@dataclass(frozen=True)
class _Label:
    start: datetime
    end: datetime
    reason: Reason
    claimed: bool


# --- the walk over checks ----------------------------------------------------------------------


class _Role(enum.Enum):
    IN = "in"
    OUT = "out"
    CHECK = "check"  # a spot check (offline event, or online answer)


@dataclass(frozen=True)
class _Item:
    at: datetime
    role: _Role
    counted: bool
    failure: Reason | None = None  # why an uncounted item does not count
    order: int = 0


@dataclass
class _Walk:
    ok: list[Span] = field(default_factory=list)  # windows between consecutive verified checks
    labels: list[_Label] = field(default_factory=list)


def _walk(items: Sequence[_Item], end: datetime, clause: str, retry: timedelta | None) -> _Walk:
    """Windows between consecutive counted checks of an open session, and labelled failures.

    A failed (or unanswered, or unreviewed) spot check voids the window it falls in: nothing
    since the last verified check counts, nor anything until the next verified check. Offline, a
    failed spot check followed within `retry` by a verified one was a retry and is forgiven.
    Uncounted check-ins and check-outs are not evidence either way: a failed face at the door is
    usually retried, and credit simply runs from and to verified events only.
    """
    walk = _Walk()
    ordered = sorted(items, key=lambda it: (it.at, it.order))
    session = False
    chain: datetime | None = None  # the last verified check of the open session
    broken: tuple[datetime, Reason] | None = None  # a failed check since `chain`
    pending: tuple[datetime, Reason] | None = None  # an unverified check-in while not checked in
    failed_out: tuple[datetime, Reason] | None = None  # an unverified check-out in the open session
    closed_at: datetime | None = None

    def close_labels(at: datetime) -> None:
        nonlocal broken, pending
        if broken is not None:
            walk.labels.append(_Label(broken[0], at, broken[1], True))
            broken = None
        if pending is not None:
            walk.labels.append(_Label(pending[0], at, pending[1], True))
            pending = None

    for k, it in enumerate(ordered):
        if not it.counted:
            if it.failure is None:  # every uncounted item says why; a bug here must not credit time
                raise AttendanceError("internal: an uncounted check without a reason")
            if it.role is _Role.IN and not session and pending is None:
                pending = (it.at, it.failure)
            elif it.role is _Role.OUT and session and (failed_out is None or chain is None or failed_out[0] < chain):
                failed_out = (it.at, it.failure)
            elif it.role is _Role.CHECK and session:
                if retry is not None and any(
                    later.counted and later.role is not _Role.IN and it.at <= later.at <= it.at + retry
                    for later in ordered[k + 1:]
                ):
                    continue  # retried and passed within the window
                if chain is not None:
                    walk.labels.append(_Label(chain, it.at, it.failure, True))
                    chain = None
                if broken is None:
                    broken = (it.at, it.failure)
            continue
        if it.role is _Role.IN:
            if session and chain is not None:
                walk.ok.append((chain, it.at))
            close_labels(it.at)
            if not session and closed_at is not None:
                walk.labels.append(_Label(closed_at, it.at, _checked_out(closed_at, clause), False))
            session, chain, failed_out = True, it.at, None
        elif it.role is _Role.CHECK:
            if not session:
                continue  # presence at one instant, without a check-in: nothing to credit
            if chain is not None:
                walk.ok.append((chain, it.at))
            close_labels(it.at)
            chain = it.at
        else:  # OUT
            if not session:
                # Nothing to close: the time since the last check-out (or ever) was not attended
                # by any verified check-in. The trainee left here, whatever came before.
                walk.labels.append(_Label(closed_at or _EARLIEST, it.at, _no_check_in(it.at, clause), False))
                close_labels(it.at)
                closed_at = it.at
                continue
            if chain is not None:
                walk.ok.append((chain, it.at))
            close_labels(it.at)
            session, chain, failed_out, closed_at = False, None, None, it.at
    if session:
        if chain is not None:
            if failed_out is not None and failed_out[0] >= chain:
                walk.labels.append(_Label(chain, failed_out[0], failed_out[1], True))
                walk.labels.append(_Label(failed_out[0], end, _checked_out(failed_out[0], clause, verified=False), False))
            else:
                walk.labels.append(_Label(chain, end, _no_check_out(chain, clause), True))
        close_labels(end)
    else:
        close_labels(end)
        if closed_at is not None:
            walk.labels.append(_Label(closed_at, end, _checked_out(closed_at, clause), False))
    return walk


def _checked_out(at: datetime, clause: str, verified: bool = True) -> Reason:
    if verified:
        return Reason("checked_out", clause, f"{_hm(at)} 已签退，签退后至再次签到前的时间不计入")
    return Reason("checked_out", clause, f"{_hm(at)} 尝试签退（未通过核验），此后的时间不计入")


def _no_check_in(at: datetime, clause: str) -> Reason:
    return Reason("no_check_in", clause, f"{_hm(at)} 的签退之前没有通过核验的签到，这段时间不计入")


def _no_check_out(last: datetime, clause: str) -> Reason:
    return Reason("no_check_out", clause,
                  f"未签退：最后一次通过核验是 {_hm(last)}，之后的时间不计入，请下课时按时签退")


def _not_counted(kind: EventKind, at: datetime, status: str, clause: str, method: str | None = None,
                 attested_clause: str = "POLICY §9") -> Reason:
    if status == "flagged" and method == TEACHER_ATTESTED:
        return Reason("attested_pending_review", attested_clause,
                      f"{_hm(at)} 的{kind.zh}由老师确认本人在场（未使用人脸识别），按本地区规定须经区县人社复核通过后计入")
    if status == "flagged":
        return Reason("pending_review", clause, f"{_hm(at)} 的{kind.zh}待人工复核，复核通过前相关时间不计入")
    if kind is EventKind.SPOT_CHECK:
        return Reason("spot_check_failed", clause,
                      f"{_hm(at)} 的随机抽查未通过核验，自上次核验至下次核验之间的时间不计入")
    return Reason("not_verified", clause, f"{_hm(at)} 的{kind.zh}未通过核验，相关时间不计入")


# --- reading the events ------------------------------------------------------------------------


def _check_lesson(lesson: PlannedLesson, mode: Mode) -> tuple[datetime, datetime]:
    start = _aware(lesson.start, "lesson start")
    end = _aware(lesson.end, "lesson end")
    if end <= start:
        raise AttendanceError(f"lesson ends before it starts: {lesson.start.isoformat()} -> {lesson.end.isoformat()}")
    if Mode(lesson.mode) is not mode:
        raise AttendanceError(f"this is a {Mode(lesson.mode).value} lesson; use the {Mode(lesson.mode).value} rule")
    return start, end


def _statuses(events: Sequence[AttendanceEvent], now: datetime,
              extra_ids: dict[EventId, datetime]) -> tuple[list[AttendanceEvent], dict[EventId, str]]:
    """The verification events and, per id, the status that counts: verified/approved -> "ok",
    otherwise "rejected" or "flagged". The latest review decision about an event wins."""
    by_id: dict[EventId, AttendanceEvent] = {}
    for e in events:
        if not isinstance(e, AttendanceEvent):
            raise AttendanceError(f"expected AttendanceEvent, got {type(e).__name__}")
        if e.at > now:
            raise AttendanceError(f"event {e.id!r} at {e.at.isoformat()} is after now ({now.isoformat()})")
        if e.id in by_id or e.id in extra_ids:
            raise AttendanceError(f"two events share the id {e.id!r}")
        by_id[e.id] = e
    status: dict[EventId, str] = {}
    for e in by_id.values():
        if e.kind is not EventKind.REVIEW_DECISION:
            assert e.verdict is not None  # AttendanceEvent.__post_init__ requires one
            status[e.id] = {"verified": "ok", "rejected": "rejected", "flagged": "flagged"}[e.verdict.value]
    decisions = sorted(((i, e) for i, e in enumerate(events) if e.kind is EventKind.REVIEW_DECISION),
                       key=lambda p: (p[1].at, p[0]))
    for _, d in decisions:
        assert d.decides is not None  # AttendanceEvent.__post_init__ requires it of a review decision
        target_at = by_id[d.decides].at if d.decides in by_id else extra_ids.get(d.decides)
        if target_at is None:
            raise AttendanceError(f"review decision {d.id!r} decides unknown event {d.decides!r}")
        if d.decides in by_id and by_id[d.decides].kind is EventKind.REVIEW_DECISION:
            raise AttendanceError(f"review decision {d.id!r} decides another decision; decide the event itself")
        if d.at < target_at:
            raise AttendanceError(f"review decision {d.id!r} is earlier than the event it decides")
        status[d.decides] = "ok" if d.decision is ReviewOutcome.APPROVED else "rejected"
    verification = [e for e in events if e.kind is not EventKind.REVIEW_DECISION]
    return verification, status


_ROLE = {EventKind.CHECK_IN: _Role.IN, EventKind.CHECK_OUT: _Role.OUT, EventKind.SPOT_CHECK: _Role.CHECK}


def _event_items(verification: Sequence[AttendanceEvent], status: dict[EventId, str], clause: str,
                 attested_clause: str = "POLICY §9") -> list[_Item]:
    items = []
    for i, e in enumerate(verification):
        ok = status[e.id] == "ok"
        why = None if ok else _not_counted(e.kind, e.at, status[e.id], clause, e.method, attested_clause)
        items.append(_Item(e.at, _ROLE[e.kind], ok, why, order=i))
    return items


def _outside_lesson(start: datetime, end: datetime, clause: str) -> Reason:
    return Reason("outside_lesson_time", clause,
                  f"课程安排时间为 {_hm(start)}–{_hm(end)}，安排时间之外的时间不计入")


def _assemble(mode: Mode, start: datetime, end: datetime, now: datetime, presence: list[Span],
              labels: list[_Label], clause: str) -> AttendanceResult:
    """Clip verified presence to the lesson (and now); label every other moment of the lesson."""
    horizon = min(end, now)
    window = [(start, horizon)] if horizon > start else []
    credited = _intersect(presence, window)
    uncredited: list[UncreditedSpan] = []
    # Verified presence outside the schedule (early check-in, late check-out). Presence never
    # runs past now: it ends at verified checks, which are all in the past.
    for s, e in _subtract(presence, [(start, end)]):
        uncredited.append(UncreditedSpan(s, e, _outside_lesson(start, end, clause), False))
    # Every other moment inside the lesson gets the most specific label that covers it.
    gaps = _subtract(window, credited)
    ranked = sorted(labels, key=lambda lb: _PRIORITY[lb.reason.code])
    merged_by_label = [(_merge([(lb.start, lb.end)]), lb) for lb in ranked]
    cuts = sorted({t for s, e in gaps for t in (s, e)}
                  | {t for lb in labels for t in (lb.start, lb.end) if any(s < t < e for s, e in gaps)})
    pieces: list[UncreditedSpan] = []
    for s, e in gaps:
        points = [s] + [t for t in cuts if s < t < e] + [e]
        for a, b in zip(points, points[1:], strict=False):
            mid = a + (b - a) / 2
            label = next((lb for m, lb in merged_by_label if _covers(m, mid)), None)
            if label is None:
                reason, claimed = Reason("not_checked_in", clause, "未签到（或未通过签到核验），这段时间不计入"), False
            else:
                reason, claimed = label.reason, label.claimed
            if pieces and pieces[-1].end == a and pieces[-1].reason == reason and pieces[-1].claimed == claimed:
                pieces[-1] = UncreditedSpan(pieces[-1].start, b, reason, claimed)
            else:
                pieces.append(UncreditedSpan(a, b, reason, claimed))
    uncredited.extend(pieces)
    uncredited.sort(key=lambda u: (u.start, u.end))
    return AttendanceResult(
        mode=mode,
        intervals=tuple(Interval(s, e, mode, verified=True) for s, e in credited),
        uncredited=tuple(uncredited),
    )


# --- the two rules -----------------------------------------------------------------------------


def offline_credit(
    lesson: PlannedLesson,
    events: Sequence[AttendanceEvent],
    now: datetime,
    settings: AttendanceSettings = AttendanceSettings(),
    spot_checks: Sequence[SpotCheck] = (),
) -> AttendanceResult:
    """Verified time at the venue for one trainee and one offline lesson.

    Credit is the union of [verified check-in, verified check-out] spans (left and came back:
    several spans), clipped to the lesson's scheduled time. Without a verified check-out, credit
    stops at the last verified event (a verified spot check counts as one). A check-out without a
    verified check-in credits nothing. Rejected or flagged events count only once a later review
    decision approved them. A failed spot check voids the time from the last verified check to
    the next one (unless retried and passed within `spot_check_window`).

    Offline spot checks are answered by events (kind spot_check, with the face + place verdict);
    `spot_checks` are the ones asked: one with no answer within `spot_check_window` is missed,
    and a missed one ends the credited span as a failed one does (as online: nothing since the
    last verified check counts, nor anything until the next).
    """
    now = _aware(now, "now")
    start, end = _check_lesson(lesson, Mode.OFFLINE)
    verification, status = _statuses(events, now, {})
    items = _event_items(verification, status, settings.clause, settings.attested_clause)
    items += _missed(spot_checks, now, settings, len(items))
    walk = _walk(items, min(end, now), settings.clause, settings.spot_check_window)
    return _assemble(Mode.OFFLINE, start, end, now, _merge(walk.ok), walk.labels, settings.clause)


def _missed(spot_checks: Sequence[SpotCheck], now: datetime, settings: AttendanceSettings, first: int) -> list[_Item]:
    """Offline spot checks not answered within the window, as failed checks at the moment they
    were asked (their answers, in time or late, are events of their own)."""
    window, clause = settings.spot_check_window, settings.clause
    out = []
    for i, sc in enumerate(spot_checks, start=first):
        if not isinstance(sc, SpotCheck):
            raise AttendanceError(f"expected SpotCheck, got {type(sc).__name__}")
        if sc.issued_at > now:
            raise AttendanceError(f"spot check {sc.id!r} is after now ({now.isoformat()})")
        answered = sc.answered_at is not None and sc.answered_at - sc.issued_at <= window
        if answered or now < sc.issued_at + window:
            continue  # answered (the answer is an event), or still open
        out.append(_Item(sc.issued_at, _Role.CHECK, False, _missed_reason(sc.issued_at, window, clause), order=i))
    return out


def _missed_reason(at: datetime, window: timedelta, clause: str) -> Reason:
    return Reason("spot_check_missed", clause,
                  f"{_hm(at)} 发起的随机抽查未在 {_secs(window)}内完成，自上次核验至下次核验之间的时间不计入")


def _miss_budget_reason(at: datetime, missed: int, budget: int, clause: str) -> Reason:
    return Reason("miss_budget_exceeded", clause,
                  f"本课次已错过 {missed} 次随机抽查，超过本地区允许的 {budget} 次，自 {_hm(at)} 起本课次不再计入学时")


def _over_budget(items: Sequence[_Item], budget: int | None) -> tuple[datetime, int] | None:
    """When an online lesson's misses exceed its budget: the time the exceeding spot check was
    asked, and the misses so far. Only misses while checked in count (the walk's session: a
    counted check-in opens it, a counted check-out closes it); a failed answer is not a miss."""
    if budget is None:
        return None
    session, missed = False, 0
    for it in sorted(items, key=lambda it: (it.at, it.order)):
        if it.counted and it.role is not _Role.CHECK:
            session = it.role is _Role.IN
        elif session and not it.counted and it.failure is not None and it.failure.code == "spot_check_missed":
            missed += 1
            if missed > budget:
                return it.at, missed
    return None


def _spend_budget(walk: _Walk, items: Sequence[_Item], settings: AttendanceSettings) -> _Walk:
    """Nothing of the lesson counts from the miss that exceeded the budget on: the windows after
    it are dropped, and the time the trainee claimed after it says why (no make-up either)."""
    over = _over_budget(items, settings.miss_budget)
    if over is None or settings.miss_budget is None:
        return walk
    cut, missed = over
    reason = _miss_budget_reason(cut, missed, settings.miss_budget, settings.miss_budget_clause)
    after = [(cut, datetime.max.replace(tzinfo=UTC))]
    out = _Walk(ok=_subtract(walk.ok, after))
    for lb in walk.labels:
        if not lb.claimed or lb.end <= cut:
            out.labels.append(lb)
            continue
        if lb.start < cut:
            out.labels.append(_Label(lb.start, cut, lb.reason, True))
        out.labels.append(_Label(max(lb.start, cut), lb.end, reason, True))
    out.labels += [_Label(s, e, reason, True) for s, e in _intersect(walk.ok, after)]
    return out


# --- recorded lessons: credit = content watched ------------------------------------------------

#: A pair of heartbeats may show the video a little ahead of or behind the clock (the report's
#: own timing, a short stall) without being a seek: 2 s plus 5% of the time between them.
_SEEK_TOLERANCE = 2.0
_SEEK_TOLERANCE_SHARE = 0.05
#: Playback rates within this of 1 are normal speed (the player reports a float).
_RATE_NOISE = 1e-6


def _pos(seconds: float) -> str:
    """A position in the video as the player shows it: 12:05 or 1:02:05."""
    whole = int(seconds)
    h, m, s = whole // 3600, whole // 60 % 60, whole % 60
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def _paused() -> Reason:
    return Reason("paused", WATCHED_CLAUSE, "课程视频处于暂停、缓冲或播放结束状态，视频未播放的时间不计入")


def _rate(rate: float) -> Reason:
    return Reason("playback_rate", WATCHED_CLAUSE, f"只有1倍速播放计入学时，以 {rate:g} 倍速播放的时间不计入")


def _seek_ahead(furthest: float) -> Reason:
    return Reason("seek_ahead", WATCHED_CLAUSE,
                  f"跳过未观看的内容：视频已观看到 {_pos(furthest)}，请从该处继续按顺序观看，跳过期间的时间不计入")


def _seek() -> Reason:
    return Reason("seek", WATCHED_CLAUSE, "拖动了视频播放进度，拖动前后这段时间不计入")


def _replayed() -> Reason:
    return Reason("replayed", WATCHED_CLAUSE, "已观看过的内容重复播放不重复计入")


def _not_watched() -> Reason:
    return Reason("not_watched", WATCHED_CLAUSE, "未在本页观看课程视频，这段时间不计入")


def _pair_problem(p1: Playback, p2: Playback, dt: float, furthest: float) -> Reason | None:
    """Why the video between two playback reports `dt` seconds apart was not watching new content
    in order (paused, not 1x, a seek ahead of `furthest`, another seek), or None when it was."""
    tol = _SEEK_TOLERANCE + _SEEK_TOLERANCE_SHARE * dt
    if p1.state != "playing":
        return _paused()
    if abs(p1.rate - 1) > _RATE_NOISE or abs(p2.rate - 1) > _RATE_NOISE:
        return _rate(p1.rate if abs(p1.rate - 1) > _RATE_NOISE else p2.rate)
    if p2.position > furthest + dt + tol:
        return _seek_ahead(furthest)
    dp = p2.position - p1.position
    if dp < -tol or dp > dt + tol:
        return _seek()
    return None


def furthest_watched(heartbeats: Sequence[Heartbeat], duration: float) -> float:
    """The furthest point of a recorded video reached by playing on at 1x (as `_watched` counts
    it): where the player lets the trainee go back to, on any device."""
    reports = sorted(((hb.at, hb.playback) for hb in heartbeats if hb.playback is not None), key=lambda r: r[0])
    furthest = 0.0
    for (t1, p1), (t2, p2) in zip(reports, reports[1:], strict=False):
        if t2 > t1 and _pair_problem(p1, p2, (t2 - t1).total_seconds(), furthest) is None:
            furthest = max(furthest, min(p2.position, duration))
    return furthest


def _quiz_pending(number: int, a: float, b: float) -> Reason:
    return Reason("quiz_pending", WATCHED_CLAUSE,
                  f"第 {number} 段（{_pos(a)}–{_pos(b)}）的课程测验尚未通过，这段观看时间在测验通过后计入")


def _watched(heartbeats: Sequence[Heartbeat], media: RecordedMedia, presence: Sequence[Span],
             now: datetime | None = None) -> tuple[list[Span], list[_Label]]:
    """Wall-clock spans in which content of the recorded video was watched for the first time
    inside `presence` (the verified, visible time), and labels for the other stretches between
    playback reports.

    Walks consecutive heartbeats that carry playback; between two reports the video plays at 1x
    and ends at the second report's position. Two things are kept apart:

    - `furthest`, the furthest point reached by playing on (at any time, the page hidden
      included): a pair that ends ahead of anything that could have been played since is a seek
      ahead, not credited, and `furthest` stays until the trainee comes back to it;
    - the content already credited: a second of the video is credited once, however often it is
      replayed. Content played outside `presence` (a hidden page, the window of a failed spot
      check) is not credited, so watching it again later makes it up.

    Content of a segment whose checkpoint quiz is not passed by `now` is watched (a replay of it
    is not new) but held back with `quiz_pending`: passing the quiz later credits that first
    watching, so a trainee never has to watch a segment twice for it to count.
    """
    locked = media.locked(now) if now is not None else []
    reports: list[tuple[datetime, Playback]] = sorted(((hb.at, hb.playback) for hb in heartbeats if hb.playback is not None),
                                                      key=lambda r: r[0])
    present = _merge(presence)
    watched: list[Span] = []
    labels: list[_Label] = []
    credited: list[tuple[float, float]] = []  # content spans (seconds into the video) already credited
    furthest = 0.0
    for (t1, p1), (t2, p2) in zip(reports, reports[1:], strict=False):
        if t2 <= t1:
            continue
        dt = (t2 - t1).total_seconds()
        dp = p2.position - p1.position
        problem = _pair_problem(p1, p2, dt, furthest)
        if problem is not None:
            labels.append(_Label(t1, t2, problem, True))
            continue
        furthest = max(furthest, min(p2.position, media.duration))
        played = min(max(dp, 0.0), dt)
        played_from = t2 - timedelta(seconds=played)
        if played_from > t1:  # the video did not move all that time: a stall
            labels.append(_Label(t1, played_from, _paused(), True))
        if played <= 0:
            continue

        def content(at: datetime, p2: Playback = p2, t2: datetime = t2) -> float:
            return p2.position - (t2 - at).total_seconds()

        def wall(c: float, p2: Playback = p2, t2: datetime = t2) -> datetime:
            return t2 - timedelta(seconds=p2.position - c)

        for a, b in _intersect([(played_from, t2)], present):
            lo, hi = max(content(a), 0.0), min(content(b), media.duration)
            if hi <= lo:
                labels.append(_Label(a, b, _paused(), True))  # past the video's end
                continue
            before = credited
            for x, y in _subtract([(lo, hi)], credited):
                for la, lb, number in locked:
                    for qa, qb in _intersect([(x, y)], [(la, lb)]):
                        labels.append(_Label(wall(qa), wall(qb), _quiz_pending(number, la, lb), True))
                watched += [(wall(u), wall(v)) for u, v in _subtract([(x, y)], [(la, lb) for la, lb, _n in locked])]
                credited = _merge([*credited, (x, y)])
            labels += [_Label(wall(x), wall(y), _replayed(), True) for x, y in _intersect([(lo, hi)], before)]
            if content(b) > media.duration:
                labels.append(_Label(wall(media.duration), b, _paused(), True))
    return _merge(watched), labels


def _behind_live(lag: float, max_lag: float) -> Reason:
    return Reason("behind_live", WATCHED_CLAUSE,
                  f"直播课须跟随直播进度观看：播放落后直播 {lag:.0f} 秒（超过 {max_lag:.0f} 秒），这段时间不计入")


def _watched_live(heartbeats: Sequence[Heartbeat], media: LiveMedia) -> tuple[list[Span], list[_Label]]:
    """Wall-clock spans in which the live stream played at 1x at the live edge (both reports of
    a pair within `max_lag` of it), and labels for the other stretches between playback reports."""
    reports = sorted(((hb.at, hb.playback) for hb in heartbeats if hb.playback is not None), key=lambda r: r[0])
    watched: list[Span] = []
    labels: list[_Label] = []
    for (t1, p1), (t2, p2) in zip(reports, reports[1:], strict=False):
        if t2 <= t1:
            continue
        if p1.state != "playing":
            labels.append(_Label(t1, t2, _paused(), True))
        elif abs(p1.rate - 1) > _RATE_NOISE or abs(p2.rate - 1) > _RATE_NOISE:
            labels.append(_Label(t1, t2, _rate(p1.rate if abs(p1.rate - 1) > _RATE_NOISE else p2.rate), True))
        elif p1.lag is None or p2.lag is None:
            labels.append(_Label(t1, t2, _not_watched(), True))
        elif max(p1.lag, p2.lag) > media.max_lag:
            labels.append(_Label(t1, t2, _behind_live(max(p1.lag, p2.lag), media.max_lag), True))
        else:
            watched.append((t1, t2))
    return _merge(watched), labels


def online_credit(
    lesson: PlannedLesson,
    events: Sequence[AttendanceEvent],
    heartbeats: Sequence[Heartbeat],
    spot_checks: Sequence[SpotCheck],
    now: datetime,
    settings: AttendanceSettings = AttendanceSettings(),
    *,
    media: RecordedMedia | LiveMedia | None = None,
) -> AttendanceResult:
    """Verified time on the online lesson page for one trainee and one online lesson.

    Credited = the spans between consecutive passed checks (the session's verified check-in is
    the first check, a verified check-out the last) during which heartbeats show the page
    visible, at most `max_heartbeat_gap` apart; clipped to the lesson's scheduled time. A failed
    or missed spot check credits nothing since the last pass, nor until the next; a gap or a
    hidden page cuts that stretch out; after the last passed check nothing counts until a
    verified check-out (or the next pass) closes the span.

    `events` are the session's check-in / check-out events and review decisions (which may also
    decide a spot check by its id); online spot checks go in `spot_checks`.

    A recorded lesson (`media`, the video played inside the page) credits, of that time, only
    the stretches in which new content was watched at 1x while playing (POLICY §9): paused,
    sped-up, replayed and skipped-ahead time does not count, nor time with no playback reports.
    A live lesson (`LiveMedia`) credits only time the stream played at 1x at its live edge.
    """
    now = _aware(now, "now")
    start, end = _check_lesson(lesson, Mode.ONLINE)
    if media is not None and not isinstance(media, RecordedMedia | LiveMedia):
        raise AttendanceError(f"media must be a RecordedMedia, a LiveMedia or None, got {type(media).__name__}")
    clause = settings.clause
    for sc in spot_checks:
        if not isinstance(sc, SpotCheck):
            raise AttendanceError(f"expected SpotCheck, got {type(sc).__name__}")
        if sc.issued_at > now or (sc.answered_at is not None and sc.answered_at > now):
            raise AttendanceError(f"spot check {sc.id!r} is after now ({now.isoformat()})")
    check_ids = {sc.id: (sc.answered_at or sc.issued_at) for sc in spot_checks}
    if len(check_ids) != len(spot_checks):
        raise AttendanceError("two spot checks share an id")
    verification, status = _statuses(events, now, check_ids)
    if any(e.kind is EventKind.SPOT_CHECK for e in verification):
        raise AttendanceError("online spot checks go in `spot_checks` (issued, answered, passed), not in events")
    items = _event_items(verification, status, clause)
    window = settings.spot_check_window
    for i, sc in enumerate(spot_checks, start=len(items)):
        if sc.answered_at is None or sc.answered_at - sc.issued_at > window:
            if sc.answered_at is None and now < sc.issued_at + window:
                continue  # still open: neither passed nor missed yet
            items.append(_Item(sc.issued_at, _Role.CHECK, False, _missed_reason(sc.issued_at, window, clause), order=i))
            continue
        decided = status.get(sc.id)
        passed = sc.passed if decided is None else decided == "ok"
        failure = None if passed else Reason(
            "spot_check_failed", clause,
            f"{_hm(sc.answered_at)} 的随机抽查未通过核验，自上次核验至下次核验之间的时间不计入")
        items.append(_Item(sc.answered_at, _Role.CHECK, passed, failure, order=i))
    walk = _spend_budget(_walk(items, min(end, now), clause, None), items, settings)
    ok = _merge(walk.ok)

    # Heartbeats: a verified check is itself a moment the page was visible (it ran on the page).
    beats: list[tuple[datetime, bool]] = []
    for hb in heartbeats:
        if not isinstance(hb, Heartbeat):
            raise AttendanceError(f"expected Heartbeat, got {type(hb).__name__}")
        if hb.at > now:
            raise AttendanceError(f"heartbeat at {hb.at.isoformat()} is after now ({now.isoformat()})")
        beats.append((hb.at, hb.visible))
    beats.extend((it.at, True) for it in items if it.counted)
    beats.sort(key=lambda b: b[0])
    visible: list[Span] = []
    hidden: list[Span] = []
    gaps: list[Span] = []
    for (t1, v1), (t2, v2) in zip(beats, beats[1:], strict=False):
        if t2 <= t1:
            continue
        if t2 - t1 > settings.max_heartbeat_gap:
            gaps.append((t1, t2))
        elif v1 and v2:
            visible.append((t1, t2))
        else:
            hidden.append((t1, t2))
    # Inside a window, time with no heartbeat on either side is a gap as well.
    covered = _merge(visible + hidden + gaps)
    gaps += _subtract(ok, covered)
    presence = _intersect(ok, visible)
    labels = list(walk.labels)
    labels += [_Label(s, e, Reason("page_hidden", clause, "学习页面不在前台（切换到其他应用或锁屏），这段时间不计入"), True)
               for s, e in _intersect(ok, _subtract(hidden, visible))]
    labels += [_Label(s, e, Reason("heartbeat_gap", clause,
                                   f"学习页面超过 {_secs(settings.max_heartbeat_gap)}未上报在线状态"
                                   "（网络中断或页面关闭），这段时间不计入"), True)
               for s, e in _intersect(ok, _subtract(gaps, visible))]
    if media is not None:
        watched, reasons = (_watched(heartbeats, media, presence, now) if isinstance(media, RecordedMedia)
                            else _watched_live(heartbeats, media))
        # Within the verified, visible presence, whatever was not watched says why.
        unwatched = _subtract(presence, watched)
        by_reason: dict[Reason, list[Span]] = {}
        for lb in reasons:
            by_reason.setdefault(lb.reason, []).append((lb.start, lb.end))
        for reason, where in by_reason.items():
            labels += [_Label(s, e, reason, True) for s, e in _intersect(unwatched, where)]
        labels += [_Label(s, e, _not_watched(), True)
                   for s, e in _subtract(unwatched, [(lb.start, lb.end) for lb in reasons])]
        presence = _intersect(presence, watched)
    return _assemble(Mode.ONLINE, start, end, now, presence, labels, clause)


def credit_lesson(
    lesson: PlannedLesson,
    events: Sequence[AttendanceEvent],
    now: datetime,
    *,
    heartbeats: Sequence[Heartbeat] = (),
    spot_checks: Sequence[SpotCheck] = (),
    settings: AttendanceSettings = AttendanceSettings(),
    media: RecordedMedia | LiveMedia | None = None,
) -> AttendanceResult:
    """The rule for the lesson's mode: offline_credit or online_credit (`media` for a recorded
    online lesson)."""
    if Mode(lesson.mode) is Mode.OFFLINE:
        if heartbeats:
            raise AttendanceError("an offline lesson has no heartbeats")
        if media is not None:
            raise AttendanceError("an offline lesson has no recorded video")
        return offline_credit(lesson, events, now, settings, spot_checks)
    return online_credit(lesson, events, heartbeats, spot_checks, now, settings, media=media)
