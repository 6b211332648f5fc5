"""The supervisor's live dashboard in a real Chromium, next to a phone checking in with the fake
camera: the check-in shows on the dashboard within 2 s, the roll shows its evidence, and a
check-in outside the fence raises an alert with the distance."""
from __future__ import annotations

import re
import time
from datetime import UTC

import pytest

from tests.browser import (
    ARTIFACTS,
    PHONE,
    camera_browser,
    check_in,
    events_of,
    launch,
    log_in,
    phone_page,
    supervisor_page,
    watched_page,
)
from tests.factories import PASSWORD, Phone, inside_fix, live_event

pytestmark = [pytest.mark.slow, pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)]


def _enrolled(app, class_id: int) -> int:
    from sqlalchemy import func, select

    from server.models import Enrollment

    s = app.extensions["hourproof_db"].sessionmaker()
    try:
        return s.scalar(select(func.count()).select_from(Enrollment).where(Enrollment.class_id == class_id))
    finally:
        s.close()


def test_a_check_in_shows_on_the_supervisors_dashboard_within_two_seconds(app, live, server, playwright, fake_camera):
    from playwright.sync_api import expect

    enrolled = _enrolled(app, live["class_id"])
    browser = camera_browser(playwright, fake_camera)
    try:
        _, board = supervisor_page(browser, server)
        row = board.locator(f"#lessons-table tr[data-lesson='{live['offline']}']")
        expect(row.locator("td.checked-in")).to_have_text(f"0 / {enrolled}")

        _, phone = phone_page(browser, inside_fix(offset_m=20))
        log_in(phone, server)
        check_in(phone, live["offline"])
        expect(phone.locator("#result-verdict")).to_have_text("签到成功")
        shown = time.monotonic()
        expect(row.locator("td.checked-in")).to_have_text(f"1 / {enrolled}", timeout=2_000)
        assert time.monotonic() - shown < 2.0
        expect(row.locator("td.awaiting")).to_have_text("0")

        # Drill-down: the trainee is present, with the face figures and the fix drawn in the fence.
        row.locator("button", has_text="点名册").click()
        trainee = board.locator(f"#roll-table tr[data-trainee='{live['trainee']}']")
        expect(trainee.locator(".badge")).to_have_text("已签到")
        # the template's own accept threshold (0.413 moved by its neighbourhood in the deployment)
        expect(trainee).to_contain_text(re.compile(r"0\.\d+ / 阈值 0\.4\d ✓"))
        expect(trainee).to_contain_text("向右转头→向左转头")
        expect(trainee.locator("svg.plan circle.fix")).to_have_count(1)
        expect(trainee.locator("svg.plan circle.fence")).to_have_count(1)
        trainee.locator("button", has_text="查看照片").click()
        expect(trainee.locator("img.thumb")).to_be_visible()
        ARTIFACTS.mkdir(exist_ok=True)
        board.screenshot(path=str(ARTIFACTS / "supervisor-dashboard.png"), full_page=True)
        assert board.problems == [] and phone.problems == []
    finally:
        browser.close()


def test_a_check_in_outside_the_fence_raises_an_alert_with_the_distance(app, live, server, playwright, fake_camera):
    from playwright.sync_api import expect

    browser = camera_browser(playwright, fake_camera)
    try:
        _, board = supervisor_page(browser, server)
        _, phone = phone_page(browser, inside_fix(offset_m=600))
        log_in(phone, server)
        check_in(phone, live["offline"])
        expect(phone.locator("#result-verdict")).to_contain_text("未通过")
        alert = board.locator("#alerts li.rejected").first
        expect(alert).to_contain_text("签到未通过", timeout=2_000)
        expect(alert).to_contain_text("米")
        row = board.locator(f"#lessons-table tr[data-lesson='{live['offline']}']")
        expect(row.locator("td.count.bad")).to_have_text("1")
        expect(row.locator("td.checked-in")).to_contain_text("0 /")
        assert board.problems == []
    finally:
        browser.close()


