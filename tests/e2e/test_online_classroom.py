"""The online classroom in a real browser (Debian's Chromium): the lesson's recorded video (the
real Hamilton clip, an H.264 MP4) plays inside the page, served by the app with range requests;
seeking ahead and speeding up are refused by the player; a spot check arriving during playback
pauses the video, is answered with the camera (the same clip as the fake camera), and the page
goes back to the classroom and plays on by itself, its heartbeats never stopping; the server
credits the content watched."""
from __future__ import annotations

import hashlib
import io
import time
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from tests.browser import ARTIFACTS, camera_browser, log_in, phone_page, supervisor_page
from tests.factories import PASSWORD, inside_fix, live_event


def _add_video(app, session, lesson_id: int, clip: bytes) -> None:
    from server.models import LessonMedia

    store = app.extensions["hourproof_media"]
    digest, size = store.put_stream(io.BytesIO(clip), len(clip))
    assert digest == hashlib.sha256(clip).hexdigest()
    session.add(LessonMedia(lesson_id=lesson_id, kind="recorded", sha256=digest, content_type="video/mp4",
                            size_bytes=size, duration_s=275 / 29.97, filename="第1讲.mp4"))


def _beats(session, trainee_id: int) -> int:
    from server.models import Heartbeat

    session.rollback()  # a fresh snapshot: the page's heartbeats are committed by the server
    return len(session.scalars(select(Heartbeat.id).where(Heartbeat.trainee_id == trainee_id)).all())


