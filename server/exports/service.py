"""Exports as use cases: build a signed bundle for a class (or a district), seal a class's hours
when the export is for a subsidy, run long exports as background jobs with a progress figure,
and record what the JS filing needs (assessment results, training certificates, group photos).

Every export of a class reads one database snapshot: the chain head written into the manifest is
the head of exactly the events that were exported."""
from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from server.adapters.filestore import EvidenceStore
from server.errors import ApiError
from server.exports import bundle, housekeeping, signing
from server.exports.data import ClassData, local
from server.exports.pdf import AttendancePdf, CertificateData, certificates_pdf
from server.exports.tables import LEVEL_ZH, ClassTables, Table, amount_cell, eligible_zh, reasons_text, show_id
from server.exports.writers import TableSet
from server.models import (
    AssessmentResult,
    Certificate,
    District,
    Enrollment,
    Event,
    ExportJob,
    FaceTemplate,
    GroupPhoto,
    Institution,
    Lesson,
    LessonMode,
    Role,
    Seal,
    Trainee,
    TrainingClass,
)
from server.services import audit, chain
from server.services.scope import Actor, classes_query, require_role, visible_class

log = logging.getLogger(__name__)

CLASS_KINDS = ("class", "subsidy", "js_filing", "certificates")
EXPORTERS = (Role.admin, Role.institution_admin, Role.district_supervisor, Role.city_reviewer)
SEALERS = (Role.admin, Role.institution_admin)
DISTRICT_EXPORTERS = (Role.admin, Role.district_supervisor, Role.city_reviewer)
RECORDERS = (Role.admin, Role.institution_admin)
PHOTO_UPLOADERS = (Role.admin, Role.institution_admin, Role.teacher)
FORMATS = {"xlsx", "csv", "pdf"}
#: The per-event hour log goes into the workbook only up to this many events: a sheet holds at
#: most 1,048,576 rows, and a log that long is read by machines (the CSV), not in Excel.
XLSX_HOUR_LOG_MAX_EVENTS = 100_000

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class ExportResult:
    path: Path
    sha256: str
    manifest_files: list[str]
    chains: dict
    seal: dict | None


def exports_dir(data_dir: Path) -> Path:
    d = Path(data_dir) / "exports"
    d.mkdir(parents=True, exist_ok=True, mode=0o700)
    return d


def _snapshot(session: Session) -> None:
    """One consistent view for the whole export. SQLite's deferred transaction is a snapshot from
    its first read; PostgreSQL needs REPEATABLE READ for that (READ COMMITTED would see events
    committed mid-export, after the chain head was read)."""
    if session.get_bind().dialect.name == "postgresql":
        session.connection(execution_options={"isolation_level": "REPEATABLE READ"})


def latest_seal(session: Session, class_id: int) -> Seal | None:
    return session.scalar(select(Seal).where(Seal.class_id == class_id).order_by(Seal.id.desc()).limit(1))


def _class_facts(session: Session, cls: TrainingClass, data: ClassData) -> list[str]:
    inst = session.get(Institution, cls.institution_id)
    policy = data.policy
    return [
        f"培训班：{cls.name}（编号 {cls.id}）  培训机构：{inst.name if inst else cls.institution_id}  地区：{policy.name}",
        f"职业：{data.occupation.name}（{data.occupation.code}）  方向：{cls.direction or '—'}  等级：{LEVEL_ZH[cls.level.value]}  "
        f"培训日期：{cls.starts_on} 至 {cls.ends_on}  规定学时：{data.required}",
        f"每学时 {policy.minutes} 分钟；仅计入核验通过的时间（{policy.verification_clause}）；线上计入不超过规定学时的 "
        f"{float(policy.cap) * 100:g}%（{policy.online_cap.clause}）；时间为北京时间；导出于 {local(data.now):%Y-%m-%d %H:%M:%S}",
    ]


