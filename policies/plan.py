"""Plan check at filing: refuse a class plan that cannot earn its hours, before it runs.

Why at filing: an online share above the cap (js 2.2), too few scheduled hours or lessons that
overlap would otherwise be discovered only when the ledger comes up short at the end, after the
trainees have spent their time. check_plan() returns EVERY violation with its clause, so an
institution can fix the plan in one pass.

Earlier still, when lessons are entered, entry_warnings() says what would surprise the
institution later without refusing anything: a lesson outside the class dates (refused at filing)
and a lesson on a statutory holiday or a 调休 day off (POLICY §9). Messages name a lesson as the
class page's table does: its date and time, and its 编号 once stored (lesson_label).
"""
from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from decimal import Decimal
from fractions import Fraction
from zoneinfo import ZoneInfo

import chinese_calendar

from policies.hours import required_seconds, span_seconds
from policies.loader import Catalog, UnknownOccupationError
from policies.model import ClassPlan, Mode, PlanCheck, PlannedLesson, Reason, RegionPolicy, hours_from_seconds

#: A lesson on a holiday is a setting the notices leave open (docs/policy.md, POLICY §9).
HOLIDAY_CLAUSE = "POLICY §9"

#: chinesecalendar's holiday names, as a user reads them.
HOLIDAY_NAMES = {
    "New Year's Day": "元旦",
    "Spring Festival": "春节",
    "Tomb-sweeping Day": "清明节",
    "Labour Day": "劳动节",
    "Dragon Boat Festival": "端午节",
    "National Day": "国庆节",
    "Mid-autumn Festival": "中秋节",
    "Anti-Fascist 70th Day": "中国人民抗日战争暨世界反法西斯战争胜利70周年纪念日",
}


def lesson_label(lesson: PlannedLesson, tz: ZoneInfo) -> str:
    """A lesson as the class page's table shows it: "2026-01-05 09:00—12:00 的课次（编号 29）";
    without its 编号 while it is not stored yet; the end's date only when it is another day."""
    start, end = lesson.start.astimezone(tz), lesson.end.astimezone(tz)
    until = end.strftime("%H:%M" if end.date() == start.date() else "%Y-%m-%d %H:%M")
    when = f"{start:%Y-%m-%d %H:%M}—{until} 的课次"
    return when if lesson.number is None else f"{when}（编号 {lesson.number}）"


def _outside_class_dates(lesson: PlannedLesson, plan: ClassPlan, tz: ZoneInfo) -> bool:
    return lesson.start.astimezone(tz).date() < plan.starts_on or lesson.end.astimezone(tz).date() > plan.ends_on


def _days(lesson: PlannedLesson, tz: ZoneInfo) -> list[date]:
    """The local dates a lesson touches (its first and its last)."""
    return sorted({lesson.start.astimezone(tz).date(), lesson.end.astimezone(tz).date()})


def entry_warnings(plan: ClassPlan, policy: RegionPolicy, lessons: Iterable[PlannedLesson] | None = None) -> tuple[Reason, ...]:
    """Warnings for lessons just entered (`lessons`, default: all of the plan's), in their order:
    nothing is refused here, the lessons are stored; the institution learns now what it would
    otherwise learn at filing or on the day.

    - lesson_outside_class_dates: a local date outside the class dates (still refused at filing);
    - lesson_on_statutory_holiday: a day of a statutory holiday's break (法定节假日放假);
    - lesson_on_day_off_in_lieu: a weekday given off in exchange for a worked weekend (调休放假日);
    - holiday_calendar_unknown: one per year chinesecalendar has no arrangement for (the State
      Council publishes each year's late in the year before): the days could not be checked.
    A weekend is not warned about (classes often run at weekends), nor a weekend worked (调休上班).
    """
    tz = ZoneInfo(policy.timezone)
    warnings: list[Reason] = []
    unknown: dict[int, list[PlannedLesson]] = {}
    for lesson in plan.lessons if lessons is None else lessons:
        label = lesson_label(lesson, tz)
        if _outside_class_dates(lesson, plan, tz):
            warnings.append(Reason(
                "lesson_outside_class_dates", policy.plan_clause,
                f"{label}不在培训班日期 {plan.starts_on} 至 {plan.ends_on} 之内，备案时将被退回；"
                f"课次已保存，请修改培训班日期或删除该课次。"))
        for day in _days(lesson, tz):
            try:
                off, name = chinese_calendar.get_holiday_detail(day)
                in_lieu = off and chinese_calendar.is_in_lieu(day)
            except NotImplementedError:
                missed = unknown.setdefault(day.year, [])
                if not missed or missed[-1] is not lesson:
                    missed.append(lesson)
                continue
            if not off or name is None:
                continue
            holiday = HOLIDAY_NAMES.get(str(name), "节假日")
            if in_lieu:
                warnings.append(Reason(
                    "lesson_on_day_off_in_lieu", HOLIDAY_CLAUSE,
                    f"{label}在 {day}，是{holiday}调休放假日，学员可能无法到课；课次已保存，请确认是否调整。"))
            else:
                warnings.append(Reason(
                    "lesson_on_statutory_holiday", HOLIDAY_CLAUSE,
                    f"{label}在 {day}，是{holiday}假期（法定节假日放假），学员可能无法到课；课次已保存，请确认是否调整。"))
    for year, missed in sorted(unknown.items()):
        which = lesson_label(missed[0], tz) + (f"等 {len(missed)} 个课次" if len(missed) > 1 else "")
        warnings.append(Reason(
            "holiday_calendar_unknown", HOLIDAY_CLAUSE,
            f"节假日数据尚未收录 {year} 年的放假安排，无法核对 {which}是否在法定节假日或调休放假日，"
            f"请对照国务院办公厅公布的放假安排自行确认。"))
    return tuple(warnings)


