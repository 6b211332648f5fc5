"""Exports are tested through the API on the two-district world of tests/api (SQLite and
PostgreSQL), with verified events added so that there are hours to export."""
from __future__ import annotations

import time
from datetime import timedelta

import pytest

from tests.api.conftest import login, worlds  # noqa: F401  (fixtures)


def add_attendance(session, world, *, check_in_after=5, check_out_before=10):
    """A verified check-in and check-out of the world's trainee in its (4-hour offline) lesson."""
    from server.models import Lesson
    from server.services import chain

    lesson = session.get(Lesson, world.lesson_id)
    out = []
    for kind, at in (("check_in", lesson.starts_at + timedelta(minutes=check_in_after)),
                     ("check_out", lesson.ends_at - timedelta(minutes=check_out_before))):
        out.append(chain.append(
            session, kind=kind, class_id=world.class_id, lesson_id=lesson.id, enrollment_id=world.enrollment_id,
            trainee_id=world.trainee_id, actor_id=world.trainee_user_id, at=at, verdict="verified", decides_event_id=None,
            spot_check_id=None, reasons=[], evidence={"frames": ["ab" * 32], "face": {"distance": 0.31, "threshold": 0.5}},
            idempotency_key=f"{kind}-{world.name}-{at.isoformat()}", device_id="device-0001-abcdef"))
    session.commit()
    return out


def wait_for(api, job: dict, timeout: float = 90) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        got = api.get(f"/api/export-jobs/{job['id']}").get_json()
        if got["status"] in ("done", "failed") or time.monotonic() > deadline:
            return got
        time.sleep(0.2)


def export(api, class_id: int, kind: str = "class") -> tuple[dict, bytes]:
    resp = api.post(f"/api/classes/{class_id}/exports", json={"kind": kind})
    assert resp.status_code == 202, resp.get_json()
    job = wait_for(api, resp.get_json())
    assert job["status"] == "done", job
    return job, download(api, job)


def download(api, job: dict) -> bytes:
    resp = api.get(job["download"])
    try:
        assert resp.status_code == 200, resp.get_data(as_text=True)[:300]
        return resp.data
    finally:
        resp.close()  # send_file's file handle


@pytest.fixture
def data_dir(app):
    return app.config["HOURPROOF_SETTINGS"].data_dir
