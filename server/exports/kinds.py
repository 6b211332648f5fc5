"""The kinds of export, one builder each, registered under the kind's name: the `kind` the API and
the CLI take and the job row keeps. A builder writes its files into the export's work dir and
says what the manifest must record of them; scope, role, the chain heads and the signed bundle are
the service's, the same for every kind.

Why a registry: a kind is looked up once and then is what it is, instead of a string tested at
every step of one long function, where a new kind would have to be threaded through each test.

Every builder reads the one database snapshot the service opened, so the chain head in the
manifest is the head of exactly the events its files show."""
from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from policies import clauses
from server.adapters.filestore import EvidenceStore
from server.errors import ApiError
from server.exports.data import ClassData, latest_assessments, local
from server.exports.names import FileNames
from server.exports.pdf import AttendancePdf, CertificateData, certificates_pdf
from server.exports.tables import (
    LEVEL_ZH,
    MODE_ZH,
    ClassTables,
    Table,
    amount_cell,
    eligible_zh,
    for_people,
    reasons_text,
    show_id,
)
from server.exports.writers import TableSet
from server.models import (
    Certificate,
    District,
    Enrollment,
    Event,
    GroupPhoto,
    Institution,
    Lesson,
    Seal,
    Trainee,
    TrainingClass,
)
from server.services.scope import Actor

#: The per-event hour log goes into the workbook only up to this many events: a sheet holds at
#: most 1,048,576 rows, and a log that long is read by machines (the CSV), not in Excel.
XLSX_HOUR_LOG_MAX_EVENTS = 100_000

#: Called with (trainees done, trainees in all) as the rows are written
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class ClassExport:
    """What a builder of a class export reads: one class, seen in one snapshot."""

    session: Session
    actor: Actor
    cls: TrainingClass
    data: ClassData
    #: The class's chain head (seq, hash) that the manifest records
    head: tuple[int, str]
    #: The class's latest seal: the next exports list the corrections made since
    previous: Seal | None
    work: Path
    formats: set[str]
    now: datetime
    store: EvidenceStore | None = None
    progress: Progress | None = None

    @property
    def names(self) -> FileNames:
        """Its files' names: "<class name>-<what>-<export date>.<ext>" (names.py)."""
        return FileNames.of(self.cls.name, local(self.now).date())


@dataclass(frozen=True)
class DistrictExport:
    """What the district roll-up reads: the district's classes the exporter may see."""

    session: Session
    actor: Actor
    district: District
    classes: list[TrainingClass]
    work: Path
    formats: set[str]
    now: datetime
    progress: Progress | None = None


@dataclass(frozen=True)
class Built:
    """A builder's files, in the order the bundle lists them, and what the manifest says of them."""

    files: list[Path]
    hour_log_in_xlsx: bool = False
    #: What a subsidy export fixes (who, when, chain head, each enrollment's figures): recorded as
    #: a Seal only once its bundle exists (service.seal_class)
    seal: dict | None = None


ClassBuilder = Callable[[ClassExport], Built]


@dataclass(frozen=True)
class ClassKind:
    name: str
    build: ClassBuilder
    #: A sealing export fixes the hours a subsidy is paid on, so fewer roles may run it (Capability.SEAL_SUBSIDIES)
    seals: bool = False


@dataclass(frozen=True)
class DistrictKind:
    name: str
    build: Callable[[DistrictExport], Built]


#: The kinds of class export, in the order the error message offers them
CLASS_KINDS: dict[str, ClassKind] = {}


def _register(name: str, *, seals: bool = False) -> Callable[[ClassBuilder], ClassBuilder]:
    def add(build: ClassBuilder) -> ClassBuilder:
        CLASS_KINDS[name] = ClassKind(name, build, seals)
        return build
    return add


def class_kind(name: str) -> ClassKind:
    """The kind of class export called `name`; any other name is refused (422) with the choices."""
    kind = CLASS_KINDS.get(name)
    if kind is None:
        raise ApiError(422, "unknown_export_kind", f"未知导出类型 {name!r}，可选：{', '.join(CLASS_KINDS)}")
    return kind


# --- the class kinds ---------------------------------------------------------------------------------

