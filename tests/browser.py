"""What the real-browser tests share: Debian's Chromium (found or the test skips with how to get
it) and the app served by werkzeug on 127.0.0.1 in a thread (a secure context: camera and
location work there)."""
from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("HOURPROOF_CHROMIUM", "/usr/bin/chromium")


def chromium_or_skip() -> str:
    """The Chromium executable; skips the test (with the fix) when there is none."""
    found = CHROMIUM if Path(CHROMIUM).exists() else shutil.which("chromium")
    if not found:
        pytest.skip(f"chromium not found at {CHROMIUM} (apt-get install chromium, or set HOURPROOF_CHROMIUM)")
    return found


@contextmanager
def serve(app) -> Iterator[str]:
    """Serve `app` on a free port of 127.0.0.1; yields the base URL."""
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
