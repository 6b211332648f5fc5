"""A region's miss budget for online spot checks (`spot_check_misses`, POLICY §9): a lesson may
miss so many; after the miss that exceeds it nothing more of that lesson counts, made up or not.

Lesson 09:00-11:00 online, judged at 12:00 unless told otherwise. Heartbeats every 30 s; spot
checks answered 20 s after they are asked unless told otherwise.
"""
from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from policies.attendance import AttendanceError, AttendanceSettings, Heartbeat, Playback, RecordedMedia, credit_lesson, online_credit
from policies.hours import subtract
from policies.model import Mode
from tests.unit.attendance.builders import beats, ev, lesson, reasons, spans, spot, t
from tests.unit.attendance.strategies import check_shape, online_cases

ONLINE = lesson(mode=Mode.ONLINE)
SESSION = [ev("check_in", "09:00"), ev("check_out", "11:00")]


def budget(n: int | None, clause: str = "js 4.2") -> AttendanceSettings:
    return AttendanceSettings(miss_budget=n, miss_budget_clause=clause)


def credit(checks, events=SESSION, heartbeats=None, now: str = "12:00", **kw):
    return online_credit(ONLINE, events, beats("09:00", "11:00") if heartbeats is None else heartbeats, list(checks), t(now), **kw)


# Passed at 09:30, missed at 10:00, passed at 10:15, missed at 10:30, passed at 10:45.
TWO_MISSES = [spot("09:30"), spot("10:00", answered_after=None), spot("10:15"), spot("10:30", answered_after=None),
              spot("10:45")]


def test_the_miss_that_exceeds_the_budget_stops_the_lessons_credit_and_says_why_with_the_settings_clause():
    result = credit(TWO_MISSES, settings=budget(1))
    assert spans(result) == [("09:00", "09:30:20")]
    # Each miss voids its own span (its sentence names it); from the second on, nothing counts.
    assert reasons(result) == [("09:30:20", "10:15:20", "spot_check_missed"), ("10:15:20", "10:30", "spot_check_missed"),
                               ("10:30", "11:00", "miss_budget_exceeded")]
    why = result.uncredited[-1].reason
    assert why.clause == "js 4.2"
    assert why.detail == "本课次已错过 2 次随机抽查，超过本地区允许的 1 次，自 10:30 起本课次不再计入学时"
    assert result.uncredited[-1].claimed  # the trainee was there: raw time, not verified


def test_misses_within_the_budget_cost_only_their_own_spans_as_without_a_budget():
    without = credit(TWO_MISSES)
    assert spans(without) == [("09:00", "09:30:20"), ("10:45:20", "11:00")]
    assert reasons(without) == [("09:30:20", "10:15:20", "spot_check_missed"), ("10:15:20", "10:45:20", "spot_check_missed")]
    assert credit(TWO_MISSES, settings=budget(2)) == without


def test_a_budget_of_zero_ends_the_credit_at_the_first_miss():
    result = credit(TWO_MISSES, settings=budget(0, clause="POLICY §9"))
    assert spans(result) == [("09:00", "09:30:20")]
    assert reasons(result) == [("09:30:20", "10:00", "spot_check_missed"), ("10:00", "11:00", "miss_budget_exceeded")]
    assert result.uncredited[-1].reason.detail == "本课次已错过 1 次随机抽查，超过本地区允许的 0 次，自 10:00 起本课次不再计入学时"


def test_an_answer_after_the_window_is_a_miss_and_uses_the_budget():
    checks = [spot("09:30"), spot("10:00", answered_after=90, passed=True), spot("10:30")]
    result = credit(checks, settings=budget(0))
    assert spans(result) == [("09:00", "09:30:20")]
    assert reasons(result)[-1] == ("10:00", "11:00", "miss_budget_exceeded")


def test_failed_spot_checks_do_not_use_the_miss_budget():
    checks = [spot("09:30"), spot("10:00", passed=False), spot("10:15", passed=False), spot("10:30")]
    result = credit(checks, settings=budget(0))
    assert result == credit(checks)
    assert spans(result) == [("09:00", "09:30:20"), ("10:30:20", "11:00")]
    assert reasons(result) == [("09:30:20", "10:30:20", "spot_check_failed")]


