"""Deadlines: filing and keeping periods, on working days with 调休 (swapped working days).

A region file lists its deadlines as data (kind, amount, anchor, clause). Working days come from
`chinesecalendar`, which carries published years only (POLICY §9): for a year it does not know we
count Monday-Friday and mark the Deadline provisional=True instead of failing, because a filing
screen must still show a date, and the mark tells the user to re-check it once the State Council
publishes that year's holidays.
"""
from __future__ import annotations

import calendar
from collections.abc import Mapping
from datetime import date, timedelta
from functools import lru_cache

import chinese_calendar

from policies.model import Deadline, DeadlineRule, RegionPolicy

# The anchors a region file may name, and what each means (the server supplies the dates).
ANCHORS = {
    "class_opening": "开班日期",
    "application_received": "受理材料日期",
    "training_end": "培训结束日期",
    "level_certificate_issued": "专业技术等级证书核发日期",
}


@lru_cache(maxsize=64)
def calendar_knows(year: int) -> bool:
    """Whether chinesecalendar has the official holiday arrangement of this year."""
    try:
        chinese_calendar.is_workday(date(year, 6, 1))
    except NotImplementedError:
        return False
    return True


def is_working_day(day: date) -> tuple[bool, bool]:
    """(is a working day, provisional). Provisional days were counted Monday-Friday."""
    if calendar_knows(day.year):
        return chinese_calendar.is_workday(day), False
    return day.weekday() < 5, True


def shift_working_days(start: date, n: int) -> tuple[date, bool]:
    """The n-th working day after `start` (n > 0) or before it (n < 0); `start` itself is not
    counted. Returns (date, provisional)."""
    if n == 0:
        raise ValueError("n must not be 0")
    step = timedelta(days=1 if n > 0 else -1)
    day, left, provisional = start, abs(n), False
    while left:
        day += step
        working, guessed = is_working_day(day)
        provisional |= guessed
        if working:
            left -= 1
    return day, provisional


def add_months(day: date, months: int) -> date:
    """Same day n months later, clamped to the month's end (31 Jan + 1 month = 28/29 Feb)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    return date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def compute_deadline(rule: DeadlineRule, anchor: date) -> Deadline:
    """The due date of one rule from its anchor date."""
    provisional = False
    if rule.kind == "working_days_before":
        due, provisional = shift_working_days(anchor, -rule.amount)
        when = f"最迟 {due}（{ANCHORS.get(rule.anchor, rule.anchor)} {anchor} 前第 {rule.amount} 个工作日）"
    elif rule.kind == "working_days_after":
        due, provisional = shift_working_days(anchor, rule.amount)
        when = f"最迟 {due}（{ANCHORS.get(rule.anchor, rule.anchor)} {anchor} 后第 {rule.amount} 个工作日）"
    elif rule.kind == "days_after":
        due = anchor + timedelta(days=rule.amount)
        when = f"最迟 {due}（{anchor} 后 {rule.amount} 日）"
    elif rule.kind == "months_after":
        due = add_months(anchor, rule.amount)
        when = f"最迟 {due}（{anchor} 后 {rule.amount} 个月）"
    elif rule.kind == "years_after":
        due = add_months(anchor, 12 * rule.amount)
        when = f"至少保存至 {due}（{anchor} 起 {rule.amount} 年）"
    else:  # the loader only lets known kinds through
        raise ValueError(f"unknown deadline kind {rule.kind!r}")
    note = "；该年度法定节假日安排尚未收录，按周一至周五计算，仅供参考" if provisional else ""
    return Deadline(code=rule.code, due=due, clause=rule.clause,
                    detail=f"{rule.detail}：{when}{note}。", provisional=provisional)


def deadlines_for(policy: RegionPolicy, anchors: Mapping[str, date]) -> tuple[Deadline, ...]:
    """Every deadline of the region whose anchor date is known, in file order."""
    return tuple(compute_deadline(rule, anchors[rule.anchor]) for rule in policy.deadlines
                 if rule.anchor in anchors)


def deadline(policy: RegionPolicy, code: str, anchor: date) -> Deadline:
    """One named deadline of a region (e.g. 'filing_before_opening' in yn)."""
    for rule in policy.deadlines:
        if rule.code == code:
            return compute_deadline(rule, anchor)
    known = ", ".join(r.code for r in policy.deadlines) or "none"
    raise KeyError(f"region {policy.code} has no deadline {code!r} (it has: {known})")
