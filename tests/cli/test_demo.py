"""The README's demo command, run as a user would: the installed console script, a fresh data dir."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from datetime import UTC
from pathlib import Path

HOURPROOF = str(Path(sys.executable).with_name("hourproof"))


def _env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL", "SECRET_KEY"}}
    env["HOURPROOF_DATA_DIR"] = str(tmp_path / "data")
    return env


def test_the_demo_seeds_a_fresh_sqlite_file_and_prints_a_log_in_for_every_role(tmp_path):
    out = subprocess.run([HOURPROOF, "demo", "--no-serve"], env=_env(tmp_path), capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    for role in ["admin", "city_reviewer", "district_supervisor", "institution_admin", "teacher", "trainee"]:
        assert f"    {role} " in out.stdout
    assert (tmp_path / "data" / "hourproof.sqlite3").exists()
    again = subprocess.run([HOURPROOF, "demo", "--no-serve"], env=_env(tmp_path), capture_output=True, text=True, timeout=120)
    assert again.returncode == 0 and again.stdout == out.stdout


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_the_demo_server_answers_on_the_printed_url(tmp_path):
    port = _free_port()
    log = tmp_path / "demo.log"
    with open(log, "w") as out:
        proc = subprocess.Popen([HOURPROOF, "demo", "--port", str(port)], env=_env(tmp_path), stdout=out, stderr=out)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=2) as resp:
                    body = json.load(resp)
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(f"demo server did not come up: {log.read_text()[-2000:]}") from None
                time.sleep(0.3)
        assert body["status"] == "ok" and body["database"] == "sqlite"
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as resp:
            page = resp.read().decode()
        assert "<b>1</b>培训机构" in page
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def test_a_faces_folder_named_in_the_environment_is_the_only_one_used(monkeypatch, tmp_path):
    from server.services.demo import default_faces_dir

    monkeypatch.setenv("HOURPROOF_FACES_DIR", str(tmp_path / "nonexistent"))
    assert default_faces_dir() is None  # not silently ../shared/faces instead
    (tmp_path / "faces" / "images").mkdir(parents=True)
    monkeypatch.setenv("HOURPROOF_FACES_DIR", str(tmp_path / "faces"))
    assert default_faces_dir() == tmp_path / "faces"


def test_the_demo_has_a_live_chongqing_class_and_a_trainee_who_can_log_in_with_a_real_face(
        app, session, test_db_url, faces_dir, tmp_path):
    """`hourproof demo --no-serve` on the test's database (SQLite and PostgreSQL), then what it
    seeded, read back: the world the README promises, and the printed trainee log-in working."""
    from datetime import datetime

    from sqlalchemy import select

    import recognition
    from recognition import DlibRecognizer
    from server.models import (
        Consent,
        Enrollment,
        FaceTemplate,
        Institution,
        Lesson,
        LessonMode,
        Level,
        Trainee,
        TrainingClass,
        User,
        Venue,
    )

    env = _env(tmp_path) | {"DATABASE_URL": test_db_url, "HOURPROOF_FACES_DIR": str(faces_dir)}
    out = subprocess.run([HOURPROOF, "demo", "--no-serve"], env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert "faces:     林曼努: face enrolled from images/face_recognition/ex_lin-manuel-miranda.png" in out.stdout
    now = datetime.now(UTC)

    [inst] = session.scalars(select(Institution)).all()
    assert inst.region_code == "cq"
    assert session.scalars(select(Venue).where(Venue.institution_id == inst.id)).all()
    [cls] = [c for c in session.scalars(select(TrainingClass)) if "云计算" in c.name and c.level is Level.mid]
    lessons = session.scalars(select(Lesson).where(Lesson.class_id == cls.id)).all()
    in_progress = [x for x in lessons if x.starts_at <= now < x.ends_at]
    assert [x.mode for x in in_progress] == [LessonMode.offline] and in_progress[0].venue_id is not None
    assert any(x.mode is LessonMode.online and x.starts_at.date() >= now.date() for x in lessons)
    enrolled = session.scalars(select(Trainee).join(Enrollment, Enrollment.trainee_id == Trainee.id)
                               .where(Enrollment.class_id == cls.id)).all()
    assert len(enrolled) >= 2

    # The printed trainee log-in: its account is the trainee whose face is Lin-Manuel Miranda's.
    line = next(x.split() for x in out.stdout.splitlines() if x.strip().startswith("trainee "))
    username, password = line[1], line[2]
    user = session.scalar(select(User).where(User.username == username))
    assert user.trainee_id in {t.id for t in enrolled}
    consent = session.scalar(select(Consent).where(Consent.trainee_id == user.trainee_id).order_by(Consent.id.desc()))
    assert consent is not None and consent.granted and consent.purpose == "biometric"
    template = session.scalar(select(FaceTemplate).where(FaceTemplate.trainee_id == user.trainee_id,
                                                         FaceTemplate.erased_at.is_(None)))
    assert template is not None and template.consent_id == consent.id
    stored = recognition.Template.from_bytes(template.template)
    recognizer = DlibRecognizer()
    photos = faces_dir / "images" / "face_recognition"
    assert recognition.verify((photos / "ex_lin-manuel-miranda.png").read_bytes(), stored, recognizer).matched
    assert not recognition.verify((photos / "ex_obama.jpg").read_bytes(), stored, recognizer).matched

    phone = app.test_client()
    resp = phone.post("/api/auth/login", json={"username": username, "password": password, "device_id": "demo-phone-0001"})
    assert resp.status_code == 200, resp.get_json()
    me = phone.get("/api/auth/me").get_json()["user"]
    assert me["username"] == username and me["role"] == "trainee" and me["trainee_id"] == user.trainee_id
