"""Hour credit: verified intervals in, a 学时台账 (HourLedger) out.

The rule (POLICY §3, js 2.2): credited = verified offline + min(verified online, cap x required).
Only verified time counts (凡补必进、不进不补, e.g. cq 5.2): the ledger shows raw time next to
verified time and says, with the clause, why the difference was not credited. One person is in
one place at a time (POLICY §10): where two enrollments of a person claim the same verified
minutes, one_place_at_a_time gives them to the claim that started first, and credited_hours takes
them off the other enrollment's credit, with a reason on both naming the other lesson.

Time is kept in whole seconds internally so that comparisons with the required hours are exact;
学时 are shown as Decimal rounded down (a report never shows more than was verified).
"""
from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from fractions import Fraction
from typing import Protocol, Self, TypeVar

from policies.model import HourLedger, Interval, Mode, Reason, RegionPolicy

Span = tuple[int, int]


class _Ordered(Protocol):
    """What merge() needs of an endpoint: it sorts and compares them."""

    def __lt__(self, other: Self, /) -> bool: ...
    def __le__(self, other: Self, /) -> bool: ...
    def __gt__(self, other: Self, /) -> bool: ...


T = TypeVar("T", bound=_Ordered)


def span_seconds(start: datetime, end: datetime) -> Span:
    """Whole UTC epoch seconds of an aware (start, end), rounded inwards."""
    if start.tzinfo is None or end.tzinfo is None or start.utcoffset() is None or end.utcoffset() is None:
        raise ValueError("interval times must be timezone-aware (store UTC, show Asia/Shanghai)")
    # Round inwards to whole seconds: never credit a fraction of a second that was not there.
    return math.ceil(start.timestamp()), math.floor(end.timestamp())


def merge(spans: Iterable[tuple[T, T]]) -> list[tuple[T, T]]:
    """Union of spans as sorted, non-overlapping spans (touching spans are joined). Any ordered
    endpoints: epoch seconds here, UTC datetimes in policies.attendance."""
    out: list[tuple[T, T]] = []
    for s, e in sorted(spans):
        if e <= s:
            continue
        if out and s <= out[-1][1]:
            if e > out[-1][1]:
                out[-1] = (out[-1][0], e)
        else:
            out.append((s, e))
    return out


def total(merged: Sequence[Span]) -> int:
    return sum(e - s for s, e in merged)


def overlap(a: Sequence[Span], b: Sequence[Span]) -> int:
    """Seconds covered by both of two merged span lists (two-pointer walk)."""
    i = j = covered = 0
    while i < len(a) and j < len(b):
        s = max(a[i][0], b[j][0])
        e = min(a[i][1], b[j][1])
        if e > s:
            covered += e - s
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return covered


def required_seconds(required_hours: Decimal, policy: RegionPolicy) -> Fraction:
    return Fraction(required_hours) * policy.minutes * 60


def online_cap_seconds(required_hours: Decimal, policy: RegionPolicy) -> int:
    """The most online time that can count: cap x required hours, rounded down to a second."""
    return math.floor(policy.cap * required_seconds(required_hours, policy))


