"""The group commit (server/database/groupcommit.py) against the real database: every row handed to it
is committed exactly once before `write` returns, a failed batch stores nothing and tells every
waiter, and the writer carries on after a failure (a dropped connection included)."""
from __future__ import annotations

import os
import threading

import pytest
from sqlalchemy import Column, Integer, MetaData, Table, func, select, text

from server.database.groupcommit import GroupCommitFailed, GroupCommitWriter
from server.extensions import make_engine

PROBE = f"groupcommit-probe-{os.getpid()}"


@pytest.fixture
def table_and_engine(test_db_url):
    # Named on PostgreSQL, so the test can kill exactly this engine's connections.
    kw = {"connect_args": {"application_name": PROBE}} if test_db_url.startswith("postgresql") else {}
    engine = make_engine(test_db_url, **kw)
    table = Table("groupcommit_probe", MetaData(), Column("id", Integer, primary_key=True),
                  Column("v", Integer, nullable=False))
    table.create(engine)
    yield table, engine
    table.drop(engine)
    engine.dispose()


def count(engine, table) -> int:
    with engine.connect() as conn:
        return conn.scalar(select(func.count()).select_from(table))


def test_a_written_row_is_committed_when_write_returns(table_and_engine):
    table, engine = table_and_engine
    writer = GroupCommitWriter(engine, table)
    writer.write({"v": 1})
    # Another connection sees it at once: write returned after the commit, not before.
    assert count(engine, table) == 1


def test_rows_from_many_threads_are_each_stored_exactly_once_in_fewer_commits_than_rows(table_and_engine):
    table, engine = table_and_engine
    writer = GroupCommitWriter(engine, table)
    errors: list[BaseException] = []

    def work(base):
        try:
            for i in range(25):
                writer.write({"v": base * 1000 + i})
        except BaseException as exc:  # noqa: BLE001 - collected for the assertion
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with engine.connect() as conn:
        values = conn.scalars(select(table.c.v)).all()
    assert sorted(values) == sorted(b * 1000 + i for b in range(16) for i in range(25))
    assert writer.rows == 400
    # 16 threads each waiting on a commit: batches form by themselves (no timer in the writer).
    assert writer.batches < 400


def test_a_failed_batch_stores_nothing_tells_every_waiter_and_the_next_batch_succeeds(table_and_engine):
    table, engine = table_and_engine
    writer = GroupCommitWriter(engine, table)
    with pytest.raises(GroupCommitFailed, match="groupcommit_probe: IntegrityError"):
        writer.write({"v": None})  # NOT NULL: the database refuses the batch
    assert count(engine, table) == 0
    writer.write({"v": 7})
    assert count(engine, table) == 1


def test_a_connection_killed_under_the_writer_costs_at_most_one_failed_write(table_and_engine, test_db_url):
    table, engine = table_and_engine
    if not test_db_url.startswith("postgresql"):
        pytest.skip("terminating a backend is a PostgreSQL operation; SQLite has no server connection to lose")
    writer = GroupCommitWriter(engine, table)
    writer.write({"v": 1})
    admin = make_engine(test_db_url)
    try:
        with admin.connect() as conn:
            killed = conn.execute(text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = :name"),
                {"name": PROBE}).scalars().all()
            conn.commit()
    finally:
        admin.dispose()
    assert killed and all(killed)
    outcomes = []
    for v in (2, 3):
        try:
            writer.write({"v": v})
            outcomes.append("stored")
        except GroupCommitFailed:
            outcomes.append("failed")
    assert outcomes in (["stored", "stored"], ["failed", "stored"])
    assert count(engine, table) == 1 + outcomes.count("stored")
