"""Subsidy decisions per region, clause by clause."""
from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest

from policies.identity import resident_id_check_digit
from policies.loader import UnknownOccupationError
from policies.model import (
    Employment,
    FemaleCategory,
    Level,
    Person,
    PriorSubsidy,
    Sex,
    SubsidyRequest,
)
from policies.subsidy import decide_subsidy, person_from_resident_id, statutory_retirement_date

TODAY = date(2026, 6, 1)
J, M, S = Level.JUNIOR, Level.MID, Level.SENIOR
AFTER, AT_START, UNEMPLOYED = Employment.EMPLOYED_AFTER, Employment.EMPLOYED_AT_START, Employment.UNEMPLOYED_AFTER
AI, BIGDATA, CLOUD, BLOCKCHAIN, MANUFACTURING, DIGIMGR, ROBOT = (
    "2-02-38-01", "2-02-38-03", "2-02-38-04", "2-02-38-08", "2-02-38-05", "2-06-07-13", "2-02-38-10")


def request(occupation=AI, level=J, hours=200, **kw) -> SubsidyRequest:
    return SubsidyRequest(occupation=occupation, level=level, credited_hours=Decimal(hours), **kw)


def decide(policy, catalog, req, today=TODAY):
    return decide_subsidy(req, policy, catalog, today=today)


def codes(decision):
    return [r.code for r in decision.reasons]


def code_clause(decision, code):
    return next((r.code, r.clause) for r in decision.reasons if r.code == code)


def history(*entries) -> Person:
    return Person(history=tuple(PriorSubsidy(occ, lv, date.fromisoformat(start), kind, region)
                                for occ, lv, start, kind, region in entries))


def rid(birth: str, male: bool) -> str:
    first17 = f"330702{birth.replace('-', '')}{'01' if male else '02'}{1 if male else 2}"
    return first17 + resident_id_check_digit(first17)


# --- Chongqing: per 学时 x required hours x employment multiplier (cq 4.1.2, cq 3.3) ---------


@pytest.mark.parametrize("occupation, level, employment, amount", [
    (CLOUD, M, AFTER, "6688.00"),        # 38 x 160 x 110%
    (AI, J, AT_START, "2112.00"),        # 33 x 64 x 100%
    (AI, J, UNEMPLOYED, "1900.80"),      # 33 x 64 x 90%
    (DIGIMGR, M, UNEMPLOYED, "3078.00"),  # 38 x 90 x 90%
    (BLOCKCHAIN, M, AFTER, "2675.20"),   # 38 x 64 x 110%
])
def test_cq_pays_the_rate_per_class_hour_times_required_hours_times_the_employment_multiplier(
        cq, catalog, occupation, level, employment, amount):
    d = decide(cq, catalog, request(occupation, level, employment=employment))
    assert (d.eligible, d.amount) == (True, Decimal(amount))
    assert code_clause(d, "rate_per_hour") == ("rate_per_hour", "cq 4.1.2")
    assert code_clause(d, "employment_multiplier") == ("employment_multiplier", "cq 3.3")


def test_cq_money_is_rounded_half_up_to_the_fen(cq, catalog):
    # 10.25 x 33 x 0.9 = 304.425: half-up gives 304.43 (banker's rounding would give 304.42).
    d = decide(cq, catalog, request(hours=11, employment=UNEMPLOYED, required_hours=Decimal("10.25")))
    assert d.amount == Decimal("304.43")


def test_a_required_hours_figure_other_than_the_catalogs_is_used_and_said(cq, catalog):
    d = decide(cq, catalog, request(hours=70, employment=AT_START, required_hours=Decimal(70)))
    assert d.amount == Decimal("2310.00")  # 33 x 70
    assert code_clause(d, "required_hours_override") == ("required_hours_override", "cq annex")
    assert "required_hours_override" not in codes(decide(cq, catalog, request(employment=AT_START)))


def test_cq_without_the_employment_status_the_amount_is_unknown_not_zero(cq, catalog):
    d = decide(cq, catalog, request())
    assert (d.eligible, d.amount) == (True, None)
    assert code_clause(d, "employment_unknown") == ("employment_unknown", "cq 3.3")


