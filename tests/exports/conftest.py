"""Exports are tested through the API on the two-district `worlds` (tests/conftest.py; SQLite and
PostgreSQL), with verified events added (tests.factories.add_attendance) so that there are hours
to export."""
from __future__ import annotations

import pytest


@pytest.fixture
def data_dir(app):
    return app.config["HOURPROOF_SETTINGS"].data_dir
