"""One real browser through account recovery: the institution admin unbinds a trainee's phone and
re-issues the code from the class page's trainee panel (each with a reason and a confirmation),
downloads the activation slip, and the trainee activates on a new phone and is told what was done.

Chromium is Debian's package; without it the test skips and says so."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.browser import chromium_or_skip, serve

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run", "--lang=zh-CN"]


@pytest.fixture
def live_server(app, worlds):
    with serve(app) as base:
        yield base


@pytest.fixture
def browser():
    from playwright.sync_api import sync_playwright

    executable = chromium_or_skip()
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=executable, args=ARGS)
        try:
            yield b
        finally:
            b.close()


def _page(browser, problems: list[str], **context):
    page = browser.new_context(locale="zh-CN", accept_downloads=True, **context).new_page()
    page.set_default_timeout(15_000)
    page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}")
            if m.type == "error" and not m.text.startswith("Failed to load resource") else None)
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    return page


@pytest.mark.slow
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # the pages, not the database, are under test
def test_an_admin_unbinds_and_reissues_from_the_trainee_panel_and_the_trainee_is_told_on_the_new_phone(
        live_server, browser, worlds, login):
    from playwright.sync_api import expect

    y = worlds["yubei"]
    login("yubei-trainee")  # the trainee's phone is bound
    problems: list[str] = []
    page = _page(browser, problems, viewport={"width": 1366, "height": 900})
    page.goto(f"{live_server}/login?next=/manage/classes/{y.class_id}")
    page.fill("input[name=username]", "yubei-admin")
    page.fill("input[name=password]", "correct-horse-9")
    page.click("#login-form button[type=submit]")
    page.wait_for_url(re.compile(rf"/manage/classes/{y.class_id}$"))
    page.locator("#enrollments-table tbody tr").first.get_by_role("button").click()
    status = page.locator("#account-status")
    expect(status).to_contain_text("已激活")
    expect(status).to_contain_text("已绑定手机")

    # Unbinding asks for a reason, then confirms in words what the trainee will see.
    asked: list[str] = []
    page.on("dialog", lambda d: (asked.append(d.message), d.accept()))
    page.click("#unbind-form button[type=submit]")
    expect(page.locator("#unbind-form .form-error")).to_contain_text("请填写解除绑定的原因")
    page.fill("#unbind-form input[name=reason]", "学员更换手机")
    page.click("#unbind-form button[type=submit]")
    expect(status).to_contain_text("未绑定手机")
    assert "学员更换手机" in asked[-1]

    page.fill("#reissue-form input[name=reason]", "学员忘记密码")
    page.click("#reissue-form button[type=submit]")
    code = page.locator("#reissued-code")
    expect(code).to_have_text(re.compile(r"^\d{8}$"))
    assert "原密码和原激活码立即失效" in asked[-1]
    expect(status).to_contain_text("尚未激活")
    with page.expect_download() as download:
        page.locator("#reissue-result button.print-slips").click()
    with open(download.value.path(), "rb") as fh:
        assert fh.read(5) == b"%PDF-"
    new_code = code.text_content()
    ARTIFACTS.mkdir(exist_ok=True)
    page.locator("#trainee-panel").screenshot(path=str(ARTIFACTS / "staff-account-recovery.png"))

    # The trainee activates on a new phone and is told, once, who reset the account and why.
    phone = _page(browser, problems, viewport={"width": 390, "height": 844}, is_mobile=True)
    phone.goto(f"{live_server}/m/#/activate")
    form = phone.locator("#activate-form")
    form.locator("input[name=username]").fill("yubei-trainee")
    form.locator("input[name=activation_code]").fill(new_code)
    form.locator("input[name=new_password]").fill("brand-new-pass-1")
    form.locator("input[name=confirm]").fill("brand-new-pass-1")
    form.locator("button[type=submit]").click()
    notices = phone.locator("#account-notices .notice")
    expect(notices).to_have_count(2)  # the unbind, then the new code
    expect(notices.nth(0)).to_contain_text("原因：学员更换手机")
    expect(notices.nth(1)).to_contain_text("原因：学员忘记密码")
    expect(notices.nth(1)).to_contain_text("培训机构")
    phone.screenshot(path=str(ARTIFACTS / "phone-account-notices.png"), full_page=True)
    notices.nth(0).get_by_role("button", name="知道了").click()
    expect(notices).to_have_count(1)
    assert problems == []