@pytest.mark.parametrize("hours, eligible", [(Decimal("63.99"), False), (Decimal(64), True), (Decimal(80), True)])
def test_a_subsidy_needs_credited_hours_of_at_least_the_required_hours(cq, catalog, hours, eligible):
    d = decide(cq, catalog, request(hours=hours, employment=AFTER))
    assert d.eligible is eligible
    if not eligible:
        assert d.amount is None
        assert code_clause(d, "hours_short") == ("hours_short", "cq 4.1.2")


def test_the_ledgers_reasons_travel_into_the_decision(cq, catalog):
    from policies.hours import ledger_from_hours

    ledger = ledger_from_hours(Decimal(30), Decimal(40), cq, Decimal(64))  # 8 online 学时 over the cap
    d = decide(cq, catalog, request(hours=ledger.credited, employment=AFTER, hour_reasons=ledger.reasons))
    assert d.eligible is False
    assert ("online_over_cap", "POLICY §3") in [(r.code, r.clause) for r in d.reasons]


def test_cq_needs_the_training_certificate_but_not_the_level_certificate(cq, catalog):
    no_training = decide(cq, catalog, request(employment=AFTER, training_certificate=False))
    no_level = decide(cq, catalog, request(employment=AFTER, level_certificate=False))
    assert no_training.eligible is False
    assert code_clause(no_training, "training_certificate_missing") == ("training_certificate_missing", "cq 3.4")
    assert no_level.eligible is True


@pytest.mark.parametrize("region", ["js", "yn", "zj-jinhua"])
def test_js_yn_and_zj_need_the_level_certificate(catalog, region):
    from policies.loader import load_region

    d = decide(load_region(region), catalog, request(occupation=BIGDATA, level_certificate=False))
    assert d.eligible is False
    assert "level_certificate_missing" in codes(d)


def test_cq_refuses_an_occupation_or_level_its_2025_call_did_not_open(cq, catalog):
    assert code_clause(decide(cq, catalog, request(ROBOT, employment=AFTER)), "occupation_not_opened") == (
        "occupation_not_opened", "cq-call 1.1")
    assert code_clause(decide(cq, catalog, request(AI, S, employment=AFTER)), "level_not_opened") == (
        "level_not_opened", "cq-call 1.2")


@pytest.mark.parametrize("entries, start, eligible, code", [
    ([], date(2026, 3, 1), True, None),
    ([(BIGDATA, J, "2026-01-05", "training", "cq")], date(2026, 3, 1), False, "yearly_limit_reached"),
    ([(BIGDATA, J, "2025-12-31", "training", "cq")], date(2026, 3, 1), True, None),
    ([(BIGDATA, J, "2026-01-05", "evaluation", "cq")], date(2026, 3, 1), True, None),
    ([(BIGDATA, J, "2026-01-05", "training", "js")], date(2026, 3, 1), True, None),
    ([(BIGDATA, J, "2026-01-05", "training", None)], date(2026, 3, 1), False, "yearly_limit_reached"),
    ([(BIGDATA, J, "2021-01-05", "training", "cq"), (CLOUD, J, "2022-01-05", "training", "cq"),
      (AI, M, "2023-01-05", "training", "cq")], date(2026, 3, 1), False, "total_limit_reached"),
    ([(BIGDATA, J, "2022-01-05", "training", "cq"), (CLOUD, J, "2023-01-05", "training", "cq")],
     date(2026, 3, 1), True, None),
])
def test_cq_allows_one_subsidised_training_a_year_by_start_date_and_three_in_all(
        cq, catalog, entries, start, eligible, code):
    d = decide(cq, catalog, request(employment=AFTER, training_start=start, person=history(*entries)))
    assert d.eligible is eligible
    if code:
        assert code_clause(d, code) == (code, "cq 3.4")


def test_a_history_without_the_training_start_date_goes_to_review(cq, catalog):
    d = decide(cq, catalog, request(employment=AFTER, person=history((BIGDATA, J, "2026-01-05", "training", "cq"))))
    assert (d.eligible, d.amount) == (None, Decimal("2323.20"))
    assert code_clause(d, "training_start_unknown") == ("training_start_unknown", "cq 3.4")


def detail(decision, code):
    return next(r.detail for r in decision.reasons if r.code == code)


