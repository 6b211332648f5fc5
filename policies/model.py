"""The vocabulary of the rules, as frozen dataclasses.

Everything here is a value: no IO, no clock, no database. A RegionPolicy is what a region file
says; a ClassPlan, Interval or SubsidyRequest is what the server hands in; a PlanCheck, HourLedger,
SubsidyDecision or Deadline is what comes back, always with the reasons (code, clause, detail)
that let a trainee, an institution or an auditor ask "why" and get the clause.
"""
from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import Any, Generic, TypeVar

CENT = Decimal("0.01")
_V = TypeVar("_V")


def money(value: Decimal) -> Decimal:
    """Money is Decimal yuan, quantised to fen with ROUND_HALF_UP (the usual rule for payments)."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def hours_from_seconds(seconds: int | Fraction, minutes_per_class_hour: int) -> Decimal:
    """Seconds -> 学时, rounded DOWN to 0.01: a report never shows more time than was verified."""
    exact = Fraction(seconds) / (60 * minutes_per_class_hour)
    return (Decimal(exact.numerator) / Decimal(exact.denominator)).quantize(CENT, rounding=ROUND_DOWN)


class Level(str, enum.Enum):
    """专业技术等级. The order matters: JS refuses a lower level after a higher one (js 3.3)."""

    JUNIOR = "junior"
    MID = "mid"
    SENIOR = "senior"

    @property
    def zh(self) -> str:
        return {"junior": "初级", "mid": "中级", "senior": "高级"}[self.value]

    @property
    def rank(self) -> int:
        return {"junior": 1, "mid": 2, "senior": 3}[self.value]

    @classmethod
    def parse(cls, text: str) -> Level:
        """Accept the English code or the Chinese name (初级/中级/高级)."""
        for level in cls:
            if text in (level.value, level.zh):
                return level
        raise ValueError(f"unknown level {text!r}: expected junior/mid/senior (初级/中级/高级)")


class Mode(str, enum.Enum):
    """Lesson delivery: 线下 offline (at a venue) or 线上 online."""

    OFFLINE = "offline"
    ONLINE = "online"

    @property
    def zh(self) -> str:
        return {"offline": "线下", "online": "线上"}[self.value]


class Content(str, enum.Enum):
    """理论 theory or 实操 practice ("理论+实操", cq 2.3 / js 2.2)."""

    THEORY = "theory"
    PRACTICE = "practice"


class Employment(str, enum.Enum):
    """Employment status that sets CQ's multiplier (cq 3.3)."""

    EMPLOYED_AT_START = "employed_at_start"  # 参训时已就业
    EMPLOYED_AFTER = "employed_after"  # 培训后实现就业创业（单位参保或就业登记）
    UNEMPLOYED_AFTER = "unemployed_after"  # 未就业创业


class Sex(str, enum.Enum):
    MALE = "male"
    FEMALE = "female"


class FemaleCategory(str, enum.Enum):
    """A woman's original statutory retirement age decides her schedule after the 2025 reform."""

    WORKER = "worker"  # 原法定退休年龄 50 周岁的女职工
    CADRE = "cadre"  # 原法定退休年龄 55 周岁的女职工


@dataclass(frozen=True)
class Reason:
    """Why: a stable English code, the clause it comes from ("cq 3.4"), one Chinese sentence."""

    code: str
    clause: str
    detail: str

    def as_dict(self) -> dict[str, str]:
        return {"code": self.code, "clause": self.clause, "detail": self.detail}


# --- the catalog ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Occupation:
    """One occupation of the national catalog with its required hours (规定学时) per level."""

    number: int
    code: str
    name: str
    junior: int
    mid: int
    senior: int
    aliases: tuple[str, ...] = ()
    clause: str = "cq annex"

    def required_hours(self, level: Level) -> int:
        return {Level.JUNIOR: self.junior, Level.MID: self.mid, Level.SENIOR: self.senior}[level]


# --- a region's policy ----------------------------------------------------------------------


#: How a region counts an event the teacher attested for a trainee who refused face processing
#: (`attested_check_ins` in its file; POLICY §9): only once the district's review approved it (the
#: default), or at once when none of the checks raised a signal.
ATTESTED_RULES = ("after_district_review", "on_teacher_attestation")


@dataclass(frozen=True)
class Cited(Generic[_V]):
    """A number together with the clause that sets it."""

    value: _V
    clause: str


