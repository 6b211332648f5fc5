"""Plan check at filing: every violation, with its clause, before the class runs."""
from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from policies.hours import credited_hours
from policies.model import ClassPlan, Interval, Level, Mode, PlannedLesson
from policies.plan import check_plan, lesson_label
from tests.unit.policies.builders import at

AI = "2-02-38-01"  # 人工智能: junior 64 学时 = 2880 minutes


def lessons(offline: int, online: int, minutes: int = 180) -> tuple[PlannedLesson, ...]:
    """One lesson a day from 2 March, offline ones first; 180 minutes = 4 学时."""
    out = []
    for i in range(offline + online):
        start = at(2, 9) + timedelta(days=i)
        out.append(PlannedLesson(start, start + timedelta(minutes=minutes), Mode.OFFLINE if i < offline else Mode.ONLINE,
                                 venue="教室A" if i < offline else None))
    return tuple(out)


def plan(lessons_, occupation=AI, level=Level.JUNIOR, starts=date(2026, 3, 1), ends=date(2026, 4, 30), **kw):
    return ClassPlan(occupation=occupation, level=level, starts_on=starts, ends_on=ends, lessons=lessons_, **kw)


def codes(result):
    return [v.code for v in result.violations]


def test_a_plan_of_required_hours_with_no_online_lessons_is_accepted(cq, catalog):
    result = check_plan(plan(lessons(16, 0)), cq, catalog)
    assert (result.accepted, result.violations, result.scheduled_hours) == (True, (), Decimal("64.00"))


def test_online_share_of_exactly_half_is_accepted(js, catalog):
    result = check_plan(plan(lessons(8, 8)), js, catalog)
    assert result.accepted
    assert result.online_share == Fraction(1, 2)


def test_online_share_above_half_is_refused_with_the_cap_clause(js, catalog):
    result = check_plan(plan(lessons(7, 9)), js, catalog)
    assert not result.accepted
    assert [(v.code, v.clause) for v in result.violations] == [("online_share_over_cap", "js 2.2")]


def test_one_online_minute_over_half_is_refused_because_the_share_is_exact(js, catalog):
    ls = list(lessons(8, 8))
    last = ls[-1]
    ls[-1] = PlannedLesson(last.start, last.end + timedelta(minutes=1), Mode.ONLINE)
    result = check_plan(plan(tuple(ls)), js, catalog)
    assert result.online_share == Fraction(1441, 2881)
    assert codes(result) == ["online_share_over_cap"]


def test_scheduled_hours_below_the_required_hours_are_refused(cq, catalog):
    result = check_plan(plan(lessons(15, 0)), cq, catalog)
    assert [(v.code, v.clause) for v in result.violations] == [("scheduled_below_required", "cq 4.1.2")]


def test_the_required_hours_follow_occupation_and_level(js, catalog):
    # 云计算 mid needs 160 学时: 40 lessons of 4 学时.
    assert codes(check_plan(plan(lessons(39, 0), occupation="2-02-38-04", level=Level.MID), js, catalog)) == [
        "scheduled_below_required"]
    assert check_plan(plan(lessons(40, 0), occupation="2-02-38-04", level=Level.MID), js, catalog).accepted


def test_a_filed_required_hours_figure_may_raise_the_catalogs_but_not_lower_it(cq, catalog):
    assert codes(check_plan(plan(lessons(16, 0), required_hours=Decimal(68)), cq, catalog)) == ["scheduled_below_required"]
    assert check_plan(plan(lessons(17, 0), required_hours=Decimal(68)), cq, catalog).accepted
    lowered = check_plan(plan(lessons(2, 0), required_hours=Decimal(8)), cq, catalog)
    assert [(v.code, v.clause) for v in lowered.violations] == [("required_hours_below_catalog", "cq annex")]


def test_a_lesson_ending_at_or_before_its_start_is_refused(cq, catalog):
    ls = lessons(16, 0) + (PlannedLesson(at(30, 9), at(30, 9), Mode.OFFLINE),
                           PlannedLesson(at(31, 10), at(31, 9), Mode.OFFLINE))
    result = check_plan(plan(ls), cq, catalog)
    assert codes(result) == ["lesson_end_not_after_start", "lesson_end_not_after_start"]
    assert result.violations[0].detail == "2026-03-30 09:00—09:00 的课次的结束时间不晚于开始时间。"
    assert result.violations[1].detail == "2026-03-31 10:00—09:00 的课次的结束时间不晚于开始时间。"


def test_a_lesson_outside_the_class_dates_is_refused(cq, catalog):
    result = check_plan(plan(lessons(16, 0), starts=date(2026, 3, 3)), cq, catalog)
    assert [(v.code, v.clause) for v in result.violations] == [("lesson_outside_class_dates", "cq 3.2.2")]


def test_class_dates_are_local_dates_so_an_evening_lesson_in_utc_is_still_inside(cq, catalog):
    # 2026-04-30 20:00 in Shanghai is 12:00 UTC the same day; 2026-05-01 07:00 Shanghai is 23:00 UTC on 30 April.
    late = (PlannedLesson(at(30, 20, month=4), at(30, 23, month=4), Mode.OFFLINE),)
    early_next = (PlannedLesson(at(1, 7, month=5), at(1, 8, month=5), Mode.OFFLINE),)
    assert "lesson_outside_class_dates" not in codes(check_plan(plan(lessons(16, 0) + late), cq, catalog))
    assert "lesson_outside_class_dates" in codes(check_plan(plan(lessons(16, 0) + early_next), cq, catalog))


