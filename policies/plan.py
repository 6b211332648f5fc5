"""Plan check at filing: refuse a class plan that cannot earn its hours, before it runs.

Why at filing: an online share above the cap (js 2.2), too few scheduled hours or lessons that
overlap would otherwise be discovered only when the ledger comes up short at the end, after the
trainees have spent their time. check_plan() returns EVERY violation with its clause, so an
institution can fix the plan in one pass.
"""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from fractions import Fraction
from zoneinfo import ZoneInfo

from policies.hours import required_seconds, span_seconds
from policies.loader import Catalog, UnknownOccupationError
from policies.model import ClassPlan, Mode, PlanCheck, Reason, RegionPolicy, hours_from_seconds


def _local(dt: datetime, tz: ZoneInfo) -> str:
    return dt.astimezone(tz).strftime("%Y-%m-%d %H:%M")


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
    valid: list[tuple[int, int, int]] = []  # (start, end, lesson number)
    for number, lesson in enumerate(plan.lessons, start=1):
        start, end = span_seconds(lesson.start, lesson.end)
        if lesson.end <= lesson.start:
            violations.append(Reason("lesson_end_not_after_start", policy.plan_clause,
                                     f"第 {number} 课次的结束时间 {_local(lesson.end, tz)} 不晚于开始时间 {_local(lesson.start, tz)}。"))
            continue
        first_day = lesson.start.astimezone(tz).date()
        last_day = lesson.end.astimezone(tz).date()
        if first_day < plan.starts_on or last_day > plan.ends_on:
            violations.append(Reason("lesson_outside_class_dates", policy.plan_clause,
                                     f"第 {number} 课次（{_local(lesson.start, tz)}—{_local(lesson.end, tz)}）不在培训班日期 "
                                     f"{plan.starts_on} 至 {plan.ends_on} 之内。"))
        valid.append((start, end, number))
        scheduled += end - start
        if lesson.mode is Mode.ONLINE:
            online += end - start

    # Overlaps: sweep in start order, remembering the lesson that reaches furthest so far.
    valid.sort()
    reach_end: int | None = None
    reach_no = 0  # read only once reach_end is set
    for start, end, number in valid:
        if reach_end is not None and start < reach_end:
            a, b = sorted((reach_no, number))
            violations.append(Reason("lessons_overlap", policy.plan_clause,
                                     f"第 {a} 课次与第 {b} 课次时间重叠，同一学员不能同时上两节课。"))
        if reach_end is None or end > reach_end:
            reach_end, reach_no = end, number

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
