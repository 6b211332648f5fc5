"""The README's demo command, run as a user would: the installed console script, a fresh data dir."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
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
                    raise AssertionError(f"demo server did not come up: {log.read_text()[-2000:]}")
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
