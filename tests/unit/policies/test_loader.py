"""Region files and the catalog: what ships loads, cites its clauses, and bad files fail clearly."""
from __future__ import annotations

import re
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import pytest
import yaml

from policies.loader import (
    REGIONS_DIR,
    PolicyFileError,
    UnknownOccupationError,
    UnknownRegionError,
    load_catalog_file,
    load_region,
    load_region_file,
    load_regions,
)
from policies.model import Employment, Level

CLAUSE = re.compile(r"^(cq|cq-call|yn|js|zj|jinhua) (annex( \d)?|\d+(\.\d+)*)$|^POLICY §\d+$")

# The catalog as printed in CQ's annex (POLICY.md §2): code -> (junior, mid, senior).
CATALOG = {
    "2-02-38-01": (64, 80, 80), "2-02-38-02": (128, 128, 160), "2-02-38-03": (128, 128, 160),
    "2-02-38-04": (128, 160, 192), "2-02-38-05": (90, 90, 80), "2-02-38-06": (90, 120, 120),
    "2-02-38-07": (120, 100, 100), "2-02-38-08": (80, 64, 64), "2-02-38-09": (128, 128, 160),
    "2-02-38-10": (128, 128, 160), "2-02-38-11": (128, 128, 128), "2-02-38-12": (128, 148, 168),
    "2-02-38-13": (96, 128, 160), "2-06-07-13": (60, 90, 120),
}


def test_all_four_regions_load_by_code():
    assert set(load_regions()) == {"cq", "yn", "js", "zj-jinhua"}


def test_the_catalog_has_the_fourteen_occupations_with_their_required_hours(catalog):
    assert {o.code: (o.junior, o.mid, o.senior) for o in catalog.occupations} == CATALOG


@pytest.mark.parametrize("legacy, current", [
    ("2-02-10-11", "2-02-38-03"),  # 大数据
    ("2-02-10-15", "2-02-38-08"),  # 区块链
    ("2-02-07-13", "2-02-38-05"),  # 智能制造
])
def test_zj_legacy_codes_resolve_to_the_same_occupation(catalog, legacy, current):
    assert catalog.resolve(legacy) is catalog.resolve(current)


def test_codes_printed_with_long_dashes_resolve(catalog):
    assert catalog.resolve("2—02—38—01").name == "人工智能工程技术人员"


def test_an_unknown_occupation_code_is_a_clear_error(catalog):
    with pytest.raises(UnknownOccupationError, match=r"unknown occupation code '2-02-99-99'"):
        catalog.resolve("2-02-99-99")


def test_an_unknown_region_is_a_clear_error():
    with pytest.raises(UnknownRegionError, match="expected one of cq, js, yn, zj-jinhua"):
        load_region("bj")


@pytest.mark.parametrize("region", ["cq", "yn", "js", "zj-jinhua"])
def test_every_clause_in_a_region_file_names_a_notice_section(region):
    policy = load_region(region)
    clauses = [policy.minutes_per_class_hour.clause, policy.online_cap.clause, policy.verification_clause,
               policy.required_hours_clause, policy.plan_clause, policy.opened.occupations_clause,
               policy.opened.levels_clause, policy.training_certificate.clause, policy.level_certificate.clause,
               policy.subsidy.clause]
    clauses += [s.clause for s in policy.frequency_limits + policy.exclusions]
    clauses += [g.clause for g in policy.eligible_groups] + [d.clause for d in policy.deadlines]
    bad = [c for c in clauses if not CLAUSE.match(c)]
    assert bad == []


def test_cq_rates_and_multipliers_are_the_notices_figures(cq):
    assert cq.subsidy.method == "per_hour"
    assert cq.subsidy.rates == {Level.JUNIOR: Decimal(33), Level.MID: Decimal(38), Level.SENIOR: Decimal(44)}
    assert cq.subsidy.employment_multipliers == {
        Employment.EMPLOYED_AFTER: Decimal("1.10"), Employment.EMPLOYED_AT_START: Decimal("1.00"),
        Employment.UNEMPLOYED_AFTER: Decimal("0.90")}
    assert (cq.subsidy.clause, cq.subsidy.multipliers_clause) == ("cq 4.1.2", "cq 3.3")