def _wait_for(condition, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def _player(page) -> dict:
    return page.evaluate("""() => { const v = document.getElementById('on-video');
        return {t: v.currentTime, paused: v.paused, rate: v.playbackRate, ended: v.ended}; }""")


@pytest.mark.slow
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_lesson_video_plays_in_the_page_refuses_skipping_a_spot_check_pauses_and_resumes_it_and_a_missed_one_says_its_cost(
        app, live, server, playwright, fake_camera, session, faces_dir, monkeypatch):
    import dataclasses

    from playwright.sync_api import expect

    from policies.model import Cited
    from server.models import Heartbeat, Lesson
    from server.services import ledger, rules

    clip = (faces_dir / "video" / "short_hamilton_clip.mp4").read_bytes()
    _add_video(app, session, live["online"], clip)
    session.commit()
    live_event(session, live, "check_in")
    teacher = app.test_client()
    csrf = teacher.post("/api/auth/login", json={"username": "teacher", "password": PASSWORD}).get_json()["csrf_token"]

    browser = camera_browser(playwright, fake_camera)
    try:
        context, page = phone_page(browser, inside_fix())
        log_in(page, server)
        page.click(f".lesson[data-lesson-id='{live['online']}'] button[data-action=online]")
        expect(page.locator("#on-player")).to_be_visible()
        expect(page.locator("#on-player-note")).to_contain_text("按实际观看的内容计入学时")
        page.wait_for_function("() => document.getElementById('on-video').readyState >= 1")
        # The trainee taps play (a click on the page first: a user gesture, as on a phone).
        page.locator("#on-video").click()
        page.evaluate("document.getElementById('on-video').play()")
        page.wait_for_function("() => document.getElementById('on-video').currentTime > 1.5")

        # The supervisor's roll of the online lesson: watching, where in the video; then, with the
        # video paused and the phone's page hidden, paused and hidden - pushed (sockets.PresencePush):
        # within 5 s, and without the roll being read again (its poll is every 15 s).
        _, board = supervisor_page(browser, server)
        roll_button = board.locator(f"#lessons-table tr[data-lesson='{live['online']}'] button", has_text="点名册")
        roll_button.click()
        cell = board.locator(f"#roll-table tr[data-trainee='{live['trainee']}'] td.presence")
        expect(cell).to_contain_text("观看中")
        expect(cell).to_contain_text("视频 0:0")
        roll_reads: list[str] = []
        board.on("request", lambda r: roll_reads.append(r.url) if r.url.endswith("/roll") else None)
        page.evaluate("document.getElementById('on-video').pause()")  # (the clip is 10 s: kept for later)
        expect(page.locator("#on-status")).to_contain_text("视频已暂停")  # the pause's own report is in
        expect(cell).to_contain_text("已暂停", timeout=5_000)
        page.evaluate("""() => {
            Object.defineProperty(document, 'visibilityState', {configurable: true, get: () => 'hidden'});
            document.dispatchEvent(new Event('visibilitychange'));
        }""")
        expect(page.locator("#on-beat")).to_contain_text("页面在后台")
        expect(cell).to_contain_text("页面在后台", timeout=5_000)
        assert roll_reads == []
        page.evaluate("""() => {
            Object.defineProperty(document, 'visibilityState', {configurable: true, get: () => 'visible'});
            document.dispatchEvent(new Event('visibilitychange'));
        }""")
        expect(page.locator("#on-beat")).not_to_contain_text("页面在后台")
        assert board.problems == []

        # Dragging the progress bar ahead: the player goes back to the furthest point watched.
        reached = _player(page)["t"]
        assert reached < 7, reached
        page.evaluate("document.getElementById('on-video').currentTime = 9.5")
        expect(page.locator("#on-player-warn")).to_contain_text("不能跳过未观看的内容")
        page.wait_for_function("() => !document.getElementById('on-video').seeking")
        assert _player(page)["t"] == pytest.approx(reached, abs=1.0), _player(page)
        # 2x: back to 1x.
        page.evaluate("document.getElementById('on-video').playbackRate = 2")
        expect(page.locator("#on-player-warn")).to_contain_text("只有 1 倍速播放计入学时")
        assert _player(page)["rate"] == 1
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "phone-online-classroom.png"), full_page=True)

        page.evaluate("document.getElementById('on-video').play()")
        page.wait_for_function("() => !document.getElementById('on-video').paused")
        # A spot check during playback: pushed, shown, and the video pauses.
        page.wait_for_selector("html[data-push=on]")
        resp = teacher.post(f"/api/lessons/{live['online']}/spot-checks", json={"trainee_ids": [live["trainee"]]},
                            headers={"X-CSRF-Token": csrf})
        assert resp.status_code == 201, resp.get_json()
        expect(page.locator("#on-spot")).to_be_visible(timeout=3_000)
        page.wait_for_function("() => document.getElementById('on-video').paused")
        paused_at = _player(page)["t"]
        page.click("#on-answer")
        page.wait_for_selector("#ck-ready:not([hidden])")
        # The heartbeats go on during the spot check: the page switched away and back (a trainee
        # glancing at a message) still reports, from the check-in screen.
        beats_before = _beats(session, live["trainee"])
        page.evaluate("""() => {
            Object.defineProperty(document, 'visibilityState', {configurable: true, get: () => 'hidden'});
            document.dispatchEvent(new Event('visibilitychange'));
            Object.defineProperty(document, 'visibilityState', {configurable: true, get: () => 'visible'});
            document.dispatchEvent(new Event('visibilitychange'));
        }""")
        _wait_for(lambda: _beats(session, live["trainee"]) >= beats_before + 2)
        page.click("#ck-start")
        page.wait_for_selector("[data-view=result]:not([hidden])", timeout=90_000)
        assert page.locator("#result-verdict").inner_text().strip() == "抽查已通过"
        expect(page.locator("#result-back-note")).to_contain_text("自动返回线上课堂")
        # ... and back in the classroom by itself, the video playing on from where it paused.
        expect(page.locator("#on-player")).to_be_visible(timeout=10_000)
        page.wait_for_function("() => !document.getElementById('on-video').paused")
        assert _player(page)["t"] >= paused_at
        session.rollback()
        during = session.scalars(select(Heartbeat).where(Heartbeat.trainee_id == live["trainee"]).order_by(Heartbeat.id)).all()
        # (the two reports race each other to the server: their order is not the page's)
        assert sorted(h.visible for h in during[beats_before:beats_before + 2]) == [False, True]
        assert {h.playback for h in during[beats_before:beats_before + 2]} == {"paused"}  # paused while answering
        assert all(h.rate == 1 for h in during if h.rate is not None)
        page.wait_for_function("() => document.getElementById('on-video').ended", timeout=20_000)
        checkpoint = paused_at  # where the passed spot check found him

        # A spot check missed (a region giving 15 s to answer): the page says what it cost and
        # offers to watch the uncredited part again from the last verified point.
        own = rules.region
        monkeypatch.setattr(rules, "region", lambda code: dataclasses.replace(
            own(code), spot_check_answer_seconds=Cited(15, "POLICY §9")))
        resp = teacher.post(f"/api/lessons/{live['online']}/spot-checks", json={"trainee_ids": [live["trainee"]]},
                            headers={"X-CSRF-Token": csrf})
        assert resp.status_code == 201, resp.get_json()
        expect(page.locator("#on-spot")).to_be_visible(timeout=3_000)
        missed = page.locator("#on-missed")
        expect(missed).to_contain_text("超时未完成", timeout=25_000)
        expect(missed).to_contain_text("不计入学时")
        expect(page.locator("#on-spot")).to_be_hidden()
        page.click("#on-rewatch")
        page.wait_for_function("() => !document.getElementById('on-video').paused")
        assert _player(page)["t"] == pytest.approx(checkpoint, abs=1.5)
        assert page.problems == []
    finally:
        browser.close()

    # The server credits the content watched before the passed spot check (the span it closes),
    # and never more than the video's length.
    session.expire_all()
    lesson = session.get(Lesson, live["online"])
    result = ledger.lesson_credit(session, lesson, live["trainee"], datetime.now(UTC), rules.region("cq").verification_clause)
    assert 1.0 <= result.credited_seconds <= 275 / 29.97, result
    assert "seek_ahead" not in {u.reason.code for u in result.uncredited}  # the page refused the skip itself


