"""The tables people read, as headers and typed cells (numbers stay numbers, times stay times):
the writers decide how each format shows them. Labels are Chinese; times are Beijing time
(Asia/Shanghai, the zone of every region), to the minute.

What a person reads never shows a code: a reason is its clause in words and its Chinese detail,
a subsidy category the region's words for it, an employment status in Chinese, a lesson
"第n次课". Where the machine-readable CSV keeps the code as well, the cell is a `Shown`: the
people's text for the XLSX and the PDF, the code (or both) for the CSV."""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_DOWN, Decimal
from typing import Any

from policies import clauses
from server.exports.data import ClassData, TraineeRecord, local
from server.models.people import mask_resident_id

KIND_ZH = {"check_in": "签到", "check_out": "签退", "spot_check": "随机抽查", "review_decision": "复核"}
VERDICT_ZH = {"verified": "通过", "rejected": "未通过", "flagged": "待复核", "approved": "复核通过"}
MODE_ZH = {"offline": "线下", "online": "线上"}
#: An event the teacher confirmed for a trainee who refused face processing (services/nonface.py):
#: marked in every table that lists events, so a reader never takes it for a face check.
ATTESTED_ZH = "老师确认（未使用人脸）"


def kind_zh(e) -> str:
    """An event's type in words, with how presence was verified when no face was used."""
    kind = KIND_ZH.get(e.kind, e.kind)
    return f"{kind}·{ATTESTED_ZH}" if (e.evidence or {}).get("method") == "teacher_attested" else kind
LEVEL_ZH = {"junior": "初级", "mid": "中级", "senior": "高级"}
#: Enrollment.employment_at_start and .employment_after (server.models.enums)
EMPLOYMENT_AT_START_ZH = {"employed": "参训时已就业", "not_employed": "参训时未就业", "unknown": "未登记"}
EMPLOYMENT_AFTER_ZH = {"employed": "培训后已就业创业", "unemployed": "培训后未就业创业", "unknown": "未登记"}
TENTH = Decimal("0.1")


@dataclass(frozen=True)
class Shown:
    """A cell shown one way to people (XLSX, PDF) and another to machines (CSV)."""

    people: Any
    machine: Any


class Share(Decimal):
    """A fraction shown to people as a percentage (the XLSX formats it, the PDF prints "12.50%");
    the CSV has the fraction itself."""

    __slots__ = ()


def for_people(value: Any) -> Any:
    if isinstance(value, Share):
        return f"{value * 100:.2f}%"
    return value.people if isinstance(value, Shown) else value


def for_machines(value: Any) -> Any:
    return value.machine if isinstance(value, Shown) else value


def minute(dt: datetime) -> datetime:
    """A stored (UTC) time as Beijing wall time, to the minute (seconds dropped, never rounded up)."""
    return local(dt).replace(second=0, microsecond=0)


def lesson_label(n: int, lesson, sep: str = " ") -> str:
    """"第3次课 2026-03-02 09:00 线下": the lesson's place in the class, its date and time, its mode."""
    return sep.join((f"第{n}次课", f"{local(lesson.starts_at):%Y-%m-%d %H:%M}", MODE_ZH[lesson.mode.value]))


def category_zh(code: str | None, policy) -> str:
    """A subsidy category (a code of the region's eligible_groups) as the region's file words it:
    its short Chinese name where the file gives one, else the notice's wording."""
    if not code:
        return "未登记"
    for g in getattr(policy, "eligible_groups", ()):
        if g.code == code:
            return getattr(g, "name", "") or g.detail
    return f"未识别的类别：{code}"


@dataclass(frozen=True)
class Table:
    """A named table: `name` is the file stem / sheet name, `title` its heading."""

    name: str
    title: str
    header: tuple[str, ...]


def minutes(seconds: float) -> Decimal:
    """Whole tenths of a minute, rounded down: a report never shows more than was verified."""
    return (Decimal(seconds) / 60).quantize(TENTH, rounding=ROUND_DOWN)


def eligible_zh(value: bool | None) -> str:
    return {True: "符合", False: "不符合", None: "需人工审核"}[value]