def export_class(session: Session, actor: Actor, class_id: int, kind: str, out: Path, now: datetime, key,
                 store: EvidenceStore | None = None, formats: set[str] | None = None,
                 progress: Progress | None = None) -> ExportResult:
    """Write the bundle of one class to `out` (read-only: sealing is `seal_class`, after)."""
    if kind not in CLASS_KINDS:
        raise ApiError(422, "unknown_export_kind", f"未知导出类型 {kind!r}，可选：{', '.join(CLASS_KINDS)}")
    formats = set(formats or FORMATS)
    _snapshot(session)
    cls = visible_class(session, actor, class_id)
    require_role(actor, SEALERS if kind == "subsidy" else EXPORTERS)
    seq, digest = chain.head_of(session, cls.id)
    data = ClassData(session, cls, now)
    prev = latest_seal(session, cls.id)
    sealed = {"seq": prev.chain_seq, "figures": prev.figures, "at": prev.sealed_at} if prev else None
    tables = ClassTables(data, actor.sees_full_resident_ids, sealed if kind in ("class", "subsidy") else None)
    stem = f"class{cls.id}"
    with housekeeping.work_dir() as work:
        files: list[Path] = []
        figures: dict[str, dict] = {}
        long_log = False
        if kind in ("class", "subsidy", "js_filing"):
            chosen = tables.tables() if kind != "js_filing" else (tables.attendance,)
            events = session.scalar(select(func.count()).select_from(Event).where(Event.class_id == cls.id)) or 0
            long_log = events > XLSX_HOUR_LOG_MAX_EVENTS
            sink = TableSet(work, chosen, formats & {"xlsx", "csv"}, stem, subtitle=cls.name,
                            csv_only=frozenset({tables.hour_log.name}) if long_log else frozenset())
            pdf = None
            if "pdf" in formats:
                # Printed in parts as the rows come (a part is saved and dropped when full), so the
                # PDF's memory does not grow with the class either.
                pdf = AttendancePdf(work, stem, f"考勤表 {cls.name}", _class_facts(session, cls, data),
                                    [f"{local(x.starts_at):%m-%d %H:%M}\n{'线下' if x.mode is LessonMode.offline else '线上'}"
                                     for x in data.lessons],
                                    list(tables.attendance.header[3 + len(data.lessons):]), data.total)
            passing: list = []
            for n, r in enumerate(data.records(), start=1):
                row = tables.attendance_row(n, r)
                sink.row(tables.attendance, row)
                if pdf is not None:
                    k = len(data.lessons)
                    pdf.add(row[:3], row[3:3 + k], row[3 + k:])
                if kind != "js_filing":
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
                if progress:
                    progress(n, data.total)
            sink.close()
            files += sink.files
            if pdf is not None:
                files += pdf.close()
        if kind == "js_filing":
            files += _js_extras(session, actor, cls, data, work, stem, store)
        if kind == "certificates":
            files += _certificates(session, actor, cls, data, work, stem, progress)
        meta = {
            "kind": kind, "class": {"id": cls.id, "name": cls.name, "region": cls.region_code,
                                    "occupation": cls.occupation_code, "level": cls.level.value},
            "exported_by": {"username": actor.username, "role": actor.role.value},
            "trainees": data.total, "minutes_per_class_hour": data.policy.minutes,
            "hour_log_in_xlsx": "xlsx" in formats and kind in ("class", "subsidy") and not long_log,
            "previous_seal": None if prev is None else {"id": prev.id, "sealed_at": prev.sealed_at.isoformat(),
                                                        "chain_seq": prev.chain_seq, "chain_hash": prev.chain_hash},
        }
        seal = None
        if kind == "subsidy":
            seal = {"sealed_at": now.isoformat(), "sealed_by": actor.username, "chain_seq": seq, "chain_hash": digest,
                    "figures": figures}
            meta["seal"] = {k: v for k, v in seal.items() if k != "figures"}
            figures_path = work / f"{stem}-sealed-figures.json"
            figures_path.write_text(json.dumps(figures, ensure_ascii=False, indent=1, sort_keys=True), encoding="utf-8")
            files.append(figures_path)
        chains = {chain.chain_of(cls.id): {"seq": seq, "hash": digest}}
        sha = bundle.write_bundle(out, [(f.name, f) for f in files], key, chains=chains, meta=meta, now=now)
        return ExportResult(out, sha, [f.name for f in files], chains, seal)


