"""Exports as use cases: build a signed bundle for a class (or a district), seal a class's hours
when the export is for a subsidy, and run long exports as background jobs with a progress figure
(start, run in a thread, record the outcome, wait for them at shutdown, serve the download until
it expires). What each kind of export writes is its builder's, in kinds.py; this module checks
scope and role, reads the chain heads and signs, the same for every kind.

Every export reads one database snapshot: the chain head written into the manifest is the head of
exactly the events that were exported."""
from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from server.adapters.filestore import EvidenceStore
from server.clock import utc_now
from server.errors import ApiError
from server.exports import bundle, housekeeping, kinds, names, signing
from server.exports.data import ClassData, local
from server.exports.kinds import Built, Progress
from server.models import District, ExportJob, Role, Seal, TrainingClass
from server.permissions import Capability
from server.services import audit, chain
from server.services.scope import Actor, classes_query, require, visible_class

log = logging.getLogger(__name__)

FORMATS = {"xlsx", "csv", "pdf"}


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


def export_class(session: Session, actor: Actor, class_id: int, kind: str, out: Path, now: datetime, key,
                 store: EvidenceStore | None = None, formats: set[str] | None = None,
                 progress: Progress | None = None) -> ExportResult:
    """Write the bundle of one class to `out` (read-only: sealing is `seal_class`, after)."""
    what = kinds.class_kind(kind)
    formats = set(formats or FORMATS)
    _snapshot(session)
    cls = visible_class(session, actor, class_id)
    require(actor, Capability.SEAL_SUBSIDIES if what.seals else Capability.EXPORT_CLASSES)
    seq, digest = chain.head_of(session, cls.id)
    data = ClassData(session, cls, now)
    prev = latest_seal(session, cls.id)
    with housekeeping.work_dir() as work:
        built = what.build(kinds.ClassExport(session, actor, cls, data, (seq, digest), prev, work, formats, now,
                                             store=store, progress=progress))
        meta = {
            "kind": what.name, "class": {"id": cls.id, "name": cls.name, "region": cls.region_code,
                                         "occupation": cls.occupation_code, "level": cls.level.value},
            "exported_by": {"username": actor.username, "role": actor.role.value},
            "trainees": data.total, "minutes_per_class_hour": data.policy.minutes,
            "hour_log_in_xlsx": built.hour_log_in_xlsx,
            "previous_seal": None if prev is None else {"id": prev.id, "sealed_at": prev.sealed_at.isoformat(),
                                                        "chain_seq": prev.chain_seq, "chain_hash": prev.chain_hash},
        }
        if built.seal is not None:
            meta["seal"] = {k: v for k, v in built.seal.items() if k != "figures"}
        return _signed(out, built, key, {chain.chain_of(cls.id): {"seq": seq, "hash": digest}}, meta, now)


def _signed(out: Path, built: Built, key, chains: dict, meta: dict, now: datetime) -> ExportResult:
    """The bundle of what a builder wrote (called while its work dir still holds the files)."""
    sha = bundle.write_bundle(out, [(f.name, f) for f in built.files], key, chains=chains, meta=meta, now=now)
    return ExportResult(out, sha, [f.name for f in built.files], chains, built.seal)


def seal_class(session: Session, actor: Actor, class_id: int, result: ExportResult, job_id: int | None, now: datetime) -> Seal:
    """Record the seal of a subsidy export (append-only). Later events are amendments."""
    s = result.seal
    if s is None:
        raise ValueError("only a subsidy export seals: its result has no seal to record")
    seal = Seal(class_id=class_id, sealed_at=now, sealed_by_id=actor.user_id, sealed_by_name=actor.username,
                chain_seq=s["chain_seq"], chain_hash=s["chain_hash"], figures=s["figures"], job_id=job_id,
                bundle_sha256=result.sha256)
    session.add(seal)
    session.flush()
    audit.record(session, actor, "class.seal", "class", class_id, None,
                 {"seal_id": seal.id, "chain_seq": seal.chain_seq, "bundle_sha256": result.sha256},
                 institution_id=session.get_one(TrainingClass, class_id).institution_id)
    return seal


# --- district roll-up ---------------------------------------------------------------------------------

def visible_district(session: Session, actor: Actor, district_id: int | None) -> District:
    """The district, if the actor may export it; else 404 (no district id at all, too), which does
    not tell a district that exists from one that is not the actor's to see."""
    require(actor, Capability.EXPORT_DISTRICTS)
    d = session.get(District, district_id)
    if d is None or not (actor.role is Role.admin or (actor.role is Role.district_supervisor and actor.district_id == d.id)
                         or (actor.role is Role.city_reviewer and actor.city_id == d.city_id)):
        raise ApiError(404, "district_not_found", f"区县 {district_id} 不存在或不在您的管辖范围内")
    return d


