"""`hourproof subsidy`, `hourproof plan check` and `hourproof deadlines`: the rules package from
the command line.

Thin by design: parse arguments and files into policies' values, call one pure function, print.
Bad arguments or bad files exit 2 with a message that says what to fix (never a traceback);
`plan check` exits 1 when the plan is refused and 0 when it is accepted.

History file (--history FILE): a JSON list of the person's earlier subsidies, one object each:

    [
      {"occupation": "2-02-38-03", "level": "junior", "training_start": "2025-03-01",
       "kind": "training", "region": "cq"}
    ]

    occupation      catalog code (current or ZJ legacy code), required
    level           junior | mid | senior (or 初级 | 中级 | 高级), required
    training_start  YYYY-MM-DD, the training's start date (CQ/ZJ count per year by it), required
    kind            training | evaluation, optional, default training
    region          cq | yn | js | zj-jinhua, optional; an entry without a region counts for every
                    region, an entry of another region does not count toward this one's limits

A history file is taken as the person's full record, checked as of the decision date. With
--history-unchecked it is only what is known: its entries still apply, and each frequency limit
is reported as not checked (history_not_checked), as it is when no file is given.

Plan file (`hourproof plan check FILE`): YAML or JSON, one class:

    region: cq                    # or pass --region
    occupation: 2-02-38-01
    level: junior                 # junior | mid | senior | 初级 | 中级 | 高级
    direction: "—"                # optional
    starts_on: 2026-03-02         # class dates, local (Asia/Shanghai)
    ends_on: 2026-04-30
    required_hours: 64            # optional: overrides the catalog's required hours
    lessons:
      - start: "2026-03-02T09:00"   # ISO 8601; without an offset, the region's time zone
        end: "2026-03-02T11:15"
        mode: offline               # offline | online
        content: theory             # theory | practice (optional, default theory)
        venue: 教室A                 # optional
"""
from __future__ import annotations

import argparse
import json
import sys
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml

from policies.clauses import describe
from policies.deadlines import ANCHORS, deadlines_for
from policies.hours import ledger_from_hours
from policies.identity import IdentityError, parse_resident_id
from policies.loader import (
    PolicyFileError,
    UnknownOccupationError,
    UnknownRegionError,
    load_catalog,
    load_region,
    load_regions,
    region_codes,
)
from policies.model import (
    ClassPlan,
    Content,
    Employment,
    FemaleCategory,
    Level,
    Mode,
    Person,
    PlannedLesson,
    PriorSubsidy,
    Sex,
    SubsidyRequest,
)
from policies.plan import check_plan
from policies.subsidy import decide_subsidy
from server.clock import local_date, utc_now, zone


class InputError(Exception):
    """A bad argument or file; the message tells the user what to fix."""


def _decimal_arg(text: str) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not value.is_finite() or value < 0:
        raise argparse.ArgumentTypeError(f"expected a number >= 0, got {text!r}")
    return value


