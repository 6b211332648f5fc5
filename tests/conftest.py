"""Fixtures shared by every test folder, and those more than one folder needs (the worlds: built
by tests/factories.py, which test modules import their helpers from).

Real parts: face tests read the real images in ../shared/faces (beside the repository, or
HOURPROOF_FACES_DIR). Outside CI a missing folder skips those tests with the reason; in CI
(CI=true) it is an error, because a skipped face test there would hide a regression.
"""
from __future__ import annotations

import functools
import os
from pathlib import Path

import pytest

from tests import factories


@pytest.fixture(scope="session")
def faces_dir() -> Path:
    path = factories.faces_dir_path()
    if not (path / "pairs.csv").exists():
        if os.environ.get("CI"):
            pytest.fail(f"real face data missing at {path} (set HOURPROOF_FACES_DIR)")
        pytest.skip(f"real face data not found at {path}; set HOURPROOF_FACES_DIR to run face tests")
    return path


# --- databases: every database test runs on SQLite and on PostgreSQL -------------------------
#
# PostgreSQL: HOURPROOF_TEST_DATABASE_URL (default: the local server's `test` database). Each run
# works in a schema of its own, dropped afterwards, so parallel runs do not meet. When no server
# answers, the PostgreSQL half is skipped - unless HOURPROOF_REQUIRE_POSTGRES=1 (CI), where that
# is a failure: a green run must mean the tests really ran against PostgreSQL.

import uuid  # noqa: E402

from sqlalchemy import create_engine, text  # noqa: E402

PG_DEFAULT = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def _pg_url() -> str:
    return os.environ.get("HOURPROOF_TEST_DATABASE_URL", PG_DEFAULT)


def _pg_reason_unavailable(url: str) -> str | None:
    try:
        engine = create_engine(url, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
        return None
    except Exception as exc:  # any failure to connect means "no server here"
        return f"PostgreSQL not reachable at {url}: {exc.__class__.__name__}"


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def database_url(request, tmp_path_factory):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'hourproof.sqlite3'}"
        return
    url = _pg_url()
    reason = _pg_reason_unavailable(url)
    if reason:
        if os.environ.get("HOURPROOF_REQUIRE_POSTGRES"):
            pytest.fail(reason + " (HOURPROOF_REQUIRE_POSTGRES is set)")
        pytest.skip(reason)
    schema = f"hp_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in url else "?"
    try:
        yield f"{url}{sep}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(scope="session")
def migrated_url(database_url):
    """The database at the newest schema, migrated once per backend through Alembic."""
    from server.database import migrate as dbmigrate
    from server.extensions import make_engine

    engine = make_engine(database_url)
    dbmigrate.upgrade(engine)
    engine.dispose()
    return database_url


@pytest.fixture
def test_db_url(migrated_url, tmp_path):
    """A migrated database of the test's own. SQLite: a copy of the migrated file (append-only
    triggers forbid emptying tables with DELETE). PostgreSQL: the run's schema, emptied afterwards
    with triggers off (session_replication_role needs the superuser the test server gives us)."""
    if migrated_url.startswith("sqlite"):
        import shutil

        src = migrated_url.removeprefix("sqlite:///")
        dst = tmp_path / "test.sqlite3"
        shutil.copy(src, dst)
        yield f"sqlite:///{dst}"
        return
    yield migrated_url
    from server.extensions import make_engine
    from server.models import Base

    engine = make_engine(migrated_url)
    with engine.begin() as conn:
        conn.execute(text("SET LOCAL session_replication_role = replica"))
        for table in reversed(Base.metadata.sorted_tables):
            conn.execute(table.delete())
    engine.dispose()


@pytest.fixture
def app(test_db_url, tmp_path):
    """A fresh app on a migrated database of the test's own."""
    from flask import request_finished

    from server import create_app

    app = create_app(
        {"TESTING": True, "database_url": test_db_url, "data_dir": tmp_path / "data", "secret_key": "test-secret", "ENV": {}}
    )
    # Every success the API answers in a test is held to its OpenAPI document: the status is one
    # the endpoint documents, the JSON body validates against its response model, a file has its
    # documented type (factories.answer_problem). A mismatch fails the test that met it.
    problems: list[str] = []
    with request_finished.connected_to(functools.partial(_note_answer_problem, problems), app):
        yield app
    from server import close_app

    close_app(app)
    if problems:
        pytest.fail("answers that do not match the OpenAPI document (server/api/responses.py):\n" + "\n".join(problems[:10]))


def _note_answer_problem(problems: list[str], sender, response, **_):
    from flask import request

    problem = factories.answer_problem(request.method, request.url_rule.rule if request.url_rule else None, response)
    if problem:
        problems.append(problem)


@pytest.fixture
def session(app):
    """A Session outside any request, for model and service tests. No app context is pushed:
    a pushed context would be reused by the test client's requests and leak `g` between them."""
    s = app.extensions["hourproof_db"].sessionmaker()
    try:
        yield s
    finally:
        s.rollback()
        s.close()


@pytest.fixture
def client(app):
    return app.test_client()


# --- worlds several folders test on (built by tests/factories.py) ------------------------------

@pytest.fixture
def worlds(app, session):
    """Two separate worlds (two districts, each with an institution, class, venue, trainee and a
    user of every role), so API tests can check scoping from the outside (tests/api, tests/web,
    tests/exports)."""
    return factories.build_worlds(session)


@pytest.fixture
def login(app):
    """login(username, password=PASSWORD, device_id=DEVICE) -> a logged-in factories.Api."""
    return functools.partial(factories.log_in, app)


@pytest.fixture
def world(session):
    """One district, an institution with a venue and three trainees, for the scheduled duties,
    anchors and retention (tests/db, tests/cli); classes come from factories.make_class."""
    return factories.build_duty_world(session)


@pytest.fixture(scope="session")
def recognizer():
    from recognition import DlibRecognizer

    return DlibRecognizer()


@pytest.fixture(scope="session")
def miranda_template(faces_dir, recognizer):
    return factories.enroll_miranda(faces_dir, recognizer)


@pytest.fixture(scope="session")
def clip_burst(faces_dir) -> list[bytes]:
    """Frames 100-165 (every 5th) as JPEG: he turns to his right, then back to his left."""
    frames = factories.clip_jpegs(faces_dir, 100, 165, 5)
    assert len(frames) == 14
    return frames


@pytest.fixture
def live(app, session, miranda_template, recognizer):
    """A class with an offline lesson in progress at a GCJ-02 venue, and an online lesson in
    progress too; Miranda enrolled, consented, face enrolled, phone bound (tests/checkin, tests/e2e)."""
    return factories.build_live_world(app, session, miranda_template, recognizer)
