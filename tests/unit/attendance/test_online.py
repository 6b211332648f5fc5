"""Online lessons: time between passed checks while the page was visible, heartbeats unbroken.

Lesson 09:00-11:00 online, judged at 12:00 unless told otherwise. Heartbeats every 30 s.
"""
from __future__ import annotations

from datetime import timedelta

import pytest

from policies.attendance import AttendanceError, AttendanceSettings, Heartbeat, SpotCheck, credit_lesson, online_credit
from policies.model import Mode
from tests.unit.attendance.builders import beats, ev, lesson, reasons, review, spans, spot, t

ONLINE = lesson(mode=Mode.ONLINE)


def credit(events, heartbeats, checks=(), now: str = "12:00", **kw):
    return online_credit(ONLINE, events, heartbeats, list(checks), t(now), **kw)


def test_a_verified_session_with_visible_heartbeats_and_passed_checks_is_credited_in_full():
    result = credit([ev("check_in", "09:00"), ev("check_out", "11:00")], beats("09:00", "11:00"), [spot("10:00")])
    assert spans(result) == [("09:00", "11:00")]
    assert reasons(result) == []
    assert all(iv.mode is Mode.ONLINE for iv in result.intervals)


def test_without_a_check_out_nothing_counts_after_the_last_passed_check():
    result = credit([ev("check_in", "09:00")], beats("09:00", "11:00"), [spot("10:00")])
    assert spans(result) == [("09:00", "10:00:20")]
    assert reasons(result) == [("10:00:20", "11:00", "no_check_out")]


def test_a_failed_spot_check_credits_nothing_since_the_last_pass_nor_until_the_next():
    checks = [spot("09:30"), spot("10:00", passed=False), spot("10:30")]
    result = credit([ev("check_in", "09:00"), ev("check_out", "11:00")], beats("09:00", "11:00"), checks)
    assert spans(result) == [("09:00", "09:30:20"), ("10:30:20", "11:00")]
    assert reasons(result) == [("09:30:20", "10:30:20", "spot_check_failed")]


def test_an_unanswered_spot_check_is_missed_once_its_window_has_passed():
    checks = [spot("10:00", answered_after=None), spot("10:30")]
    result = credit([ev("check_in", "09:00"), ev("check_out", "11:00")], beats("09:00", "11:00"), checks)
    assert spans(result) == [("10:30:20", "11:00")]
    assert reasons(result) == [("09:00", "10:30:20", "spot_check_missed")]
    assert "60 秒内" in result.uncredited[0].reason.detail


def test_an_answer_after_the_window_is_a_miss():
    checks = [spot("10:00", answered_after=90, passed=True)]
    result = credit([ev("check_in", "09:00"), ev("check_out", "11:00")], beats("09:00", "11:00"), checks)
    assert spans(result) == []
    assert reasons(result) == [("09:00", "11:00", "spot_check_missed")]


def test_the_answer_window_is_a_setting():
    checks = [spot("10:00", answered_after=90, passed=True)]
    generous = AttendanceSettings(spot_check_window=timedelta(seconds=120))
    result = credit([ev("check_in", "09:00"), ev("check_out", "11:00")], beats("09:00", "11:00"), checks,
                    settings=generous)
    assert spans(result) == [("09:00", "11:00")]


def test_a_spot_check_still_within_its_window_is_neither_passed_nor_missed():
    result = credit([ev("check_in", "09:00")], beats("09:00", "10:00:30"), [spot("10:00", answered_after=None)],
                    now="10:00:30")
    assert spans(result) == []
    assert reasons(result) == [("09:00", "10:00:30", "no_check_out")]


def test_a_hidden_page_cuts_its_stretch_out_of_the_credit():
    heartbeats = beats("09:00", "09:39:30") + beats("09:40", "09:49:30", visible=False) + beats("09:50", "11:00")
    result = credit([ev("check_in", "09:00"), ev("check_out", "11:00")], heartbeats)
    assert spans(result) == [("09:00", "09:39:30"), ("09:50", "11:00")]
    assert reasons(result) == [("09:39:30", "09:50", "page_hidden")]


def test_a_heartbeat_gap_longer_than_the_setting_cuts_its_stretch_out():
    heartbeats = beats("09:00", "09:40") + beats("09:45", "11:00")
    result = credit([ev("check_in", "09:00"), ev("check_out", "11:00")], heartbeats)
    assert spans(result) == [("09:00", "09:40"), ("09:45", "11:00")]
    assert reasons(result) == [("09:40", "09:45", "heartbeat_gap")]


