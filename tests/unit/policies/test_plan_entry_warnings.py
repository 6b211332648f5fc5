"""Warnings when lessons are entered: stored all the same, but the institution hears now what
filing (a date outside the class) or the day itself (a statutory holiday) would tell it later."""
from __future__ import annotations

from datetime import date

from policies.model import ClassPlan, Level, Mode, PlannedLesson
from policies.plan import HOLIDAY_CLAUSE, entry_warnings
from tests.unit.policies.builders import at

AI = "2-02-38-01"


def plan(*lessons: PlannedLesson, starts=date(2025, 12, 1), ends=date(2026, 1, 31)) -> ClassPlan:
    return ClassPlan(occupation=AI, level=Level.JUNIOR, starts_on=starts, ends_on=ends, lessons=lessons)


def lesson(day: int, month: int = 1, year: int = 2026, number: int | None = 29) -> PlannedLesson:
    return PlannedLesson(at(day, 9, month=month, year=year), at(day, 12, month=month, year=year), Mode.OFFLINE,
                         venue="教室A", number=number)


def test_a_lesson_on_new_years_day_is_warned_about_naming_its_number_date_and_the_holiday(cq):
    [warning] = entry_warnings(plan(lesson(1)), cq)
    assert (warning.code, warning.clause) == ("lesson_on_statutory_holiday", HOLIDAY_CLAUSE)
    assert warning.detail == ("2026-01-01 09:00—12:00 的课次（编号 29）在 2026-01-01，是元旦假期（法定节假日放假），"
                              "学员可能无法到课；课次已保存，请确认是否调整。")


def test_a_lesson_on_an_ordinary_weekday_gets_no_warning(cq):
    assert entry_warnings(plan(lesson(5)), cq) == ()  # Monday 5 January 2026


def test_a_weekend_worked_in_exchange_for_a_holiday_gets_no_warning(cq):
    assert entry_warnings(plan(lesson(4)), cq) == ()  # Sunday 4 January 2026 is a working day (调休上班)


def test_an_ordinary_weekend_gets_no_warning(cq):
    assert entry_warnings(plan(lesson(10)), cq) == ()  # Saturday 10 January 2026


def test_a_weekday_given_off_in_exchange_is_warned_about_as_a_day_off_in_lieu(cq):
    [warning] = entry_warnings(plan(lesson(2)), cq)  # Friday 2 January 2026: 调休放假
    assert (warning.code, warning.clause) == ("lesson_on_day_off_in_lieu", HOLIDAY_CLAUSE)
    assert "元旦调休放假日" in warning.detail and "（编号 29）" in warning.detail


def test_a_year_the_holiday_calendar_does_not_know_is_said_to_be_unchecked_once_not_a_crash(cq):
    far = plan(lesson(5, year=2099, number=7), lesson(6, year=2099, number=8),
               starts=date(2099, 1, 1), ends=date(2099, 1, 31))
    [warning] = entry_warnings(far, cq)
    assert (warning.code, warning.clause) == ("holiday_calendar_unknown", HOLIDAY_CLAUSE)
    assert warning.detail == ("节假日数据尚未收录 2099 年的放假安排，无法核对 2099-01-05 09:00—12:00 的课次（编号 7）等 2 个课次"
                              "是否在法定节假日或调休放假日，请对照国务院办公厅公布的放假安排自行确认。")


def test_a_lesson_outside_the_class_dates_is_warned_about_with_the_plan_clause(cq):
    [warning] = entry_warnings(plan(lesson(5, month=2)), cq)
    assert (warning.code, warning.clause) == ("lesson_outside_class_dates", cq.plan_clause)
    assert warning.detail.startswith("2026-02-05 09:00—12:00 的课次（编号 29）不在培训班日期 2025-12-01 至 2026-01-31 之内")


def test_a_lesson_not_stored_yet_is_named_by_its_date_and_time_only(cq):
    [warning] = entry_warnings(plan(lesson(1, number=None)), cq)
    assert warning.detail.startswith("2026-01-01 09:00—12:00 的课次在 2026-01-01")


def test_only_the_lessons_just_entered_are_warned_about(cq):
    holiday, weekday = lesson(1, number=1), lesson(5, number=2)
    assert entry_warnings(plan(holiday, weekday), cq, [weekday]) == ()
    assert [w.code for w in entry_warnings(plan(holiday, weekday), cq)] == ["lesson_on_statutory_holiday"]