def test_another_districts_supervisor_sees_none_of_it(app, live, server, playwright, fake_camera, session):
    from playwright.sync_api import expect

    from server.adapters.passwords import hash_password
    from server.models import City, District, Role, User

    city = session.scalar(__import__("sqlalchemy").select(City))
    other = District(city_id=city.id, adcode="500108", name="南岸区")
    session.add(other)
    session.flush()
    session.add(User(username="nanan", display_name="南岸监管", role=Role.district_supervisor, district_id=other.id,
                     password_hash=hash_password(PASSWORD)))
    session.commit()
    browser = camera_browser(playwright, fake_camera)
    try:
        _, board = supervisor_page(browser, server, "nanan")
        expect(board.locator("#lessons-table")).to_contain_text("现在没有正在上课的培训班")
        _, phone = phone_page(browser, inside_fix(offset_m=600))
        log_in(phone, server)
        check_in(phone, live["offline"])
        expect(phone.locator("#result-verdict")).to_contain_text("未通过")
        board.wait_for_timeout(2_000)  # what would have arrived by now, had it been sent
        expect(board.locator("#alerts li.rejected")).to_have_count(0)
        expect(board.locator("#alerts")).to_contain_text("暂无预警")
    finally:
        browser.close()


def test_after_a_dropped_connection_the_dashboard_catches_up_on_what_it_missed(app, live, server, playwright, session):
    from datetime import datetime

    from playwright.sync_api import expect
    from sqlalchemy import select

    from server.models import User
    from server.services import chain

    browser = launch(playwright)
    try:
        context, board = supervisor_page(browser, server)
        context.set_offline(True)
        expect(board.locator("#live-status")).to_contain_text("重连", timeout=30_000)
        # Stored while the dashboard is away, and never pushed to anyone: only the catch-up
        # from the last cursor can bring it.
        user = session.scalar(select(User).where(User.username == "rose"))
        event = chain.append(session, chain.NewEvent(kind="check_in", class_id=live["class_id"], lesson_id=live["offline"],
                             enrollment_id=None, trainee_id=user.trainee_id, actor_id=user.id, at=datetime.now(UTC),
                             verdict="rejected", decides_event_id=None, spot_check_id=None,
                             reasons=[{"code": "outside_fence", "clause": "渝人社〔2024〕5号", "detail": "距场地约 800 米"}],
                             evidence={}, idempotency_key="missed-while-offline", device_id=None))
        session.commit()
        context.set_offline(False)
        expect(board.locator("#live-status")).to_have_text("● 实时", timeout=30_000)
        alert = board.locator(f"#alerts li[data-key='event:{event.id}']")
        expect(alert).to_contain_text("距场地约 800 米")
        expect(board.locator(f"#lessons-table tr[data-lesson='{live['offline']}'] td.count.bad")).to_have_text("1")
        assert board.problems == []
    finally:
        browser.close()


def test_a_supervisor_approves_a_flagged_check_in_with_a_reason_and_the_decision_is_a_new_event(app, live, server, playwright, session):
    from datetime import datetime

    from playwright.sync_api import expect
    from sqlalchemy import select

    from server.models import Event, User
    from server.services import chain

    user = session.scalar(select(User).where(User.username == "miranda"))
    flagged = chain.append(session, chain.NewEvent(kind="check_in", class_id=live["class_id"], lesson_id=live["offline"],
                           enrollment_id=live["enrollment"], trainee_id=live["trainee"], actor_id=user.id,
                           at=datetime.now(UTC), verdict="flagged", decides_event_id=None, spot_check_id=None,
                           reasons=[{"code": "fence_uncertain", "clause": "渝人社〔2024〕5号", "detail": "定位误差圈跨越围栏边界"}],
                           evidence={}, idempotency_key="flagged-for-review", device_id=None))
    session.commit()
    browser = launch(playwright)
    try:
        _, board = supervisor_page(browser, server)
        alert = board.locator(f"#alerts li[data-key='event:{flagged.id}']")
        expect(alert).to_contain_text("待复核")
        counts = board.locator(f"#lessons-table tr[data-lesson='{live['offline']}']")
        expect(counts.locator("td.awaiting")).to_have_text("1")
        expect(counts.locator("td.checked-in")).to_have_text("0 / 2")
        board.locator(f"#lessons-table tr[data-lesson='{live['offline']}'] button", has_text="点名册").click()
        trainee = board.locator(f"#roll-table tr[data-trainee='{live['trainee']}']")
        expect(trainee.locator(".badge")).to_have_text("待复核")
        row = board.locator(f"#review-table tr[data-event='{flagged.id}']")
        expect(row).to_contain_text("定位误差圈跨越围栏边界")
        row.locator("button", has_text="批准").click()
        expect(row.locator(".form-error")).to_contain_text("请填写复核理由")
        row.locator("input[name=reason]").fill("已调取教室监控，本人在场")
        row.locator("button", has_text="批准").click()
        # Within 2 s, in the same push: the counts (a trainee checked in, nothing left to review)
        # and the alert, resolved with the decision, the reviewer, the time and the reason.
        expect(counts.locator("td.checked-in")).to_have_text("1 / 2", timeout=2_000)
        expect(counts.locator("td.awaiting")).to_have_text("0", timeout=2_000)
        expect(alert).to_have_class(re.compile("resolved"), timeout=2_000)
        expect(alert.locator(".resolution")).to_contain_text("已复核：批准（监管，")
        expect(alert.locator(".resolution")).to_contain_text("已调取教室监控，本人在场")
        expect(trainee.locator(".badge")).to_have_text("已签到")
        expect(trainee).to_contain_text("已复核：批准（监管")
        expect(board.locator("#review-table")).to_contain_text("没有待复核的记录")
        s = app.extensions["hourproof_db"].sessionmaker()
        try:
            decision = s.scalar(select(Event).where(Event.decides_event_id == flagged.id))
            assert decision is not None and decision.verdict == "approved" and decision.kind == "review_decision"
            assert decision.reasons[0]["detail"] == "已调取教室监控，本人在场"
            assert s.get(Event, flagged.id).verdict == "flagged"  # the original is never changed
        finally:
            s.close()
        assert board.problems == []
    finally:
        browser.close()