def _minutes_text(seconds: int) -> str:
    if seconds % 60 == 0:
        return str(seconds // 60)
    return str((Decimal(seconds) / 60).quantize(Decimal("0.01")))


def ledger_from_seconds(
    *,
    verified_offline: int,
    verified_online: int,
    raw_offline: int,
    raw_online: int,
    policy: RegionPolicy,
    required_hours: Decimal,
    overlap_offline: int = 0,
    overlap_online: int = 0,
    extra_reasons: Sequence[Reason] = (),
) -> HourLedger:
    """Apply the credit rule to totals. credited_hours() and the CLI both end here.

    `overlap_offline` / `overlap_online`: verified time of this enrollment that another enrollment
    of the same person is credited with instead (POLICY §10); it stays verified and is not credited."""
    required_hours = Decimal(required_hours)
    if required_hours <= 0:
        raise ValueError(f"required hours must be positive, got {required_hours}")
    if min(verified_offline, verified_online, raw_offline, raw_online, overlap_offline, overlap_online) < 0:
        raise ValueError("durations cannot be negative")
    if overlap_offline > verified_offline or overlap_online > verified_online:
        raise ValueError("overlapping time cannot exceed the verified time")
    cap = online_cap_seconds(required_hours, policy)
    credited_online = min(verified_online - overlap_online, cap)
    reasons: list[Reason] = []
    unverified = (raw_offline + raw_online) - (verified_offline + verified_online)
    if unverified > 0:
        reasons.append(Reason(
            "unverified", policy.verification_clause,
            f"有 {_minutes_text(unverified)} 分钟未经核验，不计入学时（凡补必进、不进不补）。"))
    reasons.extend(extra_reasons)
    if verified_online - overlap_online > cap:
        cap_hours = Decimal(cap) / (policy.minutes * 60)
        reasons.append(Reason(
            "online_over_cap", policy.online_cap.clause,
            f"线上学时最多计入规定学时的 {_share_text(policy.cap)}（{cap_hours.quantize(Decimal('0.01'))} 学时），"
            f"超出的 {_minutes_text(verified_online - overlap_online - cap)} 分钟不计入。"))
    return HourLedger(
        minutes_per_class_hour=policy.minutes,
        required_hours=required_hours,
        raw_offline_seconds=raw_offline,
        raw_online_seconds=raw_online,
        verified_offline_seconds=verified_offline,
        verified_online_seconds=verified_online,
        credited_online_seconds=credited_online,
        online_cap_seconds=cap,
        reasons=tuple(reasons),
        overlap_offline_seconds=overlap_offline,
        overlap_online_seconds=overlap_online,
    )


def _share_text(share: Fraction) -> str:
    pct = share * 100
    return f"{pct.numerator // pct.denominator if pct.denominator == 1 else float(pct):g}%"


def credited_hours(intervals: Iterable[Interval], policy: RegionPolicy, required_hours: Decimal, *,
                   enrollment: int | None = None, overlaps: Sequence[Overlap] = ()) -> HourLedger:
    """The HourLedger of one enrollment from its intervals (verified or not, any order).

    Overlaps never count twice: each mode's time is merged, and time that is both offline and
    online counts as offline (the stricter evidence: the trainee was at the venue). Across the
    person's enrollments, `overlaps` (from one_place_at_a_time, over every enrollment of the
    person) says which of this `enrollment`'s verified time another enrollment is credited with:
    that time stays verified, is not credited, and both sides get a reason naming the other.
    """
    raw_off: list[Span] = []
    raw_on: list[Span] = []
    ver_off: list[Span] = []
    ver_on: list[Span] = []
    for iv in intervals:
        span = span_seconds(iv.start, iv.end)
        if iv.end < iv.start:
            raise ValueError(f"interval ends before it starts: {iv.start.isoformat()} -> {iv.end.isoformat()}")
        if iv.mode is Mode.OFFLINE:
            raw_off.append(span)
            if iv.verified:
                ver_off.append(span)
        else:
            raw_on.append(span)
            if iv.verified:
                ver_on.append(span)
    m_raw_off, m_raw_on = merge(raw_off), merge(raw_on)
    m_ver_off, m_ver_on = merge(ver_off), merge(ver_on)
    verified_offline = total(m_ver_off)
    verified_online = total(m_ver_on) - overlap(m_ver_on, m_ver_off)
    mine = [o for o in overlaps if enrollment is not None and enrollment in (o.kept.enrollment, o.lost.enrollment)]
    # Rounded outwards: a second split between two classes is credited to neither, never to both.
    lost = merge((math.floor(o.start.timestamp()), math.ceil(o.end.timestamp()))
                 for o in mine if o.lost.enrollment == enrollment)
    overlap_offline = overlap_online = 0
    if lost:
        kept_off, kept_on = subtract(m_ver_off, lost), subtract(m_ver_on, lost)
        overlap_offline = verified_offline - total(kept_off)
        overlap_online = verified_online - (total(kept_on) - overlap(kept_on, kept_off))
    return ledger_from_seconds(
        verified_offline=verified_offline,
        verified_online=verified_online,
        raw_offline=total(m_raw_off),
        raw_online=total(m_raw_on) - overlap(m_raw_on, m_raw_off),
        policy=policy,
        required_hours=required_hours,
        overlap_offline=overlap_offline,
        overlap_online=overlap_online,
        extra_reasons=overlap_reasons(mine, enrollment) if enrollment is not None else (),
    )


def subtract(a: Iterable[tuple[T, T]], b: Iterable[tuple[T, T]]) -> list[tuple[T, T]]:
    """The parts of spans `a` outside spans `b`, merged (any ordered endpoints, as merge())."""
    out: list[tuple[T, T]] = []
    cut = merge(b)
    for s, e in merge(a):
        cursor = s
        for bs, be in cut:
            if be <= cursor or bs >= e:
                continue
            if bs > cursor:
                out.append((cursor, bs))
            if be > cursor:
                cursor = be
        if cursor < e:
            out.append((cursor, e))
    return out


def intersect(a: Iterable[tuple[T, T]], b: Iterable[tuple[T, T]]) -> list[tuple[T, T]]:
    """The parts of spans `a` inside spans `b`, merged."""
    mine, theirs = merge(a), merge(b)
    out: list[tuple[T, T]] = []
    i = j = 0
    while i < len(mine) and j < len(theirs):
        s = mine[i][0] if theirs[j][0] < mine[i][0] else theirs[j][0]
        e = mine[i][1] if mine[i][1] < theirs[j][1] else theirs[j][1]
        if s < e:
            out.append((s, e))
        if mine[i][1] < theirs[j][1]:
            i += 1
        else:
            j += 1
    return out


# --- one person, one place, one time (POLICY §10) ----------------------------------------------

#: The clause of every overlap reason: docs/policy.md, section 10.
OVERLAP_CLAUSE = "POLICY §10"
#: China keeps one offset all year; times in sentences are shown in Beijing time.
_BEIJING = timezone(timedelta(hours=8))


@dataclass(frozen=True)
class Claim:
    """Verified time one enrollment of a person claims in one lesson: a credited interval of it.

    `what` names the lesson for a person, e.g. "《云计算1班》第3次课（线下）"."""

    enrollment: int
    lesson: int
    start: datetime
    end: datetime
    what: str = ""

    def rank(self) -> tuple[datetime, int, int, datetime]:
        """Who keeps shared time: the claim that started first; on a tie the lower enrollment id,
        then the lower lesson id (and the shorter claim, so the order is total)."""
        return (self.start, self.enrollment, self.lesson, self.end)


@dataclass(frozen=True)
class Overlap:
    """[start, end) claimed by two enrollments of one person: credited to `kept`'s, not to `lost`'s."""

    start: datetime
    end: datetime
    kept: Claim
    lost: Claim

    @property
    def seconds(self) -> float:
        return (self.end - self.start).total_seconds()


def one_place_at_a_time(claims: Iterable[Claim]) -> tuple[Overlap, ...]:
    """Where one person's enrollments claim the same moment, which one is credited with it.

    The rule (POLICY §10): a person is in one place at a time, so each moment is credited to one
    enrollment at most - the one whose claim covering that moment started first (ties: the lower
    enrollment id, then the lower lesson id). Every other enrollment claiming that moment is not
    credited for it. Claims of one enrollment never take time from each other (the ledger merges
    them). Returns each stretch of lost time with the claim that kept it, in time order.

    The moment's winner depends only on the claims covering it, so a caller may pass only the
    claims of lessons whose times overlap the ones it asks about.
    """
    items = []
    for c in claims:
        if c.start.tzinfo is None or c.end.tzinfo is None:
            raise ValueError("claim times must be timezone-aware (store UTC, show Asia/Shanghai)")
        if c.end > c.start:
            items.append(c)
    if len({c.enrollment for c in items}) < 2:
        return ()
    items.sort(key=Claim.rank)
    cuts = sorted({t for c in items for t in (c.start, c.end)})
    out: list[Overlap] = []
    latest: dict[tuple[Claim, Claim], int] = {}  # (kept, lost) -> index in `out` of its latest stretch
    for a, b in zip(cuts, cuts[1:], strict=False):
        covering = [c for c in items if c.start <= a and c.end >= b]
        if not covering:
            continue
        winner = covering[0]  # items are in rank order
        for c in covering[1:]:
            if c.enrollment == winner.enrollment:
                continue
            i = latest.get((winner, c))
            if i is not None and out[i].end == a:  # the same pair, continued
                out[i] = Overlap(out[i].start, b, winner, c)
            else:
                latest[(winner, c)] = len(out)
                out.append(Overlap(a, b, winner, c))
    return tuple(sorted(out, key=lambda o: (o.start, o.kept.rank(), o.lost.rank())))


def _when(start: datetime, end: datetime) -> str:
    a, b = start.astimezone(_BEIJING), end.astimezone(_BEIJING)
    return f"{a:%m-%d %H:%M}–{b:%H:%M}" if a.date() == b.date() else f"{a:%m-%d %H:%M}–{b:%m-%d %H:%M}"


def overlap_reasons(overlaps: Iterable[Overlap], enrollment: int) -> tuple[Reason, ...]:
    """One reason per pair of lessons where this enrollment shares time with another, in time
    order, naming the other: `overlap_not_credited` where the other keeps the time,
    `overlap_credited_here` where this one does. Both are for a reviewer: the same person claimed
    two places at once."""
    pairs: dict[tuple[Claim, Claim], list[Overlap]] = {}
    for o in sorted(overlaps, key=lambda o: o.start):
        if enrollment in (o.kept.enrollment, o.lost.enrollment):
            pairs.setdefault((o.kept, o.lost), []).append(o)
    by_lessons: dict[tuple[int, int, bool], list[Overlap]] = {}
    for (kept, lost), items in pairs.items():
        here = kept.enrollment == enrollment
        mine, other = (kept, lost) if here else (lost, kept)
        by_lessons.setdefault((mine.lesson, other.lesson, here), []).extend(items)
    out = []
    for (_, _, here), items in by_lessons.items():
        kept, lost = items[0].kept, items[0].lost
        mine, other = (kept, lost) if here else (lost, kept)
        seconds = sum(math.ceil(o.seconds) for o in items)
        head = (f"{_name(mine)}与{_name(other)}时间重叠（{'、'.join(_when(o.start, o.end) for o in items)}，"
                f"共 {_minutes_text(seconds)} 分钟）。同一人同一时间只计一处：")
        why = "同时开始，按报名先后" if kept.start == lost.start else "按开始较早者"
        if here:
            out.append(Reason("overlap_credited_here", OVERLAP_CLAUSE,
                              f"{head}{why}计入本课次，{_name(other)}不计入这段时间，请复核。"))
        else:
            out.append(Reason("overlap_not_credited", OVERLAP_CLAUSE,
                              f"{head}{why}计入{_name(other)}，本课次不计入这段时间，请复核。"))
    return tuple(out)


def _name(c: Claim) -> str:
    return c.what or f"报名 {c.enrollment} 的课次 {c.lesson}"


def ledger_from_hours(
    offline_hours: Decimal, online_hours: Decimal, policy: RegionPolicy, required_hours: Decimal
) -> HourLedger:
    """The ledger from already-verified totals in 学时 (the CLI's --offline-hours/--online-hours)."""
    per_hour = policy.minutes * 60
    off = math.floor(Fraction(Decimal(offline_hours)) * per_hour)
    on = math.floor(Fraction(Decimal(online_hours)) * per_hour)
    return ledger_from_seconds(verified_offline=off, verified_online=on, raw_offline=off, raw_online=on,
                               policy=policy, required_hours=required_hours)
