"""Exports are tested through the API on the two-district `worlds` (tests/conftest.py; SQLite and
PostgreSQL), with verified events added (tests.factories.add_attendance) so that there are hours
to export."""
from __future__ import annotations

import re
import zipfile

import pytest


@pytest.fixture
def data_dir(app):
    return app.config["HOURPROOF_SETTINGS"].data_dir


def member_name(z: zipfile.ZipFile, what: str, ext: str) -> str:
    """The one file of a bundle named "<class>-<what>-<yyyymmdd>.<ext>" (server/exports/names.py)."""
    pattern = re.compile(rf"^.+-{re.escape(what)}-\d{{8}}\.{re.escape(ext)}$")
    found = [n for n in z.namelist() if pattern.match(n)]
    assert len(found) == 1, (what, ext, z.namelist())
    return found[0]


@pytest.fixture
def member():
    """member(zipfile, "考勤表", "csv"): the bundle's file of that kind, whatever the class and date."""
    return member_name
