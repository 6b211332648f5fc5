"""The admin's 个人信息保护 card on /manage in real Chromium at phone width: the people counted,
the cyberspace-office filing in the duties panel once the count passed the threshold, recording
its receipt number, the keeping periods with their clauses, and the impact-assessment download."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest

from server.models import Consent, FaceTemplate
from server.services import consent, privacy
from tests.browser import ARTIFACTS, PHONE, launch, serve, watched_page
from tests.factories import PASSWORD


@pytest.mark.slow
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # the page, not the database, is under test
def test_the_admin_sees_the_filing_duty_records_its_receipt_and_downloads_the_assessment_at_phone_width(
        app, worlds, session, monkeypatch):
    from playwright.sync_api import expect, sync_playwright

    for w in worlds.values():
        c = Consent(trainee_id=w.trainee_id, purpose="biometric", granted=True, text_version=consent.CONSENT_VERSION,
                    text_sha256=consent.CONSENT_SHA256, channel="paper")
        session.add(c)
        session.flush()
        session.add(FaceTemplate(trainee_id=w.trainee_id, template=b"\x01" * 16, model="m", model_version="1",
                                 photo_hashes=[], consent_id=c.id, created_at=datetime(2026, 11, 2, 2, tzinfo=UTC)))
    session.commit()
    monkeypatch.setattr(privacy, "FILING_THRESHOLD", 2)  # two people stand for 100,000
    with serve(app) as base, sync_playwright() as pw:
        browser = launch(pw)
        try:
            page = watched_page(browser.new_context(accept_downloads=True, **PHONE))
            page.goto(base + "/login?next=/manage")
            page.fill("#login-form input[name=username]", "admin")
            page.fill("#login-form input[name=password]", PASSWORD)
            page.click("#login-form button[type=submit]")
            expect(page.locator("#privacy-summary")).to_contain_text("目前处理人脸信息的人数：2 人")
            expect(page.locator("#privacy-summary")).to_contain_text("省级网信部门")
            expect(page.locator('#duties-table tr[data-duty="privacy-filing"]')).to_contain_text("30 个工作日")
            expect(page.locator("#privacy-keeping tbody tr")).to_have_count(len(privacy.keeping_by_region()))
            expect(page.locator("#privacy-keeping")).to_contain_text("政策摘要第11条")
            assert page.evaluate("() => document.documentElement.scrollWidth") <= 390
            ARTIFACTS.mkdir(exist_ok=True)
            page.locator("#privacy-box").screenshot(path=str(ARTIFACTS / "privacy-card-390.png"))

            with page.expect_download() as download:
                page.click("#privacy-pia")
            assert download.value.suggested_filename.endswith(".pdf")

            page.on("dialog", lambda d: d.accept())
            page.fill("#privacy-filing-form input[name=receipt]", "渝网信备-2026-0001")
            page.click("#privacy-filing-form button[type=submit]")
            expect(page.locator("#privacy-summary")).to_contain_text("备案编号 渝网信备-2026-0001")
            expect(page.locator("#privacy-filing-form")).to_be_hidden()
            assert page.problems == []
        finally:
            browser.close()
