"""policies: the rules of 数字技术工程师培育项目 subsidies, pure and as data.

No IO beyond reading the package's own YAML, no clock, no database, no Flask: values in,
values out, every result with its reasons (code, clause, detail). Region differences live in
policies/regions/*.yaml, never in `if region == ...` branches.

The API the server calls:

    load_region(code) -> RegionPolicy            # "cq", "yn", "js", "zj-jinhua"
    load_regions() -> dict[str, RegionPolicy]
    load_catalog() -> Catalog                    # catalog.resolve(code) accepts ZJ legacy codes
    load_region_file(path, catalog=None) -> RegionPolicy
    check_plan(plan: ClassPlan, policy, catalog) -> PlanCheck
    credited_hours(intervals, policy, required_hours: Decimal) -> HourLedger
    ledger_from_hours(offline_hours, online_hours, policy, required_hours) -> HourLedger
    decide_subsidy(request: SubsidyRequest, policy, catalog, *, today: date) -> SubsidyDecision
    deadline(policy, code, anchor: date) -> Deadline
    deadlines_for(policy, anchors: Mapping[str, date]) -> tuple[Deadline, ...]
    parse_resident_id(text) -> ResidentId;  validate_uscc(text) -> str   (IdentityError)
"""
from policies.deadlines import deadline, deadlines_for, is_working_day, shift_working_days
from policies.hours import credited_hours, ledger_from_hours
from policies.identity import IdentityError, parse_resident_id, validate_uscc
from policies.loader import (
    Catalog,
    PolicyFileError,
    UnknownOccupationError,
    UnknownRegionError,
    load_catalog,
    load_region,
    load_region_file,
    load_regions,
)
from policies.plan import check_plan
from policies.subsidy import decide_subsidy, person_from_resident_id

__all__ = [
    "Catalog", "IdentityError", "PolicyFileError", "UnknownOccupationError", "UnknownRegionError",
    "check_plan", "credited_hours", "deadline", "deadlines_for", "decide_subsidy", "is_working_day",
    "ledger_from_hours", "load_catalog", "load_region", "load_region_file", "load_regions",
    "parse_resident_id", "person_from_resident_id", "shift_working_days", "validate_uscc",
]
