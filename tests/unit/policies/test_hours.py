"""Hour credit: verified offline + min(verified online, cap x required); unverified never counts."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from policies.hours import credited_hours, ledger_from_hours
from policies.model import Interval, Mode
from tests.unit.policies.builders import at

OFF, ON = Mode.OFFLINE, Mode.ONLINE


def iv(day, h1, h2, mode=OFF, verified=True, m1=0, m2=0):
    return Interval(at(day, h1, m1), at(day, h2, m2), mode, verified)


def test_verified_offline_time_counts_in_class_hours_of_45_minutes(js):
    ledger = credited_hours([iv(2, 9, 12)], js, Decimal(64))  # 180 minutes = 4 学时
    assert (ledger.verified_offline, ledger.credited) == (Decimal("4.00"), Decimal("4.00"))


def test_unverified_time_is_shown_raw_but_never_credited_and_says_why(js):
    ledger = credited_hours([iv(2, 9, 12), iv(3, 9, 10, verified=False, m2=30)], js, Decimal(64))
    assert (ledger.raw, ledger.verified, ledger.credited) == (Decimal("6.00"), Decimal("4.00"), Decimal("4.00"))
    [reason] = ledger.reasons
    assert (reason.code, reason.clause) == ("unverified", "js 4.2")
    assert (ledger.unverified_seconds, ledger.over_cap_seconds) == (90 * 60, 0)
    assert "90 分钟" in reason.detail


def test_online_time_counts_up_to_half_the_required_hours(js):
    # 64 required -> at most 32 学时 = 1440 minutes online.
    ledger = credited_hours([iv(2, 0, 23, ON), iv(3, 0, 10, ON)], js, Decimal(64))  # 33 h = 44 学时
    assert ledger.verified_online == Decimal("44.00")
    assert ledger.credited_online == Decimal("32.00")
    assert ledger.credited == Decimal("32.00")
    assert [(r.code, r.clause) for r in ledger.reasons] == [("online_over_cap", "js 2.2")]
    assert "540 分钟不计入" in ledger.reasons[0].detail
    assert ledger.over_cap_seconds == 540 * 60


def test_online_time_of_exactly_the_cap_is_credited_in_full(cq):
    ledger = credited_hours([Interval(at(2, 0), at(3, 0), ON)], cq, Decimal(64))  # exactly 32 学时
    assert ledger.credited_online == Decimal("32.00")
    assert ledger.reasons == ()


def test_offline_and_online_are_shown_side_by_side(cq):
    ledger = credited_hours([iv(2, 9, 12), iv(3, 20, 21, ON, m2=30)], cq, Decimal(64))
    assert (ledger.verified_offline, ledger.verified_online) == (Decimal("4.00"), Decimal("2.00"))
    assert ledger.credited == Decimal("6.00")


def test_overlapping_intervals_of_one_enrollment_do_not_count_twice(cq):
    ledger = credited_hours([iv(2, 9, 11), iv(2, 10, 12), iv(2, 9, 12)], cq, Decimal(64))
    assert ledger.verified_offline_seconds == 3 * 3600


def test_time_both_offline_and_online_counts_once_as_offline(cq):
    ledger = credited_hours([iv(2, 9, 12), iv(2, 11, 13, ON)], cq, Decimal(64))
    assert (ledger.verified_offline_seconds, ledger.verified_online_seconds) == (3 * 3600, 3600)


def test_touching_intervals_are_joined_without_gaps_or_double_counting(cq):
    ledger = credited_hours([iv(2, 9, 10), iv(2, 10, 11)], cq, Decimal(64))
    assert ledger.verified_offline_seconds == 7200


def test_the_minutes_per_class_hour_is_the_regions_setting(cq):
    from dataclasses import replace

    from policies.model import Cited

    sixty = replace(cq, minutes_per_class_hour=Cited(60, "POLICY §9"))
    assert credited_hours([iv(2, 9, 12)], sixty, Decimal(64)).credited == Decimal("3.00")


def test_hours_are_rounded_down_so_a_report_never_shows_unverified_time(cq):
    ledger = credited_hours([iv(2, 9, 9, m2=44)], cq, Decimal(64))  # 44/45 学时
    assert ledger.credited == Decimal("0.97")


def test_the_ledger_is_complete_only_when_credited_reaches_required_exactly(cq):
    start = datetime(2026, 3, 2, tzinfo=UTC)
    exact = Interval(start, start + timedelta(minutes=64 * 45), OFF)
    short = Interval(start, start + timedelta(minutes=64 * 45, seconds=-1), OFF)
    assert credited_hours([exact], cq, Decimal(64)).complete
    assert not credited_hours([short], cq, Decimal(64)).complete


def test_naive_times_are_refused(cq):
    with pytest.raises(ValueError, match="timezone-aware"):
        credited_hours([Interval(datetime(2026, 3, 2, 9), datetime(2026, 3, 2, 10), OFF)], cq, Decimal(64))


def test_an_interval_ending_before_it_starts_is_refused(cq):
    with pytest.raises(ValueError, match="ends before it starts"):
        credited_hours([iv(2, 10, 9)], cq, Decimal(64))


def test_totals_from_the_cli_follow_the_same_rule(js):
    ledger = ledger_from_hours(Decimal(40), Decimal(40), js, Decimal(64))
    assert (ledger.credited_online, ledger.credited) == (Decimal("32.00"), Decimal("72.00"))


# --- properties -----------------------------------------------------------------------------

BASE = datetime(2026, 3, 2, tzinfo=UTC)
intervals_st = st.lists(
    st.builds(
        lambda start, length, online, verified: Interval(
            BASE + timedelta(minutes=start), BASE + timedelta(minutes=start + length), ON if online else OFF, verified),
        st.integers(0, 20_000), st.integers(0, 600), st.booleans(), st.booleans()),
    max_size=25)
required_st = st.integers(1, 200).map(Decimal)


@settings(max_examples=150, deadline=None)
@given(intervals_st, required_st)
def test_credited_never_exceeds_verified_nor_verified_raw(cq, intervals, required):
    ledger = credited_hours(intervals, cq, required)
    assert ledger.credited_seconds <= ledger.verified_offline_seconds + ledger.verified_online_seconds
    assert (ledger.verified_offline_seconds + ledger.verified_online_seconds
            <= ledger.raw_offline_seconds + ledger.raw_online_seconds)


@settings(max_examples=150, deadline=None)
@given(intervals_st, required_st)
def test_online_credit_never_exceeds_the_cap_times_required(cq, intervals, required):
    ledger = credited_hours(intervals, cq, required)
    assert ledger.credited_online_seconds <= cq.cap * Fraction(required) * cq.minutes * 60


@settings(max_examples=150, deadline=None)
@given(intervals_st, intervals_st, required_st)
def test_more_verified_time_never_lowers_the_credit(cq, intervals, more, required):
    before = credited_hours(intervals, cq, required)
    after = credited_hours(intervals + [Interval(i.start, i.end, i.mode, True) for i in more], cq, required)
    assert after.credited_seconds >= before.credited_seconds


@settings(max_examples=100, deadline=None)
@given(intervals_st, required_st)
def test_the_order_of_intervals_does_not_change_the_ledger(cq, intervals, required):
    assert credited_hours(intervals, cq, required) == credited_hours(list(reversed(intervals)), cq, required)