def test_a_person_whose_history_is_unknown_is_told_which_limits_were_not_checked(cq, catalog):
    d = decide(cq, catalog, request(employment=AFTER, training_start=date(2026, 3, 1)))
    # Not checked does not refuse (like every other unchecked input), but it is never silent.
    assert d.eligible is True
    assert [r.clause for r in d.reasons if r.code == "history_not_checked"] == ["cq 3.4"]
    text = detail(d, "history_not_checked")
    assert "每年最多享受 1 次培训补贴" in text and "累计最多享受 3 次培训补贴" in text and "没有已知记录" in text
    assert "评价补贴" not in text  # cq's evaluation limits do not bear on a training subsidy


def test_a_known_earlier_subsidy_still_refuses_when_the_full_history_was_not_checked(zj, catalog):
    person = history((BIGDATA, J, "2024-01-01", "training", None), (AI, J, "2024-05-01", "training", "cq"))
    d = decide(zj, catalog, request(BIGDATA, J, training_start=date(2026, 4, 1), person=person))
    assert d.eligible is False
    assert code_clause(d, "repeat_occupation_level") == ("repeat_occupation_level", "zj 4.4")
    assert code_clause(d, "history_not_checked") == ("history_not_checked", "zj 4.4")
    assert "已知的 1 条记录" in detail(d, "history_not_checked")  # the cq entry does not count in zj


def test_a_history_checked_on_a_day_is_said_in_the_basis_and_nothing_is_left_unchecked(zj, catalog):
    person = replace(history((AI, J, "2024-01-01", "training", None)), history_checked_on=date(2026, 5, 20))
    d = decide(zj, catalog, request(BIGDATA, J, training_start=date(2026, 4, 1), person=person))
    assert d.eligible is True
    assert "history_not_checked" not in codes(d)
    assert code_clause(d, "history_checked") == ("history_checked", "zj 4.4")
    assert "2026-05-20" in detail(d, "history_checked") and "1 条" in detail(d, "history_checked")


def test_a_checked_history_still_refuses_on_a_limit_it_reaches(cq, catalog):
    person = replace(history((BIGDATA, J, "2026-01-05", "training", "cq")), history_checked_on=date(2026, 2, 1))
    d = decide(cq, catalog, request(employment=AFTER, training_start=date(2026, 3, 1), person=person))
    assert d.eligible is False and "yearly_limit_reached" in codes(d)


def test_js_names_every_limit_that_bears_on_a_training_subsidy_in_one_reason_per_clause(js, catalog):
    d = decide(js, catalog, request(AI, M, fee=Decimal(1)))
    reasons = [r for r in d.reasons if r.code == "history_not_checked"]
    assert [r.clause for r in reasons] == ["js 3.3"]
    assert "累计最多享受 3 次培训补贴" in reasons[0].detail and "同一职业同一等级的补贴不可重复享受" in reasons[0].detail
    assert "较低等级" in reasons[0].detail and "评价补贴" not in reasons[0].detail


def test_a_region_without_frequency_limits_says_nothing_about_the_history(yn, catalog):
    codes_ = codes(decide(yn, catalog, request()))
    assert "history_not_checked" not in codes_ and "history_checked" not in codes_


@pytest.mark.parametrize("attribute, code", [("establishment_staff", "establishment_staff"),
                                             ("monthly_pension", "monthly_pension")])
def test_cq_excludes_establishment_staff_and_monthly_pensioners(cq, catalog, attribute, code):
    d = decide(cq, catalog, request(employment=AFTER, person=Person(**{attribute: True})))
    assert (d.eligible, d.amount) == (False, None)
    assert code_clause(d, code) == (code, "cq 3.4")
    cleared = decide(cq, catalog, request(employment=AFTER, person=Person(**{attribute: False})))
    assert cleared.eligible is True and f"{code}_not_checked" not in codes(cleared)


def test_an_exclusion_nobody_was_asked_about_is_reported_as_not_checked(cq, catalog):
    d = decide(cq, catalog, request(employment=AFTER))
    assert {"establishment_staff_not_checked", "monthly_pension_not_checked", "group_not_checked"} <= set(codes(d))


@pytest.mark.parametrize("groups, eligible", [
    ({"enterprise_employee"}, True), ({"graduate_of_the_year"}, True), (set(), False), ({"rural_migrant_worker"}, False)])
