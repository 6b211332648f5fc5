"""The tables people read, as headers and typed cells (numbers stay numbers, times stay times):
the writers decide how each format shows them. Labels are Chinese; times are Asia/Shanghai."""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal

from policies import clauses
from server.exports.data import ClassData, TraineeRecord, local
from server.models.people import mask_resident_id

KIND_ZH = {"check_in": "签到", "check_out": "签退", "spot_check": "随机抽查", "review_decision": "复核"}
VERDICT_ZH = {"verified": "通过", "rejected": "未通过", "flagged": "待复核", "approved": "复核通过"}
MODE_ZH = {"offline": "线下", "online": "线上"}
LEVEL_ZH = {"junior": "初级", "mid": "中级", "senior": "高级"}
TENTH = Decimal("0.1")


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


def reasons_text(reasons: Iterable) -> str:
    """Every reason with its clause (a digest section named in words), one per line."""
    out = []
    for r in reasons:
        code, clause, detail = (r.code, r.clause, r.detail) if hasattr(r, "code") else (r.get("code"), r.get("clause"), r.get("detail"))
        out.append(f"[{clauses.describe(clause) if clause else '—'}] {detail} ({code})")
    return "\n".join(out)


def show_id(resident_id: str, full: bool) -> str:
    return resident_id if full else mask_resident_id(resident_id)


class ClassTables:
    """The tables of one class export, and the cells of each for one trainee."""

    def __init__(self, data: ClassData, full_ids: bool, sealed: dict | None = None) -> None:
        self.data, self.full_ids = data, full_ids
        #: The class's previous seal: {"seq": int, "figures": {...}} (amendments are shown against it)
        self.sealed = sealed
        lesson_cols = tuple(
            f"{local(x.starts_at):%m-%d %H:%M} {MODE_ZH[x.mode.value]}（课次{x.id}，分钟）" for x in data.lessons)
        self.attendance = Table("attendance", "考勤表", ("序号", "姓名", "身份证号") + lesson_cols + (
            "原始学时", "核验学时", "计入学时", "线下计入学时", "线上计入学时", "线上占比", "规定学时", "是否达到规定学时"))
        self.hour_log = Table("hour_log", "学时明细", ("姓名", "身份证号", "课次", "课次开始（北京时间）", "形式", "事件编号",
                                                   "链序号", "类型", "时间（北京时间）", "结论", "复核对象", "原因（条款）",
                                                   "证据引用", "事件哈希"))
        self.decisions = Table("subsidy_decisions", "补贴核定", ("姓名", "身份证号", "补贴类别", "规定学时", "计入学时",
                                                             "核定结论", "补贴金额（元）", "理由（条款）"))
        self.amendments = Table("amendments", "封存后修正", ("姓名", "身份证号", "封存时计入学时", "现计入学时", "事件编号",
                                                        "链序号", "类型", "时间（北京时间）", "结论", "复核对象"))
        self._lesson = {x.id: x for x in data.lessons}

    def tables(self) -> tuple[Table, ...]:
        return (self.attendance, self.hour_log, self.decisions) + ((self.amendments,) if self.sealed else ())

    def attendance_row(self, n: int, r: TraineeRecord) -> list:
        ledger = r.hours.ledger
        per_lesson = [minutes(h.credited_seconds) for h in r.hours.lessons]  # less time credited to another class
        credited = ledger.credited
        share = (ledger.credited_online / credited).quantize(Decimal("0.0001"), rounding=ROUND_DOWN) if credited else Decimal(0)
        return [n, r.name, show_id(r.resident_id, self.full_ids), *per_lesson, ledger.raw, ledger.verified, credited,
                ledger.credited_offline, ledger.credited_online, share, ledger.required_hours,
                "是" if ledger.complete else "否"]

    def hour_log_rows(self, r: TraineeRecord) -> Iterator[list]:
        rid = show_id(r.resident_id, self.full_ids)
        for e in r.events:
            lesson = self._lesson.get(e.lesson_id)
            yield [r.name, rid, e.lesson_id, local(lesson.starts_at) if lesson else "（未计入的课次）",
                   MODE_ZH[lesson.mode.value] if lesson else "", e.id, e.seq, KIND_ZH.get(e.kind, e.kind),
                   local(e.at), VERDICT_ZH.get(e.verdict, e.verdict), e.decides_event_id or "",
                   reasons_text(e.reasons or []), evidence_refs(e.evidence or {}), e.hash]

    def decision_row(self, r: TraineeRecord) -> list:
        d = r.decision
        return [r.name, show_id(r.resident_id, self.full_ids), r.subsidy_category or "", d.required_hours,
                d.credited_hours, eligible_zh(d.eligible), amount_cell(d), reasons_text(d.reasons)]

    def amendment_rows(self, r: TraineeRecord) -> Iterator[list]:
        if not self.sealed:
            return
        before = self.sealed["figures"].get(str(r.enrollment_id), {}).get("credited", "（封存时未报名）")
        now = r.hours.ledger.credited
        later = [e for e in r.events if e.seq > self.sealed["seq"]]
        rid = show_id(r.resident_id, self.full_ids)
        for e in later:
            yield [r.name, rid, before, now, e.id, e.seq, KIND_ZH.get(e.kind, e.kind), local(e.at),
                   VERDICT_ZH.get(e.verdict, e.verdict), e.decides_event_id or ""]
        if not later and str(before) != str(now):
            # Figures moved without a new event of this trainee (e.g. a lesson cancelled by an
            # amendment of the plan): still shown, never silent.
            yield [r.name, rid, before, now, "", "", "计划变更", "", "", ""]


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
        parts.append(f"定位 {loc.get('lat')},{loc.get('lon')} ±{loc.get('accuracy_m')}m {loc.get('datum', '')}")
    fence = evidence.get("fence")
    if isinstance(fence, dict) and fence.get("result"):
        parts.append(f"围栏 {fence.get('result')}")
    if evidence.get("reviewer"):
        parts.append(f"复核人 {evidence['reviewer']}")
    return "；".join(parts)