@dataclass(frozen=True)
class OpenedScope:
    """Occupations and levels a region currently accepts classes for; None = all."""

    occupations: frozenset[str] | None
    occupations_clause: str
    levels: frozenset[Level]
    levels_clause: str


@dataclass(frozen=True)
class CertificateRule:
    required: bool
    clause: str


@dataclass(frozen=True)
class SubsidyRule:
    """How a region computes the amount. `method` picks which fields are used:

    - per_hour: rates[level] x required hours x employment_multipliers[employment]
    - fixed_table: table[occupation code][level]
    - base_with_city_factor: base[level] x city factor in [factor_min, factor_max], <= fee
    - configurable: amounts[level], or by_occupation[code][level] when present
    A None figure means "unknown until configured" and the decision says so (never 0).
    """

    method: str
    clause: str
    rates: Mapping[Level, Decimal | None] = field(default_factory=dict)
    employment_multipliers: Mapping[Employment, Decimal] = field(default_factory=dict)
    multipliers_clause: str = ""
    table: Mapping[str, Mapping[Level, Decimal | None]] = field(default_factory=dict)
    base: Mapping[Level, Decimal | None] = field(default_factory=dict)
    factor_min: Decimal | None = None
    factor_max: Decimal | None = None
    factor_clause: str = ""
    cap_at_fee: bool = False
    fee_clause: str = ""
    amounts: Mapping[Level, Decimal | None] = field(default_factory=dict)
    by_occupation: Mapping[str, Mapping[Level, Decimal | None]] = field(default_factory=dict)


@dataclass(frozen=True)
class RuleSpec:
    """A named rule kind with parameters, e.g. FrequencyLimit max_per_year {max: 1}."""

    kind: str
    clause: str
    params: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class EligibleGroup:
    """A group of people the region subsidises (补贴对象): its code (what enrolments store), the
    clause, the notice's own wording (``detail``), a short Chinese ``name`` for lists and papers,
    and ``aliases``: what institutions write for it in their rosters (policies/categories.py)."""

    code: str
    clause: str
    detail: str
    name: str = ""
    aliases: tuple[str, ...] = ()

    @property
    def shown(self) -> str:
        return self.name or self.detail


@dataclass(frozen=True)
class DeadlineRule:
    """A filing or keeping period: `kind` is working_days_before / working_days_after /
    days_after / months_after / years_after, counted from the named `anchor` date.
    `funding` limits it to one kind of class (CQ's 30-day report is for self-paid classes only,
    cq 3.2.1); None = every class."""

    code: str
    kind: str
    amount: int
    anchor: str
    clause: str
    detail: str
    funding: str | None = None

    def applies_to(self, funding: str) -> bool:
        return self.funding is None or self.funding == funding


@dataclass(frozen=True)
class RegionPolicy:
    code: str
    name: str
    source: str
    timezone: str
    minutes_per_class_hour: Cited[int]
    online_cap: Cited[Fraction]  # share of required / scheduled hours
    verification_clause: str  # 凡补必进、不进不补 in this region
    required_hours_clause: str
    opened: OpenedScope
    training_certificate: CertificateRule
    level_certificate: CertificateRule
    subsidy: SubsidyRule
    frequency_limits: tuple[RuleSpec, ...]
    exclusions: tuple[RuleSpec, ...]
    eligible_groups: tuple[EligibleGroup, ...]
    deadlines: tuple[DeadlineRule, ...]
    plan_clause: str = ""  # where the region asks for a training plan to be filed
    application_window: RuleSpec | None = None
    #: Random spot checks per started hour of an offline lesson (fewest, most), asked of the
    #: trainees present at that moment; the notices set no figure (POLICY §9).
    offline_spot_checks: Cited[tuple[int, int]] = Cited((1, 2), "POLICY §9")
    #: The same for an online lesson, asked of the trainees who checked in (default 2-4).
    online_spot_checks: Cited[tuple[int, int]] = Cited((2, 4), "POLICY §9")
    #: Seconds a trainee has to answer a spot check (default 60; one sector's platforms use 60).
    spot_check_answer_seconds: Cited[int] = Cited(60, "POLICY §9")
    #: Spot checks an online lesson may miss (not answered in time) before nothing more of it
    #: counts, made up or not; None = no budget (each miss voids only its own span).
    spot_check_misses: Cited[int | None] = Cited(None, "POLICY §9")
    #: Checkpoint quizzes (课程测验) in recorded online lessons: off unless the region (or the
    #: class) turns them on; a segment with a quiz counts once the quiz is passed (POLICY §9).
    checkpoint_quizzes: Cited[bool] = Cited(False, "POLICY §9")
    #: How check-ins the teacher attested for a trainee who refused face processing count (one
    #: of policies.attendance.ATTESTED_RULES): by default only after the district's review.
    attested_check_ins: Cited[str] = Cited("after_district_review", "POLICY §9")
    #: Days after a lesson ends that its check-in photos are kept for review when the trainee has
    #: not agreed to their keeping as evidence (longer while a review is open; POLICY §11).
    photo_review_window_days: Cited[int] = Cited(30, "POLICY §11")

    @property
    def minutes(self) -> int:
        return int(self.minutes_per_class_hour.value)

    @property
    def cap(self) -> Fraction:
        return self.online_cap.value