def seal_class(session: Session, actor: Actor, class_id: int, result: ExportResult, job_id: int | None, now: datetime) -> Seal:
    """Record the seal of a subsidy export (append-only). Later events are amendments."""
    s = result.seal
    seal = Seal(class_id=class_id, sealed_at=now, sealed_by_id=actor.user_id, sealed_by_name=actor.username,
                chain_seq=s["chain_seq"], chain_hash=s["chain_hash"], figures=s["figures"], job_id=job_id,
                bundle_sha256=result.sha256)
    session.add(seal)
    session.flush()
    audit.record(session, actor, "class.seal", "class", class_id, None,
                 {"seal_id": seal.id, "chain_seq": seal.chain_seq, "bundle_sha256": result.sha256},
                 institution_id=session.get(TrainingClass, class_id).institution_id)
    return seal


# --- the JS filing pack and certificates --------------------------------------------------------------

def latest_assessments(session: Session, enrollment_ids: list[int]) -> dict[int, AssessmentResult]:
    out: dict[int, AssessmentResult] = {}
    for a in session.scalars(select(AssessmentResult).where(AssessmentResult.enrollment_id.in_(enrollment_ids))
                             .order_by(AssessmentResult.id)):
        out[a.enrollment_id] = a  # the newest row supersedes
    return out


def _js_extras(session, actor, cls, data, work: Path, stem: str, store: EvidenceStore | None) -> list[Path]:
    rows = session.execute(select(Enrollment.id, Trainee.name, Trainee.resident_id).join(Trainee, Trainee.id == Enrollment.trainee_id)
                           .where(Enrollment.class_id == cls.id).order_by(Enrollment.id)).all()
    results = latest_assessments(session, [r.id for r in rows])
    table = Table("scores", "考核通过学员成绩", ("序号", "姓名", "身份证号", "理论成绩", "实操成绩", "考核日期"))
    sink = TableSet(work, (table,), {"xlsx", "csv"}, f"{stem}-scores")
    n = 0
    for r in rows:
        a = results.get(r.id)
        if a is not None and a.passed:
            n += 1
            sink.row(table, [n, r.name, show_id(r.resident_id, actor.sees_full_resident_ids), a.theory_score,
                             a.practice_score, a.assessed_on])
    sink.close()
    files = list(sink.files)
    names = {str(r.trainee_id): r.name for r in session.execute(
        select(Enrollment.trainee_id, Trainee.name).join(Trainee, Trainee.id == Enrollment.trainee_id)
        .where(Enrollment.class_id == cls.id))}
    photos = []
    for p in session.scalars(select(GroupPhoto).where(GroupPhoto.class_id == cls.id).order_by(GroupPhoto.id)):
        lesson = session.get(Lesson, p.lesson_id)
        entry = {"id": p.id, "lesson_id": p.lesson_id, "lesson_starts_at": local(lesson.starts_at).isoformat(),
                 "sha256": p.sha256, "uploaded_at": local(p.uploaded_at).isoformat(),
                 "present": [{"trainee_id": t, "name": names.get(str(t))} for t in p.present],
                 "absent": [{"trainee_id": int(t), "name": n_} for t, n_ in names.items() if int(t) not in p.present],
                 "match": p.match, "file": None}
        if store is not None and store.exists(p.sha256):
            path = work / f"{stem}-group-photo-{p.id}-lesson{p.lesson_id}.jpg"
            path.write_bytes(store.get(p.sha256))  # get() re-checks the hash
            files.append(path)
            entry["file"] = path.name
        photos.append(entry)
    path = work / f"{stem}-group-photos.json"
    path.write_text(json.dumps(photos, ensure_ascii=False, indent=1), encoding="utf-8")
    files.append(path)
    return files