@_register("class")
def class_export(x: ClassExport) -> Built:
    """考勤表, 学时明细 (every event), 补贴核定 and, once the class has a seal, 封存后修正: XLSX and
    CSV, and the 考勤表 as PDF."""
    files, _, long_log = _attendance_pass(x, full=True)
    return Built(files, hour_log_in_xlsx="xlsx" in x.formats and not long_log)


@_register("subsidy", seals=True)
def subsidy_export(x: ClassExport) -> Built:
    """What `class` writes, and `<class>-封存数据-<date>.json`: each enrollment's figures at the
    exported chain head, which the seal fixes (later events are amendments against it)."""
    files, figures, long_log = _attendance_pass(x, full=True)
    seq, digest = x.head
    seal = {"sealed_at": x.now.isoformat(), "sealed_by": x.actor.username, "chain_seq": seq, "chain_hash": digest,
            "figures": figures}
    path = x.work / x.names("封存数据", "json")
    path.write_text(json.dumps(figures, ensure_ascii=False, indent=1, sort_keys=True), encoding="utf-8")
    return Built([*files, path], hour_log_in_xlsx="xlsx" in x.formats and not long_log, seal=seal)


@_register("js_filing")
def js_filing_export(x: ClassExport) -> Built:
    """The Jiangsu filing pack: the 考勤表, the passing trainees' scores, and the offline lessons'
    group photos (each photo the evidence store holds, and who was and was not recognised)."""
    files, _, _ = _attendance_pass(x, full=False)
    return Built(files + _scores(x) + _group_photos(x))


@_register("certificates")
def certificates_export(x: ClassExport) -> Built:
    """培训合格证书: one PDF, a page per trainee with a recorded certificate number; refused (409)
    when the class has none, since an empty bundle would look like a finished filing."""
    cls, data = x.cls, x.data
    inst = x.session.get_one(Institution, cls.institution_id)
    certs = {c.enrollment_id: c for c in x.session.scalars(select(Certificate).where(
        Certificate.kind == "training", Certificate.enrollment_id.in_(
            select(Enrollment.id).where(Enrollment.class_id == cls.id))))}
    out = []
    for n, r in enumerate(data.records(), start=1):
        c = certs.get(r.enrollment_id)
        if c is not None:
            out.append(CertificateData(
                name=r.name, resident_id=r.resident_id, starts_on=cls.starts_on, ends_on=cls.ends_on,
                occupation=data.occupation.name, direction=cls.direction or "—", level=LEVEL_ZH[cls.level.value],
                hours=r.hours.ledger.credited, institution=inst.name, issued_on=c.issued_on, number=c.number))
        if x.progress:
            x.progress(n, data.total)
    path = x.work / x.names("培训合格证书", "pdf")
    if not out:
        raise ApiError(409, "no_certificates", "该培训班还没有登记培训合格证书编号，无法生成证书")
    certificates_pdf(path, out)
    return Built([path])