# --- class plans ----------------------------------------------------------------------------


@dataclass(frozen=True)
class PlannedLesson:
    """One 课次 as filed: timezone-aware start/end, mode, content, venue (None when online), and
    its 编号 once stored (the lesson's id, as the class page's table shows it; None for a lesson
    not stored yet): messages name a lesson by its date, time and 编号, never by its position."""

    start: datetime
    end: datetime
    mode: Mode
    content: Content = Content.THEORY
    venue: str | None = None
    number: int | None = None


@dataclass(frozen=True)
class ClassPlan:
    """A TrainingClass as filed: one occupation + direction + level, dates and lessons."""

    occupation: str
    level: Level
    starts_on: date
    ends_on: date
    lessons: tuple[PlannedLesson, ...]
    direction: str = "—"
    required_hours: Decimal | None = None  # override of the catalog figure; None = catalog


@dataclass(frozen=True)
class PlanCheck:
    """The verdict on a filed plan: every violation with its clause, and the figures behind it."""

    accepted: bool
    violations: tuple[Reason, ...]
    scheduled_seconds: int
    online_seconds: int
    online_share: Fraction  # online / scheduled, exact
    required_hours: Decimal | None  # None when the occupation is unknown
    minutes_per_class_hour: int

    @property
    def scheduled_minutes(self) -> Decimal:
        return Decimal(self.scheduled_seconds) / 60

    @property
    def online_minutes(self) -> Decimal:
        return Decimal(self.online_seconds) / 60

    @property
    def scheduled_hours(self) -> Decimal:
        return hours_from_seconds(self.scheduled_seconds, self.minutes_per_class_hour)

    @property
    def online_hours(self) -> Decimal:
        return hours_from_seconds(self.online_seconds, self.minutes_per_class_hour)

    def as_dict(self) -> dict[str, Any]:
        """The verdict as JSON-ready values (the CLI and the server answer with the same shape)."""
        return {
            "accepted": self.accepted,
            "scheduled_hours": str(self.scheduled_hours),
            "online_hours": str(self.online_hours),
            "online_share": f"{float(self.online_share):.4f}",
            "required_hours": None if self.required_hours is None else str(self.required_hours),
            "minutes_per_class_hour": self.minutes_per_class_hour,
            "violations": [v.as_dict() for v in self.violations],
        }


# --- hours ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Interval:
    """A stretch of attendance between two events; `verified` is what the evidence decided."""

    start: datetime
    end: datetime
    mode: Mode
    verified: bool = True


