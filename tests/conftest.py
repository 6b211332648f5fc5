"""Fixtures shared by every test folder.

Real parts: face tests read the real images in ../shared/faces (beside the repository, or
HOURPROOF_FACES_DIR). Outside CI a missing folder skips those tests with the reason; in CI
(CI=true) it is an error, because a skipped face test there would hide a regression.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def _faces_dir() -> Path:
    env = os.environ.get("HOURPROOF_FACES_DIR")
    return Path(env) if env else REPO.parent / "shared" / "faces"


@pytest.fixture(scope="session")
def faces_dir() -> Path:
    path = _faces_dir()
    if not (path / "pairs.csv").exists():
        if os.environ.get("CI"):
            pytest.fail(f"real face data missing at {path} (set HOURPROOF_FACES_DIR)")
        pytest.skip(f"real face data not found at {path}; set HOURPROOF_FACES_DIR to run face tests")
    return path
