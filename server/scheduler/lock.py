"""The single-scheduler lock: however many `hourproof scheduler` (or demo) processes run against
one database, one holds the lock and runs the jobs; the others stand by and take over when it
goes away.

- PostgreSQL: a session-level advisory lock (pg_try_advisory_lock) held on a connection of its
  own for as long as the process runs the jobs. The server releases it when that connection
  ends - also when the process is killed or its host dies (the socket closes, or TCP keepalive
  gives up) - so there is no lease to expire and no clock to trust. The key is derived from the
  database and schema names, so two deployments sharing one server do not block each other.
- SQLite: an exclusive flock() on a file beside the database file. SQLite only works between
  processes of one host, which is exactly where flock works; the kernel releases it when the
  process dies, however it dies.

Both are polled (non-blocking), so a standby notices a dead holder within its poll interval."""
from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import threading
from pathlib import Path

from sqlalchemy import Connection, Engine, text
from sqlalchemy.engine import make_url

log = logging.getLogger("hourproof.scheduler")


class PostgresAdvisoryLock:
    def __init__(self, engine: Engine):
        self.engine = engine
        self.conn: Connection | None = None
        self.key: int | None = None
        self._mutex = threading.Lock()  # the lock's connection is shared by the job threads' checks

    @property
    def description(self) -> str:
        return f"PostgreSQL advisory lock {self.key}"

    def try_acquire(self) -> bool:
        with self._mutex:
            conn = self.engine.connect()
            try:
                name = conn.execute(text("SELECT current_database() || '/' || current_schema()")).scalar()
                digest = hashlib.sha256(f"hourproof-scheduler:{name}".encode()).digest()
                self.key = int.from_bytes(digest[:8], "big", signed=True)
                got = conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": self.key}).scalar()
                conn.commit()  # end the read transaction; a session-level lock outlives it
            except Exception:
                conn.close()
                raise
            if got:
                self.conn = conn
                return True
            conn.close()
            return False

    def still_held(self) -> bool:
        """True while the lock's connection answers (the lock lives as long as it does)."""
        with self._mutex:
            if self.conn is None:
                return False
            try:
                self.conn.execute(text("SELECT 1")).scalar()
                self.conn.commit()
                return True
            except Exception:  # the connection is gone, and with it the lock
                log.warning("the scheduler lock's database connection was lost")
                self.conn = None
                return False

    def release(self) -> None:
        with self._mutex:
            if self.conn is None:
                return
            try:
                self.conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": self.key})
                self.conn.commit()
            except Exception:  # closing the connection releases it anyway
                pass
            finally:
                self.conn.close()
                self.conn = None


class FileLock:
    def __init__(self, path: Path):
        self.path = Path(path)
        self.fd: int | None = None

    @property
    def description(self) -> str:
        return f"file lock {self.path}"

    def try_acquire(self) -> bool:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())  # for a person looking: who holds it
        self.fd = fd
        return True

    def still_held(self) -> bool:
        """True unless the file was removed or replaced under us (a new file is a new lock)."""
        if self.fd is None:
            return False
        try:
            return os.fstat(self.fd).st_ino == os.stat(self.path).st_ino
        except FileNotFoundError:
            return False

    def release(self) -> None:
        if self.fd is not None:
            os.close(self.fd)  # closing the descriptor releases the flock
            self.fd = None


def lock_for(database_url: str, data_dir: Path):
    """The right lock for the database: advisory on PostgreSQL, a file beside an SQLite file."""
    url = make_url(database_url)
    if url.get_backend_name() == "postgresql":
        from sqlalchemy.pool import NullPool

        from server.extensions import make_engine

        # TCP keepalives: a holder cut off from the server notices within about 25 s (its check
        # fails and it stops its jobs), about when the server drops the session and frees the lock.
        keepalives = {"keepalives": 1, "keepalives_idle": 10, "keepalives_interval": 5, "keepalives_count": 3}
        return PostgresAdvisoryLock(make_engine(database_url, poolclass=NullPool, connect_args=keepalives))
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        return FileLock(Path(url.database).with_name(Path(url.database).name + ".scheduler-lock"))
    return FileLock(Path(data_dir) / "scheduler.lock")