@pytest.fixture
def live_hls(tmp_path):
    """A live HLS stream written by ffmpeg (from PyPI: imageio-ffmpeg) in real time - a test
    pattern at 15 fps in 1-second H.264 segments, the last six listed - served with CORS by a
    media server of its own on 127.0.0.1. Yields the playlist's URL."""
    import http.server
    import subprocess
    import threading
    from functools import partial

    import imageio_ffmpeg

    out = tmp_path / "hls"
    out.mkdir()
    ffmpeg = subprocess.Popen(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-re", "-f", "lavfi",
         "-i", "testsrc=size=320x240:rate=15", "-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency",
         "-g", "15", "-pix_fmt", "yuv420p", "-f", "hls", "-hls_time", "1", "-hls_list_size", "6",
         "-hls_flags", "delete_segments+omit_endlist", str(out / "live.m3u8")],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    class Handler(http.server.SimpleHTTPRequestHandler):
        def end_headers(self):
            self.send_header("Access-Control-Allow-Origin", "*")
            self.send_header("Cache-Control", "no-cache")
            super().end_headers()

        def log_message(self, *args):
            pass

    media = http.server.ThreadingHTTPServer(("127.0.0.1", 0), partial(Handler, directory=str(out)))
    thread = threading.Thread(target=media.serve_forever, daemon=True)
    thread.start()
    try:
        _wait_for(lambda: (out / "live.m3u8").exists() and (out / "live.m3u8").read_text().count("#EXTINF") >= 3,
                  timeout_s=30)
        yield f"http://127.0.0.1:{media.server_port}/live.m3u8"
    finally:
        media.shutdown()
        media.server_close()
        ffmpeg.terminate()
        try:
            ffmpeg.wait(timeout=10)
        finally:
            if ffmpeg.stderr is not None:
                ffmpeg.stderr.close()


@pytest.mark.slow
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_live_hls_stream_plays_in_the_page_through_hls_js_and_time_at_the_live_edge_is_credited(
        app, live, server, playwright, fake_camera, session, live_hls):
    import dataclasses

    from playwright.sync_api import expect

    from server.models import Heartbeat, Lesson, LessonMedia
    from server.services import ledger, rules

    origin = live_hls.rsplit("/", 1)[0]
    app.config["MEDIA_SETTINGS"] = dataclasses.replace(app.config["MEDIA_SETTINGS"], origins=(origin,))
    session.add(LessonMedia(lesson_id=live["online"], kind="live", url=live_hls,
                            content_type="application/vnd.apple.mpegurl"))
    session.commit()
    live_event(session, live, "check_in")
    browser = camera_browser(playwright, fake_camera)
    try:
        context, page = phone_page(browser, inside_fix())
        # A browser that plays no HLS itself (an Android WebView; this Chromium would): the page
        # loads hls.js (vendored), which feeds the video element through Media Source Extensions.
        context.add_init_script("""(() => {
            const own = HTMLMediaElement.prototype.canPlayType;
            HTMLMediaElement.prototype.canPlayType = function (t) { return /mpegurl/i.test(t) ? '' : own.call(this, t); };
        })();""")
        log_in(page, server)
        page.click(f".lesson[data-lesson-id='{live['online']}'] button[data-action=online]")
        expect(page.locator("#on-player-note")).to_contain_text("直播课")
        page.wait_for_function("() => typeof Hls === 'function'")
        page.wait_for_function("() => document.getElementById('on-video').readyState >= 1", timeout=20_000)
        page.locator("#on-video").click()
        page.evaluate("document.getElementById('on-video').play()")
        page.wait_for_function("() => document.getElementById('on-video').currentTime > 1", timeout=20_000)
        expect(page.locator("#on-progress")).to_contain_text("直播中")
        time.sleep(4)  # watching
        page.evaluate("document.dispatchEvent(new Event('visibilitychange'))")  # (a report now, not in 15 s)
        _wait_for(lambda: _beats(session, live["trainee"]) >= 3)
        beats = session.scalars(select(Heartbeat).where(Heartbeat.trainee_id == live["trainee"]).order_by(Heartbeat.at)).all()
        lags = [h.live_lag_s for h in beats if h.playback == "playing"]
        assert lags and all(lag is not None and 0 <= lag < 30 for lag in lags), lags
        assert page.problems == []
    finally:
        browser.close()
    live_event(session, live, "check_out")
    session.expire_all()
    lesson = session.get(Lesson, live["online"])
    result = ledger.lesson_credit(session, lesson, live["trainee"], datetime.now(UTC), rules.region("cq").verification_clause)
    assert 3.0 <= result.credited_seconds <= 60, result
    assert "behind_live" not in {u.reason.code for u in result.uncredited}