def amount_cell(decision) -> Decimal | str:
    if decision.eligible is False:
        return "—"
    return decision.amount if decision.amount is not None else "金额未知（待配置后确定）"


def reasons_text(reasons: Iterable) -> Shown:
    """Every reason with its clause (a digest section named in words), one per line: for people
    the Chinese detail only, for machines (CSV) with its code, "[clause] detail (code)"."""
    people, machine = [], []
    for r in reasons:
        code, clause, detail = (r.code, r.clause, r.detail) if hasattr(r, "code") else (r.get("code"), r.get("clause"), r.get("detail"))
        where = clauses.describe(clause) if clause else "—"
        people.append(f"【{where}】{clauses.reference(str(detail or ''))}")
        machine.append(f"[{where}] {detail} ({code})")
    return Shown("\n".join(people), "\n".join(machine))


def show_id(resident_id: str, full: bool) -> str:
    return resident_id if full else mask_resident_id(resident_id)


class ClassTables:
    """The tables of one class export, and the cells of each for one trainee."""

    def __init__(self, data: ClassData, full_ids: bool, sealed: dict | None = None) -> None:
        self.data, self.full_ids = data, full_ids
        #: The class's previous seal: {"seq": int, "figures": {...}} (amendments are shown against it)
        self.sealed = sealed
        # "\n" breaks the heading cell in the XLSX (the CSV joins the lines with a space).
        lesson_cols = tuple(f"{lesson_label(n, x, chr(10))}\n（分钟）" for n, x in enumerate(data.lessons, start=1))
        self.attendance = Table("attendance", "考勤表", ("序号", "姓名", "身份证号") + lesson_cols + (
            "原始学时", "核验学时", "计入学时", "线下计入学时", "线上计入学时", "线上占比", "规定学时", "是否达到规定学时"))
        self.hour_log = Table("hour_log", "学时明细", ("姓名", "身份证号", "课次", "课次开始（北京时间）", "形式", "事件编号",
                                                   "链序号", "类型", "时间（北京时间）", "结论", "复核对象", "原因（条款）",
                                                   "证据引用", "事件哈希"))
        self.decisions = Table("subsidy_decisions", "补贴核定", ("姓名", "身份证号", "补贴类别", "参训时就业状态",
                                                             "培训后就业状态", "规定学时", "计入学时", "核定结论",
                                                             "补贴金额（元）", "理由（条款）"))
        self.amendments = Table("amendments", "封存后修正", ("姓名", "身份证号", "封存时计入学时", "现计入学时", "事件编号",
                                                        "链序号", "类型", "时间（北京时间）", "结论", "复核对象"))
        self._lesson = {x.id: x for x in data.lessons}
        self._lesson_no = {x.id: n for n, x in enumerate(data.lessons, start=1)}

    def tables(self) -> tuple[Table, ...]:
        return (self.attendance, self.hour_log, self.decisions) + ((self.amendments,) if self.sealed else ())

    def attendance_row(self, n: int, r: TraineeRecord) -> list:
        ledger = r.hours.ledger
        per_lesson = [minutes(h.credited_seconds) for h in r.hours.lessons]  # less time credited to another class
        credited = ledger.credited
        share = Share((ledger.credited_online / credited).quantize(Decimal("0.0001"), rounding=ROUND_DOWN) if credited else 0)
        return [n, r.name, show_id(r.resident_id, self.full_ids), *per_lesson, ledger.raw, ledger.verified, credited,
                ledger.credited_offline, ledger.credited_online, share, ledger.required_hours,
                "是" if ledger.complete else "否"]

    def hour_log_rows(self, r: TraineeRecord) -> Iterator[list]:
        rid = show_id(r.resident_id, self.full_ids)
        for e in r.events:
            lesson = self._lesson.get(e.lesson_id)
            number = Shown(f"第{self._lesson_no[e.lesson_id]}次课", e.lesson_id) if lesson else Shown("", e.lesson_id)
            yield [r.name, rid, number, minute(lesson.starts_at) if lesson else "（未计入的课次）",
                   MODE_ZH[lesson.mode.value] if lesson else "", e.id, e.seq, kind_zh(e),
                   minute(e.at), VERDICT_ZH.get(e.verdict, e.verdict), e.decides_event_id or "",
                   reasons_text(e.reasons or []), evidence_refs(e.evidence or {}), e.hash]

    def decision_row(self, r: TraineeRecord) -> list:
        d = r.decision
        start, after = r.employment_at_start or "unknown", r.employment_after or "unknown"
        return [r.name, show_id(r.resident_id, self.full_ids),
                Shown(category_zh(r.subsidy_category, self.data.policy), r.subsidy_category or ""),
                Shown(EMPLOYMENT_AT_START_ZH.get(start, f"未识别：{start}"), start),
                Shown(EMPLOYMENT_AFTER_ZH.get(after, f"未识别：{after}"), after),
                d.required_hours, d.credited_hours, eligible_zh(d.eligible), amount_cell(d), reasons_text(d.reasons)]

    def amendment_rows(self, r: TraineeRecord) -> Iterator[list]:
        if not self.sealed:
            return
        before = self.sealed["figures"].get(str(r.enrollment_id), {}).get("credited", "（封存时未报名）")
        now = r.hours.ledger.credited
        later = [e for e in r.events if e.seq > self.sealed["seq"]]
        rid = show_id(r.resident_id, self.full_ids)
        for e in later:
            yield [r.name, rid, before, now, e.id, e.seq, kind_zh(e), minute(e.at),
                   VERDICT_ZH.get(e.verdict, e.verdict), e.decides_event_id or ""]
        if not later and str(before) != str(now):
            # Figures moved without a new event of this trainee (e.g. a lesson cancelled by an
            # amendment of the plan): still shown, never silent.
            yield [r.name, rid, before, now, "", "", "计划变更", "", "", ""]


