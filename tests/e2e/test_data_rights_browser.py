"""The trainee's 我的人脸信息 page in a real Chromium at 390 px: what is held and who viewed it, a
copy downloaded, keeping the photos agreed to, and face verification withdrawn (the template goes)."""
from __future__ import annotations

import zipfile

import pytest

from tests.browser import ARTIFACTS, launch, phone_page
from tests.factories import MIRANDA_DEVICE, PASSWORD, Phone, inside_fix, log_in

pytestmark = [pytest.mark.slow, pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)]


def test_a_trainee_reads_downloads_and_withdraws_on_the_rights_page_at_phone_width(
        app, live, server, playwright, clip_burst, tmp_path):
    from playwright.sync_api import expect

    event = Phone(app).send(live["offline"], clip_burst, location=inside_fix()).get_json()
    assert log_in(app, "supervisor").get(f"/api/events/{event['event_id']}/frames/1").status_code == 200
    browser = launch(playwright)
    try:
        context, page = phone_page(browser, inside_fix(), permissions=("geolocation",), accept_downloads=True)
        # The phone Miranda's account is bound to (Phone above logged in from it).
        context.add_init_script(f"localStorage.setItem('hourproof.device_id', '{MIRANDA_DEVICE}')")
        page.goto(server + "/m/")
        page.fill("#login-form input[name=username]", "miranda")
        page.fill("#login-form input[name=password]", PASSWORD)
        page.click("#login-form button[type=submit]")
        page.click("a[href='#/privacy']")
        expect(page.locator("#pv-photos")).to_contain_text(f"签到照片：{len(clip_burst)} 张")
        expect(page.locator("#pv-templates")).to_contain_text("人脸模板：1 份")
        expect(page.locator("#pv-views")).to_contain_text("区县人社 supervisor 查看了签到照片")
        assert page.evaluate("() => document.documentElement.scrollWidth") <= 390

        with page.expect_download() as download:
            page.click("#pv-copy")
        path = tmp_path / "copy.zip"
        download.value.save_as(path)
        with zipfile.ZipFile(path) as z:
            assert "records.json" in z.namelist() and len([n for n in z.namelist() if n.startswith("photos/")]) == len(clip_burst)

        page.on("dialog", lambda d: d.accept())
        page.click("button[data-purpose=photo_keeping]")
        expect(page.locator("button[data-purpose=photo_keeping]")).to_have_text("撤回同意")
        expect(page.locator("#pv-rule")).to_contain_text("您已同意留存签到照片")
        page.click("button[data-purpose=biometric]")
        expect(page.locator("#pv-templates")).to_contain_text("人脸模板：无（已删除 1 份）")
        expect(page.locator("#pv-requests")).to_contain_text("撤回人脸核验同意（本人（手机））")
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "phone-rights-390.png"), full_page=True)
        assert page.problems == []
    finally:
        browser.close()