def test_cq_pays_only_its_eligible_groups(cq, catalog, groups, eligible):
    d = decide(cq, catalog, request(employment=AFTER, person=Person(groups=frozenset(groups))))
    assert d.eligible is eligible
    if not eligible:
        assert code_clause(d, "not_in_eligible_group") == ("not_in_eligible_group", "cq 4.1.1")


def test_an_unknown_occupation_is_an_input_error_not_a_refusal(cq, catalog):
    with pytest.raises(UnknownOccupationError):
        decide(cq, catalog, request("9-99-99-99"))
    with pytest.raises(UnknownOccupationError):
        decide(cq, catalog, request(person=history(("9-99", J, "2020-01-01", "training", None))))


# --- Zhejiang / Jinhua: fixed table, exclusions, 12-month window ---------------------------


@pytest.mark.parametrize("occupation, level, amount", [
    ("2-02-10-11", J, "3300.00"), ("2-02-10-11", M, "3900.00"), ("2-02-10-11", S, "5200.00"),
    (BIGDATA, S, "5200.00"),
    ("2-02-10-15", J, "2200.00"), (BLOCKCHAIN, M, "2400.00"), ("2-02-10-15", S, "2900.00"),
    ("2-02-07-13", J, "2300.00"), (MANUFACTURING, M, "2700.00"), ("2-02-07-13", S, "3300.00"),
])
def test_zj_pays_the_fixed_amount_of_its_table_under_either_code(zj, catalog, occupation, level, amount):
    d = decide(zj, catalog, request(occupation, level))
    assert (d.eligible, d.amount) == (True, Decimal(amount))
    assert code_clause(d, "fixed_amount") == ("fixed_amount", "zj annex 2")


@pytest.mark.parametrize("occupation", [AI, CLOUD, DIGIMGR])
def test_zj_says_the_amount_is_unpublished_for_other_occupations_never_zero(zj, catalog, occupation):
    d = decide(zj, catalog, request(occupation))
    assert (d.eligible, d.amount) == (True, None)
    assert code_clause(d, "amount_unpublished") == ("amount_unpublished", "zj annex 2")
    assert "不是 0 元" in next(r.detail for r in d.reasons if r.code == "amount_unpublished")


@pytest.mark.parametrize("entries, eligible, code", [
    ([(AI, J, "2026-01-01", "training", None), (CLOUD, J, "2026-02-01", "training", None)], True, None),
    ([(AI, J, "2026-01-01", "training", None), (CLOUD, J, "2026-02-01", "training", None),
      (DIGIMGR, J, "2026-03-01", "training", None)], False, "yearly_limit_reached"),
    ([(AI, J, "2025-01-01", "training", None), (CLOUD, J, "2025-02-01", "training", None),
      (DIGIMGR, J, "2025-03-01", "training", None)], True, None),
    ([("2-02-10-11", J, "2024-01-01", "training", None)], False, "repeat_occupation_level"),
    ([(BIGDATA, M, "2024-01-01", "training", None)], True, None),
])
def test_zj_allows_three_a_year_and_never_the_same_occupation_and_level_twice(zj, catalog, entries, eligible, code):
    d = decide(zj, catalog, request(BIGDATA, J, training_start=date(2026, 4, 1), person=history(*entries)))
    assert d.eligible is eligible
    if code:
        assert code_clause(d, code) == (code, "zj 4.4")


@pytest.mark.parametrize("birth, today, eligible", [
    ("2010-06-02", date(2026, 6, 1), False),  # one day short of 16
    ("2010-06-01", date(2026, 6, 1), True),   # 16 today
])
def test_jinhua_excludes_people_under_sixteen(zj, catalog, birth, today, eligible):
    d = decide(zj, catalog, request(BIGDATA, person=person_from_resident_id(rid(birth, male=True))), today=today)
    assert d.eligible is eligible
    if not eligible:
        assert code_clause(d, "under_min_age") == ("under_min_age", "jinhua 2")


