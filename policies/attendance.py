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
heartbeats at most `max_heartbeat_gap` apart.

Pure: events in, result out; `now` is an argument; only timezone-aware datetimes are accepted.
"""
from __future__ import annotations

import enum
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone

from policies.hours import merge as _merge
from policies.model import Interval, Mode, PlannedLesson, Reason

#: Clause cited when the caller passes none; the service passes `policy.verification_clause`.
DEFAULT_CLAUSE = "POLICY §1"
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


@dataclass(frozen=True)
class Heartbeat:
    """The online page's presence report: sent every <= 30 s and whenever visibility changes."""

    at: datetime
    visible: bool

    def __post_init__(self) -> None:
        object.__setattr__(self, "at", _aware(self.at, "heartbeat time"))
        if not isinstance(self.visible, bool):
            raise AttendanceError(f"heartbeat `visible` must be a bool, got {self.visible!r}")


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
    """

    max_heartbeat_gap: timedelta = timedelta(seconds=45)
    spot_check_window: timedelta = timedelta(seconds=60)
    clause: str = DEFAULT_CLAUSE

    def __post_init__(self) -> None:
        for name in ("max_heartbeat_gap", "spot_check_window"):
            value = getattr(self, name)
            if not isinstance(value, timedelta) or value <= timedelta(0):
                raise AttendanceError(f"{name} must be a positive timedelta, got {value!r}")


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


def _intersect(a: Sequence[Span], b: Sequence[Span]) -> list[Span]:
    a, b = _merge(a), _merge(b)
    out: list[Span] = []
    i = j = 0
    while i < len(a) and j < len(b):
        s, e = max(a[i][0], b[j][0]), min(a[i][1], b[j][1])
        if s < e:
            out.append((s, e))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return out


def _subtract(a: Sequence[Span], b: Sequence[Span]) -> list[Span]:
    out: list[Span] = []
    b = _merge(b)
    for s, e in _merge(a):
        cursor = s
        for bs, be in b:
            if be <= cursor or bs >= e:
                continue
            if bs > cursor:
                out.append((cursor, bs))
            cursor = max(cursor, be)
        if cursor < e:
            out.append((cursor, e))
    return out


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
    "spot_check_failed": 0, "spot_check_missed": 0, "not_verified": 0, "pending_review": 0,
    "no_check_out": 1, "page_hidden": 2, "heartbeat_gap": 3, "no_check_in": 4, "checked_out": 5,
    "not_checked_in": 6,
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


def _not_counted(kind: EventKind, at: datetime, status: str, clause: str) -> Reason:
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


def _event_items(verification: Sequence[AttendanceEvent], status: dict[EventId, str], clause: str) -> list[_Item]:
    items = []
    for i, e in enumerate(verification):
        ok = status[e.id] == "ok"
        items.append(_Item(e.at, _ROLE[e.kind], ok, None if ok else _not_counted(e.kind, e.at, status[e.id], clause),
                           order=i))
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
    items = _event_items(verification, status, settings.clause)
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


def online_credit(
    lesson: PlannedLesson,
    events: Sequence[AttendanceEvent],
    heartbeats: Sequence[Heartbeat],
    spot_checks: Sequence[SpotCheck],
    now: datetime,
    settings: AttendanceSettings = AttendanceSettings(),
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
    """
    now = _aware(now, "now")
    start, end = _check_lesson(lesson, Mode.ONLINE)
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
    walk = _walk(items, min(end, now), clause, None)
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
    return _assemble(Mode.ONLINE, start, end, now, presence, labels, clause)


def credit_lesson(
    lesson: PlannedLesson,
    events: Sequence[AttendanceEvent],
    now: datetime,
    *,
    heartbeats: Sequence[Heartbeat] = (),
    spot_checks: Sequence[SpotCheck] = (),
    settings: AttendanceSettings = AttendanceSettings(),
) -> AttendanceResult:
    """The rule for the lesson's mode: offline_credit or online_credit."""
    if Mode(lesson.mode) is Mode.OFFLINE:
        if heartbeats:
            raise AttendanceError("an offline lesson has no heartbeats")
        return offline_credit(lesson, events, now, settings, spot_checks)
    return online_credit(lesson, events, heartbeats, spot_checks, now, settings)
