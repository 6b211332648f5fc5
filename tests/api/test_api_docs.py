"""The API page for integrators (/api/docs): Swagger UI served from this server under a strict CSP
(no inline script or style, nothing from another origin); the browser test
(tests/web/test_api_docs_browser.py) drives it."""
from __future__ import annotations

import re


def test_the_api_page_loads_swagger_ui_from_this_server_under_a_strict_csp(client):
    resp = client.get("/api/docs")
    assert resp.status_code == 200 and resp.mimetype == "text/html"
    csp = resp.headers["Content-Security-Policy"]
    assert "script-src 'self';" in csp and "style-src 'self';" in csp and "unsafe" not in csp
    page = resp.get_data(as_text=True)
    assert "接口文档" in page
    assert not re.search(r"<script>|<style|style=|https?://", page), "no inline code, nothing from elsewhere"
    for src in re.findall(r'(?:src|href)="(/[^"]+)"', page):
        with client.get(src) as r:  # files are streamed: closed here, or a ResourceWarning
            assert r.status_code == 200, src
