"""The API page for integrators (/api/docs) in a real browser: Swagger UI, vendored and under the
page's strict CSP (no inline script or style, nothing from another origin), lists the operations
of the generated OpenAPI document; "Try it out" logs in with the cookie session and then makes a
write (POST /api/auth/logout), which passes only with the X-CSRF-Token the page's script sends."""
from __future__ import annotations

import pytest

from tests.browser import chromium_or_skip, serve
from tests.factories import PASSWORD

ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run", "--lang=zh-CN"]


@pytest.fixture
def docs_page(app, worlds):
    from playwright.sync_api import sync_playwright

    executable = chromium_or_skip()
    with serve(app) as base, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=executable, args=ARGS)
        page = browser.new_context(locale="zh-CN", viewport={"width": 1366, "height": 900}).new_page()
        page.set_default_timeout(20_000)
        problems: list[str] = []
        page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}")
                if m.type == "error" and not m.text.startswith("Failed to load resource") else None)
        page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
        page.goto(base + "/api/docs")
        yield page, base, problems
        browser.close()


def test_the_api_page_lists_the_operations_and_tries_a_call_with_the_session(docs_page):
    page, base, problems = docs_page
    assert "接口文档" in page.title()
    page.locator(".opblock").first.wait_for()
    paths = page.locator(".opblock-summary-path").all_inner_texts()
    assert any("/api/auth/login" in p for p in paths) and any("/api/lessons/{lesson_id}/events" in p for p in paths)
    assert len(paths) > 50

    # Log in through "Try it out", then a write: the CSRF token comes from GET /api/auth/me.
    assert page.evaluate(f"""async () => {{
        const r = await fetch("/api/auth/login", {{method: "POST", headers: {{"Content-Type": "application/json"}},
            body: JSON.stringify({{username: "yubei-admin", password: "{PASSWORD}"}})}});
        return r.status;
    }}""") == 200
    logout = page.locator(".opblock-post:has(.opblock-summary-path[data-path='/api/auth/logout'])")
    logout.locator(".opblock-summary").click()
    logout.locator("button.try-out__btn").click()
    logout.locator("button.execute").click()
    status = logout.locator(".live-responses-table tbody .response-col_status").first
    status.wait_for()
    assert status.inner_text().strip().startswith("200"), logout.locator(".live-responses-table").inner_text()
    assert not problems, problems
