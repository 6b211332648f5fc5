"""Group commit: many small inserts from many request threads share one transaction.

Why: a heartbeat (every phone in an online lesson, every <= 30 s) is one small row, and a
durable commit costs more than everything else the request does (SQLite with synchronous=FULL
syncs the WAL on every commit; PostgreSQL flushes its WAL). Here request threads hand their row
to one writer thread per process and wait; the writer inserts whatever has queued up in one
transaction and commits once. Nothing waits on purpose: while one commit runs the next batch
queues by itself, so a lone request costs one commit as before and a crowd costs one commit
per batch.

Durability is unchanged: ``write`` returns only after the commit that holds the row; if the
commit fails, every request of that batch gets the exception (and answers an error) - nothing
is answered as stored that was not.
"""
from __future__ import annotations

import logging
import os
import queue
import threading
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Table, insert
from sqlalchemy.engine import Engine

log = logging.getLogger("hourproof.groupcommit")


class GroupCommitFailed(Exception):
    """The row was not stored: its batch's commit failed (``__cause__`` says why), or no commit
    came within the wait limit (database stuck or gone)."""


@dataclass
class _Pending:
    row: dict[str, Any]
    done: threading.Event = field(default_factory=threading.Event)
    error: BaseException | None = None


class GroupCommitWriter:
    def __init__(self, engine: Engine, table: Table, max_batch: int = 500, wait_s: float = 30.0) -> None:
        self.engine = engine
        self.table = table
        self.max_batch = max_batch
        self.wait_s = wait_s
        self._queue: queue.SimpleQueue[_Pending] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._pid: int | None = None
        self.batches = 0  # commits made (for tests and the benchmark's curiosity)
        self.rows = 0

    def _ensure_thread(self) -> None:
        # Started on first use, and again in a forked child (a thread does not survive fork).
        if self._thread is not None and self._pid == os.getpid() and self._thread.is_alive():
            return
        with self._lock:
            if self._thread is None or self._pid != os.getpid() or not self._thread.is_alive():
                self._queue = queue.SimpleQueue()
                self._pid = os.getpid()
                self._thread = threading.Thread(target=self._run, name=f"group-commit-{self.table.name}",
                                                daemon=True)
                self._thread.start()

    def write(self, row: dict[str, Any]) -> None:
        """Insert ``row``; returns once it is committed, raises what the commit raised."""
        self._ensure_thread()
        pending = _Pending(row)
        self._queue.put(pending)
        if not pending.done.wait(self.wait_s):
            raise GroupCommitFailed(f"{self.table.name}: no commit within {self.wait_s:.0f} s")
        if pending.error is not None:
            # A fresh exception per waiter: the batch's one error object is shared by threads.
            raise GroupCommitFailed(f"{self.table.name}: {type(pending.error).__name__}") from pending.error

    def _run(self) -> None:
        # A connection per batch from the pool, closed after it: a writer lives as long as its
        # process, and a connection held for that long would outlive the app's engine (tests
        # build hundreds of apps) and a database restart.
        statement = insert(self.table)
        while True:
            batch = [self._queue.get()]
            while len(batch) < self.max_batch:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            error: BaseException | None = None
            try:
                with self.engine.connect().execution_options(sqlite_begin="IMMEDIATE") as conn:
                    with conn.begin():
                        conn.execute(statement, [p.row for p in batch])
                self.batches += 1
                self.rows += len(batch)
            except BaseException as exc:  # noqa: BLE001 - handed to every waiter of the batch
                log.error("group commit of %d %s rows failed: %s", len(batch), self.table.name, type(exc).__name__)
                error = exc
            for p in batch:
                p.error = error
                p.done.set()