def check_plan(plan: ClassPlan, policy: RegionPolicy, catalog: Catalog) -> PlanCheck:
    """Check a ClassPlan against a region's policy; accepted only with no violation at all."""
    tz = ZoneInfo(policy.timezone)
    violations: list[Reason] = []

    required_hours: Decimal | None = plan.required_hours
    try:
        occupation = catalog.resolve(plan.occupation)
    except UnknownOccupationError:
        occupation = None
        violations.append(Reason("unknown_occupation", catalog.occupations[0].clause if catalog.occupations else "",
                                 f"职业编码 {plan.occupation} 不在数字技术工程师培育项目职业目录中。"))
    if occupation is not None:
        catalog_hours = Decimal(occupation.required_hours(plan.level))
        if required_hours is None:
            required_hours = catalog_hours
        elif required_hours < catalog_hours:
            # A filed figure may follow a newer standard upwards, never cut the national one.
            violations.append(Reason("required_hours_below_catalog", occupation.clause,
                                     f"申报的规定学时 {required_hours} 低于职业目录中{occupation.name}{plan.level.zh}的 "
                                     f"{catalog_hours} 学时。"))
        if policy.opened.occupations is not None and occupation.code not in policy.opened.occupations:
            violations.append(Reason("occupation_not_opened", policy.opened.occupations_clause,
                                     f"{policy.name}目前未开放{occupation.name}（{occupation.code}）的培训。"))
    if plan.level not in policy.opened.levels:
        opened = "、".join(lv.zh for lv in sorted(policy.opened.levels, key=lambda lv: lv.rank))
        violations.append(Reason("level_not_opened", policy.opened.levels_clause,
                                 f"{policy.name}目前只开放{opened}培训，不接受{plan.level.zh}。"))

    if plan.ends_on < plan.starts_on:
        violations.append(Reason("class_dates_reversed", policy.plan_clause,
                                 f"结业日期 {plan.ends_on} 早于开班日期 {plan.starts_on}。"))

    scheduled = online = 0
    valid: list[tuple[int, int, int]] = []  # (start, end, position in the plan)
    for position, lesson in enumerate(plan.lessons):
        start, end = span_seconds(lesson.start, lesson.end)
        if lesson.end <= lesson.start:
            violations.append(Reason("lesson_end_not_after_start", policy.plan_clause,
                                     f"{lesson_label(lesson, tz)}的结束时间不晚于开始时间。"))
            continue
        if _outside_class_dates(lesson, plan, tz):
            violations.append(Reason("lesson_outside_class_dates", policy.plan_clause,
                                     f"{lesson_label(lesson, tz)}不在培训班日期 {plan.starts_on} 至 {plan.ends_on} 之内。"))
        valid.append((start, end, position))
        scheduled += end - start
        if lesson.mode is Mode.ONLINE:
            online += end - start

    # Overlaps: sweep in start order, remembering the lesson that reaches furthest so far.
    valid.sort()
    reach_end: int | None = None
    reach = 0  # read only once reach_end is set
    for start, end, position in valid:
        if reach_end is not None and start < reach_end:
            a, b = (plan.lessons[i] for i in (reach, position))  # the earlier start first
            violations.append(Reason("lessons_overlap", policy.plan_clause,
                                     f"{lesson_label(a, tz)}与 {lesson_label(b, tz)}时间重叠，同一学员不能同时上两节课。"))
        if reach_end is None or end > reach_end:
            reach_end, reach = end, position

    if required_hours is not None:
        if required_hours <= 0:
            raise ValueError(f"required hours must be positive, got {required_hours}")
        if scheduled < required_seconds(required_hours, policy):
            violations.append(Reason(
                "scheduled_below_required", policy.required_hours_clause,
                f"计划学时 {hours_from_seconds(scheduled, policy.minutes)} 少于规定学时 {required_hours}"
                f"（每学时 {policy.minutes} 分钟）。"))

    share = Fraction(online, scheduled) if scheduled else Fraction(0)
    if share > policy.cap:
        violations.append(Reason(
            "online_share_over_cap", policy.online_cap.clause,
            f"线上课时占计划总课时的 {float(share) * 100:.2f}%，超过 {float(policy.cap) * 100:g}% 上限。"))

    return PlanCheck(
        accepted=not violations,
        violations=tuple(violations),
        scheduled_seconds=scheduled,
        online_seconds=online,
        online_share=share,
        required_hours=required_hours,
        minutes_per_class_hour=policy.minutes,
    )
