"""What the real-browser tests share: Debian's Chromium (found or the test skips with how to get
it) and the app served by werkzeug on 127.0.0.1 in a thread (a secure context: camera and
location work there); and for the phone app (tests/e2e): Chromium with a fake camera playing the
Hamilton clip, a phone-sized page, Miranda's log-in and a check-in."""
from __future__ import annotations

import os
import re
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.factories import PASSWORD

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


# --- the phone app in Chromium (tests/e2e) -------------------------------------------------------

ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"  # beside tests/
BASE_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
             "--disable-component-update", "--no-first-run", "--lang=zh-CN"]
#: The clip's frames the fake camera plays, in a loop (see tests/e2e/test_phone_checkin.py's docstring).
CLIP_FRAMES = (96, 197)
#: Frames the fake camera shows longer than the clip does: his turn to his left at its strongest
#: (frames 157-161, yaw about +0.1) is slowed to a third of its speed (each frame written 3 times,
#: 1/2 s in all). In the clip that turn peaks for about 0.2 s, so a burst sampling every 250 ms
#: could catch only its shoulders (+0.06, under turn_yaw from the burst's median): a CI run once saw
#: no left turn. A trainee asked to turn slowly turns more slowly than he does in the clip.
CLIP_HOLD = dict.fromkeys(range(157, 162), 3)
PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True,
         "locale": "zh-CN", "timezone_id": "Asia/Shanghai"}
#: Chromium's fake capture device calls itself "fake_device_0", which the server rightly flags as a
#: virtual camera. It stands in for a phone's front camera here, so it reports the label a phone does.
PHONE_CAMERA_LABEL = """
(() => {
  const d = Object.getOwnPropertyDescriptor(MediaStreamTrack.prototype, 'label');
  Object.defineProperty(MediaStreamTrack.prototype, 'label', {
    configurable: true,
    get() { return this.kind === 'video' ? 'camera2 1, facing front' : d.get.call(this); },
  });
})();
"""


def write_y4m(source: Path, first: int, last: int, target: Path, mirror: bool = False,
              hold: dict[int, int] | None = None) -> Path:
    """Frames first..last of a video as an uncompressed Y4M (4:2:0) file, the format Chromium's
    --use-file-for-fake-video-capture plays: a text header, then "FRAME\\n" + the Y, U and V planes
    of each frame. `mirror` flips each frame left to right: his turns then go the other way.
    `hold` maps a frame number to how many times it is written (see CLIP_HOLD)."""
    import cv2

    cap = cv2.VideoCapture(str(source))
    fps = cap.get(cv2.CAP_PROP_FPS) or 30.0
    frames = []
    try:
        i = 0
        while i <= last:
            ok, bgr = cap.read()
            if not ok:
                break
            if i >= first:
                frames.extend([cv2.flip(bgr, 1) if mirror else bgr] * (hold or {}).get(i, 1))
            i += 1
    finally:
        cap.release()
    held = sum(n - 1 for i, n in (hold or {}).items() if first <= i <= last)
    assert len(frames) == last - first + 1 + held, f"the clip has only {first + len(frames) - held} frames"
    h, w = frames[0].shape[:2]
    h, w = h - h % 2, w - w % 2
    num, den = (30000, 1001) if abs(fps - 29.97) < 0.01 else (round(fps), 1)
    with target.open("wb") as out:
        out.write(f"YUV4MPEG2 W{w} H{h} F{num}:{den} Ip A1:1 C420jpeg\n".encode("ascii"))
        for bgr in frames:
            out.write(b"FRAME\n")
            out.write(cv2.cvtColor(bgr[:h, :w], cv2.COLOR_BGR2YUV_I420).tobytes())
    return target


def launch(pw, *extra: str):
    executable = chromium_or_skip()
    # headless=False: the --headless=new above is the mode; Playwright would add the old one.
    return pw.chromium.launch(executable_path=executable, headless=False, args=BASE_ARGS + list(extra))


def camera_browser(pw, y4m: Path):
    return launch(pw, "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
                  f"--use-file-for-fake-video-capture={y4m}")