def export_district(session: Session, actor: Actor, district_id: int, out: Path, now: datetime, key,
                    formats: set[str] | None = None, progress: Progress | None = None) -> ExportResult:
    """区县汇总: each class's totals and every trainee's decision (with its class), one bundle."""
    _snapshot(session)
    d = visible_district(session, actor, district_id)
    classes = list(session.scalars(classes_query(actor).where(TrainingClass.district_id == d.id).order_by(TrainingClass.id)))
    chains = {}
    for cls in classes:
        seq, digest = chain.head_of(session, cls.id)
        chains[chain.chain_of(cls.id)] = {"seq": seq, "hash": digest}
    what = kinds.DISTRICT
    with housekeeping.work_dir() as work:
        built = what.build(kinds.DistrictExport(session, actor, d, classes, work, set(formats or FORMATS), now, progress=progress))
        meta = {"kind": what.name, "district": {"id": d.id, "name": d.name, "adcode": d.adcode},
                "exported_by": {"username": actor.username, "role": actor.role.value}, "classes": [c.id for c in classes]}
        return _signed(out, built, key, chains, meta, now)


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


#: Export jobs one user may have queued or running at once.
MAX_JOBS_PER_USER = 2


def create_job(session: Session, actor: Actor, *, kind: str, class_id: int | None = None, district_id: int | None = None,
               now: datetime, data_dir: Path) -> ExportJob:
    """Check scope and role now (the caller gets its 403/404 at once), then queue the job. The
    job's lock (housekeeping.JobLock) is taken before the row is committed, so no other
    process ever sees the job without a live owner; start_job hands it to the job's thread."""
    if class_id is not None:
        what = kinds.class_kind(kind)
        visible_class(session, actor, class_id)
        require(actor, Capability.SEAL_SUBSIDIES if what.seals else Capability.EXPORT_CLASSES)
    else:
        visible_district(session, actor, district_id)
    # Each job is a thread reading the whole class: one user starting twenty in a row must not
    # take the server's threads and database connections from everyone else.
    running = session.scalar(select(func.count(ExportJob.id)).where(
        ExportJob.requested_by_id == actor.user_id, ExportJob.status.in_(("queued", "running")))) or 0
    if running >= MAX_JOBS_PER_USER:
        raise ApiError(429, "too_many_exports", f"您已有 {running} 个导出正在进行，请等它们完成后再导出")
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
            require(actor, Capability.EXPORT_CLASSES)
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
            with sessionmaker() as s:
                found = s.get(TrainingClass, class_id) if class_id is not None else s.get(District, district_id)
                # (one that is gone fails in the export below, with its own message)
                subject = found.name if found is not None else f"{kind}{class_id or district_id}"
            # "<job>-<class name>-<kind in Chinese>-<yyyymmdd-hhmm>.zip": the job number keeps it unique
            # here, and the download is named without it (download_name).
            name = f"{job_id}-{names.bundle_name(subject, kind, local(now))}"
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
                    seal_class(s, actor, class_id, result, job_id, utc_now())
                    s.commit()
            update(status="done", file_name=name, sha256=result.sha256, finished_at=utc_now())
        except ApiError as exc:
            update(status="failed", error=exc.message, finished_at=utc_now())
        except Exception as exc:  # noqa: BLE001 - the job records what went wrong instead of dying silently
            log.exception("export job %s failed", job_id)
            update(status="failed", error=f"{exc.__class__.__name__}: {exc}"[:2000], finished_at=utc_now())
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
    with _locks_mutex:
        threads = list(app.extensions.get("hourproof_export_threads", []))
    deadline = time.monotonic() + timeout_s
    for t in threads:
        t.join(max(0.0, deadline - time.monotonic()))
    return [t for t in threads if t.is_alive()]


def download_name(job: ExportJob) -> str:
    """The name a downloaded bundle is saved under: its file's name without the job number in front."""
    name = job.file_name or f"{job.id}.zip"
    return name.split("-", 1)[1] if name.split("-", 1)[0] == str(job.id) and "-" in name else name


def job_file(data_dir: Path, job: ExportJob, now: datetime, keep: timedelta) -> Path:
    if job.status != "done" or not job.file_name:
        raise ApiError(409, "export_not_ready", f"导出任务 {job.id} 尚未完成（{job.status}，{job.done}/{job.total}）")
    if housekeeping.file_expired(job, now, keep):
        raise ApiError(410, "export_file_expired", _expired_message(keep))
    path = exports_dir(data_dir) / job.file_name
    if not path.exists():
        raise ApiError(410, "export_file_gone", f"导出文件 {job.file_name} 已不存在，请重新导出")
    return path

