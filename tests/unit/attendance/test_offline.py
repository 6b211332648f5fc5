"""Offline lessons: verified check-in to verified check-out, inside the scheduled time.

Each case is a timeline for a lesson scheduled 09:00-11:00 (Beijing), judged at 12:00 unless
told otherwise: the events, what is credited, and every uncredited stretch with its reason code.
"""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from policies.attendance import (
    AttendanceError,
    AttendanceEvent,
    AttendanceSettings,
    SpotCheck,
    credit_lesson,
    offline_credit,
)
from policies.hours import credited_hours
from policies.loader import load_region
from policies.model import Interval, Mode
from tests.unit.attendance.builders import beats, ev, lesson, reasons, review, spans, t

NOON = "12:00"


def credit(events, now: str = NOON, **kw):
    return offline_credit(lesson(), events, t(now), **kw)


def test_full_attendance_credits_the_scheduled_time_and_not_a_minute_more():
    result = credit([ev("check_in", "08:55"), ev("check_out", "11:05")])
    assert spans(result) == [("09:00", "11:00")]
    assert reasons(result) == [("08:55", "09:00", "outside_lesson_time"), ("11:00", "11:05", "outside_lesson_time")]
    assert result.credited_seconds == 2 * 3600
    assert all(iv.mode is Mode.OFFLINE and iv.verified for iv in result.intervals)


def test_a_missing_check_out_credits_nothing_after_the_last_verified_event():
    result = credit([ev("check_in", "09:00"), ev("spot_check", "10:00")])
    assert spans(result) == [("09:00", "10:00")]
    assert reasons(result) == [("10:00", "11:00", "no_check_out")]
    (span,) = result.uncredited
    assert span.claimed  # the trainee checked in and claims the time: raw, unverified
    assert "最后一次通过核验是 10:00" in span.reason.detail


def test_a_check_in_alone_credits_nothing():
    result = credit([ev("check_in", "09:00")])
    assert spans(result) == []
    assert reasons(result) == [("09:00", "11:00", "no_check_out")]


def test_a_check_out_without_a_verified_check_in_credits_nothing():
    result = credit([ev("check_out", "11:00")])
    assert spans(result) == []
    assert reasons(result) == [("09:00", "11:00", "no_check_in")]
    assert not result.uncredited[0].claimed


def test_a_rejected_check_in_retried_and_verified_credits_from_the_retry():
    result = credit([ev("check_in", "09:00", "rejected"), ev("check_in", "09:05"), ev("check_out", "11:00")])
    assert spans(result) == [("09:05", "11:00")]
    assert reasons(result) == [("09:00", "09:05", "not_verified")]
    assert "09:00 的签到未通过核验" in result.uncredited[0].reason.detail


def test_a_flagged_check_in_counts_nothing_until_a_review_approves_it():
    flagged = ev("check_in", "09:00", "flagged", id="in1")
    out = ev("check_out", "11:00")
    pending = credit([flagged, out])
    assert spans(pending) == []
    assert reasons(pending) == [("09:00", "11:00", "pending_review")]
    approved = credit([flagged, out, review("in1", "11:30")])
    assert spans(approved) == [("09:00", "11:00")]
    assert reasons(approved) == []


def test_a_review_can_overturn_a_verified_check_in_and_the_latest_decision_wins():
    check_in = ev("check_in", "09:00", id="in1")
    out = ev("check_out", "11:00")
    overturned = credit([check_in, out, review("in1", "11:10", "rejected")])
    assert spans(overturned) == []
    assert reasons(overturned) == [("09:00", "11:00", "not_verified")]
    reinstated = credit([check_in, out, review("in1", "11:10", "rejected"), review("in1", "11:20", "approved")])
    assert spans(reinstated) == [("09:00", "11:00")]


def test_leaving_and_coming_back_credits_the_union_of_the_spans():
    result = credit([ev("check_in", "09:00"), ev("check_out", "09:40"), ev("check_in", "10:00"), ev("check_out", "11:00")])
    assert spans(result) == [("09:00", "09:40"), ("10:00", "11:00")]
    assert reasons(result) == [("09:40", "10:00", "checked_out")]


def test_arriving_late_credits_from_the_check_in():
    result = credit([ev("check_in", "09:30"), ev("check_out", "11:00")])
    assert spans(result) == [("09:30", "11:00")]
    assert reasons(result) == [("09:00", "09:30", "not_checked_in")]


