"""Database connection pools: sized from the settings, and on PostgreSQL a pooled connection is
tested before use only after it sat idle (server/extensions.ping_when_idle) - a dead idle
connection is replaced without the request noticing, a busy one that breaks costs one failure."""
from __future__ import annotations

import os
import time

import pytest
from sqlalchemy import create_engine, exc, text

from server.config import Settings
from server.extensions import make_engine, ping_when_idle


def test_the_pools_are_sized_from_the_settings(app):
    settings = app.config["HOURPROOF_SETTINGS"]
    handle = app.extensions["hourproof_db"]
    for engine in (handle.engine, handle.read_engine):
        assert engine.pool.size() == settings.db_pool_size == 10
        assert engine.pool._max_overflow == settings.db_max_overflow == 10


@pytest.mark.parametrize(("name", "value", "message"), [
    ("HOURPROOF_DB_POOL_SIZE", "0", "HOURPROOF_DB_POOL_SIZE must be at least 1, got 0"),
    ("HOURPROOF_DB_POOL_SIZE", "ten", "HOURPROOF_DB_POOL_SIZE must be a whole number, got 'ten'"),
    ("HOURPROOF_DB_MAX_OVERFLOW", "-1", "HOURPROOF_DB_MAX_OVERFLOW must be at least 0, got -1"),
])
def test_a_bad_pool_setting_is_refused_with_its_name(tmp_path, name, value, message):
    with pytest.raises(ValueError) as caught:
        Settings.from_env({"HOURPROOF_DATA_DIR": str(tmp_path), "SECRET_KEY": "x", name: value})
    assert str(caught.value) == message


def test_pool_settings_come_from_the_environment(tmp_path):
    s = Settings.from_env({"HOURPROOF_DATA_DIR": str(tmp_path), "SECRET_KEY": "x", "HOURPROOF_DB_POOL_SIZE": "25",
                           "HOURPROOF_DB_MAX_OVERFLOW": "0"})
    assert (s.db_pool_size, s.db_max_overflow) == (25, 0)


def test_an_in_memory_sqlite_database_takes_no_pool_size(tmp_path):
    engine = make_engine("sqlite://", pool_size=3, max_overflow=2)
    with engine.connect() as conn:
        assert conn.scalar(text("SELECT 1")) == 1
    engine.dispose()


@pytest.fixture
def pg_url(test_db_url):
    if not test_db_url.startswith("postgresql"):
        pytest.skip("a server connection to lose is a PostgreSQL matter; SQLite has none")
    return test_db_url


def _kill(url: str, name: str) -> int:
    admin = create_engine(url)
    try:
        with admin.connect() as conn:
            killed = conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                       "WHERE application_name = :name"), {"name": name}).scalars().all()
            conn.commit()
    finally:
        admin.dispose()
    return sum(map(bool, killed))


@pytest.mark.parametrize("reads", [False, True], ids=["transactional", "autocommit"])
def test_an_idle_connection_killed_by_the_server_is_replaced_before_use(pg_url, reads):
    name = f"pool-probe-{os.getpid()}-{reads}"
    engine = make_engine(pg_url, reads=reads, connect_args={"application_name": name})
    ping_when_idle(engine, idle_s=0.2)  # a second listener, with a short idle time for the test
    try:
        with engine.connect() as conn:
            first = conn.scalar(text("SELECT pg_backend_pid()"))
        assert _kill(pg_url, name) == 1
        time.sleep(0.3)
        with engine.connect() as conn:  # no error: the ping found it dead and a new one was opened
            second = conn.scalar(text("SELECT pg_backend_pid()"))
            assert conn.scalar(text("SELECT 1")) == 1
        assert second != first
        assert engine.pool.checkedout() == 0
    finally:
        engine.dispose()


def test_a_busy_connection_killed_by_the_server_costs_one_failed_request_then_the_pool_recovers(pg_url):
    name = f"pool-probe-busy-{os.getpid()}"
    engine = make_engine(pg_url, connect_args={"application_name": name})
    try:
        with engine.connect() as conn:
            conn.scalar(text("SELECT 1"))
        assert _kill(pg_url, name) == 1
        with pytest.raises(exc.OperationalError):  # used again at once: not pinged (it was not idle)
            with engine.connect() as conn:
                conn.scalar(text("SELECT 1"))
        with engine.connect() as conn:
            assert conn.scalar(text("SELECT 1")) == 1
    finally:
        engine.dispose()