def _attendance_pass(x: ClassExport, *, full: bool) -> tuple[list[Path], dict[str, dict], bool]:
    """One pass over the trainees: each trainee's ledger and decision are computed once, for every
    table and format its rows go into. The 考勤表 always; when `full`, the hour log, the decisions
    and the amendments since the last seal too. Returns the files, each enrollment's figures (what
    a seal fixes) and whether the hour log was too long for the workbook."""
    session, cls, data = x.session, x.cls, x.data
    prev = x.previous
    sealed = {"seq": prev.chain_seq, "figures": prev.figures, "at": prev.sealed_at} if full and prev else None
    tables = ClassTables(data, x.actor.sees_full_resident_ids, sealed)
    events = session.scalar(select(func.count()).select_from(Event).where(Event.class_id == cls.id)) or 0
    long_log = events > XLSX_HOUR_LOG_MAX_EVENTS
    sink = TableSet(x.work, tables.tables() if full else (tables.attendance,), x.formats & {"xlsx", "csv"}, x.names,
                    "考勤与学时" if full else "考勤表", subtitle=cls.name,
                    csv_only=frozenset({tables.hour_log.name}) if long_log else frozenset())
    pdf = None
    if "pdf" in x.formats:
        # Printed in parts as the rows come (a part is saved and dropped when full), so the
        # PDF's memory does not grow with the class either.
        inst = session.get(Institution, cls.institution_id)
        pdf = AttendancePdf(x.work, x.names.stem("考勤表"), f"考勤表 {cls.name}", _class_facts(session, cls, data),
                            [f"第{n}次课\n{local(lesson.starts_at):%Y-%m-%d}\n{local(lesson.starts_at):%H:%M} "
                             f"{MODE_ZH[lesson.mode.value]}" for n, lesson in enumerate(data.lessons, start=1)],
                            list(tables.attendance.header[3 + len(data.lessons):]), data.total,
                            running_head=f"培训机构：{inst.name if inst else cls.institution_id}　　"
                                         f"培训班：{cls.name}（培训班编号 {cls.id}）",
                            number=attendance_number(cls, x.now))
    figures: dict[str, dict] = {}
    for n, r in enumerate(data.records(), start=1):
        row = tables.attendance_row(n, r)
        sink.row(tables.attendance, row)
        if pdf is not None:
            k = len(data.lessons)
            shown = [for_people(v) for v in row]
            pdf.add(shown[:3], shown[3:3 + k], shown[3 + k:])
        if full:
            for line in tables.hour_log_rows(r):
                sink.row(tables.hour_log, line)
            sink.row(tables.decisions, tables.decision_row(r))
            if sealed:
                for line in tables.amendment_rows(r):
                    sink.row(tables.amendments, line)
        ledger, d = r.hours.ledger, r.decision
        figures[str(r.enrollment_id)] = {
            "raw": str(ledger.raw), "verified": str(ledger.verified), "credited": str(ledger.credited),
            "credited_online": str(ledger.credited_online), "eligible": d.eligible,
            "amount": None if d.amount is None else str(d.amount)}
        if x.progress:
            x.progress(n, data.total)
    sink.close()
    files = list(sink.files)
    if pdf is not None:
        files += pdf.close()
    return files, figures, long_log


def attendance_number(cls: TrainingClass, now: datetime) -> str:
    """The 考勤表's 编号: the class and the minute it was exported (Beijing time), e.g.
    "KQ-000012-202612070930", printed in the footer of every page."""
    return f"KQ-{cls.id:06d}-{local(now):%Y%m%d%H%M}"


def _class_facts(session: Session, cls: TrainingClass, data: ClassData) -> list[str]:
    inst = session.get(Institution, cls.institution_id)
    policy = data.policy
    return [
        f"培训班：{cls.name}（编号 {cls.id}）  培训机构：{inst.name if inst else cls.institution_id}  地区：{policy.name}",
        f"职业：{data.occupation.name}（{data.occupation.code}）  方向：{cls.direction or '—'}  等级：{LEVEL_ZH[cls.level.value]}  "
        f"培训日期：{cls.starts_on} 至 {cls.ends_on}  规定学时：{data.required}",
        f"每学时 {policy.minutes} 分钟；仅计入核验通过的时间（{clauses.reference(policy.verification_clause)}）；"
        f"线上计入不超过规定学时的 {float(policy.cap) * 100:g}%（{clauses.reference(policy.online_cap.clause)}）；"
        f"时间为北京时间；导出于 {local(data.now):%Y-%m-%d %H:%M}",
    ]


def _scores(x: ClassExport) -> list[Path]:
    """考核通过学员成绩: the trainees whose latest assessment passed, numbered in enrollment order."""
    rows = x.session.execute(select(Enrollment.id, Trainee.name, Trainee.resident_id).join(Trainee, Trainee.id == Enrollment.trainee_id)
                             .where(Enrollment.class_id == x.cls.id).order_by(Enrollment.id)).all()
    results = latest_assessments(x.session, [r.id for r in rows])
    table = Table("scores", "考核通过学员成绩", ("序号", "姓名", "身份证号", "理论成绩", "实操成绩", "考核日期"))
    sink = TableSet(x.work, (table,), {"xlsx", "csv"}, x.names, table.title)
    n = 0
    for r in rows:
        a = results.get(r.id)
        if a is not None and a.passed:
            n += 1
            sink.row(table, [n, r.name, show_id(r.resident_id, x.actor.sees_full_resident_ids), a.theory_score,
                             a.practice_score, a.assessed_on])
    sink.close()
    return list(sink.files)