def test_cq_opens_occupations_one_to_nine_and_fourteen_at_junior_and_mid(cq, catalog):
    opened = {o.number for o in catalog.occupations if o.code in cq.opened.occupations}
    assert opened == {1, 2, 3, 4, 5, 6, 7, 8, 9, 14}
    assert cq.opened.levels == {Level.JUNIOR, Level.MID}


def test_each_region_uses_its_own_subsidy_method(cq, yn, js, zj):
    assert [p.subsidy.method for p in (cq, yn, js, zj)] == [
        "per_hour", "configurable", "base_with_city_factor", "fixed_table"]


def test_the_online_cap_is_an_exact_half_and_a_class_hour_45_minutes_by_default(cq, yn, js, zj):
    for p in (cq, yn, js, zj):
        assert p.cap == Fraction(1, 2)
        assert p.minutes == 45
    assert js.online_cap.clause == "js 2.2"


def test_zj_fixed_table_is_keyed_by_the_current_code_of_its_legacy_codes(zj):
    assert set(zj.subsidy.table) == {"2-02-38-03", "2-02-38-08", "2-02-38-05"}


# --- malformed files ------------------------------------------------------------------------


def _write(tmp_path: Path, region: str, mutate) -> Path:
    data = yaml.safe_load((REGIONS_DIR / f"{region}.yaml").read_text(encoding="utf-8"))
    mutate(data)
    path = tmp_path / f"{region}.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def _set(path: str, value):
    def mutate(data):
        *parents, last = path.split(".")
        node = data
        for p in parents:
            node = node[int(p)] if isinstance(node, list) else node[p]
        if value is _DELETE:
            del node[last]
        else:
            node[last] = value
    return mutate


_DELETE = object()