def phone_page(browser, where: dict, permissions=("geolocation", "camera"), **extra):
    context = browser.new_context(geolocation={"latitude": where["lat"], "longitude": where["lon"],
                                               "accuracy": where["accuracy_m"]},
                                  permissions=list(permissions), **(PHONE | extra))
    context.add_init_script(PHONE_CAMERA_LABEL)
    return context, watched_page(context)


def watched_page(context):
    """A new page whose script errors are collected in ``page.problems`` (a test asserts none)."""
    page = context.new_page()
    page.set_default_timeout(20_000)
    problems: list[str] = []
    page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}")
            if m.type == "error" and not m.text.startswith("Failed to load resource") else None)
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.problems = problems
    return page


def supervisor_page(browser, base: str, username: str = "supervisor"):
    """/live at a desktop's size, signed in as `username`, its Socket.IO connection up."""
    context = browser.new_context(viewport={"width": 1360, "height": 960}, locale="zh-CN")
    page = watched_page(context)
    page.goto(base + "/login?next=/live")
    page.fill("#login-form input[name=username]", username)
    page.fill("#login-form input[name=password]", PASSWORD)
    page.click("#login-form button[type=submit]")
    page.wait_for_selector("#live-status.on")  # the Socket.IO connection is up
    return context, page


def log_in(page, base: str) -> None:
    page.goto(base + "/m/")
    page.fill("#login-form input[name=username]", "miranda")
    page.fill("#login-form input[name=password]", PASSWORD)
    page.click("#login-form button[type=submit]")
    page.wait_for_selector("[data-view=home]:not([hidden]) .lesson")


def check_in(page, lesson_id: int, action: str = "check_in", prompts=("请缓慢向右转头", "请缓慢向左转头"),
             room_code: str | None = None) -> None:
    page.click(f".lesson[data-lesson-id='{lesson_id}'] button[data-action={action}]")
    page.wait_for_selector("#ck-ready:not([hidden])")
    if room_code is not None:
        page.fill("#ck-room-code", room_code)
    page.click("#ck-start")
    # each prompt shows at its own time, in the challenge's order
    from playwright.sync_api import expect

    for text in prompts:
        expect(page.locator("#ck-prompt")).to_have_text(text, timeout=10_000)
    page.wait_for_selector("[data-view=result]:not([hidden])", timeout=90_000)


def events_of(app, trainee_id: int):
    """The trainee's events as the database holds them, oldest first (read in a session of its own)."""
    from sqlalchemy import select

    from server.models import Event

    s = app.extensions["hourproof_db"].sessionmaker()
    try:
        return s.scalars(select(Event).where(Event.trainee_id == trainee_id).order_by(Event.id)).all()
    finally:
        s.close()


# --- a map tile server (the staff map pages) ----------------------------------------------------

def _tile_png() -> bytes:
    """A 256 x 256 tile: pale, with its edges drawn so a screenshot shows the tile grid."""
    import io

    from PIL import Image, ImageDraw

    image = Image.new("RGB", (256, 256), (236, 241, 232))
    ImageDraw.Draw(image).rectangle((0, 0, 255, 255), outline=(180, 190, 200))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


class Tiles:
    def __init__(self, url: str, paths: list[str], referrers: set[str | None]):
        self.url, self.paths, self.referrers = url, paths, referrers


@contextmanager
def tile_server() -> Iterator[Tiles]:
    """A tile server on 127.0.0.1 and a free port: a PNG for any /z/x/y.png, every path and
    referrer recorded."""
    body, paths, referrers = _tile_png(), [], set()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server's name
            paths.append(self.path)
            referrers.add(self.headers.get("Referer"))
            ok = re.fullmatch(r"/\d+/\d+/\d+\.png", self.path)
            self.send_response(200 if ok else 404)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", str(len(body) if ok else 0))
            self.end_headers()
            if ok:
                self.wfile.write(body)

        def log_message(self, *args):  # quiet
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Tiles(f"http://127.0.0.1:{server.server_port}", paths, referrers)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