def test_heartbeats_40_seconds_apart_are_within_the_default_45_but_not_a_30_second_setting():
    heartbeats = beats("09:00", "11:00", every=40)
    events = [ev("check_in", "09:00"), ev("check_out", "11:00")]
    assert spans(credit(events, heartbeats)) == [("09:00", "11:00")]
    strict = credit(events, heartbeats, settings=AttendanceSettings(max_heartbeat_gap=timedelta(seconds=30)))
    assert spans(strict) == []
    assert {code for _, _, code in reasons(strict)} == {"heartbeat_gap"}


def test_no_heartbeats_at_all_credit_nothing():
    result = credit([ev("check_in", "09:00"), ev("check_out", "11:00")], [])
    assert spans(result) == []
    assert reasons(result) == [("09:00", "11:00", "heartbeat_gap")]


def test_a_review_that_approves_a_failed_spot_check_restores_its_window():
    checks = [spot("10:00", passed=False, id="sc1")]
    events = [ev("check_in", "09:00"), ev("check_out", "11:00")]
    assert spans(credit(events, beats("09:00", "11:00"), checks)) == []
    approved = credit(events + [review("sc1", "11:30")], beats("09:00", "11:00"), checks)
    assert spans(approved) == [("09:00", "11:00")]


def test_a_review_that_rejects_a_passed_spot_check_voids_its_windows():
    checks = [spot("10:00", id="sc1")]
    events = [ev("check_in", "09:00"), ev("check_out", "11:00"), review("sc1", "11:30", "rejected")]
    result = credit(events, beats("09:00", "11:00"), checks)
    assert spans(result) == []
    assert reasons(result) == [("09:00", "11:00", "spot_check_failed")]


def test_online_time_is_clipped_to_the_lessons_scheduled_time():
    result = credit([ev("check_in", "08:50"), ev("check_out", "11:10")], beats("08:50", "11:10"))
    assert spans(result) == [("09:00", "11:00")]
    assert reasons(result) == [("08:50", "09:00", "outside_lesson_time"), ("11:00", "11:10", "outside_lesson_time")]


def test_a_rejected_session_start_credits_nothing():
    result = credit([ev("check_in", "09:00", "rejected"), ev("check_out", "11:00")], beats("09:00", "11:00"))
    assert spans(result) == []
    assert reasons(result) == [("09:00", "11:00", "not_verified")]


def test_rejoining_after_a_check_out_credits_both_sessions():
    events = [ev("check_in", "09:00"), ev("check_out", "09:30"), ev("check_in", "10:00"), ev("check_out", "11:00")]
    heartbeats = beats("09:00", "09:30") + beats("10:00", "11:00")
    result = credit(events, heartbeats)
    assert spans(result) == [("09:00", "09:30"), ("10:00", "11:00")]
    assert reasons(result) == [("09:30", "10:00", "checked_out")]


def test_the_ledger_counts_hidden_and_unconfirmed_time_as_raw_but_unverified():
    heartbeats = beats("09:00", "09:39:30") + beats("09:40", "09:49:30", visible=False) + beats("09:50", "11:00")
    result = credit([ev("check_in", "09:00")], heartbeats, [spot("10:30")])
    assert [(iv.verified, iv.end > iv.start) for iv in result.ledger_intervals()] == [(True, True)] * 2 + [(False, True)] * 2
    assert sum((iv.end - iv.start).total_seconds() for iv in result.ledger_intervals()) == 2 * 3600


@pytest.mark.parametrize("build, message", [
    pytest.param(lambda: credit([ev("spot_check", "10:00")], []), "spot_checks", id="online spot checks as events"),
    pytest.param(lambda: credit([], [Heartbeat(t("12:30"), True)]), "after now", id="a heartbeat from the future"),
    pytest.param(lambda: credit([], [], [spot("12:30")]), "after now", id="a spot check from the future"),
    pytest.param(lambda: credit([], [], [spot("10:00", id="x"), spot("10:30", id="x")]), "share an id", id="one id twice"),
    pytest.param(lambda: SpotCheck("x", t("10:00"), t("09:59"), True), "before it was issued", id="answered first"),
    pytest.param(lambda: SpotCheck("x", t("10:00"), None, True), "without an answer", id="passed unanswered"),
    pytest.param(lambda: Heartbeat(t("10:00"), "yes"), "bool", id="visible not a bool"),
    pytest.param(lambda: AttendanceSettings(max_heartbeat_gap=timedelta(0)), "positive", id="zero gap setting"),
    pytest.param(lambda: online_credit(lesson(), [], [], [], t("12:00")), "offline lesson", id="offline lesson"),
])
def test_online_input_that_cannot_be_judged_is_refused(build, message):
    with pytest.raises(AttendanceError, match=message):
        build()


def test_credit_lesson_picks_the_online_rule():
    result = credit_lesson(ONLINE, [ev("check_in", "09:00"), ev("check_out", "11:00")], t("12:00"),
                           heartbeats=beats("09:00", "11:00"))
    assert spans(result) == [("09:00", "11:00")]
