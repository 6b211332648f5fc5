"""The bridge to policies/: loads region files once per process and turns ORM rows into the
plain values the pure rules take."""
from __future__ import annotations

from datetime import datetime
from functools import cache, lru_cache
from zoneinfo import ZoneInfo

from policies import loader
from policies import plan as plan_rules
from policies.model import ClassPlan, Content, Mode, PlanCheck, PlannedLesson, RegionPolicy
from policies.model import Level as PLevel
from server.errors import ApiError
from server.models import Lesson, TrainingClass


@cache
def region(code: str) -> RegionPolicy:
    try:
        return loader.load_region(code)
    except (KeyError, FileNotFoundError, ValueError):
        known = ", ".join(loader.region_codes())
        raise ApiError(422, "unknown_region", f"未知地区 {code!r}，可选：{known}",
                       fields=[{"field": "region_code", "message": f"地区不存在，可选：{known}"}]) from None


@lru_cache(maxsize=1)
def catalog():
    return loader.load_catalog()


def canonical_occupation(code: str) -> str:
    """The current national code for `code` (ZJ legacy codes resolve to the same occupation)."""
    try:
        return catalog().resolve(code).code
    except Exception:  # UnknownOccupationError carries the list of known codes
        known = "、".join(o.code for o in catalog().occupations)
        raise ApiError(422, "unknown_occupation", f"未知职业编码 {code}，请从职业目录中选择",
                       fields=[{"field": "occupation_code", "message": f"不在职业目录中（可选：{known}）"}]) from None


def plan_of(cls: TrainingClass, lessons: list[Lesson]) -> ClassPlan:
    return ClassPlan(
        occupation=cls.occupation_code,
        level=PLevel(cls.level.value),
        starts_on=cls.starts_on,
        ends_on=cls.ends_on,
        direction=cls.direction,
        lessons=tuple(
            PlannedLesson(
                start=lesson.starts_at,
                end=lesson.ends_at,
                mode=Mode(lesson.mode.value),
                content=Content(lesson.content.value),
                venue=str(lesson.venue_id) if lesson.venue_id else None,
                number=lesson.id,  # the 编号 the class page shows; None while not stored
            )
            for lesson in lessons
        ),
    )


def lesson_label(cls: TrainingClass, starts_at: datetime, ends_at: datetime) -> str:
    """A lesson not stored yet as a message names it: "2026-01-05 09:00—12:00 的课次" (the
    region's local time)."""
    tz = ZoneInfo(region(cls.region_code).timezone)
    return plan_rules.lesson_label(PlannedLesson(start=starts_at, end=ends_at, mode=Mode.OFFLINE), tz)


def entry_warnings(cls: TrainingClass, lessons: list[Lesson]) -> list[dict]:
    """What the rules warn about lessons just entered (stored all the same): outside the class
    dates, on a statutory holiday or a 调休 day off; each {code, clause, message}."""
    return [{"code": r.code, "clause": r.clause, "message": r.detail}
            for r in plan_rules.entry_warnings(plan_of(cls, lessons), region(cls.region_code))]


def check(cls: TrainingClass, lessons: list[Lesson]) -> PlanCheck:
    return plan_rules.check_plan(plan_of(cls, lessons), region(cls.region_code), catalog())


def check_json(result: PlanCheck) -> dict:
    return result.as_dict()
