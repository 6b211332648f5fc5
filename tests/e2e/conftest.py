"""The phone app and the dashboard in a real browser run on the `live` world (tests/conftest.py): a
live lesson at a GCJ-02 venue, Miranda enrolled with consent and his face template, the challenge
seeded to the motions the real clip shows. Here: the app served on 127.0.0.1, Playwright, and
Chromium's fake camera fed with the clip (tests/browser.py)."""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.browser import CLIP_FRAMES, CLIP_HOLD, chromium_or_skip, serve, write_y4m


@pytest.fixture(scope="session")
def fake_camera(faces_dir, tmp_path_factory) -> Path:
    return write_y4m(faces_dir / "video" / "short_hamilton_clip.mp4", *CLIP_FRAMES,
                     tmp_path_factory.mktemp("camera") / "miranda-turns.y4m", hold=CLIP_HOLD)


@pytest.fixture(scope="session")
def mirrored_camera(faces_dir, tmp_path_factory) -> Path:
    """The same frames mirrored: he turns to his left, then to his right. A mirrored replay: the
    server compares every frame's mirror image with earlier frames too."""
    return write_y4m(faces_dir / "video" / "short_hamilton_clip.mp4", *CLIP_FRAMES,
                     tmp_path_factory.mktemp("camera") / "miranda-turns-mirrored.y4m", mirror=True,
                     hold=CLIP_HOLD)


@pytest.fixture
def server(app, live):
    """The app served by werkzeug on 127.0.0.1 and a free port, in a thread (the pattern of
    tests/web/test_staff_browser.py). 127.0.0.1 is a secure context: camera and location work."""
    with serve(app) as base:
        yield base


@pytest.fixture
def playwright():
    chromium_or_skip()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        yield pw