@pytest.mark.parametrize("birth, group, retires", [
    ("1964-12-10", "male", "2024-12-10"),          # before the reform: 60
    ("1965-01-15", "male", "2025-02-15"),          # 60 + 1 month
    ("1965-04-30", "male", "2025-05-30"),
    ("1965-05-01", "male", "2025-07-01"),          # 60 + 2 months
    ("1976-08-01", "male", "2039-07-01"),          # 62 + 11 months
    ("1976-09-01", "male", "2039-09-01"),          # 63
    ("1990-01-01", "male", "2053-01-01"),
    ("1969-12-01", "female_cadre", "2024-12-01"),  # 55
    ("1970-01-01", "female_cadre", "2025-02-01"),
    ("1981-09-01", "female_cadre", "2039-09-01"),  # 58
    ("1974-12-01", "female_worker", "2024-12-01"),  # 50
    ("1975-02-01", "female_worker", "2025-03-01"),  # 50 + 1 month
    ("1975-03-01", "female_worker", "2025-05-01"),  # 50 + 2 months
    ("1984-10-01", "female_worker", "2039-09-01"),  # 54 + 11 months
    ("1984-11-01", "female_worker", "2039-11-01"),  # 55
])
def test_the_statutory_retirement_age_follows_the_2025_schedule_by_birth_month(zj, catalog, birth, group, retires):
    schedule = next(s for s in zj.exclusions if s.kind == "statutory_retirement_age").params["schedule"]
    assert statutory_retirement_date(date.fromisoformat(birth), group, schedule) == date.fromisoformat(retires)


@pytest.mark.parametrize("today, eligible", [(date(2025, 2, 14), True), (date(2025, 2, 15), False)])
def test_jinhua_excludes_a_man_from_the_day_he_reaches_retirement_age(zj, catalog, today, eligible):
    d = decide(zj, catalog, request(BIGDATA, person=person_from_resident_id(rid("1965-01-15", male=True))), today=today)
    assert d.eligible is eligible
    if not eligible:
        assert code_clause(d, "over_retirement_age") == ("over_retirement_age", "jinhua 2")


@pytest.mark.parametrize("birth, category, eligible", [
    ("1975-03-10", FemaleCategory.WORKER, False),  # retired 2025-05-10
    ("1975-03-10", FemaleCategory.CADRE, True),    # retires 2030-07-10
    ("1975-03-10", None, None),                    # depends on the category: review
    ("1990-03-10", None, True),                    # under every possible age
    ("1960-03-10", None, False),                   # over every possible age
])
def test_jinhua_reviews_a_woman_whose_retirement_age_depends_on_an_unknown_job_category(
        zj, catalog, birth, category, eligible):
    person = Person(birth_date=date.fromisoformat(birth), sex=Sex.FEMALE, female_category=category)
    d = decide(zj, catalog, request(BIGDATA, person=person), today=date(2026, 1, 1))
    assert d.eligible is eligible
    if eligible is None:
        assert code_clause(d, "retirement_category_unknown") == ("retirement_category_unknown", "jinhua 2")
        assert d.amount == Decimal("3300.00")  # shown to the reviewer


def test_jinhua_excludes_people_already_drawing_a_pension(zj, catalog):
    d = decide(zj, catalog, request(BIGDATA, person=Person(monthly_pension=True)))
    assert d.eligible is False and code_clause(d, "monthly_pension") == ("monthly_pension", "jinhua 2")


@pytest.mark.parametrize("today, eligible", [(date(2026, 1, 10), True), (date(2026, 1, 11), False)])
def test_jinhua_accepts_applications_within_twelve_months_of_the_level_certificate(zj, catalog, today, eligible):
    d = decide(zj, catalog, request(BIGDATA, level_certificate_issued_on=date(2025, 1, 10)), today=today)
    assert d.eligible is eligible
    if not eligible:
        assert code_clause(d, "application_window_passed") == ("application_window_passed", "jinhua 4")


@pytest.mark.parametrize("groups, eligible", [({"insured_in_jinhua"}, True), ({"jinhua_hukou_unemployed"}, True),
                                              ({"jinhua_college_graduate"}, True), (set(), False)])
def test_jinhua_pays_only_its_eligible_groups(zj, catalog, groups, eligible):
    assert decide(zj, catalog, request(BIGDATA, person=Person(groups=frozenset(groups)))).eligible is eligible


# --- Jiangsu: provincial base x city factor within 30%, never above the fee ------------------


