"""The server as deployed, for tests that need a real one: gunicorn with docker/gunicorn.conf.py
in a process group of its own, on a free port, on the test app's database and data dir."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

GUNICORN = str(Path(sys.executable).with_name("gunicorn"))
CONF = str(Path(__file__).resolve().parents[1] / "docker" / "gunicorn.conf.py")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(app, log: Path, port: int | None = None, drop_env: tuple[str, ...] = (), **env_extra: str) -> tuple[subprocess.Popen, str]:
    """Start gunicorn and wait until /api/health answers; returns the process and its base URL.
    A server that does not come up is killed and its log is in the failure."""
    settings = app.config["HOURPROOF_SETTINGS"]
    port = port or free_port()
    env = {k: v for k, v in os.environ.items() if k not in drop_env}
    env.update(DATABASE_URL=settings.database_url, HOURPROOF_DATA_DIR=str(settings.data_dir), SECRET_KEY="test-secret",
               HOURPROOF_BIND=f"127.0.0.1:{port}", HOURPROOF_THREADS="8")
    env.update(env_extra)
    with open(log, "ab") as out:
        proc = subprocess.Popen([GUNICORN, "-c", CONF, "server.wsgi:app"], env=env, stdout=out, stderr=out,
                                start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if requests.get(base + "/api/health", timeout=2).status_code == 200:
                return proc, base
        except requests.RequestException:
            pass
        if proc.poll() is not None:
            break
        time.sleep(0.3)
    os.killpg(proc.pid, signal.SIGKILL)
    raise AssertionError("server did not start: " + log.read_text()[-3000:])
