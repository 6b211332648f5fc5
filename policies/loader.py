"""Read the region files and the occupation catalog into frozen values, validating as we go.

Why so strict: these files decide money. A typo must stop the service at start-up with a message
that names the file and the field ("policies/regions/cq.yaml: subsidy.rates.mid: expected a
decimal, got 'abc'"), never turn into a silent 0 or a KeyError three calls later.
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from functools import cache
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal, TypeVar, overload

import yaml

from policies.deadlines import ANCHORS
from policies.model import (
    ATTESTED_RULES,
    CertificateRule,
    Cited,
    DeadlineRule,
    EligibleGroup,
    Employment,
    Level,
    Occupation,
    OpenedScope,
    RegionPolicy,
    RuleSpec,
    SubsidyRule,
)

PACKAGE_DIR = Path(__file__).resolve().parent
REGIONS_DIR = PACKAGE_DIR / "regions"
CATALOG_FILE = PACKAGE_DIR / "occupations.yaml"

_K = TypeVar("_K")
_V = TypeVar("_V")

DEFAULT_MINUTES_PER_CLASS_HOUR = 45
DEFAULT_ONLINE_CAP = Fraction(1, 2)

SUBSIDY_METHODS = ("per_hour", "fixed_table", "base_with_city_factor", "configurable")
FREQUENCY_KINDS = ("max_per_year", "max_total", "no_repeat", "no_lower_after_higher",
                   "no_same_or_lower_level")
EXCLUSION_KINDS = ("establishment_staff", "monthly_pension", "min_age", "statutory_retirement_age")
DEADLINE_KINDS = ("working_days_before", "working_days_after", "days_after", "months_after",
                  "years_after")
SUBSIDY_KINDS = ("training", "evaluation", "any")
_METHOD_FIELDS = {
    "per_hour": ("rates", "employment_multipliers"),
    "fixed_table": ("table",),
    "base_with_city_factor": ("base", "city_factor", "cap_at_fee"),
    "configurable": ("amounts", "by_occupation"),
}
_RULE_FIELDS = {
    "max_per_year": ("max", "subsidy", "by"), "max_total": ("max", "subsidy"), "no_repeat": ("subsidy",),
    "no_lower_after_higher": ("subsidy",), "no_same_or_lower_level": ("subsidy",),
    "establishment_staff": (), "monthly_pension": (), "min_age": ("years",), "statutory_retirement_age": ("schedule",),
}
RETIREMENT_GROUPS = ("male", "female_cadre", "female_worker")


class PolicyFileError(ValueError):
    """A policy file is malformed; the message names the file and the field."""

    def __init__(self, file: str, field: str, message: str):
        self.file, self.field = file, field
        super().__init__(f"{file}: {field}: {message}" if field else f"{file}: {message}")


class _Unknown(KeyError):
    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0])


class UnknownOccupationError(_Unknown):
    """An occupation code that is neither a current nor a legacy code of the catalog."""


class UnknownRegionError(_Unknown):
    """A region code with no file in policies/regions."""


def _normalise_code(code: str) -> str:
    # The printed catalog uses long dashes (2—02—38—01); people type short ones and spaces.
    return re.sub(r"[\s]", "", re.sub(r"[—–－‐-]+", "-", str(code)))


@dataclass(frozen=True)
class Catalog:
    """The national occupation catalog; resolve() accepts current and legacy (ZJ) codes."""

    occupations: tuple[Occupation, ...]
    source: str = ""

    def __post_init__(self) -> None:
        index: dict[str, Occupation] = {}
        for occ in self.occupations:
            for code in (occ.code, *occ.aliases):
                index[code] = occ
        object.__setattr__(self, "_index", index)

    def resolve(self, code: str) -> Occupation:
        found: Occupation | None = self._index.get(_normalise_code(code))  # type: ignore[attr-defined]
        if found is None:
            known = ", ".join(o.code for o in self.occupations)
            raise UnknownOccupationError(
                f"unknown occupation code {code!r}: not in the catalog (known codes: {known}; "
                "ZJ legacy codes 2-02-10-11, 2-02-10-15, 2-02-07-13 are accepted too)"
            )
        return found

    def __contains__(self, code: object) -> bool:
        return isinstance(code, str) and _normalise_code(code) in self._index  # type: ignore[attr-defined]


# --- field readers: each names the file and the dotted path of what it reads ---------------


class _Reader:
    def __init__(self, file: str):
        self.file = file

    def fail(self, field: str, message: str) -> PolicyFileError:
        return PolicyFileError(self.file, field, message)

    def only(self, data: Any, path: str, allowed: Iterable[str]) -> None:
        """Refuse keys nobody reads: a misspelt optional key (cap_at_fe) must not silently drop a rule."""
        if not isinstance(data, Mapping):
            raise self.fail(path or "(top level)", f"expected a mapping, got {_show(data)}")
        allowed = tuple(allowed)
        for key in data:
            if key not in allowed:
                raise self.fail(_join(path, str(key)), f"unknown field (expected one of {', '.join(allowed)})")

    def get(self, data: Any, path: str, key: str, *, required: bool = True, default: Any = None) -> Any:
        where = f"{path}.{key}" if path else key
        if not isinstance(data, Mapping):
            raise self.fail(path or "(top level)", f"expected a mapping, got {_show(data)}")
        if key not in data:
            if required:
                raise self.fail(where, "missing")
            return default
        return data[key]

    def text(self, data: Any, path: str, key: str, **kw: Any) -> str:
        value = self.get(data, path, key, **kw)
        if value is None and not kw.get("required", True):
            return kw.get("default")  # type: ignore[return-value]
        if not isinstance(value, str) or not value.strip():
            raise self.fail(_join(path, key), f"expected a non-empty text, got {_show(value)}")
        return value

    def integer(self, data: Any, path: str, key: str, *, minimum: int | None = None, **kw: Any) -> int:
        value = self.get(data, path, key, **kw)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(_join(path, key), f"expected a whole number, got {_show(value)}")
        if minimum is not None and value < minimum:
            raise self.fail(_join(path, key), f"expected at least {minimum}, got {value}")
        return value

    @overload
    def decimal(self, value: Any, where: str, *, nullable: Literal[False] = False) -> Decimal: ...
    @overload
    def decimal(self, value: Any, where: str, *, nullable: bool) -> Decimal | None: ...

    def decimal(self, value: Any, where: str, *, nullable: bool = False) -> Decimal | None:
        if value is None and nullable:
            return None
        # Floats are refused on purpose: 0.1 in YAML is a binary float; money wants "0.1".
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            raise self.fail(where, f"expected a decimal, got {_show(value)}")
        try:
            result = Decimal(str(value).strip())
        except InvalidOperation:
            raise self.fail(where, f"expected a decimal, got {_show(value)}") from None
        if not result.is_finite():
            raise self.fail(where, f"expected a decimal, got {_show(value)}")
        if result < 0:
            raise self.fail(where, f"expected a decimal >= 0, got {_show(value)}")
        return result

    def boolean(self, data: Any, path: str, key: str) -> bool:
        value = self.get(data, path, key)
        if not isinstance(value, bool):
            raise self.fail(_join(path, key), f"expected true or false, got {_show(value)}")
        return value

    def listing(self, data: Any, path: str, key: str) -> list[Any]:
        value = self.get(data, path, key)
        if not isinstance(value, list):
            raise self.fail(_join(path, key), f"expected a list, got {_show(value)}")
        return value

    def choice(self, data: Any, path: str, key: str, choices: Iterable[str], **kw: Any) -> str:
        value = self.get(data, path, key, **kw)
        if value is None and not kw.get("required", True):
            return kw.get("default")  # type: ignore[return-value]
        choices = tuple(choices)
        # (A value that is not a str is never in `choices`; the isinstance is for the type checker.)
        if not isinstance(value, str) or value not in choices:
            raise self.fail(_join(path, key), f"expected one of {', '.join(choices)}, got {_show(value)}")
        return value

    def levels_table(self, data: Any, where: str) -> Mapping[Level, Decimal | None]:
        if not isinstance(data, Mapping):
            raise self.fail(where, f"expected a mapping of junior/mid/senior, got {_show(data)}")
        unknown = set(data) - {lv.value for lv in Level}
        if unknown:
            raise self.fail(f"{where}.{sorted(map(str, unknown))[0]}", "unknown level (expected junior, mid or senior)")
        return _frozen({lv: self.decimal(data.get(lv.value), f"{where}.{lv.value}", nullable=True) for lv in Level})


def _frozen(mapping: dict[_K, _V]) -> Mapping[_K, _V]:
    """A read-only view: a loaded policy is shared (cached) and must not be changed in place."""
    return MappingProxyType(mapping)


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _show(value: Any) -> str:
    return repr(value) if not isinstance(value, (dict, list)) else type(value).__name__


def _display(path: Path) -> str:
    """Paths inside the repository are shown relative to it (policies/regions/cq.yaml)."""
    try:
        return str(path.resolve().relative_to(PACKAGE_DIR.parent))
    except ValueError:
        return str(path)


def _read_yaml(path: Path) -> tuple[_Reader, Any]:
    reader = _Reader(_display(path))
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise reader.fail("", f"cannot read the file ({exc.strerror or exc})") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else ""
        raise reader.fail(where, f"not valid YAML ({getattr(exc, 'problem', None) or exc})") from None
    if not isinstance(data, Mapping):
        raise reader.fail("", f"expected a mapping at the top level, got {_show(data)}")
    return reader, data


# --- the catalog ----------------------------------------------------------------------------


def load_catalog_file(path: str | Path) -> Catalog:
    r, data = _read_yaml(Path(path))
    r.only(data, "", ("source", "clause", "occupations"))
    clause = r.text(data, "", "clause")
    items = r.listing(data, "", "occupations")
    occupations: list[Occupation] = []
    seen: dict[str, str] = {}
    for i, item in enumerate(items):
        where = f"occupations[{i}]"
        r.only(item, where, ("number", "code", "name", "junior", "mid", "senior", "aliases", "aliases_clause"))
        code = _normalise_code(r.text(item, where, "code"))
        aliases = r.get(item, where, "aliases", required=False, default=[])
        if not isinstance(aliases, list) or not all(isinstance(a, str) for a in aliases):
            raise r.fail(f"{where}.aliases", f"expected a list of codes, got {_show(aliases)}")
        hours = {lv: r.integer(item, where, lv, minimum=1) for lv in ("junior", "mid", "senior")}
        occ = Occupation(
            number=r.integer(item, where, "number", minimum=1),
            code=code,
            name=r.text(item, where, "name"),
            aliases=tuple(_normalise_code(a) for a in aliases),
            clause=clause,
            **hours,
        )
        for c in (occ.code, *occ.aliases):
            if c in seen:
                raise r.fail(f"{where}.code", f"code {c} is already used by {seen[c]}")
            seen[c] = occ.name
        occupations.append(occ)
    return Catalog(tuple(occupations), source=str(data.get("source", "")))


@cache
def load_catalog() -> Catalog:
    """The catalog shipped in policies/occupations.yaml (cached: it is immutable)."""
    return load_catalog_file(CATALOG_FILE)


# --- regions --------------------------------------------------------------------------------


def _subsidy(r: _Reader, data: Any, catalog: Catalog) -> SubsidyRule:
    p = "subsidy"
    method = r.choice(data, p, "method", SUBSIDY_METHODS)
    clause = r.text(data, p, "clause")
    r.only(data, p, ("method", "clause") + _METHOD_FIELDS[method])
    kw: dict[str, Any] = {}
    if method == "per_hour":
        kw["rates"] = r.levels_table(r.get(data, p, "rates"), f"{p}.rates")
        mult = r.get(data, p, "employment_multipliers")
        r.only(mult, f"{p}.employment_multipliers", ("clause", *(e.value for e in Employment)))
        kw["multipliers_clause"] = r.text(mult, f"{p}.employment_multipliers", "clause")
        kw["employment_multipliers"] = _frozen({
            e: r.decimal(r.get(mult, f"{p}.employment_multipliers", e.value),
                         f"{p}.employment_multipliers.{e.value}")
            for e in Employment
        })
    elif method == "fixed_table":
        table = r.get(data, p, "table")
        if not isinstance(table, Mapping):
            raise r.fail(f"{p}.table", f"expected a mapping of occupation codes, got {_show(table)}")
        resolved: dict[str, Any] = {}
        for code, row in table.items():
            if str(code) not in catalog:
                raise r.fail(f"{p}.table.{code}", "unknown occupation code (not in occupations.yaml)")
            resolved[catalog.resolve(str(code)).code] = r.levels_table(row, f"{p}.table.{code}")
        kw["table"] = _frozen(resolved)
    elif method == "base_with_city_factor":
        kw["base"] = r.levels_table(r.get(data, p, "base"), f"{p}.base")
        factor = r.get(data, p, "city_factor")
        r.only(factor, f"{p}.city_factor", ("min", "max", "clause"))
        kw["factor_min"] = r.decimal(r.get(factor, f"{p}.city_factor", "min"), f"{p}.city_factor.min")
        kw["factor_max"] = r.decimal(r.get(factor, f"{p}.city_factor", "max"), f"{p}.city_factor.max")
        if kw["factor_min"] > kw["factor_max"]:
            raise r.fail(f"{p}.city_factor", "min is above max")
        kw["factor_clause"] = r.text(factor, f"{p}.city_factor", "clause")
        fee = r.get(data, p, "cap_at_fee", required=False)
        if fee is not None:
            r.only(fee, f"{p}.cap_at_fee", ("clause",))
            kw["cap_at_fee"] = True
            kw["fee_clause"] = r.text(fee, f"{p}.cap_at_fee", "clause")
    else:  # configurable
        kw["amounts"] = r.levels_table(r.get(data, p, "amounts"), f"{p}.amounts")
        by_occ = r.get(data, p, "by_occupation", required=False, default={}) or {}
        if not isinstance(by_occ, Mapping):
            raise r.fail(f"{p}.by_occupation", f"expected a mapping, got {_show(by_occ)}")
        resolved = {}
        for code, row in by_occ.items():
            if str(code) not in catalog:
                raise r.fail(f"{p}.by_occupation.{code}", "unknown occupation code (not in occupations.yaml)")
            resolved[catalog.resolve(str(code)).code] = r.levels_table(row, f"{p}.by_occupation.{code}")
        kw["by_occupation"] = _frozen(resolved)
    return SubsidyRule(method=method, clause=clause, **kw)


def _year_month(r: _Reader, value: Any, where: str) -> tuple[int, int]:
    m = re.fullmatch(r"(\d{4})-(\d{2})", str(value))
    if not m or not 1 <= int(m.group(2)) <= 12:
        raise r.fail(where, f"expected a year-month like '1965-01', got {_show(value)}")
    return int(m.group(1)), int(m.group(2))


def _rule_specs(r: _Reader, data: Any, key: str, kinds: tuple[str, ...]) -> tuple[RuleSpec, ...]:
    specs = []
    for i, item in enumerate(r.listing(data, "", key)):
        where = f"{key}[{i}]"
        kind = r.choice(item, where, "kind", kinds)
        clause = r.text(item, where, "clause")
        r.only(item, where, ("kind", "clause") + _RULE_FIELDS[kind])
        params: dict[str, Any] = {}
        if key == "frequency_limits":
            params["subsidy"] = r.choice(item, where, "subsidy", SUBSIDY_KINDS)
            if kind in ("max_per_year", "max_total"):
                params["max"] = r.integer(item, where, "max", minimum=1)
            if kind == "max_per_year":
                params["by"] = r.choice(item, where, "by", ("training_start",))
        elif kind == "min_age":
            params["years"] = r.integer(item, where, "years", minimum=1)
        elif kind == "statutory_retirement_age":
            schedule = r.get(item, where, "schedule")
            parsed = {}
            r.only(schedule, f"{where}.schedule", RETIREMENT_GROUPS)
            for group in RETIREMENT_GROUPS:
                g = r.get(schedule, f"{where}.schedule", group)
                gw = f"{where}.schedule.{group}"
                r.only(g, gw, ("base_years", "from_birth", "every_months", "max_extra_months"))
                parsed[group] = {
                    "base_years": r.integer(g, gw, "base_years", minimum=1),
                    "from_birth": _year_month(r, r.get(g, gw, "from_birth"), f"{gw}.from_birth"),
                    "every_months": r.integer(g, gw, "every_months", minimum=1),
                    "max_extra_months": r.integer(g, gw, "max_extra_months", minimum=0),
                }
            params["schedule"] = _frozen({g: _frozen(v) for g, v in parsed.items()})
        specs.append(RuleSpec(kind=kind, clause=clause, params=_frozen(params)))
    return tuple(specs)


def load_region_file(path: str | Path, catalog: Catalog | None = None) -> RegionPolicy:
    """Parse and validate one region file (any path: tests write malformed ones to tmp)."""
    catalog = catalog or load_catalog()
    r, data = _read_yaml(Path(path))
    r.only(data, "", ("code", "name", "source", "timezone", "class_hour", "online_cap", "verification_clause",
                      "plan_clause", "required_hours_clause", "opened", "certificates", "subsidy",
                      "frequency_limits", "exclusions", "eligible_groups", "deadlines", "application_window",
                      "offline_spot_checks", "online_spot_checks", "spot_check_answer", "spot_check_misses",
                      "checkpoint_quizzes", "photo_review_window", "attested_check_ins"))
    code = r.text(data, "", "code")

    # Both settings have project defaults where a notice is silent: 45 minutes per 学时
    # (POLICY §9) and an online cap of one half (POLICY §3, from js 2.2).
    ch = r.get(data, "", "class_hour", required=False)
    if ch is None:
        minutes = Cited(DEFAULT_MINUTES_PER_CLASS_HOUR, "POLICY §9")
    else:
        r.only(ch, "class_hour", ("minutes", "clause"))
        minutes = Cited(r.integer(ch, "class_hour", "minutes", minimum=1), r.text(ch, "class_hour", "clause"))

    oc = r.get(data, "", "online_cap", required=False)
    if oc is None:
        cap = Cited(DEFAULT_ONLINE_CAP, "POLICY §3")
    else:
        r.only(oc, "online_cap", ("share", "clause"))
        share = r.decimal(r.get(oc, "online_cap", "share"), "online_cap.share")
        if share > 1:
            raise r.fail("online_cap.share", f"expected a share between 0 and 1, got {_show(oc['share'])}")
        cap = Cited(Fraction(share), r.text(oc, "online_cap", "clause"))

    op = r.get(data, "", "opened")
    r.only(op, "opened", ("occupations", "occupations_clause", "levels", "levels_clause"))
    occs = r.get(op, "opened", "occupations")
    if occs == "all":
        opened_occs = None
    elif isinstance(occs, list):
        for i, c in enumerate(occs):
            if str(c) not in catalog:
                raise r.fail(f"opened.occupations[{i}]", f"unknown occupation code {c!r}")
        opened_occs = frozenset(catalog.resolve(str(c)).code for c in occs)
    else:
        raise r.fail("opened.occupations", f"expected a list of codes or 'all', got {_show(occs)}")
    levels = r.listing(op, "opened", "levels")
    for i, lv in enumerate(levels):
        if lv not in {x.value for x in Level}:
            raise r.fail(f"opened.levels[{i}]", f"expected junior, mid or senior, got {_show(lv)}")
    opened = OpenedScope(opened_occs, r.text(op, "opened", "occupations_clause"),
                         frozenset(Level(lv) for lv in levels), r.text(op, "opened", "levels_clause"))

    certs = r.get(data, "", "certificates")
    r.only(certs, "certificates", ("training", "level"))
    cert = {}
    for name in ("training", "level"):
        c = r.get(certs, "certificates", name)
        r.only(c, f"certificates.{name}", ("required", "clause"))
        cert[name] = CertificateRule(r.boolean(c, f"certificates.{name}", "required"),
                                     r.text(c, f"certificates.{name}", "clause"))

    groups = []
    for i, g in enumerate(r.listing(data, "", "eligible_groups")):
        w = f"eligible_groups[{i}]"
        r.only(g, w, ("code", "clause", "detail", "name", "aliases"))
        aliases = r.get(g, w, "aliases", required=False, default=[])
        if not isinstance(aliases, list) or not all(isinstance(a, str) and a.strip() for a in aliases):
            raise r.fail(_join(w, "aliases"), f"expected a list of non-empty texts, got {_show(aliases)}")
        groups.append(EligibleGroup(r.text(g, w, "code"), r.text(g, w, "clause"), r.text(g, w, "detail"),
                                    name=r.text(g, w, "name", required=False, default=""),
                                    aliases=tuple(a.strip() for a in aliases)))

    deadlines = []
    for i, d in enumerate(r.listing(data, "", "deadlines")):
        w = f"deadlines[{i}]"
        r.only(d, w, ("code", "kind", "amount", "anchor", "clause", "detail", "funding"))
        deadlines.append(DeadlineRule(
            code=r.text(d, w, "code"), kind=r.choice(d, w, "kind", DEADLINE_KINDS),
            amount=r.integer(d, w, "amount", minimum=1), anchor=r.choice(d, w, "anchor", ANCHORS),
            clause=r.text(d, w, "clause"), detail=r.text(d, w, "detail"),
            funding=r.choice(d, w, "funding", ("subsidised", "self_paid"), required=False, default=None)))

    window = None
    aw = r.get(data, "", "application_window", required=False)
    if aw is not None:
        r.only(aw, "application_window", ("kind", "months", "clause"))
        window = RuleSpec(kind=r.choice(aw, "application_window", "kind", ("months_after_level_certificate",)),
                          clause=r.text(aw, "application_window", "clause"),
                          params=_frozen({"months": r.integer(aw, "application_window", "months", minimum=1)}))

    # Spot checks: how many per started hour (fewest, most), offline and online, and the seconds
    # to answer one. The notices ask for real-time supervision without a figure: the project's
    # defaults are 1-2 offline, 2-4 online, 60 s (POLICY §9).
    offline_spot_checks = _per_hour(r, data, "offline_spot_checks", (1, 2))
    online_spot_checks = _per_hour(r, data, "online_spot_checks", (2, 4))
    answer = Cited(60, "POLICY §9")
    sca = r.get(data, "", "spot_check_answer", required=False)
    if sca is not None:
        r.only(sca, "spot_check_answer", ("seconds", "clause"))
        answer = Cited(r.integer(sca, "spot_check_answer", "seconds", minimum=15), r.text(sca, "spot_check_answer", "clause"))
        if answer.value > 600:
            raise r.fail("spot_check_answer.seconds", f"expected at most 600 seconds, got {answer.value}")

    # How many spot checks an online lesson may miss before nothing more of it counts; absent =
    # no budget, each miss voids only its own span (POLICY §9).
    misses: Cited[int | None] = Cited(None, "POLICY §9")
    scm = r.get(data, "", "spot_check_misses", required=False)
    if scm is not None:
        r.only(scm, "spot_check_misses", ("per_lesson", "clause"))
        misses = Cited(r.integer(scm, "spot_check_misses", "per_lesson", minimum=0), r.text(scm, "spot_check_misses", "clause"))

    quizzes = Cited(False, "POLICY §9")
    cq = r.get(data, "", "checkpoint_quizzes", required=False)
    if cq is not None:
        r.only(cq, "checkpoint_quizzes", ("enabled", "clause"))
        quizzes = Cited(r.boolean(cq, "checkpoint_quizzes", "enabled"), r.text(cq, "checkpoint_quizzes", "clause"))

    # How long check-in photos outlive their lesson for review when the trainee did not agree to
    # their keeping (POLICY §11): default 30 days; at most a year, the window is not a retention.
    review_window = Cited(30, "POLICY §11")
    prw = r.get(data, "", "photo_review_window", required=False)
    if prw is not None:
        r.only(prw, "photo_review_window", ("days", "clause"))
        review_window = Cited(r.integer(prw, "photo_review_window", "days", minimum=1),
                              r.text(prw, "photo_review_window", "clause"))
        if review_window.value > 366:
            raise r.fail("photo_review_window.days", f"expected at most 366 days, got {review_window.value}")

    # How a check-in the teacher attested (a trainee who refused face processing) counts: by
    # default only after the district's review (POLICY §9).
    attested = Cited("after_district_review", "POLICY §9")
    aci = r.get(data, "", "attested_check_ins", required=False)
    if aci is not None:
        r.only(aci, "attested_check_ins", ("counts", "clause"))
        counts = r.text(aci, "attested_check_ins", "counts")
        if counts not in ATTESTED_RULES:
            raise r.fail("attested_check_ins.counts", f"expected one of {', '.join(ATTESTED_RULES)}, got {counts!r}")
        attested = Cited(counts, r.text(aci, "attested_check_ins", "clause"))

    tz = r.text(data, "", "timezone")
    try:
        from zoneinfo import ZoneInfo

        ZoneInfo(tz)
    except Exception:
        raise r.fail("timezone", f"unknown time zone {tz!r}") from None

    return RegionPolicy(
        code=code,
        name=r.text(data, "", "name"),
        source=r.text(data, "", "source"),
        timezone=tz,
        minutes_per_class_hour=minutes,
        online_cap=cap,
        verification_clause=r.text(data, "", "verification_clause"),
        required_hours_clause=r.text(data, "", "required_hours_clause"),
        plan_clause=r.text(data, "", "plan_clause"),
        opened=opened,
        training_certificate=cert["training"],
        level_certificate=cert["level"],
        subsidy=_subsidy(r, r.get(data, "", "subsidy"), catalog),
        frequency_limits=_rule_specs(r, data, "frequency_limits", FREQUENCY_KINDS),
        exclusions=_rule_specs(r, data, "exclusions", EXCLUSION_KINDS),
        eligible_groups=tuple(groups),
        deadlines=tuple(deadlines),
        application_window=window,
        offline_spot_checks=offline_spot_checks,
        online_spot_checks=online_spot_checks,
        spot_check_answer_seconds=answer,
        spot_check_misses=misses,
        checkpoint_quizzes=quizzes,
        photo_review_window_days=review_window,
        attested_check_ins=attested,
    )


def _per_hour(r: _Reader, data: Any, key: str, default: tuple[int, int]) -> Cited[tuple[int, int]]:
    """A region's spot checks per started hour, {per_hour: [fewest, most], clause}, or the default."""
    found = r.get(data, "", key, required=False)
    if found is None:
        return Cited(default, "POLICY §9")
    r.only(found, key, ("per_hour", "clause"))
    per_hour = r.get(found, key, "per_hour")
    if (not isinstance(per_hour, list) or len(per_hour) != 2
            or any(isinstance(n, bool) or not isinstance(n, int) for n in per_hour)
            or not 0 <= per_hour[0] <= per_hour[1] <= 12):
        raise r.fail(f"{key}.per_hour",
                     f"expected [fewest, most] whole numbers with 0 <= fewest <= most <= 12, got {_show(per_hour)}")
    return Cited((per_hour[0], per_hour[1]), r.text(found, key, "clause"))


def region_codes() -> tuple[str, ...]:
    return tuple(sorted(p.stem for p in REGIONS_DIR.glob("*.yaml")))


@cache
def load_region(code: str) -> RegionPolicy:
    """The shipped policy of one region: cq, yn, js or zj-jinhua."""
    path = REGIONS_DIR / f"{code}.yaml"
    if code not in region_codes():
        raise UnknownRegionError(f"unknown region {code!r}: expected one of {', '.join(region_codes())}")
    policy = load_region_file(path)
    if policy.code != code:
        raise PolicyFileError(_display(path), "code", f"expected {code!r} (the file name), got {policy.code!r}")
    return policy


def load_regions() -> dict[str, RegionPolicy]:
    """Every shipped region, by code."""
    return {code: load_region(code) for code in region_codes()}


def parse_date(text: str) -> date:
    """ISO date (YYYY-MM-DD); a small shared helper for the CLI and history files."""
    return date.fromisoformat(text)