def test_a_teacher_on_a_phone_sees_the_roll_as_cards_files_the_group_photo_and_asks_only_who_is_present(
        app, live, server, playwright, faces_dir, session):
    from playwright.sync_api import expect

    browser = launch(playwright)
    try:
        context = browser.new_context(**PHONE)
        page = context.new_page()
        page.set_default_timeout(30_000)
        page.goto(server + "/login?next=/live")
        page.fill("#login-form input[name=username]", "teacher")
        page.fill("#login-form input[name=password]", PASSWORD)
        page.click("#login-form button[type=submit]")
        page.wait_for_selector("#live-status.on")
        assert page.locator("#duties-table").count() == 0  # deadlines are the institution's and 人社's
        page.locator(f"#lessons-table tr[data-lesson='{live['offline']}'] button", has_text="点名册").click()
        expect(page.locator(f"#roll-table tr[data-trainee='{live['trainee']}'] .badge")).to_have_text("未签到")
        page.set_input_files("#group-photo input[name=photo]",
                             str(faces_dir / "images" / "face_recognition" / "ex_lin-manuel-miranda.png"))
        page.click("#group-photo button[type=submit]")
        result = page.locator("#group-photo-result")
        expect(result).to_contain_text("在场：林曼努")
        expect(result).to_contain_text("未登记人脸、无法比对：罗斯林")  # no face template: not on the photo roster
        # In the photo but not checked in: said here, and an alert for the class's watchers.
        expect(result).to_contain_text("与签到不一致：林曼努（合影中识别出，但未签到）")
        expect(page.locator("#alerts li.flagged", has_text="合影核对")).to_contain_text("林曼努")
        page.screenshot(path=str(ARTIFACTS / "teacher-roll-phone.png"), full_page=True)
        # At a phone's width the roll is one card per trainee with all of its evidence in view.
        for card in page.locator("#roll-table tbody tr").all():
            box = card.bounding_box()
            assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["viewport"]["width"], box
            for label in ("最近记录", "人脸比对", "活体", "位置与围栏", "照片"):
                assert label in card.evaluate("""(tr) => [...tr.cells].map(td =>
                    getComputedStyle(td, '::before').content + ' ' + td.innerText).join(' ')""")
        # A spot check for the whole class, from the same view: nobody has checked in, so nobody
        # is asked (and nobody gets a "missed" against their name) ...
        page.click("#spot-check-all")
        expect(page.locator("#roll-error")).to_contain_text("当前没有已签到在课堂中的学员")
        # ... until one has: only that trainee is asked, and the page says so.
        live_event(session, live, "check_in", lesson="offline")  # stored directly: no push, so open the roll again
        page.locator(f"#lessons-table tr[data-lesson='{live['offline']}'] button", has_text="点名册").click()
        expect(page.locator(f"#roll-table tr[data-trainee='{live['trainee']}'] .badge")).to_have_text("已签到")
        page.click("#spot-check-all")
        expect(page.locator("#alerts li.info").first).to_contain_text("向在课堂中的 1 名学员推送")
        s = app.extensions["hourproof_db"].sessionmaker()
        try:
            from sqlalchemy import select

            from server.models import SpotCheck

            checks = s.scalars(select(SpotCheck).where(SpotCheck.lesson_id == live["offline"])).all()
            assert [(c.trainee_id, c.origin) for c in checks] == [(live["trainee"], "teacher")]
        finally:
            s.close()
    finally:
        browser.close()