def test_a_spot_check_still_within_its_window_does_not_use_the_budget():
    checks = [spot("09:30"), spot("10:00", answered_after=None)]
    result = credit(checks, heartbeats=beats("09:00", "10:00:30"), events=SESSION[:1], now="10:00:30", settings=budget(0))
    assert spans(result) == [("09:00", "09:30:20")]
    assert [code for _, _, code in reasons(result)] == ["no_check_out"]


def test_a_spot_check_missed_while_checked_out_does_not_use_the_budget():
    events = [ev("check_in", "09:00"), ev("check_out", "09:40"), ev("check_in", "10:00"), ev("check_out", "11:00")]
    result = credit([spot("09:50", answered_after=None)], events=events, settings=budget(0))
    assert spans(result) == [("09:00", "09:40"), ("10:00", "11:00")]


def test_after_the_budget_is_exceeded_watching_the_voided_part_again_makes_nothing_up():
    # A recorded lesson, 09:00-10:00: passed at 09:05, missed at 09:10, passed at 09:20; the video
    # plays 0:00-30:00, then the trainee goes back to 0:00 to watch the voided part again.
    def play(start: str, end: str, position: float) -> list[Heartbeat]:
        first = t(start)
        return [Heartbeat(b.at, True, Playback(position + (b.at - first).total_seconds(), "playing"))
                for b in beats(start, end)]

    heartbeats = play("09:00", "09:30", 0) + play("09:30:30", "10:00", 0)
    events = [ev("check_in", "09:00"), ev("check_out", "10:00")]
    checks = [spot("09:05"), spot("09:10", answered_after=None), spot("09:20")]

    def run(settings: AttendanceSettings):
        return online_credit(ONLINE, events, heartbeats, checks, t("12:00"), settings, media=RecordedMedia(3600))

    made_up = run(budget(1))  # within the budget: the voided 5:20-20:20 is made up by watching it again
    assert spans(made_up) == [("09:00", "09:05:20"), ("09:20:20", "09:30"), ("09:35:50", "09:50:50")]
    assert made_up.credited_seconds == pytest.approx(30 * 60)
    over = run(budget(0))
    assert spans(over) == [("09:00", "09:05:20")]
    assert reasons(over) == [("09:05:20", "09:10", "spot_check_missed"), ("09:10", "10:00", "miss_budget_exceeded"),
                             ("10:00", "11:00", "checked_out")]


def test_the_budget_is_for_online_lessons_only():
    offline = lesson()
    events = [ev("check_in", "09:00"), ev("spot_check", "09:30:20"), ev("check_out", "11:00")]
    checks = [spot("10:00", answered_after=None)]
    without = credit_lesson(offline, events, t("12:00"), spot_checks=checks)
    assert credit_lesson(offline, events, t("12:00"), spot_checks=checks, settings=budget(0)) == without
    assert "miss_budget_exceeded" not in {code for _, _, code in reasons(without)}


@pytest.mark.parametrize("value", [-1, True, 1.5, "2"])
def test_a_miss_budget_is_a_whole_number_of_at_least_zero_or_none(value):
    with pytest.raises(AttendanceError, match="miss_budget"):
        AttendanceSettings(miss_budget=value)  # type: ignore[arg-type]
    assert AttendanceSettings().miss_budget is None
    assert AttendanceSettings(miss_budget=0).miss_budget == 0


@settings(max_examples=300, deadline=None)
@given(online_cases(), st.integers(0, 3))
def test_a_miss_budget_only_ever_takes_credit_away_and_still_accounts_for_every_moment(case, n):
    lesson_, events, heartbeats, checks, now = case
    without = online_credit(lesson_, events, heartbeats, checks, now)
    within = online_credit(lesson_, events, heartbeats, checks, now, budget(n))
    check_shape(within, lesson_, now)
    assert subtract([(iv.start, iv.end) for iv in within.intervals], [(iv.start, iv.end) for iv in without.intervals]) == []