def _group_photos(x: ClassExport) -> list[Path]:
    """Each group photo the evidence store still holds, and `<class>-合影清单-<date>.json` listing every
    photo (a photo whose file is gone is still listed, with "file": null)."""
    session, work, named = x.session, x.work, x.names
    number = {lesson.id: n for n, lesson in enumerate(x.data.lessons, start=1)}
    names = {str(r.trainee_id): r.name for r in session.execute(
        select(Enrollment.trainee_id, Trainee.name).join(Trainee, Trainee.id == Enrollment.trainee_id)
        .where(Enrollment.class_id == x.cls.id))}
    files = []
    photos = []
    for p in session.scalars(select(GroupPhoto).where(GroupPhoto.class_id == x.cls.id).order_by(GroupPhoto.id)):
        lesson = session.get_one(Lesson, p.lesson_id)
        entry = {"id": p.id, "lesson_id": p.lesson_id, "lesson_starts_at": local(lesson.starts_at).isoformat(),
                 "sha256": p.sha256, "uploaded_at": local(p.uploaded_at).isoformat(),
                 "present": [{"trainee_id": t, "name": names.get(str(t))} for t in p.present],
                 "absent": [{"trainee_id": int(t), "name": n_} for t, n_ in names.items() if int(t) not in p.present],
                 "match": p.match, "file": None}
        if x.store is not None and x.store.exists(p.sha256):
            lesson_no = f"第{number[p.lesson_id]}次课" if p.lesson_id in number else "未计入的课次"
            path = work / named(f"合影-{lesson_no}-{p.id}", "jpg")
            path.write_bytes(x.store.get(p.sha256))  # get() re-checks the hash
            files.append(path)
            entry["file"] = path.name
        photos.append(entry)
    path = work / named("合影清单", "json")
    path.write_text(json.dumps(photos, ensure_ascii=False, indent=1), encoding="utf-8")
    files.append(path)
    return files


# --- the district roll-up ----------------------------------------------------------------------------

def district_export(x: DistrictExport) -> Built:
    """区县汇总 (each class's counts, known amounts and credited hours) and 补贴核定明细 (every
    trainee's decision, with its class): XLSX and CSV."""
    session, d = x.session, x.district
    rollup = Table("district_rollup", "区县汇总", ("培训班编号", "培训班", "培训机构", "地区", "职业", "等级", "学员数", "符合",
                                                "不符合", "需人工审核", "已知补贴金额合计（元）", "金额未知人数", "计入学时合计"))
    decisions = Table("district_decisions", "补贴核定明细", ("培训班编号", "培训班", "姓名", "身份证号", "规定学时", "计入学时",
                                                        "线上计入学时", "核定结论", "补贴金额（元）", "理由（条款）"))
    sink = TableSet(x.work, (rollup, decisions), x.formats & {"xlsx", "csv"}, FileNames.of(d.name, local(x.now).date()),
                    rollup.title, subtitle=d.name)
    total = sum(ClassData(session, c, x.now).total for c in x.classes)
    done = 0
    for cls in x.classes:
        data = ClassData(session, cls, x.now)
        counts = {True: 0, False: 0, None: 0}
        known, unknown, credited = Decimal("0.00"), 0, Decimal("0")
        for r in data.records():
            dec = r.decision
            counts[dec.eligible] += 1
            if dec.eligible is not False:
                if dec.amount is None:
                    unknown += 1
                else:
                    known += dec.amount
            credited += r.hours.ledger.credited
            sink.row(decisions, [cls.id, cls.name, r.name, show_id(r.resident_id, x.actor.sees_full_resident_ids),
                                 dec.required_hours, dec.credited_hours, r.hours.ledger.credited_online,
                                 eligible_zh(dec.eligible), amount_cell(dec), reasons_text(dec.reasons)])
            done += 1
            if x.progress:
                x.progress(done, total)
        inst = session.get(Institution, cls.institution_id)
        sink.row(rollup, [cls.id, cls.name, inst.name if inst else "", data.policy.name, data.occupation.name,
                          LEVEL_ZH[cls.level.value], data.total, counts[True], counts[False], counts[None], known,
                          unknown, credited])
    sink.close()
    return Built(list(sink.files))


#: The district export is its own kind: its subject is a district, and its job row names no class
DISTRICT = DistrictKind("district", district_export)