def test_the_roll_says_when_a_checked_in_fix_was_taken_minutes_before_it_was_sent(app, live, server, playwright, clip_burst):
    # A fix two minutes old is still within the allowed age (LocationSettings.max_fix_age_s), but a
    # reviewer sees it (an older one is refused: tests/redteam/test_location_attacks.py).
    from datetime import datetime, timedelta

    from playwright.sync_api import expect

    stale = (datetime.now(UTC) - timedelta(minutes=2)).isoformat()
    body = Phone(app).send(live["offline"], clip_burst, location=inside_fix() | {"fix_at": stale}).get_json()
    assert body["verdict"] == "verified", body
    browser = launch(playwright)
    try:
        _, board = supervisor_page(browser, server)
        board.locator(f"#lessons-table tr[data-lesson='{live['offline']}'] button", has_text="点名册").click()
        trainee = board.locator(f"#roll-table tr[data-trainee='{live['trainee']}']")
        expect(trainee.locator("td.where small.warn")).to_have_text("定位时间早于提交 2 分钟")
        assert board.problems == []
    finally:
        browser.close()


def test_a_supervisor_on_a_phone_sees_a_held_enrolment_beside_the_face_it_resembles_and_approves_it(
        app, live, server, playwright, faces_dir, recognizer):
    """The institution enrolled Rose with Miranda's own photo: held against Miranda's template."""
    from playwright.sync_api import expect
    from sqlalchemy import select

    from server.clock import utc_now
    from server.models import Consent, Role, TrainingClass, User
    from server.services import faces
    from server.services.consent import CONSENT_SHA256, CONSENT_VERSION
    from server.services.scope import Actor

    s = app.extensions["hourproof_db"].sessionmaker()
    try:
        institution_id = s.get(TrainingClass, live["class_id"]).institution_id
        s.add_all([User(username="yubei-admin", display_name="机构管理员", role=Role.institution_admin,
                        institution_id=institution_id, password_hash="x"),
                   Consent(trainee_id=live["other"], purpose="biometric", granted=True, text_version=CONSENT_VERSION,
                           text_sha256=CONSENT_SHA256, channel="paper")])
        s.commit()
        admin = Actor.of(s.scalar(select(User).where(User.username == "yubei-admin")))
        photo = (faces_dir / "images" / "face_recognition" / "ex_lin-manuel-miranda.png").read_bytes()
        held = faces.enroll_face(s, admin, live["other"], [photo], None, recognizer, app.config["RECOGNITION_SETTINGS"],
                                 app.extensions["hourproof_evidence"], utc_now(), index=app.extensions["hourproof_face_index"])
        assert held.hold and held.hold["why"] == "duplicate"
    finally:
        s.close()

    browser = launch(playwright)
    try:
        context = browser.new_context(**PHONE)
        page = watched_page(context)
        page.goto(server + "/login?next=/live")
        page.fill("#login-form input[name=username]", "supervisor")
        page.fill("#login-form input[name=password]", PASSWORD)
        page.click("#login-form button[type=submit]")
        card = page.locator(f"#face-holds article[data-template='{held.id}']")
        expect(card.locator("h3")).to_have_text("与其他学员的人脸相似")
        expect(card).to_contain_text("本次采集：罗斯林")
        expect(card).to_contain_text("相似：林曼努")
        image = card.locator(".photos img").first
        expect(image).to_be_visible()
        assert image.evaluate("img => img.complete && img.naturalWidth > 0")  # the enrolment photo itself
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")  # no sideways scroll
        page.screenshot(path=str(ARTIFACTS / "face-hold-phone.png"), full_page=True)
        card.locator("button", has_text="通过").first.click()
        expect(card.locator(".form-error")).to_contain_text("请填写复核理由")
        card.locator("input[name=reason]").fill("已电话核实：两人为双胞胎")
        card.locator("button", has_text="确认是本人，通过").click()
        expect(page.locator("#face-holds")).to_contain_text("没有待复核的人脸登记")
    finally:
        browser.close()
    s = app.extensions["hourproof_db"].sessionmaker()
    try:
        assert faces.active_template(s, live["other"]).id == held.id  # approved: in force
    finally:
        s.close()


