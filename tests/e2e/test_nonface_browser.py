"""A check-in without a face in a real Chromium, both phones at 390 px: the trainee refuses face
recognition in the check-in page and sends location + room code; the teacher taps 确认本人在场 on
the roll, from the room."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from tests.browser import PHONE, launch, phone_page, watched_page
from tests.factories import PASSWORD, inside_fix

pytestmark = [pytest.mark.slow, pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)]


def test_a_trainee_refuses_face_recognition_on_the_phone_and_the_teacher_confirms_them_with_one_tap_at_phone_width(
        app, live, server, playwright, session):
    from playwright.sync_api import expect

    from server.models import Consent, Event, NonfaceRequest, TrainingClass
    from server.services import room_codes

    session.get(TrainingClass, live["class_id"]).room_code = True
    session.commit()
    browser = launch(playwright)
    try:
        # Rose, with no face consent, opens the check-in on her phone and takes the other way.
        _ctx, phone = phone_page(browser, inside_fix(), permissions=("geolocation",))
        phone.goto(server + "/m/")
        phone.fill("#login-form input[name=username]", "rose")
        phone.fill("#login-form input[name=password]", PASSWORD)
        phone.click("#login-form button[type=submit]")
        phone.click(f".lesson[data-lesson-id='{live['offline']}'] button[data-action=check_in]")
        expect(phone.locator("#ck-nonface")).to_contain_text("不同意人脸识别")
        phone.click("#ck-refuse")
        expect(phone.locator("#ck-start")).to_have_text("提交，请老师确认本人在场")
        phone.fill("#ck-room-code", room_codes.shown(app.config["SECRET_KEY"], live["offline"], datetime.now(UTC)).code)
        phone.click("#ck-start")
        expect(phone.locator("#ck-status")).to_contain_text("已提交：请到授课老师处")
        assert phone.problems == []

        # The teacher, on a phone in the room, taps once.
        fix = inside_fix()
        context = browser.new_context(geolocation={"latitude": fix["lat"], "longitude": fix["lon"], "accuracy": 8},
                                      permissions=["geolocation"], **PHONE)
        page = watched_page(context)
        page.goto(server + "/login?next=/live")
        page.fill("#login-form input[name=username]", "teacher")
        page.fill("#login-form input[name=password]", PASSWORD)
        page.click("#login-form button[type=submit]")
        page.wait_for_selector("#live-status.on")
        page.locator(f"#lessons-table tr[data-lesson='{live['offline']}'] button", has_text="点名册").click()
        row = page.locator(f"#roll-table tr[data-trainee='{live['other']}']")
        expect(row.locator(".tag.method")).to_have_text("未使用人脸")
        page.wait_for_function("() => /\\d{3} \\d{3}/.test(document.getElementById('room-code-digits').textContent)")
        tap = row.locator("button.attest")
        expect(tap).to_have_text("确认本人在场（签到）")
        box = tap.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["viewport"]["width"], box
        tap.click()
        expect(row.locator(".tag.attested")).to_have_text("已确认：待复核")
        expect(row).to_contain_text("老师确认（未使用人脸）")  # the roll, read again, says how it was verified
        assert page.problems == []
    finally:
        browser.close()
    session.rollback()
    refusal = session.scalars(select(Consent).where(Consent.trainee_id == live["other"])).all()
    assert [(c.granted, c.channel) for c in refusal] == [(False, "phone")]
    assert session.scalar(select(NonfaceRequest.verdict).where(NonfaceRequest.trainee_id == live["other"])) == "pending"
    events = session.scalars(select(Event).where(Event.trainee_id == live["other"])).all()
    assert [(e.kind, e.verdict, e.evidence["method"]) for e in events] == [("check_in", "flagged", "teacher_attested")]
    assert events[0].evidence["teacher"]["fence"]["verdict"] == "inside"
