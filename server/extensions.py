"""Extensions created unbound and bound to an app in create_app (Flask's init_app pattern)."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from flask import Flask, current_app, g, has_request_context, request
from flask_socketio import SocketIO
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker


@dataclass
class _Bound:
    engine: Engine
    sessionmaker: sessionmaker[Session]
    #: single-statement reads without BEGIN/ROLLBACK (see make_engine's ``reads``)
    read_engine: Engine


class Database:
    """One engine per app; one Session per app context, closed at teardown.

    Plain SQLAlchemy 2.0 rather than Flask-SQLAlchemy: services take a Session argument, so the
    same code runs in the CLI, the scheduler and tests. The engine is kept per app (in
    app.extensions), so several apps can live in one process (tests, two servers)."""

    def init_app(self, app: Flask, url: str, **engine_kw) -> None:
        engine = make_engine(url, **engine_kw)
        app.extensions["hourproof_db"] = _Bound(engine, sessionmaker(engine, expire_on_commit=False),
                                                make_engine(url, reads=True, **engine_kw))
        app.teardown_appcontext(self._close)

    @staticmethod
    def _bound() -> _Bound:
        return current_app.extensions["hourproof_db"]

    @staticmethod
    def engine_of(app: Flask) -> Engine:
        return app.extensions["hourproof_db"].engine

    @property
    def engine(self) -> Engine:
        return self._bound().engine

    @property
    def read_engine(self) -> Engine:
        """For one-statement reads on the hottest paths (the log-in check of every request, the
        heartbeat's lesson lookup): autocommit, so no BEGIN and ROLLBACK around the SELECT. A
        single SELECT is consistent on its own; anything that reads twice or writes uses
        ``engine`` or the session."""
        return self._bound().read_engine

    @property
    def sessionmaker(self) -> sessionmaker[Session]:
        return self._bound().sessionmaker

    @property
    def session(self) -> Session:
        """The request's session (one per app context)."""
        if "db_session" not in g:
            if has_request_context() and request.method not in ("GET", "HEAD", "OPTIONS"):
                # A request that may write begins every transaction with SQLite's write lock
                # (no effect on PostgreSQL). Handlers keep transactions short: auth ends its
                # read before the body is read (api/auth.py), check-in does its face work
                # between transactions (services/checkin.py).
                g.db_session = self.sessionmaker(bind=self.engine.execution_options(sqlite_begin="IMMEDIATE"))
            else:
                g.db_session = self.sessionmaker()
        return g.db_session

    @contextmanager
    def begin(self) -> Iterator[Session]:
        """A writing session outside a request (CLI, jobs): commit on success, roll back on error."""
        with self.sessionmaker.begin() as session:
            session.connection(execution_options={"sqlite_begin": "IMMEDIATE"})
            yield session

    @staticmethod
    def _close(exc: BaseException | None) -> None:
        session = g.pop("db_session", None)
        if session is not None:
            if exc is not None:
                session.rollback()
            session.close()


def make_engine(url: str, *, reads: bool = False, **kw) -> Engine:
    """The app's engine; ``reads=True``: an autocommit engine for single-statement reads."""
    if reads:
        kw["isolation_level"] = "AUTOCOMMIT"
    if url.startswith("sqlite"):
        kw.setdefault("connect_args", {"check_same_thread": False, "timeout": 30})
        if url in ("sqlite://", "sqlite:///:memory:"):  # one connection per thread: no queue to size
            kw.pop("pool_size", None)
            kw.pop("max_overflow", None)
        engine = create_engine(url, **kw)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):
            # Let SQLAlchemy, not the driver, begin transactions (SQLAlchemy's documented recipe):
            # pysqlite's own implicit BEGIN breaks SAVEPOINT.
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            # Foreign keys are off by default in SQLite; WAL lets readers go on during a write;
            # synchronous=FULL so an answered write survives a crash (evidence must).
            cur.execute("PRAGMA foreign_keys=ON")
            # WAL is a property of the file, kept once set. Setting it again on every new
            # connection needs a lock, and answers "database is locked" at once (no busy wait)
            # when another connection is mid-write: a new pooled reader under load then failed.
            if (cur.execute("PRAGMA journal_mode").fetchone() or ("",))[0].lower() != "wal":
                cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=FULL")
            cur.close()

        if reads:
            return engine  # autocommit: no transaction to begin

        @event.listens_for(engine, "begin")
        def _begin(conn):
            # Readers: deferred (WAL readers never block writers). Writers ask for IMMEDIATE
            # (see Database.session): two deferred writers that both read first would deadlock
            # on the upgrade; IMMEDIATE takes the write lock up front and the other one waits.
            mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
            conn.exec_driver_sql(f"BEGIN {mode}")

        return engine
    engine = create_engine(url, **kw)
    if kw.get("poolclass") is None:
        ping_when_idle(engine)
    return engine


#: A pooled connection unused for longer than this is tested before it is handed out.
PING_IDLE_S = 10.0


def ping_when_idle(engine: Engine, idle_s: float = PING_IDLE_S) -> None:
    """Test a pooled PostgreSQL connection before use only if it sat idle for ``idle_s``.

    Why not ``pool_pre_ping``: it pings on every checkout, a round trip to the server for each
    heartbeat's one read (bench/checkin.py on PostgreSQL: a third of the heartbeat's time in
    the fast path went to checkout). A connection in steady use has just proved itself; an idle
    one is where a database restart or a dropped TCP connection goes unnoticed. A busy
    connection that breaks anyway fails its request (an error answer, nothing half-written:
    every write is one transaction), and SQLAlchemy then recycles every connection of the pool
    opened before the failure, so one outage costs at most one failed request per engine."""
    import time

    from sqlalchemy import exc

    @event.listens_for(engine, "checkin")
    def _checkin(dbapi_conn, record) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checkout(dbapi_conn, record, proxy) -> None:
        since = record.info.get("idle_since")
        if since is None or time.monotonic() - since < idle_s:
            return
        try:
            with dbapi_conn.cursor() as cur:
                cur.execute("SELECT 1")
            if not dbapi_conn.autocommit:
                dbapi_conn.rollback()  # the SELECT began a transaction; hand the connection out idle
        except Exception as error:  # noqa: BLE001 - any failure: this connection is not usable
            # The pool discards this connection and checks out (or opens) another.
            raise exc.DisconnectionError(f"pooled connection failed its ping: {type(error).__name__}") from error


db = Database()
socketio = SocketIO()