@dataclass(frozen=True)
class HourLedger:
    """学时台账 of one enrollment: exact seconds inside, Decimal 学时 outside (rounded down)."""

    minutes_per_class_hour: int
    required_hours: Decimal
    raw_offline_seconds: int
    raw_online_seconds: int
    verified_offline_seconds: int
    verified_online_seconds: int
    credited_online_seconds: int
    online_cap_seconds: int
    reasons: tuple[Reason, ...] = ()
    #: Verified time credited to another enrollment of the same person instead (one person, one
    #: place, one time: POLICY §10), by this enrollment's mode of it; shown as verified, never credited.
    overlap_offline_seconds: int = 0
    overlap_online_seconds: int = 0

    def _h(self, seconds: int) -> Decimal:
        return hours_from_seconds(seconds, self.minutes_per_class_hour)

    @property
    def raw_offline(self) -> Decimal:
        return self._h(self.raw_offline_seconds)

    @property
    def raw_online(self) -> Decimal:
        return self._h(self.raw_online_seconds)

    @property
    def verified_offline(self) -> Decimal:
        return self._h(self.verified_offline_seconds)

    @property
    def verified_online(self) -> Decimal:
        return self._h(self.verified_online_seconds)

    @property
    def credited_offline_seconds(self) -> int:
        return self.verified_offline_seconds - self.overlap_offline_seconds

    @property
    def credited_offline(self) -> Decimal:
        return self._h(self.credited_offline_seconds)

    @property
    def credited_online(self) -> Decimal:
        return self._h(self.credited_online_seconds)

    @property
    def raw(self) -> Decimal:
        return self._h(self.raw_offline_seconds + self.raw_online_seconds)

    @property
    def verified(self) -> Decimal:
        return self._h(self.verified_offline_seconds + self.verified_online_seconds)

    @property
    def credited_seconds(self) -> int:
        return self.credited_offline_seconds + self.credited_online_seconds

    @property
    def credited(self) -> Decimal:
        return self._h(self.credited_seconds)

    @property
    def unverified_seconds(self) -> int:
        """Time attended but not verified: shown, never credited (凡补必进、不进不补)."""
        return max(0, self.raw_offline_seconds + self.raw_online_seconds
                   - self.verified_offline_seconds - self.verified_online_seconds)

    @property
    def over_cap_seconds(self) -> int:
        """Verified online time beyond cap x required hours (time credited to another enrollment
        is not counted here: it is overlap_online_seconds)."""
        return self.verified_online_seconds - self.overlap_online_seconds - self.credited_online_seconds

    @property
    def overlap_seconds(self) -> int:
        """Verified time credited to another enrollment of the same person (POLICY §10)."""
        return self.overlap_offline_seconds + self.overlap_online_seconds

    @property
    def complete(self) -> bool:
        """Credited time reaches the required hours (compared exactly, in seconds)."""
        return Fraction(self.credited_seconds) >= (
            Fraction(self.required_hours) * self.minutes_per_class_hour * 60
        )


# --- subsidies ------------------------------------------------------------------------------


@dataclass(frozen=True)
class PriorSubsidy:
    """One entry of a person's subsidy history (what they already received)."""

    occupation: str
    level: Level
    training_start: date
    kind: str = "training"  # training | evaluation
    region: str | None = None  # None: counted for every region


@dataclass(frozen=True)
class Person:
    """What the rules may need to know about a trainee. None = not known (not checked)."""

    birth_date: date | None = None
    sex: Sex | None = None
    female_category: FemaleCategory | None = None
    establishment_staff: bool | None = None  # 机关事业单位在编人员
    monthly_pension: bool | None = None  # 按月领取养老金 / 已享受养老保险待遇
    groups: frozenset[str] | None = None  # eligible-group codes of the region
    #: The subsidies known to have been received. Known entries always count; whether they are
    #: ALL of them is `history_checked_on`.
    history: tuple[PriorSubsidy, ...] = ()
    #: The day someone checked the person's full record (e.g. in the 人社 system): `history` is
    #: then complete as of that day. None: only the entries above are known, so a frequency limit
    #: is reported as not checked rather than silently passed on an empty list.
    history_checked_on: date | None = None


@dataclass(frozen=True)
class SubsidyRequest:
    occupation: str
    level: Level
    credited_hours: Decimal
    person: Person = Person()
    employment: Employment | None = None
    required_hours: Decimal | None = None  # override; None = the catalog figure
    training_certificate: bool = True
    level_certificate: bool = True
    training_start: date | None = None
    level_certificate_issued_on: date | None = None
    fee: Decimal | None = None  # the institution's fee for this trainee (js 3.3 cap)
    city_factor: Decimal | None = None  # JS city figure / provincial base
    hour_reasons: tuple[Reason, ...] = ()  # the HourLedger's reasons, carried into the decision


@dataclass(frozen=True)
class SubsidyDecision:
    """补贴核定: eligible True / False / None (needs a person to review), amount or None."""

    region: str
    occupation: str
    level: Level
    eligible: bool | None
    amount: Decimal | None
    credited_hours: Decimal
    required_hours: Decimal
    method: str
    reasons: tuple[Reason, ...]

    def as_dict(self) -> dict[str, Any]:
        return {
            "region": self.region,
            "occupation": self.occupation,
            "level": self.level.value,
            "eligible": self.eligible,
            "amount": None if self.amount is None else str(self.amount),
            "credited_hours": str(self.credited_hours),
            "required_hours": str(self.required_hours),
            "method": self.method,
            "reasons": [r.as_dict() for r in self.reasons],
        }


@dataclass(frozen=True)
class Deadline:
    code: str
    due: date
    clause: str
    detail: str
    provisional: bool  # True when a year the calendar does not know was counted Mon-Fri
