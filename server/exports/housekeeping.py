"""Export jobs that died, and the files exports leave behind.

Who owns a job. An export runs in a thread of the web process that accepted it
(exports.start_job); with several gunicorn workers, or after a restart, the process that looks
at a job is usually not the one running it. A job row has no heartbeat column (and the schema is
not changed for this), and a timeout on progress would be wrong both ways: writing and signing a
large bundle advances `done` not at all for minutes, while a killed process stops at once. So
ownership is a kernel lock: the creating process takes an exclusive flock() on
<data dir>/exports/.jobs/<id>.lock *before* the job row is committed (nobody ever sees a job
without its owner's lock), hands it to the job's thread, and the thread lets go only after it has
recorded the outcome. The kernel releases a flock when the process dies, however it dies, so
"the lock can be taken" means "no live process owns this job": it is marked failed. That holds
with any number of web processes and scheduler containers sharing the data dir on one host (the
data dir is shared anyway: any worker must be able to serve any job's download). The descriptor
is close-on-exec (Python's default) and the face pool starts its workers with spawn, so no child
process inherits the lock and keeps a dead job looking alive.

Temp dirs: an export writes its tables into a `hourproof-export-*` dir in the system temp dir
and removes it when done; a killed process leaves it. Each export holds a flock on its dir's
descriptor for its lifetime (exports.work_dir), so a sweep removes only dirs nobody holds, and
only once they are a few minutes old (the moment between mkdtemp and flock).

Bundles: a finished job's zip is kept `export_keep_days` (HOURPROOF_EXPORT_KEEP_DAYS, default 7)
after it finished, then deleted; the bundle is signed and reproducible, so it can be exported
again. A subsidy export's Seal row (the figures it fixed, the bundle's SHA-256) is never touched:
only the downloadable copy goes. The job row stays and says the file has expired."""
from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import re
import shutil
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import cast

from sqlalchemy import CursorResult, select, update
from sqlalchemy.orm import Session

from server.models import ExportJob

log = logging.getLogger("hourproof.exports")

INTERRUPTED = "导出中断（服务重启），请重新导出"
UNFINISHED = ("queued", "running")
TEMP_PREFIX = "hourproof-export-"
#: A temp dir younger than this is left alone even when unlocked: it may be between mkdtemp and
#: the flock of a starting export.
TEMP_MIN_AGE = timedelta(minutes=5)
#: <job id>-<kind>-<subject>-<time>.zip as run_job names it, and its ".part" while being written
_JOB_FILE = re.compile(r"^(\d+)-[^/]+\.zip(\.part)?$")


def _locks_dir(data_dir: Path) -> Path:
    d = Path(data_dir) / "exports" / ".jobs"
    d.mkdir(parents=True, exist_ok=True, mode=0o700)
    return d


class JobLock:
    """The exclusive flock that says "a live process owns export job <id>"."""

    def __init__(self, path: Path, fd: int):
        self.path, self.fd = path, fd

    @classmethod
    def take(cls, data_dir: Path, job_id: int) -> JobLock:
        """Taken by the process creating the job, before its row is committed. A new job id has
        no lock yet, so this never waits; if it cannot be had, something is badly wrong."""
        path = _locks_dir(data_dir) / f"{job_id}.lock"
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise RuntimeError(f"export job {job_id}: its lock {path} is held by another process") from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())  # for a person looking: which process runs it
        return cls(path, fd)

    @classmethod
    def claim_if_dead(cls, data_dir: Path, job_id: int) -> JobLock | None:
        """None while a live process holds the job's lock; else the lock, now held by us (a job
        whose lock file is missing has no owner either: an empty claim)."""
        path = _locks_dir(data_dir) / f"{job_id}.lock"
        try:
            fd = os.open(path, os.O_RDWR)  # never create: a missing file is itself the answer
        except FileNotFoundError:
            return cls(path, -1)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return None
        return cls(path, fd)

    def release(self) -> None:
        """Unlink, then close (which drops the flock). Only the owner and a claimer who found
        the owner gone ever hold it, and no one takes a job's lock anew once its row exists, so
        removing the name under a holder cannot let two owners in."""
        if self.fd < 0:
            return
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
        os.close(self.fd)
        self.fd = -1


