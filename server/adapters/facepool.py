"""Face work in worker processes, so a web process uses every core for faces.

Why: dlib's encoder and HOG detector hold the GIL, so the threads of one web process do face
work one at a time: a gthread worker used about one core for faces however many phones waited
(bench/checkin.py: 0.45x the machine's face capacity with one worker). Here a check-in's whole
liveness check (``recognition.check_liveness``: decode, track, landmarks, encodes) runs in one
of ``processes`` worker processes, each with its own models, while the web process's threads
only parse, check locations and write. Frames cross as bytes (~20 KB each) and the result comes
back as the same ``LivenessResult``; nothing else is shared.

Fails closed: a worker that dies (a crash in dlib, the OOM killer) breaks the pool; the checks
in flight raise, which the check-in service turns into an *unverified* event with a reason,
and the next check gets a fresh pool. Workers are started with ``spawn`` (the web process has
threads, so ``fork`` could copy a held lock) and exit on their own when their parent dies
(a SIGKILLed gunicorn must not leave face processes behind).

``HOURPROOF_FACE_PROCESSES``: how many (default: one per core); 0 runs face work in the web
process's threads, as tests with a fake recognizer do.
"""
from __future__ import annotations

import logging
import multiprocessing
import os
import threading
from collections.abc import Mapping
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from datetime import datetime
from typing import Any

log = logging.getLogger("hourproof.facepool")

_worker: dict[str, Any] = {}


def _init_worker(parent_pid: int) -> None:
    """Runs once in each worker: load the models now (not during the first check-in) and watch
    the parent."""
    from recognition import DlibRecognizer

    # One model set per worker process: the pool inside DlibRecognizer would otherwise load one
    # per core in every worker.
    os.environ["HOURPROOF_FACE_MODEL_SETS"] = "1"
    _worker["recognizer"] = DlibRecognizer()
    _worker["recognizer"].warm_up()

    def watch() -> None:
        import time

        while True:
            if os.getppid() != parent_pid:
                os._exit(0)  # orphaned: the web process is gone
            time.sleep(1.0)

    threading.Thread(target=watch, name="facepool-orphan-watch", daemon=True).start()


def _liveness_task(frames: list[bytes], challenge, template, settings, now: datetime, cohort=None, frame_times=None):
    from recognition import check_liveness

    return check_liveness(frames, challenge, template, _worker["recognizer"], settings, now, frame_times=frame_times,
                          cohort=cohort)


def _pid_task() -> int:
    return os.getpid()


class FacePool:
    """A lazily started pool of face worker processes (thread-safe)."""

    def __init__(self, processes: int) -> None:
        if processes < 1:
            raise ValueError("a face pool needs at least one process")
        self.processes = processes
        self._lock = threading.Lock()
        self._executor: ProcessPoolExecutor | None = None

    def _pool(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._executor is None:
                self._executor = ProcessPoolExecutor(
                    max_workers=self.processes, mp_context=multiprocessing.get_context("spawn"),
                    initializer=_init_worker, initargs=(os.getpid(),))
            return self._executor

    def _discard(self, broken: ProcessPoolExecutor) -> None:
        with self._lock:
            if self._executor is broken:
                self._executor = None
        broken.shutdown(wait=False, cancel_futures=True)

    def check_liveness(self, frames: list[bytes], challenge, template, settings, now: datetime, cohort=None,
                       frame_times=None):
        """``recognition.check_liveness`` in a worker process. Raises if the worker died; the
        caller must treat that as a failed check (never as a pass)."""
        executor = self._pool()
        try:
            return executor.submit(_liveness_task, list(frames), challenge, template, settings, now, cohort,
                                   None if frame_times is None else list(frame_times)).result()
        except BrokenProcessPool:
            log.error("a face worker process died; starting a new pool for the next check")
            self._discard(executor)
            raise

    def start(self) -> None:
        """Start the workers now, if they are not running (they load their models in the
        background). Cheap to call often: the challenge endpoint calls it, so the pool is warm by
        the time the phone sends its burst."""
        with self._lock:
            fresh = self._executor is None
        if not fresh:
            return
        executor = self._pool()
        for _ in range(self.processes):
            executor.submit(_pid_task)

    def worker_pids(self) -> set[int]:
        executor = self._pool()
        return {f.result() for f in [executor.submit(_pid_task) for _ in range(4 * self.processes)]}

    def shutdown(self) -> None:
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)


_shared: dict[int, FacePool] = {}
_shared_lock = threading.Lock()


def shared_pool(processes: int) -> FacePool:
    """One pool per web process (and size): apps created in the same process share it."""
    with _shared_lock:
        pool = _shared.get(processes)
        if pool is None:
            pool = _shared[processes] = FacePool(processes)
        return pool


def configured_processes(env: Mapping[str, str] | None = None) -> int:
    raw = (os.environ if env is None else env).get("HOURPROOF_FACE_PROCESSES")
    if raw is None or raw.strip() == "":
        return os.cpu_count() or 1
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"HOURPROOF_FACE_PROCESSES must be a whole number, got {raw!r}") from None
    if value < 0:
        raise ValueError(f"HOURPROOF_FACE_PROCESSES must be 0 or more, got {value}")
    return value