def _certificates(session, actor, cls, data: ClassData, work: Path, stem: str, progress) -> list[Path]:
    inst = session.get(Institution, cls.institution_id)
    certs = {c.enrollment_id: c for c in session.scalars(select(Certificate).where(
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
        if progress:
            progress(n, data.total)
    path = work / f"{stem}-certificates.pdf"
    if not out:
        raise ApiError(409, "no_certificates", "该培训班还没有登记培训合格证书编号，无法生成证书")
    certificates_pdf(path, out)
    return [path]


# --- district roll-up ---------------------------------------------------------------------------------

def visible_district(session: Session, actor: Actor, district_id: int) -> District:
    require_role(actor, DISTRICT_EXPORTERS)
    d = session.get(District, district_id)
    ok = d is not None and (actor.role is Role.admin or (actor.role is Role.district_supervisor and actor.district_id == d.id)
                            or (actor.role is Role.city_reviewer and actor.city_id == d.city_id))
    if not ok:
        raise ApiError(404, "district_not_found", f"区县 {district_id} 不存在或不在您的管辖范围内")
    return d


def export_district(session: Session, actor: Actor, district_id: int, out: Path, now: datetime, key,
                    formats: set[str] | None = None, progress: Progress | None = None) -> ExportResult:
    """区县汇总: each class's totals and every trainee's decision (with its class), one bundle."""
    _snapshot(session)
    d = visible_district(session, actor, district_id)
    classes = list(session.scalars(classes_query(actor).where(TrainingClass.district_id == d.id).order_by(TrainingClass.id)))
    rollup = Table("district_rollup", "区县汇总", ("培训班编号", "培训班", "培训机构", "地区", "职业", "等级", "学员数", "符合",
                                                "不符合", "需人工审核", "已知补贴金额合计（元）", "金额未知人数", "计入学时合计"))
    decisions = Table("district_decisions", "补贴核定明细", ("培训班编号", "培训班", "姓名", "身份证号", "规定学时", "计入学时",
                                                        "线上计入学时", "核定结论", "补贴金额（元）", "理由（条款）"))
    with housekeeping.work_dir() as work:
        sink = TableSet(work, (rollup, decisions), set(formats or FORMATS) & {"xlsx", "csv"}, f"district{d.id}", subtitle=d.name)
        total = sum(ClassData(session, c, now).total for c in classes)
        done = 0
        chains = {}
        for cls in classes:
            seq, digest = chain.head_of(session, cls.id)
            chains[chain.chain_of(cls.id)] = {"seq": seq, "hash": digest}
            data = ClassData(session, cls, now)
            counts = {True: 0, False: 0, None: 0}
            known, unknown, credited = 0, 0, 0
            from decimal import Decimal

            known = Decimal("0.00")
            credited = Decimal("0")
            for r in data.records():
                dec = r.decision
                counts[dec.eligible] += 1
                if dec.eligible is not False:
                    if dec.amount is None:
                        unknown += 1
                    else:
                        known += dec.amount
                credited += r.hours.ledger.credited
                sink.row(decisions, [cls.id, cls.name, r.name, show_id(r.resident_id, actor.sees_full_resident_ids),
                                     dec.required_hours, dec.credited_hours, r.hours.ledger.credited_online,
                                     eligible_zh(dec.eligible), amount_cell(dec), reasons_text(dec.reasons)])
                done += 1
                if progress:
                    progress(done, total)
            inst = session.get(Institution, cls.institution_id)
            sink.row(rollup, [cls.id, cls.name, inst.name if inst else "", data.policy.name, data.occupation.name,
                              LEVEL_ZH[cls.level.value], data.total, counts[True], counts[False], counts[None], known,
                              unknown, credited])
        sink.close()
        meta = {"kind": "district", "district": {"id": d.id, "name": d.name, "adcode": d.adcode},
                "exported_by": {"username": actor.username, "role": actor.role.value}, "classes": [c.id for c in classes]}
        sha = bundle.write_bundle(out, [(f.name, f) for f in sink.files], key, chains=chains, meta=meta, now=now)
        return ExportResult(out, sha, [f.name for f in sink.files], chains, None)


# --- background jobs -----------------------------------------------------------------------------------

def job_json(job: ExportJob, now: datetime, keep: timedelta) -> dict:
    """A finished job's bundle stays downloadable for `keep` (export_keep_days); after that the
    job says so (`file_expired`, with a message) and offers no download."""
    until = housekeeping.expires_at(job, keep)
    expired = housekeeping.file_expired(job, now, keep)
    return {"id": job.id, "kind": job.kind, "class_id": job.class_id, "district_id": job.district_id,
            "status": job.status, "done": job.done, "total": job.total,
            "progress": round(job.done / job.total, 4) if job.total else (1.0 if job.status == "done" else 0.0),
            "created_at": job.created_at.isoformat(), "finished_at": job.finished_at.isoformat() if job.finished_at else None,
            "sha256": job.sha256, "error": job.error,
            "expires_at": until.isoformat() if until else None, "file_expired": expired,
            "file_message": _expired_message(keep) if expired else None,
            "download": f"/api/export-jobs/{job.id}/download" if job.status == "done" and not expired else None}


def _expired_message(keep: timedelta) -> str:
    return f"导出文件已超过保存期限（完成后 {keep.days} 天）被删除；签名证据包可随时重新导出"


def create_job(session: Session, actor: Actor, *, kind: str, class_id: int | None = None, district_id: int | None = None,
               now: datetime, data_dir: Path) -> ExportJob:
    """Check scope and role now (the caller gets its 403/404 at once), then queue the job. The
    job's lock (export_housekeeping.JobLock) is taken before the row is committed, so no other
    process ever sees the job without a live owner; start_job hands it to the job's thread."""
    if class_id is not None:
        if kind not in CLASS_KINDS:
            raise ApiError(422, "unknown_export_kind", f"未知导出类型 {kind!r}，可选：{', '.join(CLASS_KINDS)}")
        visible_class(session, actor, class_id)
        require_role(actor, SEALERS if kind == "subsidy" else EXPORTERS)
    else:
        visible_district(session, actor, district_id)
    job = ExportJob(kind=kind, class_id=class_id, district_id=district_id, requested_by_id=actor.user_id,
                    created_at=now, status="queued", done=0, total=0)
    session.add(job)
    session.flush()
    audit.record(session, actor, "export.request", "export_job", job.id, None,
                 {"kind": kind, "class_id": class_id, "district_id": district_id})
    lock = housekeeping.JobLock.take(data_dir, job.id)
    try:
        session.commit()
    except BaseException:
        lock.release()
        raise
    with _locks_mutex:
        _job_locks[job.id] = lock
    return job


#: Locks of jobs created by this process and not yet handed to their thread (create_job -> start_job)
_job_locks: dict[int, housekeeping.JobLock] = {}
_locks_mutex = threading.Lock()


def visible_job(session: Session, actor: Actor, job_id: int) -> ExportJob:
    job = session.get(ExportJob, job_id)
    try:
        if job is None:
            raise ApiError(404, "export_not_found", "")
        if job.class_id is not None:
            visible_class(session, actor, job.class_id)
            require_role(actor, EXPORTERS)
        else:
            visible_district(session, actor, job.district_id)
    except ApiError:
        raise ApiError(404, "export_not_found", f"导出任务 {job_id} 不存在或不在您的管辖范围内") from None
    return job


def run_job(sessionmaker, job_id: int, actor: Actor, data_dir: Path, store: EvidenceStore, now: datetime,
            lock: housekeeping.JobLock | None = None) -> None:
    """The body of a job's thread: export, seal if for a subsidy, record the result. Progress is
    written by short transactions of its own, at most about once a second. Nothing escapes the
    thread: whatever goes wrong is recorded on the job (or, if even that fails, logged). The
    job's lock is let go only after the outcome is recorded."""
    try:
        _run_job(sessionmaker, job_id, actor, data_dir, store, now)
    finally:
        if lock is not None:
            lock.release()


def _run_job(sessionmaker, job_id: int, actor: Actor, data_dir: Path, store: EvidenceStore, now: datetime) -> None:
    try:  # this process's own leftovers of exports that died (a dead worker's temp dirs)
        housekeeping.sweep_temp_dirs()
    except Exception:  # noqa: BLE001 - housekeeping must never cost an export
        log.exception("sweeping export temp dirs failed")

    def update(**values) -> None:
        with sessionmaker() as s:
            s.connection(execution_options={"sqlite_begin": "IMMEDIATE"})
            job = s.get(ExportJob, job_id)
            if job is None:
                raise LookupError(f"export job {job_id} is gone")
            for k, v in values.items():
                setattr(job, k, v)
            s.commit()

    last = [0.0]

    def progress(done: int, total: int) -> None:
        t = time.monotonic()
        if t - last[0] >= 1.0 or done == total:
            last[0] = t
            update(done=done, total=total, status="running")

    try:
        try:
            update(status="running")
            with sessionmaker() as s:
                job = s.get(ExportJob, job_id)
                kind, class_id, district_id = job.kind, job.class_id, job.district_id
            key = signing.load_or_create(data_dir)
            subject = f"class{class_id}" if class_id else f"district{district_id}"
            name = f"{job_id}-{kind}-{subject}-{local(now):%Y%m%d-%H%M%S}.zip"
            out = exports_dir(data_dir) / name
            with sessionmaker() as s:
                if class_id is not None:
                    result = export_class(s, actor, class_id, kind, out, now, key, store=store, progress=progress)
                else:
                    result = export_district(s, actor, district_id, out, now, key, progress=progress)
                s.rollback()
            if result.seal is not None:
                with sessionmaker() as s:
                    s.connection(execution_options={"sqlite_begin": "IMMEDIATE"})
                    seal_class(s, actor, class_id, result, job_id, datetime.now(UTC))
                    s.commit()
            update(status="done", file_name=name, sha256=result.sha256, finished_at=datetime.now(UTC))
        except ApiError as exc:
            update(status="failed", error=exc.message, finished_at=datetime.now(UTC))
        except Exception as exc:  # noqa: BLE001 - the job records what went wrong instead of dying silently
            log.exception("export job %s failed", job_id)
            update(status="failed", error=f"{exc.__class__.__name__}: {exc}"[:2000], finished_at=datetime.now(UTC))
    except Exception:  # noqa: BLE001 - not even the failure could be recorded (database gone)
        log.exception("export job %s: could not record its outcome", job_id)


def start_job(app, job: ExportJob, actor: Actor, now: datetime) -> threading.Thread:
    settings = app.config["HOURPROOF_SETTINGS"]
    with _locks_mutex:
        lock = _job_locks.pop(job.id, None)
    thread = threading.Thread(
        target=run_job, name=f"export-{job.id}", daemon=True,
        args=(app.extensions["hourproof_db"].sessionmaker, job.id, actor, settings.data_dir,
              app.extensions["hourproof_evidence"], now, lock))
    try:
        thread.start()
    except BaseException:  # no thread will own it: let go, so that the recovery marks it failed
        if lock is not None:
            lock.release()
        raise
    with _locks_mutex:
        threads = app.extensions.setdefault("hourproof_export_threads", [])
        threads[:] = [t for t in threads if t.is_alive()]
        threads.append(thread)
    return thread


def wait_for_jobs(app, timeout_s: float) -> list[threading.Thread]:
    """Wait up to ``timeout_s`` in all for this app's export threads; returns those still running.

    Why: a job's thread uses the app's engine. Closing the app under a running job (tests end,
    a worker shuts down) would leave the job's connection open against a disposed pool, and the
    job writing on into a database that is being emptied or closed."""
    import time

    with _locks_mutex:
        threads = list(app.extensions.get("hourproof_export_threads", []))
    deadline = time.monotonic() + timeout_s
    for t in threads:
        t.join(max(0.0, deadline - time.monotonic()))
    return [t for t in threads if t.is_alive()]


def job_file(data_dir: Path, job: ExportJob, now: datetime, keep: timedelta) -> Path:
    if job.status != "done" or not job.file_name:
        raise ApiError(409, "export_not_ready", f"导出任务 {job.id} 尚未完成（{job.status}，{job.done}/{job.total}）")
    if housekeeping.file_expired(job, now, keep):
        raise ApiError(410, "export_file_expired", _expired_message(keep))
    path = exports_dir(data_dir) / job.file_name
    if not path.exists():
        raise ApiError(410, "export_file_gone", f"导出文件 {job.file_name} 已不存在，请重新导出")
    return path


# --- what the JS filing records -------------------------------------------------------------------------

def _writable_enrollment(session: Session, actor: Actor, enrollment_id: int) -> tuple[Enrollment, TrainingClass]:
    e = session.get(Enrollment, enrollment_id)
    if e is None:
        raise ApiError(404, "enrollment_not_found", f"报名记录 {enrollment_id} 不存在")
    try:
        cls = visible_class(session, actor, e.class_id)
    except ApiError:
        raise ApiError(404, "enrollment_not_found", f"报名记录 {enrollment_id} 不存在") from None
    require_role(actor, RECORDERS)
    return e, cls


def record_assessment(session: Session, actor: Actor, enrollment_id: int, theory: int, practice: int, passed: bool,
                      assessed_on: date, now: datetime) -> AssessmentResult:
    e, cls = _writable_enrollment(session, actor, enrollment_id)
    a = AssessmentResult(enrollment_id=e.id, theory_score=theory, practice_score=practice, passed=passed,
                         assessed_on=assessed_on, recorded_by_id=actor.user_id, recorded_at=now)
    session.add(a)
    session.flush()
    audit.record(session, actor, "assessment.record", "enrollment", e.id, None,
                 {"theory": theory, "practice": practice, "passed": passed, "assessed_on": assessed_on.isoformat()},
                 institution_id=cls.institution_id)
    session.commit()
    return a


def record_training_certificate(session: Session, actor: Actor, enrollment_id: int, number: str, issued_on: date,
                                now: datetime) -> Certificate:
    """The number the province generated (js 2.2): only for a trainee whose assessment passed."""
    e, cls = _writable_enrollment(session, actor, enrollment_id)
    latest = latest_assessments(session, [e.id]).get(e.id)
    if latest is None or not latest.passed:
        raise ApiError(409, "assessment_not_passed", "该学员没有考核通过的记录，不能登记培训合格证书")
    if session.scalar(select(func.count()).select_from(Certificate).where(Certificate.kind == "training",
                                                                          Certificate.number == number)):
        raise ApiError(409, "certificate_number_taken", f"证书编号 {number} 已被使用")
    if session.scalar(select(func.count()).select_from(Certificate).where(Certificate.kind == "training",
                                                                          Certificate.enrollment_id == e.id)):
        raise ApiError(409, "certificate_exists", "该报名已登记培训合格证书")
    inst = session.get(Institution, cls.institution_id)
    c = Certificate(trainee_id=e.trainee_id, kind="training", occupation_code=cls.occupation_code, direction=cls.direction or "—",
                    level=cls.level, number=number, issued_on=issued_on, issuer=inst.name, enrollment_id=e.id)
    session.add(c)
    session.flush()
    audit.record(session, actor, "certificate.record", "enrollment", e.id, None, {"number": number, "issued_on": issued_on.isoformat()},
                 institution_id=cls.institution_id)
    session.commit()
    return c


def upload_group_photo(session: Session, actor: Actor, lesson_id: int, photo: bytes, recognizer_factory, settings,
                       store: EvidenceStore, now: datetime) -> GroupPhoto:
    """学员合影 of an offline lesson: stored by hash, matched to the enrolled trainees' templates.
    The recognizer is made only once scope and role are checked (loading it costs a second)."""
    import recognition
    from recognition import Template

    lesson = session.get(Lesson, lesson_id)
    if lesson is None:
        raise ApiError(404, "lesson_not_found", f"课次 {lesson_id} 不存在")
    try:
        cls = visible_class(session, actor, lesson.class_id)
    except ApiError:
        raise ApiError(404, "lesson_not_found", f"课次 {lesson_id} 不存在") from None
    require_role(actor, PHOTO_UPLOADERS)
    if lesson.mode is not LessonMode.offline:
        raise ApiError(422, "not_offline", "合影只用于线下课次")
    if not photo:
        raise ApiError(422, "photo_missing", "请上传一张合影照片（photo）")
    roster = {}
    for e in session.scalars(select(Enrollment).where(Enrollment.class_id == cls.id)):
        t = session.scalar(select(FaceTemplate).where(FaceTemplate.trainee_id == e.trainee_id, FaceTemplate.erased_at.is_(None))
                           .order_by(FaceTemplate.id.desc()).limit(1))
        if t is not None and t.template:
            roster[str(e.trainee_id)] = Template.from_bytes(t.template)
    try:
        match = recognition.match_group_photo(photo, roster, recognizer_factory(), settings)
    except Exception as exc:  # fail closed: nothing is stored
        raise ApiError(503, "face_backend_error", f"人脸服务暂时不可用，未保存任何内容（{exc.__class__.__name__}）") from None
    digest = store.put(photo)
    g = GroupPhoto(class_id=cls.id, lesson_id=lesson.id, sha256=digest, uploaded_by_id=actor.user_id, uploaded_at=now,
                   present=[int(t) for t in match.present], match=match.evidence())
    session.add(g)
    session.flush()
    audit.record(session, actor, "group_photo.upload", "lesson", lesson.id, None,
                 {"group_photo_id": g.id, "sha256": digest, "present": len(match.present), "faces": len(match.faces)},
                 institution_id=cls.institution_id)
    session.commit()
    return g


def group_photo_json(g: GroupPhoto) -> dict:
    return {"id": g.id, "class_id": g.class_id, "lesson_id": g.lesson_id, "sha256": g.sha256,
            "uploaded_at": g.uploaded_at.isoformat(), "present": g.present, "match": g.match}