def recover_jobs(session: Session, data_dir: Path, now: datetime) -> list[int]:
    """Mark failed every queued or running job that no live process owns. The UPDATE is
    conditional and runs after the claim: a job that finished (and then let go of its lock)
    between our read and our claim keeps its outcome."""
    ids = session.scalars(select(ExportJob.id).where(ExportJob.status.in_(UNFINISHED)).order_by(ExportJob.id)).all()
    session.rollback()
    failed = []
    for job_id in ids:
        claim = JobLock.claim_if_dead(data_dir, job_id)
        if claim is None:
            continue  # alive
        try:
            session.connection(execution_options={"sqlite_begin": "IMMEDIATE"})
            # An UPDATE's result is a CursorResult (it has the rowcount); Session.execute is typed as Result.
            changed = cast(CursorResult, session.execute(
                update(ExportJob).where(ExportJob.id == job_id, ExportJob.status.in_(UNFINISHED))
                .values(status="failed", error=INTERRUPTED, finished_at=now))).rowcount
            session.commit()
        finally:
            claim.release()
        if changed:
            failed.append(job_id)
            log.warning("export job %s: no live process owns it (killed or restarted); marked failed", job_id)
    return failed


@contextlib.contextmanager
def work_dir() -> Iterator[Path]:
    """An export's scratch dir, flock-held for as long as the export runs and removed after."""
    path = Path(tempfile.mkdtemp(prefix=TEMP_PREFIX))
    fd = os.open(path, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # a fresh dir: nobody else has it
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)
        os.close(fd)


def sweep_temp_dirs(root: Path | None = None, min_age: timedelta = TEMP_MIN_AGE) -> list[str]:
    """Remove `hourproof-export-*` dirs in `root` (the system temp dir) that no export holds.
    Only the temp dir of this host (container) is reachable, so each process sweeps its own:
    at start, when it starts an export, and in the scheduler's duty."""
    root = Path(root or tempfile.gettempdir())
    removed = []
    cutoff = time.time() - min_age.total_seconds()
    for path in root.glob(TEMP_PREFIX + "*"):
        try:
            if not path.is_dir() or path.is_symlink() or path.stat().st_mtime > cutoff:
                continue
            fd = os.open(path, os.O_RDONLY)
        except OSError:  # gone meanwhile, or not ours to open
            continue
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue  # a running export
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path.name)
        finally:
            os.close(fd)
    if removed:
        log.info("removed %d export temp dirs left by exports that died: %s", len(removed), ", ".join(removed))
    return removed


def expires_at(job: ExportJob, keep: timedelta) -> datetime | None:
    return job.finished_at + keep if job.status == "done" and job.finished_at is not None else None


def file_expired(job: ExportJob, now: datetime, keep: timedelta) -> bool:
    until = expires_at(job, keep)
    return until is not None and now >= until


@dataclass
class SweepResult:
    expired: list[str] = field(default_factory=list)
    abandoned: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return f"{len(self.expired)} expired bundles deleted, {len(self.abandoned)} files of failed jobs deleted"


def sweep_files(session: Session, data_dir: Path, now: datetime, keep: timedelta) -> SweepResult:
    """Delete bundles of jobs that finished more than `keep` ago, and what failed jobs left
    (a killed job's half-written `.part`). Files of unfinished jobs, of jobs this database does
    not know, and files not named like a job's (the CLI's `cli-*.zip`) are left alone."""
    out = SweepResult()
    exports = Path(data_dir) / "exports"
    if not exports.is_dir():
        return out
    files: dict[int, list[Path]] = {}
    for path in exports.iterdir():
        m = _JOB_FILE.match(path.name)
        if m and path.is_file():
            files.setdefault(int(m.group(1)), []).append(path)
    if not files:
        return out
    jobs = {j.id: j for j in session.scalars(select(ExportJob).where(ExportJob.id.in_(list(files))))}
    session.rollback()
    for job_id, paths in sorted(files.items()):
        job = jobs.get(job_id)
        if job is None or job.status in UNFINISHED:
            continue
        for path in paths:
            if job.status == "failed":
                bucket = out.abandoned
            elif path.name != job.file_name:
                bucket = out.abandoned  # a stray .part of a job that finished under another name
            elif file_expired(job, now, keep):
                bucket = out.expired
            else:
                continue
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
            bucket.append(path.name)
    if out.expired or out.abandoned:
        log.info("export files: %s (kept %s after a job finishes)", out.summary(), keep)
    return out
