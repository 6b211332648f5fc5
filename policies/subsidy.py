"""Subsidy decision (补贴核定): may this person be paid for this class, and how much?

Every region's rules come from its file: the amount method (per_hour, fixed_table,
base_with_city_factor, configurable), the certificates it needs, the frequency limits over the
person's history, the exclusions and the eligible groups. This module only knows the rule KINDS;
which apply where is data. The clock is an argument (`today`), never read here.

eligible is True, False, or None when a person must review the case (e.g. a woman's job
category decides her retirement age and nobody told us). A figure the notices do not publish is
None with a reason saying "unknown until configured" - never 0.

An input nobody supplied is *not checked*: the rule cannot refuse on it, so eligible stays True,
and the decision carries a `..._not_checked` reason with the clause so that nobody mistakes
"passed" for "checked". The subsidy history is such an input: its known entries are always
applied (a known earlier subsidy still refuses), but unless `Person.history_checked_on` says the
full record was checked, every frequency limit is reported as `history_not_checked`.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from policies.deadlines import add_months
from policies.loader import Catalog
from policies.model import (
    Employment,
    FemaleCategory,
    Occupation,
    Person,
    PriorSubsidy,
    Reason,
    RegionPolicy,
    RuleSpec,
    Sex,
    SubsidyDecision,
    SubsidyRequest,
    money,
)

_EMPLOYMENT_ZH = {
    Employment.EMPLOYED_AFTER: "培训后实现就业创业",
    Employment.EMPLOYED_AT_START: "参训时已就业",
    Employment.UNEMPLOYED_AFTER: "培训后未就业创业",
}


@dataclass
class _Findings:
    """Collects reasons by effect while the checks run; the decision is derived from it."""

    refuse: list[Reason] = field(default_factory=list)
    review: list[Reason] = field(default_factory=list)
    basis: list[Reason] = field(default_factory=list)  # what passed and how the amount came about
    unchecked: list[Reason] = field(default_factory=list)


def age_on(birth: date, day: date) -> int:
    """Whole years of age on `day`."""
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def statutory_retirement_date(birth: date, group: str, schedule: Mapping[str, Any]) -> date:
    """The date a person reaches statutory retirement age under the 2025 gradual reform.

    group is male / female_cadre / female_worker; schedule is the region file's table: those
    born from `from_birth` on retire one month later for every `every_months` months of birth,
    up to `max_extra_months` (men 60 -> 63, women 55 -> 58 and 50 -> 55).
    """
    g = schedule[group]
    from_year, from_month = g["from_birth"]
    months_since = (birth.year * 12 + birth.month - 1) - (from_year * 12 + from_month - 1)
    extra = 0 if months_since < 0 else min(months_since // g["every_months"] + 1, g["max_extra_months"])
    return add_months(birth, g["base_years"] * 12 + extra)


def _years_months(birth: date, retire: date) -> str:
    months = (retire.year - birth.year) * 12 + retire.month - birth.month
    y, m = divmod(months, 12)
    return f"{y} 周岁" + (f"{m} 个月" if m else "")


def _check_exclusion(spec: RuleSpec, person: Person, today: date, f: _Findings) -> None:
    kind, clause = spec.kind, spec.clause
    if kind in ("establishment_staff", "monthly_pension"):
        what = "机关事业单位在编人员" if kind == "establishment_staff" else "按月领取养老金（已享受养老保险待遇）人员"
        flag = person.establishment_staff if kind == "establishment_staff" else person.monthly_pension
        if flag is None:
            f.unchecked.append(Reason(f"{kind}_not_checked", clause, f"未提供是否为{what}，本项未核对；{what}不能享受补贴。"))
        elif flag:
            f.refuse.append(Reason(kind, clause, f"{what}不能享受补贴。"))
        return
    if person.birth_date is None:
        f.unchecked.append(Reason(f"{kind}_not_checked", clause, "未提供出生日期（身份证号码），年龄条件未核对。"))
        return
    if kind == "min_age":
        years = spec.params["years"]
        if age_on(person.birth_date, today) < years:
            f.refuse.append(Reason("under_min_age", clause, f"{today} 时未满 {years} 周岁，不能享受补贴。"))
        return
    # statutory_retirement_age
    schedule = spec.params["schedule"]
    if person.sex is None:
        f.unchecked.append(Reason("retirement_age_not_checked", clause, "未提供性别（身份证号码），法定退休年龄未核对。"))
        return
    if person.sex is Sex.MALE:
        groups = ["male"]
    elif person.female_category is FemaleCategory.CADRE:
        groups = ["female_cadre"]
    elif person.female_category is FemaleCategory.WORKER:
        groups = ["female_worker"]
    else:
        groups = ["female_worker", "female_cadre"]
    dates = {g: statutory_retirement_date(person.birth_date, g, schedule) for g in groups}
    over = {g: today >= d for g, d in dates.items()}
    if all(over.values()):
        g = groups[-1]  # for an unknown category, the later date: she is over it either way
        f.refuse.append(Reason("over_retirement_age", clause,
                               f"法定退休年龄为{_years_months(person.birth_date, dates[g])}（{dates[g]} 达到），"
                               f"{today} 已超过，不能享受补贴。"))
    elif any(over.values()):
        f.review.append(Reason("retirement_category_unknown", clause,
                               f"女职工的法定退休年龄取决于原退休年龄类别（原50周岁为{dates['female_worker']}达到、"
                               f"原55周岁为{dates['female_cadre']}达到），未提供类别，需人工审核。"))


def _history_for(policy: RegionPolicy, spec: RuleSpec, history: tuple[PriorSubsidy, ...]) -> list[PriorSubsidy]:
    # Each notice limits its own region's subsidies; an entry without a region counts everywhere.
    kind = spec.params.get("subsidy", "any")
    return [h for h in history
            if (h.region is None or h.region == policy.code) and (kind == "any" or h.kind == kind)]


def _check_frequency(spec: RuleSpec, policy: RegionPolicy, request: SubsidyRequest, occupation: Occupation,
                     catalog: Catalog, f: _Findings) -> None:
    if not _applies_to_training(spec):
        return
    entries = _history_for(policy, spec, request.person.history)
    same_occ = [h for h in entries if catalog.resolve(h.occupation).code == occupation.code]
    clause = spec.clause
    if spec.kind == "max_per_year":
        if not entries:
            return
        if request.training_start is None:
            f.review.append(Reason("training_start_unknown", clause,
                                   "未提供培训开始日期，无法核对每年补贴次数限制，需人工审核。"))
            return
        year = request.training_start.year
        n = sum(1 for h in entries if h.training_start.year == year)
        if n >= spec.params["max"]:
            f.refuse.append(Reason("yearly_limit_reached", clause,
                                   f"{year} 年（按培训开始时间）已享受 {n} 次补贴，每年最多 {spec.params['max']} 次。"))
    elif spec.kind == "max_total":
        if len(entries) >= spec.params["max"]:
            f.refuse.append(Reason("total_limit_reached", clause,
                                   f"已累计享受 {len(entries)} 次补贴，累计最多 {spec.params['max']} 次。"))
    elif spec.kind == "no_repeat":
        if any(h.level is request.level for h in same_occ):
            f.refuse.append(Reason("repeat_occupation_level", clause,
                                   f"已享受过{occupation.name}{request.level.zh}的补贴，同一职业同一等级不可重复享受。"))
    elif spec.kind == "no_lower_after_higher":
        higher = [h for h in same_occ if h.level.rank > request.level.rank]
        if higher:
            top = max(higher, key=lambda h: h.level.rank).level
            f.refuse.append(Reason("lower_after_higher", clause,
                                   f"已取得{occupation.name}{top.zh}，不得再申领同一职业{request.level.zh}的补贴。"))
    elif spec.kind == "no_same_or_lower_level":
        if any(h.level.rank >= request.level.rank for h in same_occ):
            f.refuse.append(Reason("same_or_lower_level", clause,
                                   f"已享受过{occupation.name}同级或更高等级的补贴，不能再享受同级或更低等级的补贴。"))


_SUBSIDY_ZH = {"training": "培训补贴", "evaluation": "评价补贴", "any": "补贴"}


def _applies_to_training(spec: RuleSpec) -> bool:
    # This decision is about the training subsidy; evaluation-only limits are kept as data.
    return spec.params.get("subsidy", "any") in ("training", "any")


def _limit_zh(spec: RuleSpec) -> str:
    what = _SUBSIDY_ZH[spec.params.get("subsidy", "any")]
    if spec.kind == "max_per_year":
        return f"每年最多享受 {spec.params['max']} 次{what}（按培训开始时间）"
    if spec.kind == "max_total":
        return f"累计最多享受 {spec.params['max']} 次{what}"
    if spec.kind == "no_repeat":
        return f"同一职业同一等级的{what}不可重复享受"
    if spec.kind == "no_lower_after_higher":
        return f"已取得同一职业较高等级的，不得再申领较低等级的{what}"
    return f"同一职业不得再享受同级或更低等级的{what}"  # no_same_or_lower_level


def _report_history(policy: RegionPolicy, person: Person, f: _Findings) -> None:
    """Say on which history the frequency limits were applied: the full record checked on a
    day, or only the entries known here (then each limit is *not checked*, never silently
    passed). One reason per clause, naming its limits."""
    limits = [s for s in policy.frequency_limits if _applies_to_training(s)]
    if not limits:
        return
    known = sum(1 for h in person.history if h.region is None or h.region == policy.code)
    by_clause: dict[str, list[RuleSpec]] = {}
    for spec in limits:
        by_clause.setdefault(spec.clause, []).append(spec)
    for clause, specs in by_clause.items():
        rules = "；".join(_limit_zh(s) for s in specs)
        if person.history_checked_on is not None:
            f.basis.append(Reason("history_checked", clause,
                                  f"补贴享受记录已于 {person.history_checked_on} 全面核对，计入本地区的记录 {known} 条，"
                                  f"已按以下限制核对：{rules}。"))
        elif known:
            f.unchecked.append(Reason("history_not_checked", clause,
                                      f"未核对完整的补贴享受记录（人社系统查询或本人申报），以下限制只按已知的 {known} 条记录核对，"
                                      f"其余未核对：{rules}。"))
        else:
            f.unchecked.append(Reason("history_not_checked", clause,
                                      f"未核对补贴享受记录（人社系统查询或本人申报），也没有已知记录，以下限制未核对：{rules}。"))


def _unknown(clause: str, what: str) -> Reason:
    return Reason("amount_unknown", clause, f"{what}，补贴金额待配置后确定（不是 0 元）。")


def _amount(policy: RegionPolicy, request: SubsidyRequest, occupation: Occupation, required: Decimal,
            f: _Findings) -> Decimal | None:
    rule = policy.subsidy
    lv = request.level
    if rule.method == "per_hour":
        rate = rule.rates.get(lv)
        if rate is None:
            f.basis.append(_unknown(rule.clause, f"{policy.name}{lv.zh}每学时补贴标准未配置"))
            return None
        if request.employment is None:
            f.basis.append(Reason("employment_unknown", rule.multipliers_clause,
                                  "未提供就业状态（参训时已就业 / 培训后就业 / 培训后未就业），无法确定补贴比例，金额待定。"))
            return None
        mult = rule.employment_multipliers[request.employment]
        amount = money(rate * required * mult)
        f.basis.append(Reason("rate_per_hour", rule.clause, f"{lv.zh}补贴标准 {rate} 元/人·学时 × 规定学时 {required}。"))
        f.basis.append(Reason("employment_multiplier", rule.multipliers_clause,
                              f"{_EMPLOYMENT_ZH[request.employment]}，按补贴标准的 {(mult * 100).normalize():f}% 计：{amount} 元。"))
        return amount
    if rule.method == "fixed_table":
        row = rule.table.get(occupation.code)
        value = None if row is None else row.get(lv)
        if value is None:
            f.basis.append(Reason("amount_unpublished", rule.clause,
                                  f"补贴标准目录尚未公布{occupation.name}{lv.zh}的补贴金额，金额未知、待公布后确定（不是 0 元）。"))
            return None
        amount = money(value)
        f.basis.append(Reason("fixed_amount", rule.clause, f"{occupation.name}{lv.zh}补贴金额 {amount} 元。"))
        return amount
    if rule.method == "base_with_city_factor":
        base = rule.base.get(lv)
        if base is None:
            f.basis.append(_unknown(rule.clause, f"{lv.zh}对应的省定补贴基准未配置"))
            return None
        factor = request.city_factor
        if factor is None:
            factor = Decimal(1)
            f.basis.append(Reason("city_factor_default", rule.factor_clause, "未提供设区市浮动系数，按省定基准（系数 1）计算。"))
        else:
            assert rule.factor_min is not None and rule.factor_max is not None  # the loader requires city_factor min and max
            if not (rule.factor_min <= factor <= rule.factor_max):
                f.review.append(Reason("city_factor_out_of_range", rule.factor_clause,
                                       f"设区市浮动系数 {factor} 超出省定基准上下 30% 的范围（{rule.factor_min}–{rule.factor_max}），"
                                       "不予采用，需核实本地标准。"))
                return None
        amount = money(base * factor)
        f.basis.append(Reason("base_with_city_factor", rule.clause, f"省定基准 {base} 元 × 浮动系数 {factor} = {amount} 元。"))
        if rule.cap_at_fee:
            if request.fee is None:
                f.basis.append(Reason("fee_unknown", rule.fee_clause,
                                      "未提供培训机构收费标准，补贴不得高于收费标准，金额待核实收费后确定。"))
                return None
            if amount > request.fee:
                amount = money(request.fee)
                f.basis.append(Reason("capped_at_fee", rule.fee_clause, f"补贴不得高于培训机构收费标准，按收费 {amount} 元计。"))
        return amount
    # configurable
    row = rule.by_occupation.get(occupation.code)
    value = row.get(lv) if row is not None and row.get(lv) is not None else rule.amounts.get(lv)
    if value is None:
        f.basis.append(_unknown(rule.clause, f"{policy.name}补贴标准按本省相关规定执行，{occupation.name}{lv.zh}的金额未配置"))
        return None
    amount = money(value)
    f.basis.append(Reason("configured_amount", rule.clause, f"{occupation.name}{lv.zh}补贴金额 {amount} 元（按配置）。"))
    return amount


def decide_subsidy(request: SubsidyRequest, policy: RegionPolicy, catalog: Catalog, *, today: date) -> SubsidyDecision:
    """Decide one training-subsidy request under one region's policy, as of `today`.

    Raises UnknownOccupationError for an occupation code (or a history entry's code) that the
    catalog does not know: that is a bad input, not a decision.
    """
    occupation = catalog.resolve(request.occupation)
    for h in request.person.history:
        catalog.resolve(h.occupation)
    level = request.level
    required = Decimal(request.required_hours) if request.required_hours is not None \
        else Decimal(occupation.required_hours(level))
    if required <= 0:
        raise ValueError(f"required hours must be positive, got {required}")
    credited = Decimal(request.credited_hours)
    f = _Findings()
    catalog_hours = occupation.required_hours(level)
    if required != catalog_hours:
        # Allowed (a standard can change before the catalog file does) but always visible.
        f.basis.append(Reason("required_hours_override", occupation.clause,
                              f"按给定的规定学时 {required} 计算，职业目录中{occupation.name}{level.zh}为 {catalog_hours} 学时。"))
    person = request.person

    opened = policy.opened
    if opened.occupations is not None and occupation.code not in opened.occupations:
        f.refuse.append(Reason("occupation_not_opened", opened.occupations_clause,
                               f"{policy.name}目前未开放{occupation.name}（{occupation.code}）的补贴性培训。"))
    if level not in opened.levels:
        f.refuse.append(Reason("level_not_opened", opened.levels_clause,
                               f"{policy.name}目前不开放{level.zh}的补贴性培训。"))

    if credited < required:
        f.refuse.append(Reason("hours_short", policy.required_hours_clause,
                               f"计入学时 {credited} 少于规定学时 {required}，未经核验的学时不计入（{policy.verification_clause}）。"))
    else:
        f.basis.append(Reason("hours_complete", policy.required_hours_clause,
                              f"计入学时 {credited} 达到规定学时 {required}。"))
    # What the ledger left out (unverified minutes, online over the cap) stays visible here.
    f.basis.extend(request.hour_reasons)

    for name, rule, present in (("training_certificate", policy.training_certificate, request.training_certificate),
                                ("level_certificate", policy.level_certificate, request.level_certificate)):
        if rule.required and not present:
            what = "培训合格证书" if name == "training_certificate" else "专业技术等级证书"
            f.refuse.append(Reason(f"{name}_missing", rule.clause, f"未取得{what}，不能申领补贴。"))

    for spec in policy.exclusions:
        _check_exclusion(spec, person, today, f)

    if policy.eligible_groups:
        codes = {g.code for g in policy.eligible_groups}
        clause = policy.eligible_groups[0].clause
        if person.groups is None:
            f.unchecked.append(Reason("group_not_checked", clause,
                                      "未提供人员类别，补贴对象范围未核对（"
                                      + "；".join(g.detail for g in policy.eligible_groups) + "）。"))
        else:
            matched = [g for g in policy.eligible_groups if g.code in person.groups]
            if matched:
                f.basis.append(Reason("eligible_group", matched[0].clause, f"属于补贴对象：{matched[0].detail}。"))
            else:
                f.refuse.append(Reason("not_in_eligible_group", clause,
                                       "不属于本地补贴对象（" + "；".join(g.detail for g in policy.eligible_groups) + "）。"))
            unknown = sorted(set(person.groups) - codes)
            if unknown:
                f.unchecked.append(Reason("unknown_group", clause, f"人员类别 {', '.join(unknown)} 不是本地区的补贴对象类别，已忽略。"))

    for spec in policy.frequency_limits:
        _check_frequency(spec, policy, request, occupation, catalog, f)
    _report_history(policy, person, f)

    window = policy.application_window
    if window is not None:
        if request.level_certificate_issued_on is None:
            f.unchecked.append(Reason("application_window_not_checked", window.clause,
                                      f"未提供专业技术等级证书核发日期，{window.params['months']} 个月申请期限未核对。"))
        else:
            last = add_months(request.level_certificate_issued_on, window.params["months"])
            if today > last:
                f.refuse.append(Reason("application_window_passed", window.clause,
                                       f"证书核发于 {request.level_certificate_issued_on}，申请期限至 {last}，已超过，不予受理。"))

    amount = _amount(policy, request, occupation, required, f)
    eligible: bool | None = False if f.refuse else (None if f.review else True)
    return SubsidyDecision(
        region=policy.code,
        occupation=occupation.code,
        level=level,
        eligible=eligible,
        amount=None if eligible is False else amount,
        credited_hours=credited,
        required_hours=required,
        method=policy.subsidy.method,
        reasons=tuple(f.refuse + f.review + f.basis + f.unchecked),
    )


def person_from_resident_id(resident_id: str, **attributes: Any) -> Person:
    """A Person with birth date and sex read from a (validated) resident ID."""
    from policies.identity import parse_resident_id

    rid = parse_resident_id(resident_id)
    return Person(birth_date=rid.birth_date, sex=rid.sex, **attributes)


__all__ = ["decide_subsidy", "statutory_retirement_date", "age_on", "person_from_resident_id"]