def test_leaving_early_credits_up_to_the_check_out():
    result = credit([ev("check_in", "09:00"), ev("check_out", "10:15")])
    assert spans(result) == [("09:00", "10:15")]
    assert reasons(result) == [("10:15", "11:00", "checked_out")]


def test_a_failed_spot_check_voids_the_time_between_the_verified_checks_around_it():
    result = credit([ev("check_in", "09:00"), ev("spot_check", "09:30"), ev("spot_check", "10:00", "rejected"),
                     ev("spot_check", "10:30"), ev("check_out", "11:00")])
    assert spans(result) == [("09:00", "09:30"), ("10:30", "11:00")]
    assert reasons(result) == [("09:30", "10:30", "spot_check_failed")]


def test_a_failed_spot_check_retried_and_passed_within_the_window_is_forgiven():
    events = [ev("check_in", "09:00"), ev("spot_check", "10:00", "rejected"), ev("spot_check", "10:00:40"),
              ev("check_out", "11:00")]
    assert spans(credit(events)) == [("09:00", "11:00")]
    # With a 30 s window the same failure stands, and voids the time back to the check-in.
    strict = credit(events, settings=AttendanceSettings(spot_check_window=timedelta(seconds=30)))
    assert spans(strict) == [("10:00:40", "11:00")]
    assert reasons(strict) == [("09:00", "10:00:40", "spot_check_failed")]


def test_a_flagged_spot_check_voids_its_window_until_a_review_approves_it():
    flagged = ev("spot_check", "10:00", "flagged", id="sc1")
    events = [ev("check_in", "09:00"), flagged, ev("check_out", "11:00")]
    assert spans(credit(events)) == []
    assert reasons(credit(events)) == [("09:00", "11:00", "pending_review")]
    assert spans(credit(events + [review("sc1", "11:30")])) == [("09:00", "11:00")]


def test_a_rejected_check_out_ends_credit_at_the_last_verified_event():
    result = credit([ev("check_in", "09:00"), ev("spot_check", "10:00"), ev("check_out", "11:00", "rejected")])
    assert spans(result) == [("09:00", "10:00")]
    assert reasons(result) == [("10:00", "11:00", "not_verified")]


def test_a_rejected_check_out_retried_and_verified_closes_normally():
    result = credit([ev("check_in", "09:00"), ev("check_out", "10:58", "rejected"), ev("check_out", "10:59")])
    assert spans(result) == [("09:00", "10:59")]
    assert reasons(result) == [("10:59", "11:00", "checked_out")]


def test_a_spot_check_before_the_check_in_credits_nothing_by_itself():
    result = credit([ev("spot_check", "08:50"), ev("check_in", "09:10"), ev("check_out", "11:00")])
    assert spans(result) == [("09:10", "11:00")]


def test_a_second_check_in_while_checked_in_changes_nothing():
    result = credit([ev("check_in", "09:00"), ev("check_in", "09:30"), ev("check_out", "11:00")])
    assert spans(result) == [("09:00", "11:00")]


def test_no_events_at_all_leave_the_whole_lesson_uncredited():
    result = credit([])
    assert spans(result) == []
    assert reasons(result) == [("09:00", "11:00", "not_checked_in")]


def test_during_the_lesson_credit_runs_to_the_last_verified_event_and_nothing_after_now_is_judged():
    result = credit([ev("check_in", "09:00"), ev("spot_check", "10:00")], now="10:30")
    assert spans(result) == [("09:00", "10:00")]
    assert reasons(result) == [("10:00", "10:30", "no_check_out")]


def test_before_the_lesson_nothing_is_credited_or_reported():
    result = credit([ev("check_in", "08:50")], now="08:55")
    assert result.intervals == () and result.uncredited == ()


def test_events_are_read_in_time_order_whatever_order_they_come_in():
    events = [ev("check_out", "11:00"), ev("spot_check", "10:00"), ev("check_in", "09:00")]
    assert spans(credit(events)) == [("09:00", "11:00")]


def test_every_reason_cites_the_clause_the_caller_passes_and_says_what_happened_in_chinese():
    result = credit([ev("check_in", "09:30")], settings=AttendanceSettings(clause="cq 5.2"))
    assert {r.clause for r in result.reasons} == {"cq 5.2"}
    assert all(any("\u4e00" <= ch <= "\u9fff" for ch in r.detail) for r in result.reasons)


def test_the_ledger_shows_claimed_time_as_raw_and_only_verified_time_as_credited():
    result = credit([ev("check_in", "09:00"), ev("spot_check", "10:00")])
    ledger_input = result.ledger_intervals()
    assert [iv.verified for iv in ledger_input] == [True, False]
    ledger = credited_hours(ledger_input, load_region("cq"), required_hours=64)
    assert ledger.verified_offline_seconds == 3600
    assert ledger.raw_offline_seconds == 7200
    assert [r.code for r in ledger.reasons] == ["unverified"]


