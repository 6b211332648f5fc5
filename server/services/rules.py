"""The bridge to policies/: loads region files once per process and turns ORM rows into the
plain values the pure rules take."""
from __future__ import annotations

from functools import cache, lru_cache

from policies import loader
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
            )
            for lesson in lessons
        ),
    )


def check(cls: TrainingClass, lessons: list[Lesson]) -> PlanCheck:
    from policies.plan import check_plan

    return check_plan(plan_of(cls, lessons), region(cls.region_code), catalog())


def check_json(result: PlanCheck) -> dict:
    return result.as_dict()