def _date_arg(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date YYYY-MM-DD, got {text!r}") from None


def _yes_no(text: str) -> bool:
    if text.lower() in ("yes", "y", "true", "1", "是"):
        return True
    if text.lower() in ("no", "n", "false", "0", "否"):
        return False
    raise argparse.ArgumentTypeError(f"expected yes or no, got {text!r}")


def _level_arg(text: str) -> Level:
    try:
        return Level.parse(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


SUBSIDY_EPILOG = """\
Certificates default to yes. Person attributes that a region's rules need are optional flags;
a rule whose input is missing is reported as "not checked" (it does not refuse), except where the
outcome truly depends on it (e.g. a woman's job category near retirement age: eligible=null,
review). Region settings: cq rate per 学时 x required hours x employment multiplier; zj-jinhua
fixed table; js provincial base x --city-factor (0.7-1.3), never above --fee; yn configurable.
Unpublished figures print amount "unknown until configured" (JSON null), never 0.

--history FILE is a JSON list of earlier subsidies:
  [{"occupation": "2-02-38-03", "level": "junior", "training_start": "2025-03-01",
    "kind": "training", "region": "cq"}]
  kind (training|evaluation) defaults to training; region is optional (no region = counts
  everywhere; another region's entry does not count here).
  The file is the full record as of --date, unless --history-unchecked: then only the entries
  known, and the frequency limits are reported "not checked" (as without --history).

--json prints one object: eligible (true/false/null), amount ("6688.00" or null),
credited_hours, required_hours, reasons [{code, clause, detail}], ledger {...}.
Exit codes: 0 decided (any outcome), 2 bad arguments or files.
"""

PLAN_EPILOG = """\
FILE (YAML or JSON):
  region: cq                 # or --region
  occupation: 2-02-38-01
  level: junior              # junior|mid|senior|初级|中级|高级
  starts_on: 2026-03-02
  ends_on: 2026-04-30
  required_hours: 64         # optional, overrides the catalog
  lessons:
    - {start: "2026-03-02T09:00", end: "2026-03-02T11:15", mode: offline,
       content: theory, venue: 教室A}
Times are ISO 8601; without an offset they are in the region's time zone (Asia/Shanghai).
Prints every violation with its clause. Exit 0 accepted, 1 refused, 2 bad file or arguments.
"""


def add_commands(subparsers: Any) -> None:
    """Register `subsidy`, `deadlines` and `plan check` on hourproof's argparse tree."""
    regions = region_codes()
    try:
        groups = "\n".join(f"  {code}: {', '.join(g.code for g in policy.eligible_groups) or '(none)'}"
                           for code, policy in load_regions().items())
    except PolicyFileError as exc:  # other commands (demo, serve) must still work; subsidy will report it
        groups = f"  (unavailable: {exc})"
    sp = subparsers.add_parser(
        "subsidy", help="decide a training subsidy under a region's rules",
        description="Decide one person's training subsidy (补贴核定) under a region's rules.",
        epilog=SUBSIDY_EPILOG + "\n--group codes per region:\n" + groups,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    sp.add_argument("--region", required=True, choices=regions, help="policy region")
    sp.add_argument("--occupation", required=True, metavar="CODE",
                    help="occupation code, e.g. 2-02-38-04 (ZJ legacy codes accepted)")
    sp.add_argument("--level", required=True, type=_level_arg, metavar="junior|mid|senior")
    sp.add_argument("--employment", choices=[e.value for e in Employment],
                    help="employment status (sets CQ's 110%%/100%%/90%% multiplier, cq 3.3)")
    sp.add_argument("--offline-hours", type=_decimal_arg, default=Decimal(0), metavar="H",
                    help="verified offline 学时 (default 0)")
    sp.add_argument("--online-hours", type=_decimal_arg, default=Decimal(0), metavar="H",
                    help="verified online 学时 (default 0); counted up to the region's cap x required hours")
    sp.add_argument("--required-hours", type=_decimal_arg, metavar="H",
                    help="override the catalog's required hours for occupation+level")
    sp.add_argument("--training-certificate", type=_yes_no, default=True, metavar="yes|no",
                    help="holds the training certificate (default yes)")
    sp.add_argument("--level-certificate", type=_yes_no, default=True, metavar="yes|no",
                    help="holds the level certificate (default yes)")
    sp.add_argument("--history", type=Path, metavar="FILE", help="JSON list of earlier subsidies (format below)")
    sp.add_argument("--history-unchecked", action="store_true",
                    help="the --history file is only what is known, not the checked full record")
    sp.add_argument("--date", type=_date_arg, metavar="YYYY-MM-DD",
                    help="decision date (default: today in Asia/Shanghai)")
    sp.add_argument("--training-start", type=_date_arg, metavar="YYYY-MM-DD",
                    help="training start date (per-year limits count by it)")
    sp.add_argument("--level-certificate-date", type=_date_arg, metavar="YYYY-MM-DD",
                    help="level certificate issue date (zj-jinhua: apply within 12 months)")
    sp.add_argument("--resident-id", metavar="ID", help="18-character resident ID: birth date and sex are read from it")
    sp.add_argument("--birth-date", type=_date_arg, metavar="YYYY-MM-DD", help="birth date, when no --resident-id")
    sp.add_argument("--sex", choices=[s.value for s in Sex], help="sex, when no --resident-id")
    sp.add_argument("--female-category", choices=[c.value for c in FemaleCategory],
                    help="a woman's original retirement age: worker (50) or cadre (55)")
    sp.add_argument("--establishment-staff", type=_yes_no, metavar="yes|no",
                    help="机关事业单位在编人员 (default: not checked)")
    sp.add_argument("--monthly-pension", type=_yes_no, metavar="yes|no",
                    help="draws a monthly pension (default: not checked)")
    sp.add_argument("--group", action="append", metavar="CODE",
                    help="eligible-group code of the region (repeatable); see policies/regions/R.yaml")
    sp.add_argument("--fee", type=_decimal_arg, metavar="YUAN", help="the institution's fee (js: subsidy never above it)")
    sp.add_argument("--city-factor", type=_decimal_arg, metavar="F",
                    help="js: city figure / provincial base, 0.7-1.3 (default 1)")
    sp.add_argument("--json", action="store_true", help="print one JSON object")
    sp.set_defaults(handler=_run_guarded(subsidy_command))

    dp = subparsers.add_parser(
        "deadlines", help="filing and keeping deadlines of a region, on working days with 调休",
        description="Compute a region's deadlines from the anchor dates you know.",
        epilog="Anchors: " + ", ".join(f"{k} ({v})" for k, v in ANCHORS.items()) + ".\n"
               "Example: hourproof deadlines --region yn --anchor class_opening=2026-03-16\n"
               "A year the holiday calendar does not know is counted Monday-Friday and marked provisional.",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    dp.add_argument("--region", required=True, choices=regions, help="policy region")
    dp.add_argument("--anchor", action="append", required=True, metavar="NAME=YYYY-MM-DD",
                    help="an anchor date (repeatable)")
    dp.add_argument("--json", action="store_true", help="print one JSON object")
    dp.set_defaults(handler=_run_guarded(deadlines_command))

    pp = subparsers.add_parser("plan", help="class plan commands")
    psub = pp.add_subparsers(dest="plan_command", metavar="SUBCOMMAND", required=True)
    pc = psub.add_parser("check", help="validate a class plan file against a region's rules",
                         description="Check a class plan at filing: every violation with its clause.",
                         epilog=PLAN_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    pc.add_argument("file", type=Path, metavar="FILE", help="plan file (.yaml, .yml or .json)")
    pc.add_argument("--region", choices=regions, help="policy region (overrides the file's region)")
    pc.add_argument("--json", action="store_true", help="print one JSON object")
    pc.set_defaults(handler=_run_guarded(plan_check_command))


def _run_guarded(fn):
    """Turn input problems into exit 2 with a message instead of a traceback."""

    def handler(args: argparse.Namespace) -> int:
        try:
            return fn(args)
        except (InputError, PolicyFileError, UnknownOccupationError, UnknownRegionError, IdentityError) as exc:
            print(f"hourproof {args.command}: error: {exc}", file=sys.stderr)
            return 2

    handler.__name__ = fn.__name__
    handler.__doc__ = fn.__doc__
    return handler


# --- subsidy --------------------------------------------------------------------------------


def read_history(path: Path) -> tuple[PriorSubsidy, ...]:
    """Parse a --history file (format in this module's docstring)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputError(f"cannot read history file {path}: {exc.strerror or exc}") from None
    except json.JSONDecodeError as exc:
        raise InputError(f"history file {path} is not valid JSON (line {exc.lineno}: {exc.msg})") from None
    if not isinstance(data, list):
        raise InputError(f"history file {path}: expected a JSON list of subsidies, got {type(data).__name__}")
    catalog = load_catalog()
    out = []
    for i, item in enumerate(data):
        where = f"history file {path}: entry {i}"
        if not isinstance(item, dict):
            raise InputError(f"{where}: expected an object with occupation, level, training_start")
        unknown = set(item) - {"occupation", "level", "training_start", "kind", "region"}
        if unknown:
            raise InputError(f"{where}: unknown field(s) {', '.join(sorted(unknown))}")
        for key in ("occupation", "level", "training_start"):
            if key not in item:
                raise InputError(f"{where}: missing {key!r}")
        try:
            catalog.resolve(str(item["occupation"]))
        except UnknownOccupationError as exc:
            raise InputError(f"{where}: {exc}") from None
        try:
            level = Level.parse(str(item["level"]))
        except ValueError as exc:
            raise InputError(f"{where}: {exc}") from None
        try:
            start = date.fromisoformat(str(item["training_start"]))
        except ValueError:
            raise InputError(f"{where}: training_start must be YYYY-MM-DD, got {item['training_start']!r}") from None
        kind = item.get("kind", "training")
        if kind not in ("training", "evaluation"):
            raise InputError(f"{where}: kind must be training or evaluation, got {kind!r}")
        region = item.get("region")
        if region is not None and region not in region_codes():
            raise InputError(f"{where}: region must be one of {', '.join(region_codes())}, got {region!r}")
        out.append(PriorSubsidy(occupation=str(item["occupation"]), level=level, training_start=start,
                                kind=kind, region=region))
    return tuple(out)


def _person(args: argparse.Namespace, policy, today: date) -> Person:
    birth, sex = args.birth_date, Sex(args.sex) if args.sex else None
    if args.resident_id:
        if birth or sex:
            raise InputError("give either --resident-id or --birth-date/--sex, not both")
        rid = parse_resident_id(args.resident_id)
        birth, sex = rid.birth_date, rid.sex
    groups = None
    if args.group:
        known = {g.code for g in policy.eligible_groups}
        bad = [g for g in args.group if g not in known]
        if bad:
            raise InputError(f"--group {bad[0]!r} is not a group of region {policy.code}; "
                             f"use one of: {', '.join(sorted(known)) or '(none defined)'}")
        groups = frozenset(args.group)
    return Person(
        birth_date=birth, sex=sex,
        female_category=FemaleCategory(args.female_category) if args.female_category else None,
        establishment_staff=args.establishment_staff, monthly_pension=args.monthly_pension,
        groups=groups, history=read_history(args.history) if args.history else (),
        # A file given without --history-unchecked is the person's record as checked now.
        history_checked_on=today if args.history and not args.history_unchecked else None,
    )


def subsidy_command(args: argparse.Namespace) -> int:
    """Print the subsidy decision for the given region, class and person."""
    policy = load_region(args.region)
    catalog = load_catalog()
    occupation = catalog.resolve(args.occupation)
    if args.required_hours is not None and args.required_hours <= 0:
        raise InputError("--required-hours must be greater than 0")
    required = args.required_hours if args.required_hours is not None else Decimal(occupation.required_hours(args.level))
    today = args.date or local_date(utc_now(), args.region)
    person = _person(args, policy, today)
    ledger = ledger_from_hours(args.offline_hours, args.online_hours, policy, required)
    request = SubsidyRequest(
        occupation=args.occupation, level=args.level, credited_hours=ledger.credited, person=person,
        employment=Employment(args.employment) if args.employment else None,
        required_hours=args.required_hours, training_certificate=args.training_certificate,
        level_certificate=args.level_certificate, training_start=args.training_start,
        level_certificate_issued_on=args.level_certificate_date, fee=args.fee,
        city_factor=args.city_factor, hour_reasons=ledger.reasons,
    )
    decision = decide_subsidy(request, policy, catalog, today=today)
    if args.json:
        out = decision.as_dict()
        out["date"] = today.isoformat()
        out["ledger"] = {
            "minutes_per_class_hour": ledger.minutes_per_class_hour,
            "verified_offline": str(ledger.verified_offline),
            "verified_online": str(ledger.verified_online),
            "credited_offline": str(ledger.credited_offline),
            "credited_online": str(ledger.credited_online),
            "credited": str(ledger.credited),
        }
        print(json.dumps(out, ensure_ascii=False))
        return 0
    verdict = {True: "符合条件 (eligible)", False: "不符合条件 (not eligible)", None: "需人工审核 (review)"}[decision.eligible]
    amount = f"{decision.amount} 元" if decision.amount is not None else (
        "无 (not eligible)" if decision.eligible is False else "未知，待配置或核实 (unknown until configured)")
    print(f"补贴核定 {policy.name}（{policy.code}）：{occupation.name}（{occupation.code}）{args.level.zh}")
    print(f"结论：{verdict}")
    print(f"金额：{amount}")
    print(f"学时：计入 {ledger.credited} / 规定 {required}（线下 {ledger.credited_offline} + 线上 "
          f"{ledger.credited_online}，已核验线上 {ledger.verified_online}；每学时 {ledger.minutes_per_class_hour} 分钟）")
    print(f"核定日期：{today}")
    print("原因：")
    for r in decision.reasons:
        print(f"  [{describe(r.clause)}] {r.code}: {r.detail}")
    return 0


# --- plan check -----------------------------------------------------------------------------


def _when(value: Any, tz: ZoneInfo, where: str) -> datetime:
    if isinstance(value, datetime):
        dt = value
    elif isinstance(value, str):
        try:
            dt = datetime.fromisoformat(value.strip())
        except ValueError:
            raise InputError(f"{where}: expected a time like 2026-03-02T09:00, got {value!r}") from None
    else:
        raise InputError(f"{where}: expected a time like 2026-03-02T09:00, got {value!r}")
    return dt.replace(tzinfo=tz) if dt.tzinfo is None else dt


def _day(value: Any, where: str) -> date:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise InputError(f"{where}: expected a date YYYY-MM-DD, got {value!r}") from None


def read_plan(path: Path, region: str | None) -> tuple[ClassPlan, str]:
    """Parse a plan file (format in this module's docstring) -> (ClassPlan, region code)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot read plan file {path}: {exc.strerror or exc}") from None
    try:
        data = json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        raise InputError(f"plan file {path} is not valid {'JSON' if path.suffix.lower() == '.json' else 'YAML'}: {exc}") from None
    if not isinstance(data, dict):
        raise InputError(f"plan file {path}: expected a mapping with occupation, level, starts_on, ends_on, lessons")
    region = region or data.get("region")
    if region not in region_codes():
        raise InputError(f"plan file {path}: region must be one of {', '.join(region_codes())} "
                         f"(set 'region:' in the file or pass --region), got {region!r}")
    tz = zone(region)
    for key in ("occupation", "level", "starts_on", "ends_on", "lessons"):
        if key not in data:
            raise InputError(f"plan file {path}: missing {key!r}")
    try:
        level = Level.parse(str(data["level"]))
    except ValueError as exc:
        raise InputError(f"plan file {path}: level: {exc}") from None
    if not isinstance(data["lessons"], list):
        raise InputError(f"plan file {path}: lessons must be a list")
    lessons = []
    for i, item in enumerate(data["lessons"], start=1):
        where = f"plan file {path}: lessons[{i}]"
        if not isinstance(item, dict):
            raise InputError(f"{where}: expected a mapping with start, end, mode")
        for key in ("start", "end", "mode"):
            if key not in item:
                raise InputError(f"{where}: missing {key!r}")
        try:
            mode = Mode(item["mode"])
        except ValueError:
            raise InputError(f"{where}: mode must be offline or online, got {item['mode']!r}") from None
        try:
            content = Content(item.get("content", "theory"))
        except ValueError:
            raise InputError(f"{where}: content must be theory or practice, got {item.get('content')!r}") from None
        lessons.append(PlannedLesson(start=_when(item["start"], tz, f"{where}.start"),
                                     end=_when(item["end"], tz, f"{where}.end"), mode=mode, content=content,
                                     venue=None if item.get("venue") is None else str(item["venue"])))
    required = data.get("required_hours")
    if required is not None:
        try:
            required = Decimal(str(required))
            if not required.is_finite() or required <= 0:
                raise InvalidOperation
        except InvalidOperation:
            raise InputError(f"plan file {path}: required_hours must be a number > 0, got {data['required_hours']!r}") from None
    plan = ClassPlan(occupation=str(data["occupation"]), level=level,
                     starts_on=_day(data["starts_on"], f"plan file {path}: starts_on"),
                     ends_on=_day(data["ends_on"], f"plan file {path}: ends_on"),
                     lessons=tuple(lessons), direction=str(data.get("direction", "—")), required_hours=required)
    return plan, region


def plan_check_command(args: argparse.Namespace) -> int:
    """Check a plan file; exit 1 when refused."""
    plan, region = read_plan(args.file, args.region)
    policy = load_region(region)
    result = check_plan(plan, policy, load_catalog())
    if args.json:
        print(json.dumps({"region": region, **result.as_dict()}, ensure_ascii=False))
    else:
        print(f"培训计划核查 {policy.name}（{region}）：{'受理 (accepted)' if result.accepted else '不予受理 (refused)'}")
        print(f"计划 {result.scheduled_hours} 学时，其中线上 {result.online_hours} 学时（{float(result.online_share) * 100:.2f}%），"
              f"规定 {result.required_hours if result.required_hours is not None else '未知'} 学时；"
              f"每学时 {result.minutes_per_class_hour} 分钟")
        for v in result.violations:
            print(f"  [{describe(v.clause)}] {v.code}: {v.detail}")
    return 0 if result.accepted else 1


# --- deadlines ------------------------------------------------------------------------------


def deadlines_command(args: argparse.Namespace) -> int:
    """Print every deadline of the region whose anchor date was given."""
    policy = load_region(args.region)
    anchors: dict[str, date] = {}
    for item in args.anchor:
        name, _, value = item.partition("=")
        if name not in ANCHORS:
            raise InputError(f"--anchor {item!r}: unknown anchor {name!r}; use one of {', '.join(ANCHORS)}")
        try:
            anchors[name] = date.fromisoformat(value)
        except ValueError:
            raise InputError(f"--anchor {item!r}: expected NAME=YYYY-MM-DD") from None
    found = deadlines_for(policy, anchors)
    if args.json:
        print(json.dumps({"region": policy.code, "deadlines": [
            {"code": d.code, "due": d.due.isoformat(), "clause": d.clause, "detail": d.detail,
             "provisional": d.provisional} for d in found]}, ensure_ascii=False))
        return 0
    if not found:
        used = sorted({r.anchor for r in policy.deadlines})
        print(f"{policy.name}（{policy.code}）没有以这些日期起算的期限；本地区使用：{', '.join(used) or '无'}")
    for d in found:
        print(f"[{describe(d.clause)}] {d.code}: {d.due}{'（暂定 provisional）' if d.provisional else ''} — {d.detail}")
    return 0