#: policies.geofence.Verdict, and the coordinate systems a fix is given in
FENCE_ZH = {"inside": "在场地围栏内", "outside": "在场地围栏外", "uncertain": "跨越围栏边界，无法判定",
            "too_inaccurate": "定位精度不足"}
DATUM_ZH = {"wgs84": "WGS-84", "gcj02": "GCJ-02", "bd09": "BD-09"}


def evidence_refs(evidence: dict) -> str:
    """What an auditor looks up: frame hashes (in the evidence store), face distance, the fix."""
    parts = []
    frames = evidence.get("frames")
    if frames:
        parts.append("帧 " + ",".join(str(h)[:16] for h in frames))
    elif isinstance(evidence.get("frames_not_kept"), dict):
        parts.append(f"{evidence['frames_not_kept'].get('count')} 帧未保存（未确认人脸信息处理同意）")
    face = evidence.get("face")
    # recognition's LivenessResult.evidence() names it best_distance (the closest matched frame)
    if isinstance(face, dict) and face.get("best_distance") is not None:
        parts.append(f"人脸距离 {face.get('best_distance')} / 阈值 {face.get('threshold')}")
    loc = evidence.get("location")
    if isinstance(loc, dict):
        datum = DATUM_ZH.get(str(loc.get("datum", "")).lower(), loc.get("datum", ""))
        parts.append(f"定位 {loc.get('lat')},{loc.get('lon')} ±{loc.get('accuracy_m')}m {datum}".rstrip())
    fence = evidence.get("fence")
    if isinstance(fence, dict) and (fence.get("verdict") or fence.get("result")):
        verdict = str(fence.get("verdict") or fence.get("result"))
        parts.append(f"围栏：{FENCE_ZH.get(verdict, verdict)}")
    teacher = evidence.get("teacher")
    if evidence.get("method") == "teacher_attested" and isinstance(teacher, dict):
        where = FENCE_ZH.get(str((teacher.get("fence") or {}).get("verdict", "")), "")
        parts.append(f"{ATTESTED_ZH}：老师账号 {teacher.get('username')}" + (f"，老师定位{where}" if where else ""))
    if evidence.get("reviewer"):
        parts.append(f"复核人 {evidence['reviewer']}")
    return "；".join(parts)