def test_credit_lesson_picks_the_offline_rule_and_refuses_online_inputs():
    result = credit_lesson(lesson(), [ev("check_in", "09:00"), ev("check_out", "11:00")], t(NOON))
    assert spans(result) == [("09:00", "11:00")]
    with pytest.raises(AttendanceError):
        credit_lesson(lesson(), [], t(NOON), heartbeats=beats("09:00", "09:01"))


def test_a_missed_offline_spot_check_ends_the_credited_span_until_the_next_verified_check():
    asked = SpotCheck("s1", t("10:00"))  # never answered
    result = credit([ev("check_in", "09:00"), ev("spot_check", "09:30"), ev("spot_check", "10:30"), ev("check_out", "11:00")],
                    spot_checks=[asked])
    assert spans(result) == [("09:00", "09:30"), ("10:30", "11:00")]
    assert reasons(result) == [("09:30", "10:30", "spot_check_missed")]


def test_an_offline_spot_check_answered_in_time_is_judged_by_its_answer_event_and_one_still_open_by_nothing():
    answered = SpotCheck("s1", t("10:00"), answered_at=t("10:00:40"), passed=True)
    events = [ev("check_in", "09:00"), ev("spot_check", "10:00:40"), ev("check_out", "11:00")]
    assert spans(credit(events, spot_checks=[answered])) == [("09:00", "11:00")]
    still_open = SpotCheck("s2", t("10:59:30"))
    pending = credit([ev("check_in", "09:00")], now="11:00", spot_checks=[still_open])
    assert "spot_check_missed" not in {code for _, _, code in reasons(pending)}


def test_the_result_serialises_for_the_api():
    result = credit([ev("check_in", "09:30"), ev("check_out", "11:00")])
    (d,) = [u.as_dict() for u in result.uncredited]
    assert d["code"] == "not_checked_in" and d["seconds"] == 1800 and d["claimed"] is False


# --- input that is not a history -----------------------------------------------------------


def test_naive_datetimes_are_refused_everywhere():
    with pytest.raises(AttendanceError, match="timezone-aware"):
        AttendanceEvent("e", "check_in", datetime(2026, 11, 24, 9, 0), "verified")
    with pytest.raises(AttendanceError, match="timezone-aware"):
        offline_credit(lesson(), [], datetime(2026, 11, 24, 12, 0))
    naive = lesson()
    naive = type(naive)(naive.start.replace(tzinfo=None), naive.end, Mode.OFFLINE)
    with pytest.raises(AttendanceError, match="timezone-aware"):
        offline_credit(naive, [], t(NOON))


@pytest.mark.parametrize("events, message", [
    pytest.param([ev("check_in", "12:30")], "after now", id="an event from the future"),
    pytest.param([review("nobody", "11:30")], "unknown event", id="a decision about nothing"),
    pytest.param([ev("check_in", "10:00", id="x"), review("x", "09:30")], "earlier than", id="a decision before its event"),
    pytest.param([ev("check_in", "09:00", id="x"), ev("check_out", "11:00", id="x")], "share the id", id="two events, one id"),
])
def test_events_that_are_not_a_history_are_refused(events, message):
    with pytest.raises(AttendanceError, match=message):
        credit(events)


def test_malformed_events_are_refused():
    with pytest.raises(AttendanceError):
        AttendanceEvent("e", "check_in", t("09:00"))  # no verdict
    with pytest.raises(AttendanceError):
        AttendanceEvent("r", "review_decision", t("09:00"), decides="e")  # no decision
    with pytest.raises(ValueError):
        AttendanceEvent("e", "teleport", t("09:00"), "verified")


def test_the_wrong_rule_for_the_lesson_mode_is_refused():
    with pytest.raises(AttendanceError, match="online lesson"):
        offline_credit(lesson(mode=Mode.ONLINE), [], t(NOON))
    with pytest.raises(AttendanceError, match="ends before"):
        offline_credit(lesson("11:00", "09:00"), [], t(NOON))


def test_intervals_are_model_intervals_in_utc():
    (iv,) = credit([ev("check_in", "09:00"), ev("check_out", "11:00")]).intervals
    assert isinstance(iv, Interval)
    assert iv.start == datetime(2026, 11, 24, 1, 0, tzinfo=UTC)