def test_js_amount_is_unknown_until_the_provincial_base_is_configured(js, catalog):
    d = decide(js, catalog, request(fee=Decimal(5000)))
    assert (d.eligible, d.amount) == (True, None)
    assert code_clause(d, "amount_unknown") == ("amount_unknown", "js 3.3")


@pytest.fixture()
def js_configured(js):
    base = {J: Decimal(2000), M: Decimal(3000), S: None}
    return replace(js, subsidy=replace(js.subsidy, base=base))


@pytest.mark.parametrize("factor, fee, eligible, amount, code", [
    (Decimal("1.2"), Decimal(3000), True, "2400.00", None),
    (None, Decimal(3000), True, "2000.00", "city_factor_default"),
    (Decimal("0.7"), Decimal(3000), True, "1400.00", None),
    (Decimal("1.3"), Decimal(3000), True, "2600.00", None),
    (Decimal("1.2"), Decimal(2100), True, "2100.00", "capped_at_fee"),
    (Decimal("1.31"), Decimal(3000), None, None, "city_factor_out_of_range"),
    (Decimal("0.69"), Decimal(3000), None, None, "city_factor_out_of_range"),
    (Decimal("1.2"), None, True, None, "fee_unknown"),
])
def test_js_pays_the_base_times_a_city_factor_within_thirty_percent_never_above_the_fee(
        js_configured, catalog, factor, fee, eligible, amount, code):
    d = decide(js_configured, catalog, request(city_factor=factor, fee=fee))
    assert d.eligible is eligible
    assert d.amount == (None if amount is None else Decimal(amount))
    if code:
        assert code_clause(d, code)[1] == "js 3.3"


@pytest.mark.parametrize("entries, level, eligible, code", [
    ([(AI, M, "2024-01-01", "training", None)], M, False, "repeat_occupation_level"),
    ([(AI, M, "2024-01-01", "evaluation", None)], M, False, "repeat_occupation_level"),
    ([(AI, M, "2024-01-01", "training", None)], J, False, "lower_after_higher"),
    ([(AI, J, "2024-01-01", "training", None)], M, True, None),
    ([(CLOUD, J, "2021-01-01", "training", None), (BIGDATA, J, "2022-01-01", "training", None),
      (DIGIMGR, J, "2023-01-01", "training", None)], M, False, "total_limit_reached"),
    ([(CLOUD, J, "2021-01-01", "evaluation", None), (BIGDATA, J, "2022-01-01", "evaluation", None),
      (DIGIMGR, J, "2023-01-01", "evaluation", None)], M, True, None),
])
def test_js_allows_three_in_all_never_the_same_level_twice_nor_a_lower_one_after_a_higher(
        js, catalog, entries, level, eligible, code):
    d = decide(js, catalog, request(AI, level, fee=Decimal(1), person=history(*entries)))
    assert d.eligible is eligible
    if code:
        assert code_clause(d, code) == (code, "js 3.3")


# --- Yunnan: configurable ------------------------------------------------------------------


def test_yn_amount_is_unknown_until_configured(yn, catalog):
    d = decide(yn, catalog, request())
    assert (d.eligible, d.amount) == (True, None)
    assert code_clause(d, "amount_unknown") == ("amount_unknown", "yn 4.4")


def test_yn_uses_configured_amounts_with_a_per_occupation_override(yn, catalog):
    configured = replace(yn, subsidy=replace(yn.subsidy, amounts={J: Decimal(1500), M: None, S: None},
                                             by_occupation={CLOUD: {J: Decimal(1800), M: None, S: None}}))
    assert decide(configured, catalog, request(AI)).amount == Decimal("1500.00")
    assert decide(configured, catalog, request(CLOUD)).amount == Decimal("1800.00")
    assert decide(configured, catalog, request(AI, M)).amount is None


def test_the_decision_date_is_an_argument_and_the_same_inputs_give_the_same_decision(zj, catalog):
    req = request(BIGDATA, level_certificate_issued_on=date(2025, 1, 10))
    assert decide(zj, catalog, req, today=date(2025, 6, 1)) == decide(zj, catalog, req, today=date(2025, 6, 1))
    assert decide(zj, catalog, req, today=date(2027, 6, 1)).eligible is False
