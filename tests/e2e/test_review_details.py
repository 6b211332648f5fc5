"""Reviewing a flagged check-in with its context in a real Chromium: the supervisor opens the
row's details, asks for the photos and sees Miranda's enrolment photo beside the burst's frame,
then approves from the keyboard, and the row says what was decided, by whom, when and why."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.browser import ARTIFACTS, launch, supervisor_page
from tests.factories import clip_jpegs

pytestmark = [pytest.mark.slow, pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)]


def test_a_supervisor_sees_the_enrolment_photo_beside_the_frame_and_approves_with_enter(app, live, server, playwright,
                                                                                          session, faces_dir):
    from playwright.sync_api import expect
    from sqlalchemy import select

    from server.models import AuditEntry, Consent, Event, FaceTemplate, User
    from server.services import chain

    store = app.extensions["hourproof_evidence"]
    photo = (faces_dir / "images" / "face_recognition" / "ex_lin-manuel-miranda.png").read_bytes()
    old = session.scalar(select(FaceTemplate).where(FaceTemplate.trainee_id == live["trainee"]))
    # His template as enrolled by staff: the same face, now with the photo it was made from.
    consent = session.scalar(select(Consent).where(Consent.trainee_id == live["trainee"]))
    template = FaceTemplate(trainee_id=live["trainee"], template=old.template, model=old.model, model_version=old.model_version,
                            photo_hashes=[store.put(photo)], consent_id=consent.id)
    session.add(template)
    session.flush()
    user = session.scalar(select(User).where(User.username == "miranda"))
    flagged = chain.append(session, chain.NewEvent(
        kind="check_in", class_id=live["class_id"], lesson_id=live["offline"], enrollment_id=live["enrollment"],
        trainee_id=live["trainee"], actor_id=user.id, at=datetime.now(UTC), verdict="flagged", decides_event_id=None,
        spot_check_id=None, reasons=[{"code": "face_uncertain", "clause": "渝人社〔2024〕5号", "detail": "人脸相似度介于通过与拒绝之间"}],
        evidence={"frames": [store.put(clip_jpegs(faces_dir, 10, 10, 1)[0])], "face": {"template_id": template.id}},
        idempotency_key="flagged-with-context", device_id=None))
    session.commit()
    browser = launch(playwright)
    try:
        _, board = supervisor_page(browser, server)
        board.locator(f"#lessons-table tr[data-lesson='{live['offline']}'] button", has_text="点名册").click()
        row = board.locator(f"#review-table tr[data-event='{flagged.id}']")
        row.locator("button", has_text="复核详情").click()
        panel = board.locator(f"#review-table tr[data-details='{flagged.id}']")
        expect(panel).to_contain_text("人脸相似度介于通过与拒绝之间")
        reason = panel.locator("input[name=reason]")
        expect(reason).to_be_focused()
        expect(panel.locator("img")).to_have_count(0)  # nothing biometric before the click
        panel.locator("button", has_text="查看照片（将记录查看）").click()
        enrolment = panel.locator(".side", has_text="林曼努 的登记照片").locator("img")
        frame = panel.locator(".side", has_text="本次签到画面").locator("img")
        expect(enrolment).to_have_count(1)
        expect(frame).to_have_count(1)
        expect(enrolment).to_have_js_property("complete", True)
        a, b = enrolment.bounding_box(), frame.bounding_box()
        assert a and b and a["width"] > 0 and b["width"] > 0 and a["x"] + a["width"] <= b["x"]  # side by side
        assert abs(a["y"] - b["y"]) < 40
        ARTIFACTS.mkdir(exist_ok=True)
        panel.screenshot(path=str(ARTIFACTS / "review-details.png"))

        reason.fill("与登记照片比对，确为本人")
        reason.press("Enter")  # moves to 批准; Enter alone never decides
        expect(panel.locator("button", has_text="批准")).to_be_focused()
        board.keyboard.press("Enter")
        decided = board.locator(f"#review-table tr[data-event='{flagged.id}'] td.decision")
        expect(decided).to_contain_text("已复核：批准（监管，")
        expect(decided).to_contain_text("与登记照片比对，确为本人")
        expect(panel).to_have_count(0)

        s = app.extensions["hourproof_db"].sessionmaker()
        try:
            decision = s.scalar(select(Event).where(Event.decides_event_id == flagged.id))
            assert decision is not None and decision.verdict == "approved"
            views = s.scalars(select(AuditEntry.action).where(AuditEntry.entity_id == flagged.id,
                                                              AuditEntry.action.like("evidence.view_%"))).all()
            assert sorted(views) == ["evidence.view_enrolment_photo", "evidence.view_frame"]
        finally:
            s.close()
        assert board.problems == []
    finally:
        browser.close()
