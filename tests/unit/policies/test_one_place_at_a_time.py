"""One person, one place, one time (POLICY §10): minutes that two enrollments of one person claim
are credited once, to the claim that started first, and both ledgers say so, naming the other."""
from __future__ import annotations

from datetime import UTC, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from policies.hours import Claim, credited_hours, one_place_at_a_time, overlap_reasons
from policies.loader import load_region
from policies.model import Interval, Mode
from tests.unit.attendance.builders import t

OFF, ON = Mode.OFFLINE, Mode.ONLINE
CQ = load_region("cq")
A, B, C = 1, 2, 3  # enrollment ids: A and B of the same person, C a third class


def claim(enrollment, lesson, start, end, what=""):
    return Claim(enrollment, lesson, t(start), t(end), what or f"《班{enrollment}》第{lesson}次课")


def ledger(enrollment, intervals, overlaps):
    return credited_hours(intervals, CQ, Decimal(64), enrollment=enrollment, overlaps=overlaps)


def test_an_online_lesson_during_an_open_offline_session_is_not_credited_for_the_shared_minutes():
    offline_b = claim(B, 20, "09:00", "12:00", "《B班》第1次课（线下）")
    online_a = claim(A, 10, "10:00", "11:00", "《A班》第2次课（线上）")
    [o] = one_place_at_a_time([online_a, offline_b])
    assert (o.start, o.end, o.kept, o.lost) == (t("10:00"), t("11:00"), offline_b, online_a)
    a = ledger(A, [Interval(t("10:00"), t("11:00"), ON)], [o])
    b = ledger(B, [Interval(t("09:00"), t("12:00"), OFF)], [o])
    assert (a.credited_seconds, a.verified_online_seconds, a.overlap_online_seconds) == (0, 3600, 3600)
    assert b.credited_seconds == 3 * 3600
    [why_a] = [r for r in a.reasons if r.code.startswith("overlap")]
    [why_b] = [r for r in b.reasons if r.code.startswith("overlap")]
    assert why_a.code == "overlap_not_credited" and "《B班》第1次课（线下）" in why_a.detail and "60 分钟" in why_a.detail
    assert why_b.code == "overlap_credited_here" and "《A班》第2次课（线上）" in why_b.detail
    assert why_a.clause == why_b.clause == "POLICY §10"


def test_only_the_shared_minutes_are_lost_and_the_rest_of_the_later_claim_counts():
    [o] = one_place_at_a_time([claim(A, 1, "09:00", "10:00"), claim(B, 2, "09:30", "11:00")])
    assert (o.start, o.end, o.kept.enrollment, o.lost.enrollment) == (t("09:30"), t("10:00"), A, B)
    b = ledger(B, [Interval(t("09:30"), t("11:00"), OFF)], [o])
    assert (b.verified_offline_seconds, b.credited_seconds, b.overlap_offline_seconds) == (5400, 3600, 1800)


def test_claims_that_start_together_go_to_the_lower_enrollment_then_the_lower_lesson():
    [o] = one_place_at_a_time([claim(B, 1, "09:00", "10:00"), claim(A, 9, "09:00", "10:00")])
    assert (o.kept.enrollment, o.lost.enrollment) == (A, B)
    assert "同时开始" in overlap_reasons([o], B)[0].detail


def test_each_moment_goes_to_the_earliest_claim_covering_it_among_three_classes():
    c, b, a = claim(C, 1, "08:00", "09:10"), claim(B, 2, "09:00", "11:00"), claim(A, 3, "09:05", "10:00")
    got = [(o.start, o.end, o.kept.enrollment, o.lost.enrollment) for o in one_place_at_a_time([a, b, c])]
    assert got == [(t("09:00"), t("09:10"), C, B), (t("09:05"), t("09:10"), C, A), (t("09:10"), t("10:00"), B, A)]


def test_lessons_of_one_enrollment_never_take_time_from_each_other():
    assert one_place_at_a_time([claim(A, 1, "09:00", "10:00"), claim(A, 2, "09:30", "11:00")]) == ()


def test_a_return_to_the_other_class_does_not_take_time_from_a_claim_that_started_before_it():
    # B (offline) checked out at 10:00 and back in at 10:30; A's online stretch ran from 09:45.
    b1, b2, a = claim(B, 1, "09:00", "10:00"), claim(B, 1, "10:30", "12:00"), claim(A, 5, "09:45", "11:00")
    overlaps = one_place_at_a_time([a, b1, b2])
    assert [(o.start, o.end, o.kept.enrollment) for o in overlaps] == [(t("09:45"), t("10:00"), B), (t("10:30"), t("11:00"), A)]
    led_a = ledger(A, [Interval(t("09:45"), t("11:00"), ON)], overlaps)
    led_b = ledger(B, [Interval(t("09:00"), t("10:00"), OFF), Interval(t("10:30"), t("12:00"), OFF)], overlaps)
    assert (led_a.credited_seconds, led_b.credited_seconds) == (60 * 60, 120 * 60)
    assert {r.code for r in led_a.reasons} >= {"overlap_not_credited", "overlap_credited_here"}
    [lost] = [r for r in led_a.reasons if r.code == "overlap_not_credited"]
    assert "11-24 09:45–10:00，共 15 分钟" in lost.detail


def test_the_online_cap_applies_to_what_is_left_after_the_overlap():
    # 30 h online verified, a 24 h cap (50% of 64 学时 of 45 minutes): 10 h of it were claimed first by
    # another class's offline lesson, so 20 h count - not the 24 h the cap alone would leave.
    online = [Interval(t("00:00") + timedelta(days=d), t("00:00") + timedelta(days=d, hours=10), ON) for d in range(3)]
    [o] = one_place_at_a_time([Claim(B, 1, online[0].start - timedelta(minutes=1), online[0].end, "b"),
                               Claim(A, 2, online[0].start, online[0].end, "a")])
    led = ledger(A, online, [o])
    assert led.overlap_online_seconds == 10 * 3600
    assert led.credited_online_seconds == 20 * 3600
    assert not any(r.code == "online_over_cap" for r in led.reasons)


def test_claim_times_must_be_timezone_aware():
    with pytest.raises(ValueError, match="timezone-aware"):
        one_place_at_a_time([Claim(A, 1, t("09:00").replace(tzinfo=None), t("10:00").replace(tzinfo=None)),
                             claim(B, 2, "09:00", "10:00")])


_minute = st.integers(min_value=0, max_value=240)


@given(st.lists(st.tuples(st.sampled_from([A, B, C]), st.integers(1, 4), _minute, _minute), max_size=8))
def test_no_moment_is_credited_to_two_enrollments_and_no_moment_claimed_is_lost_by_all(raw):
    base = t("08:00").astimezone(UTC)
    claims = [Claim(e, lesson, base + timedelta(minutes=min(s, f)), base + timedelta(minutes=max(s, f)))
              for e, lesson, s, f in raw]
    overlaps = one_place_at_a_time(claims)
    for minute in range(240):
        at = base + timedelta(minutes=minute, seconds=30)
        covering = {c.enrollment for c in claims if c.start <= at < c.end}
        lost = {o.lost.enrollment for o in overlaps if o.start <= at < o.end}
        kept = covering - lost
        assert len(kept) == (1 if covering else 0)
        if covering:
            first = min((c for c in claims if c.start <= at < c.end), key=Claim.rank)
            assert kept == {first.enrollment}
