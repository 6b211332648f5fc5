"""Hour credit: verified intervals in, a 学时台账 (HourLedger) out.

The rule (POLICY §3, js 2.2): credited = verified offline + min(verified online, cap x required).
Only verified time counts (凡补必进、不进不补, e.g. cq 5.2): the ledger shows raw time next to
verified time and says, with the clause, why the difference was not credited.

Time is kept in whole seconds internally so that comparisons with the required hours are exact;
学时 are shown as Decimal rounded down (a report never shows more than was verified).
"""
from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from datetime import datetime
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
) -> HourLedger:
    """Apply the credit rule to totals. credited_hours() and the CLI both end here."""
    required_hours = Decimal(required_hours)
    if required_hours <= 0:
        raise ValueError(f"required hours must be positive, got {required_hours}")
    if min(verified_offline, verified_online, raw_offline, raw_online) < 0:
        raise ValueError("durations cannot be negative")
    cap = online_cap_seconds(required_hours, policy)
    credited_online = min(verified_online, cap)
    reasons: list[Reason] = []
    unverified = (raw_offline + raw_online) - (verified_offline + verified_online)
    if unverified > 0:
        reasons.append(Reason(
            "unverified", policy.verification_clause,
            f"有 {_minutes_text(unverified)} 分钟未经核验，不计入学时（凡补必进、不进不补）。"))
    if verified_online > cap:
        cap_hours = Decimal(cap) / (policy.minutes * 60)
        reasons.append(Reason(
            "online_over_cap", policy.online_cap.clause,
            f"线上学时最多计入规定学时的 {_share_text(policy.cap)}（{cap_hours.quantize(Decimal('0.01'))} 学时），"
            f"超出的 {_minutes_text(verified_online - cap)} 分钟不计入。"))
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
    )


def _share_text(share: Fraction) -> str:
    pct = share * 100
    return f"{pct.numerator // pct.denominator if pct.denominator == 1 else float(pct):g}%"


def credited_hours(intervals: Iterable[Interval], policy: RegionPolicy, required_hours: Decimal) -> HourLedger:
    """The HourLedger of one enrollment from its intervals (verified or not, any order).

    Overlaps never count twice: each mode's time is merged, and time that is both offline and
    online counts as offline (the stricter evidence: the trainee was at the venue).
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
    return ledger_from_seconds(
        verified_offline=total(m_ver_off),
        verified_online=total(m_ver_on) - overlap(m_ver_on, m_ver_off),
        raw_offline=total(m_raw_off),
        raw_online=total(m_raw_on) - overlap(m_raw_on, m_raw_off),
        policy=policy,
        required_hours=required_hours,
    )


def ledger_from_hours(
    offline_hours: Decimal, online_hours: Decimal, policy: RegionPolicy, required_hours: Decimal
) -> HourLedger:
    """The ledger from already-verified totals in 学时 (the CLI's --offline-hours/--online-hours)."""
    per_hour = policy.minutes * 60
    off = math.floor(Fraction(Decimal(offline_hours)) * per_hour)
    on = math.floor(Fraction(Decimal(online_hours)) * per_hour)
    return ledger_from_seconds(verified_offline=off, verified_online=on, raw_offline=off, raw_online=on,
                               policy=policy, required_hours=required_hours)