def test_the_trainee_types_the_room_code_the_teachers_screen_shows_and_is_verified(app, live, server, playwright, fake_camera):
    from playwright.sync_api import expect

    from server.models import TrainingClass

    s = app.extensions["hourproof_db"].sessionmaker()
    try:
        s.get_one(TrainingClass, live["class_id"]).room_code = True
        s.commit()
    finally:
        s.close()
    browser = camera_browser(playwright, fake_camera)
    try:
        _, board = supervisor_page(browser, server, "teacher")
        board.locator(f"#lessons-table tr[data-lesson='{live['offline']}'] button", has_text="点名册").click()
        expect(board.locator("#room-code-digits")).to_have_text(re.compile(r"^\d{3} \d{3}$"))
        expect(board.locator("#room-code-left")).to_contain_text("秒后更换")
        board.screenshot(path=str(ARTIFACTS / "teacher-room-code.png"))

        _, phone = phone_page(browser, inside_fix(offset_m=20))
        log_in(phone, server)
        phone.click(f".lesson[data-lesson-id='{live['offline']}'] button[data-action=check_in]")
        phone.wait_for_selector("#ck-ready:not([hidden])")
        expect(phone.locator("#ck-room-code-box")).to_be_visible()
        phone.click("#ck-start")  # no code typed: the page asks for it and asks the server nothing
        expect(phone.locator("#ck-room-code-error")).to_have_text("请输入教室屏幕上当前显示的 6 位数字课堂码")
        phone.screenshot(path=str(ARTIFACTS / "phone-room-code.png"), full_page=True)
        phone.fill("#ck-room-code", board.locator("#room-code-digits").inner_text())  # as shown: "482 913"
        phone.click("#ck-start")
        expect(phone.locator("#result-verdict")).to_have_text("签到成功", timeout=90_000)
        [event] = events_of(app, live["trainee"])
        assert event.evidence["room_code"]["status"] == "ok"
        assert board.problems == [] and phone.problems == []
    finally:
        browser.close()


def test_the_supervisor_approves_a_fence_that_fits_its_venue_and_cannot_approve_one_that_does_not(app, live, server, playwright):
    from playwright.sync_api import expect
    from sqlalchemy import select

    from server.models import Venue, VenueFenceDecision
    from tests.factories import VENUE_GCJ

    s = app.extensions["hourproof_db"].sessionmaker()
    try:
        institution_id = s.get_one(Venue, live["venue"]).institution_id
        fits, too_big = (Venue(institution_id=institution_id, name=name, address="渝北区", datum="gcj02", fence_kind="circle",
                               centre_lat=VENUE_GCJ[0], centre_lon=VENUE_GCJ[1], radius_m=radius, max_accuracy_m=50,
                               area_m2=420) for name, radius in (("二号教室", 70), ("三号教室", 250)))
        s.add_all([fits, too_big])
        s.commit()
        fits_id, too_big_id = fits.id, too_big.id
    finally:
        s.close()
    browser = launch(playwright)
    try:
        _, board = supervisor_page(browser, server)
        fits_card = board.locator(f"#fences article[data-venue='{fits_id}']")
        too_big_card = board.locator(f"#fences article[data-venue='{too_big_id}']")
        expect(fits_card).to_contain_text("围栏与申报面积相符")
        expect(too_big_card).to_contain_text("缩小围栏")
        expect(too_big_card.locator("button", has_text="通过")).to_be_disabled()
        board.screenshot(path=str(ARTIFACTS / "supervisor-fences.png"), full_page=True)
        fits_card.locator("button", has_text="通过").click()  # no reason yet
        expect(fits_card.locator(".form-error")).to_contain_text("复核理由")
        fits_card.locator("input[name=reason]").fill("现场核实，围栏覆盖教室及走廊")
        fits_card.locator("button", has_text="通过").click()
        expect(fits_card).to_have_count(0)
        expect(too_big_card).to_be_visible()
        s = app.extensions["hourproof_db"].sessionmaker()
        try:
            [decision] = s.scalars(select(VenueFenceDecision).where(VenueFenceDecision.venue_id == fits_id)).all()
            assert (decision.decision, decision.reason) == ("approve", "现场核实，围栏覆盖教室及走廊")
        finally:
            s.close()
        assert board.problems == []
    finally:
        browser.close()
