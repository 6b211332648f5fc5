"""Deadlines on working days with 调休; unknown years are counted Mon-Fri and marked provisional."""
from __future__ import annotations

from datetime import date

import pytest

from policies.deadlines import add_months, deadline, deadlines_for, is_working_day, shift_working_days


@pytest.mark.parametrize("day, working", [
    (date(2026, 2, 16), False),  # Monday inside the 2026 Spring Festival holiday
    (date(2026, 2, 14), True),   # Saturday made a working day (调休)
    (date(2026, 3, 2), True),    # an ordinary Monday
    (date(2026, 3, 7), False),   # an ordinary Saturday
])
def test_working_days_follow_the_official_holiday_calendar(day, working):
    assert is_working_day(day) == (working, False)


def test_yn_files_15_working_days_before_opening_skipping_the_spring_festival(yn):
    # Counting back from Monday 16 March 2026: 10 working days in March, Saturday 28 Feb (调休),
    # then 27, 26, 25, 24 Feb; 15-23 Feb are holidays.
    d = deadline(yn, "filing_before_opening", date(2026, 3, 16))
    assert (d.due, d.clause, d.provisional) == (date(2026, 2, 24), "yn 4.4.1", False)


def test_js_reviews_within_5_working_days_skipping_national_day(js):
    d = deadline(js, "eligibility_review", date(2026, 9, 30))
    assert (d.due, d.clause, d.provisional) == (date(2026, 10, 13), "js 2.2", False)


def test_a_year_the_calendar_does_not_know_counts_monday_to_friday_and_is_provisional(js):
    d = deadline(js, "eligibility_review", date(2031, 9, 30))  # Tuesday
    assert (d.due, d.provisional) == (date(2031, 10, 7), True)
    assert "仅供参考" in d.detail


def test_a_count_that_crosses_into_an_unknown_year_is_provisional():
    due, provisional = shift_working_days(date(2026, 12, 30), 5)
    assert provisional and due.year == 2027


def test_js_registers_continuing_education_within_one_month_of_the_training_end(js):
    assert deadline(js, "continuing_education_registration", date(2026, 1, 31)).due == date(2026, 2, 28)


def test_js_keeps_electronic_records_at_least_five_years(js):
    d = deadline(js, "electronic_records_kept", date(2026, 4, 30))
    assert (d.due, d.clause) == (date(2031, 4, 30), "js 4.2")


def test_cq_reports_a_self_paid_class_within_30_days_of_completion(cq):
    d = deadline(cq, "self_paid_report", date(2026, 1, 15))
    assert (d.due, d.clause) == (date(2026, 2, 14), "cq 3.2.1")


def test_zj_applies_within_12_months_of_the_level_certificate(zj):
    d = deadline(zj, "subsidy_application", date(2024, 2, 29))
    assert (d.due, d.clause) == (date(2025, 2, 28), "jinhua 4")


def test_only_deadlines_whose_anchor_is_known_are_computed(js):
    found = deadlines_for(js, {"training_end": date(2026, 4, 30)})
    assert [d.code for d in found] == ["continuing_education_registration", "electronic_records_kept",
                                       "paper_records_kept"]


def test_asking_for_a_deadline_the_region_does_not_have_names_the_ones_it_has(cq):
    with pytest.raises(KeyError, match="self_paid_report"):
        deadline(cq, "filing_before_opening", date(2026, 1, 1))


@pytest.mark.parametrize("day, months, expected", [
    (date(2026, 1, 31), 1, date(2026, 2, 28)), (date(2024, 1, 31), 1, date(2024, 2, 29)),
    (date(2026, 12, 15), 1, date(2027, 1, 15)), (date(2026, 3, 31), -1, date(2026, 2, 28)),
])
def test_adding_months_clamps_to_the_end_of_a_shorter_month(day, months, expected):
    assert add_months(day, months) == expected