@pytest.mark.slow
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_checkpoint_quiz_stops_the_video_a_wrong_answer_sends_the_trainee_back_and_a_right_one_plays_on(
        app, live, server, playwright, fake_camera, session, faces_dir):
    """With quizzes on for the class and a checkpoint at 0:03 of the clip: the video stops there and
    the questions show (never their answers); a wrong answer says what it cost and offers the
    segment again; after watching it again, right answers pass and the video plays on by itself."""
    from playwright.sync_api import expect

    from server.models import LessonQuiz, QuizAttempt, TrainingClass

    clip = (faces_dir / "video" / "short_hamilton_clip.mp4").read_bytes()
    _add_video(app, session, live["online"], clip)
    session.get(TrainingClass, live["class_id"]).checkpoint_quizzes = True
    session.flush()
    from server.models import LessonMedia

    media = session.scalars(select(LessonMedia)).one()
    session.add(LessonQuiz(lesson_id=live["online"], media_id=media.id, checkpoints={"checkpoints": [{
        "position_s": 3.0, "questions": [{"text": f"第{i}题：讲者在做什么？", "options": ["唱歌", "演讲", "跳舞"], "answer": 1}
                                          for i in (1, 2, 3)]}]}))
    session.commit()
    live_event(session, live, "check_in")
    browser = camera_browser(playwright, fake_camera)
    try:
        context, page = phone_page(browser, inside_fix())
        log_in(page, server)
        page.click(f".lesson[data-lesson-id='{live['online']}'] button[data-action=online]")
        page.wait_for_function("() => document.getElementById('on-video').readyState >= 1")
        page.locator("#on-video").click()
        page.evaluate("document.getElementById('on-video').play()")
        quiz = page.locator("#on-quiz")
        expect(quiz).to_be_visible(timeout=10_000)
        expect(page.locator("#on-quiz-title")).to_contain_text("第 1 段课程测验（0:00–0:03）")
        page.wait_for_function("() => document.getElementById('on-video').paused")
        assert 2.9 <= _player(page)["t"] <= 3.4, _player(page)
        # Play is refused at the checkpoint until the quiz is passed.
        page.evaluate("document.getElementById('on-video').play()")
        page.wait_for_function("() => document.getElementById('on-video').paused")

        for i in range(3):
            page.locator(f"input[name=quiz-q{i}]").nth(0).check()  # 唱歌: wrong
        page.click("#on-quiz-submit")
        expect(page.locator("#on-quiz-msg")).to_contain_text("答对 0/3 题，未通过")
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "phone-quiz-failed.png"), full_page=True)
        rewatch = page.locator("#on-quiz-rewatch")
        expect(rewatch).to_have_text("回到 0:00 重新观看这一段")
        rewatch.click()
        expect(quiz).to_be_hidden()
        # Watched again to the checkpoint: the questions come back.
        expect(quiz).to_be_visible(timeout=10_000)
        for i in range(3):
            page.locator(f"input[name=quiz-q{i}]").nth(1).check()  # 演讲
        page.click("#on-quiz-submit")
        expect(page.locator("#on-quiz-msg")).to_contain_text("第 1 段测验通过")
        expect(quiz).to_be_hidden(timeout=5_000)
        page.wait_for_function("() => document.getElementById('on-video').currentTime > 3.5")
        assert page.problems == []
    finally:
        browser.close()
    session.rollback()
    assert [a.passed for a in session.scalars(select(QuizAttempt).order_by(QuizAttempt.id))] == [False, True]