@pytest.mark.parametrize("region, path, value, message", [
    ("cq", "subsidy.rates.mid", "abc", "subsidy.rates.mid: expected a decimal, got 'abc'"),
    ("cq", "subsidy.rates.mid", 38.5, "subsidy.rates.mid: expected a decimal, got 38.5"),
    ("cq", "subsidy.rates.junior", "-1", "subsidy.rates.junior: expected a decimal >= 0"),
    ("cq", "subsidy.method", "per_day", "subsidy.method: expected one of per_hour, fixed_table"),
    ("cq", "subsidy.employment_multipliers.employed_after", _DELETE,
     "subsidy.employment_multipliers.employed_after: missing"),
    ("cq", "class_hour.minutes", "45", "class_hour.minutes: expected a whole number, got '45'"),
    ("cq", "class_hour.minutes", 0, "class_hour.minutes: expected at least 1, got 0"),
    ("js", "online_cap.share", "1.5", "online_cap.share: expected a share between 0 and 1"),
    ("js", "subsidy.city_factor.min", "x", "subsidy.city_factor.min: expected a decimal, got 'x'"),
    ("cq", "opened.levels", ["junior", "expert"], "opened.levels[1]: expected junior, mid or senior"),
    ("cq", "opened.occupations", ["2-02-38-01", "9-99"], "opened.occupations[1]: unknown occupation code '9-99'"),
    ("zj-jinhua", "subsidy.table", {"9-99-99-99": {"junior": "1"}}, "subsidy.table.9-99-99-99: unknown occupation code"),
    ("cq", "frequency_limits.0.kind", "max_per_week", "frequency_limits[0].kind: expected one of"),
    ("cq", "frequency_limits.0.max", 0, "frequency_limits[0].max: expected at least 1, got 0"),
    ("cq", "certificates.training.required", "yes", "certificates.training.required: expected true or false"),
    ("yn", "deadlines.0.kind", "weeks_before", "deadlines[0].kind: expected one of"),
    ("zj-jinhua", "exclusions.3.schedule.male.from_birth", "1965", "schedule.male.from_birth: expected a year-month"),
    ("cq", "timezone", "Mars/Olympus", "timezone: unknown time zone 'Mars/Olympus'"),
    ("cq", "plan_clause", "", "plan_clause: expected a non-empty text"),
    ("js", "subsidy.cap_at_fe", {"clause": "js 3.3"}, "subsidy.cap_at_fe: unknown field"),
    ("cq", "subsidy.table", {}, "subsidy.table: unknown field (expected one of method, clause, rates"),
    ("cq", "exclusions.0.years", 16, "exclusions[0].years: unknown field"),
    ("cq", "online_cap.shar", "0.4", "online_cap.shar: unknown field"),
    ("yn", "deadlines.0.anchor", "class_open", "deadlines[0].anchor: expected one of class_opening"),
    ("cq", "offline_spot_checks.per_hour", [3, 1], "offline_spot_checks.per_hour: expected [fewest, most]"),
    ("js", "offline_spot_checks.per_hour", 2, "offline_spot_checks.per_hour: expected [fewest, most]"),
    ("cq", "online_spot_checks", {"per_hour": [2, 13], "clause": "POLICY §9"}, "online_spot_checks.per_hour: expected [fewest, most]"),
    ("cq", "spot_check_answer", {"seconds": 5, "clause": "POLICY §9"}, "spot_check_answer.seconds: expected at least 15"),
    ("yn", "spot_check_answer", {"seconds": 900, "clause": "POLICY §9"}, "spot_check_answer.seconds: expected at most 600"),
    ("cq", "spot_check_misses", {"per_lesson": -1, "clause": "POLICY §9"}, "spot_check_misses.per_lesson: expected at least 0"),
    ("js", "spot_check_misses", {"per_lesson": "2", "clause": "POLICY §9"},
     "spot_check_misses.per_lesson: expected a whole number, got '2'"),
    ("yn", "spot_check_misses", {"per_lesson": 2}, "spot_check_misses.clause: missing"),
    ("cq", "spot_check_misses", {"per_lesson": 2, "clause": "POLICY §9", "per_day": 8}, "spot_check_misses.per_day: unknown field"),
])
def test_a_malformed_region_file_names_the_file_and_the_field(tmp_path, region, path, value, message):
    file = _write(tmp_path, region, _set(path, value))
    with pytest.raises(PolicyFileError) as err:
        load_region_file(file)
    assert str(err.value).startswith(f"{file}: ")
    assert message in str(err.value)


def test_a_shipped_file_is_named_relative_to_the_repository():
    err = PolicyFileError("policies/regions/cq.yaml", "subsidy.rates.mid", "expected a decimal, got 'abc'")
    assert str(err) == "policies/regions/cq.yaml: subsidy.rates.mid: expected a decimal, got 'abc'"