def test_overlapping_lessons_are_refused_naming_both(cq, catalog):
    ls = lessons(16, 0) + (PlannedLesson(at(2, 11), at(2, 13), Mode.ONLINE),)
    result = check_plan(plan(ls), cq, catalog)
    assert codes(result) == ["lessons_overlap"]
    assert "2026-03-02 09:00—12:00 的课次与 2026-03-02 11:00—13:00 的课次时间重叠" in result.violations[0].detail


def test_a_stored_lesson_is_named_by_its_date_time_and_number_as_the_class_page_shows_it(cq, catalog):
    ls = tuple(replace(x, number=100 + i) for i, x in enumerate(lessons(16, 0))) + (
        PlannedLesson(at(2, 11), at(2, 13), Mode.ONLINE, number=71),)
    [overlap] = check_plan(plan(ls), cq, catalog).violations
    assert (overlap.code, overlap.clause) == ("lessons_overlap", "cq 3.2.2")
    assert overlap.detail == ("2026-03-02 09:00—12:00 的课次（编号 100）与 2026-03-02 11:00—13:00 的课次（编号 71）时间重叠，"
                              "同一学员不能同时上两节课。")


def test_a_lesson_outside_the_class_dates_is_named_by_its_number(cq, catalog):
    late = PlannedLesson(at(1, 9, month=5), at(1, 12, month=5), Mode.OFFLINE, number=29)
    [outside] = check_plan(plan(lessons(16, 0) + (late,)), cq, catalog).violations
    assert outside.detail == "2026-05-01 09:00—12:00 的课次（编号 29）不在培训班日期 2026-03-01 至 2026-04-30 之内。"


def test_a_lesson_past_midnight_shows_the_date_it_ends_on(cq):
    overnight = PlannedLesson(at(2, 22), at(3, 1), Mode.ONLINE, number=5)
    assert lesson_label(overnight, ZoneInfo(cq.timezone)) == "2026-03-02 22:00—2026-03-03 01:00 的课次（编号 5）"


def test_a_lesson_inside_a_long_one_overlaps_even_after_a_short_one(cq, catalog):
    ls = lessons(16, 0) + (PlannedLesson(at(20, 8), at(20, 18), Mode.OFFLINE),
                           PlannedLesson(at(20, 9), at(20, 10), Mode.OFFLINE),
                           PlannedLesson(at(20, 11), at(20, 12), Mode.OFFLINE))
    assert codes(check_plan(plan(ls), cq, catalog)) == ["lessons_overlap", "lessons_overlap"]


def test_cq_refuses_an_occupation_its_2025_call_did_not_open(cq, catalog):
    robots = "2-02-38-10"  # 机器人, number 10: not opened
    result = check_plan(plan(lessons(32, 0), occupation=robots), cq, catalog)
    assert [(v.code, v.clause) for v in result.violations] == [("occupation_not_opened", "cq-call 1.1")]


def test_cq_refuses_senior_level_but_jiangsu_accepts_it(cq, js, catalog):
    senior = plan(lessons(20, 0), level=Level.SENIOR)  # 人工智能 senior: 80 学时
    assert [(v.code, v.clause) for v in check_plan(senior, cq, catalog).violations] == [("level_not_opened", "cq-call 1.2")]
    assert check_plan(senior, js, catalog).accepted


def test_a_legacy_zj_code_is_the_same_occupation_in_a_plan(zj, catalog):
    assert check_plan(plan(lessons(32, 0), occupation="2-02-10-11"), zj, catalog).accepted


def test_an_unknown_occupation_is_a_violation_not_a_crash(cq, catalog):
    result = check_plan(plan(lessons(16, 0), occupation="9-99-99-99"), cq, catalog)
    assert codes(result) == ["unknown_occupation"]
    assert result.required_hours is None


def test_every_violation_is_returned_not_just_the_first(cq, catalog):
    ls = lessons(2, 6) + (PlannedLesson(at(2, 10), at(2, 9), Mode.OFFLINE), PlannedLesson(at(3, 10), at(3, 11), Mode.ONLINE))
    result = check_plan(plan(ls, occupation="2-02-38-10", level=Level.SENIOR, starts=date(2026, 3, 3),
                             ends=date(2026, 3, 2)), cq, catalog)
    assert sorted(set(codes(result))) == sorted([
        "occupation_not_opened", "level_not_opened", "class_dates_reversed", "lesson_end_not_after_start",
        "lesson_outside_class_dates", "lessons_overlap", "scheduled_below_required", "online_share_over_cap"])
    assert all(v.clause and v.detail for v in result.violations)


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 13), st.sampled_from(list(Level)), st.data())
def test_the_plan_check_and_the_credit_rule_agree_at_the_cap(js, catalog, index, level, data):
    """A plan of exactly the required hours passes the share check iff full attendance loses
    nothing to the online cap."""
    occupation = catalog.occupations[index]
    required = occupation.required_hours(level)
    total = required * js.minutes
    online = data.draw(st.integers(0, total))
    start = at(2, 0)
    mid = start + timedelta(minutes=total - online)
    ls = []
    if total - online:
        ls.append(PlannedLesson(start, mid, Mode.OFFLINE))
    if online:
        ls.append(PlannedLesson(mid, mid + timedelta(minutes=online), Mode.ONLINE))
    result = check_plan(plan(tuple(ls), occupation=occupation.code, level=level, ends=date(2026, 12, 31)), js, catalog)
    ledger = credited_hours([Interval(x.start, x.end, x.mode) for x in ls], js, Decimal(required))
    refused_for_share = "online_share_over_cap" in codes(result)
    assert refused_for_share == (ledger.credited_online_seconds < ledger.verified_online_seconds)
    assert result.accepted == (not refused_for_share)
    if online * 2 == total:
        assert result.accepted and ledger.credited_online_seconds == ledger.verified_online_seconds