def test_a_file_that_is_not_yaml_fails_with_its_line(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("code: cq\nsubsidy: [unclosed\n", encoding="utf-8")
    with pytest.raises(PolicyFileError, match=r"bad.yaml: line \d+: not valid YAML"):
        load_region_file(bad)


def test_a_missing_file_fails_with_its_name(tmp_path):
    with pytest.raises(PolicyFileError, match="missing.yaml: cannot read the file"):
        load_region_file(tmp_path / "missing.yaml")


def test_a_catalog_with_a_duplicate_code_is_refused(tmp_path):
    path = tmp_path / "occupations.yaml"
    path.write_text(yaml.safe_dump({"clause": "cq annex", "occupations": [
        {"number": 1, "code": "2-02-38-01", "name": "a", "junior": 1, "mid": 1, "senior": 1},
        {"number": 2, "code": "2-02-38-02", "name": "b", "junior": 1, "mid": 1, "senior": 1,
         "aliases": ["2-02-38-01"]},
    ]}, allow_unicode=True), encoding="utf-8")
    with pytest.raises(PolicyFileError, match=r"occupations\[1\].code: code 2-02-38-01 is already used by a"):
        load_catalog_file(path)


def test_a_region_file_can_be_loaded_from_any_path_with_changed_figures(tmp_path):
    file = _write(tmp_path, "js", _set("subsidy.base", {"junior": "1000", "mid": "1500", "senior": None}))
    policy = load_region_file(file)
    assert policy.subsidy.base == {Level.JUNIOR: Decimal(1000), Level.MID: Decimal(1500), Level.SENIOR: None}


def test_a_loaded_policy_cannot_be_changed_in_place(cq):
    with pytest.raises(TypeError):
        cq.subsidy.rates[Level.MID] = Decimal(1000)  # type: ignore[index]
    with pytest.raises(TypeError):
        cq.frequency_limits[0].params["max"] = 9  # type: ignore[index]


def test_a_region_file_without_class_hour_or_online_cap_gets_the_project_defaults(tmp_path):
    def drop(data):
        del data["class_hour"], data["online_cap"]
    policy = load_region_file(_write(tmp_path, "yn", drop))
    assert (policy.minutes, policy.minutes_per_class_hour.clause) == (45, "POLICY §9")
    assert (policy.cap, policy.online_cap.clause) == (Fraction(1, 2), "POLICY §3")


def test_offline_spot_checks_per_hour_are_a_region_setting_with_a_project_default(tmp_path, cq):
    assert (cq.offline_spot_checks.value, cq.offline_spot_checks.clause) == ((1, 2), "POLICY §9")
    policy = load_region_file(_write(tmp_path, "js", _set("offline_spot_checks.per_hour", [0, 0])))
    assert policy.offline_spot_checks.value == (0, 0)  # a region may turn them off
    assert load_region_file(_write(tmp_path, "yn", _set("offline_spot_checks", _DELETE))).offline_spot_checks.value == (1, 2)


def test_online_spot_checks_and_the_time_to_answer_are_region_settings_with_project_defaults(tmp_path, cq):
    assert (cq.online_spot_checks.value, cq.spot_check_answer_seconds.value) == ((2, 4), 60)
    assert cq.spot_check_answer_seconds.clause == "POLICY §9"
    def both(data):
        _set("online_spot_checks", {"per_hour": [8, 8], "clause": "js 4.2"})(data)
        _set("spot_check_answer", {"seconds": 90, "clause": "js 4.2"})(data)

    policy = load_region_file(_write(tmp_path, "js", both))
    assert (policy.online_spot_checks.value, policy.online_spot_checks.clause) == ((8, 8), "js 4.2")
    assert (policy.spot_check_answer_seconds.value, policy.spot_check_answer_seconds.clause) == (90, "js 4.2")


def test_the_spot_checks_an_online_lesson_may_miss_are_a_region_setting_absent_by_default(tmp_path, cq):
    assert (cq.spot_check_misses.value, cq.spot_check_misses.clause) == (None, "POLICY §9")  # no budget
    policy = load_region_file(_write(tmp_path, "js", _set("spot_check_misses", {"per_lesson": 2, "clause": "js 4.2"})))
    assert (policy.spot_check_misses.value, policy.spot_check_misses.clause) == (2, "js 4.2")
    none_allowed = load_region_file(_write(tmp_path, "yn", _set("spot_check_misses", {"per_lesson": 0, "clause": "POLICY §9"})))
    assert none_allowed.spot_check_misses.value == 0


def test_checkpoint_quizzes_are_a_region_setting_off_by_default(tmp_path, cq):
    assert (cq.checkpoint_quizzes.value, cq.checkpoint_quizzes.clause) == (False, "POLICY §9")
    policy = load_region_file(_write(tmp_path, "js", _set("checkpoint_quizzes", {"enabled": True, "clause": "js 4.2"})))
    assert (policy.checkpoint_quizzes.value, policy.checkpoint_quizzes.clause) == (True, "js 4.2")
    with pytest.raises(PolicyFileError, match="checkpoint_quizzes.enabled"):
        load_region_file(_write(tmp_path, "yn", _set("checkpoint_quizzes", {"enabled": "yes", "clause": "POLICY §9"})))
