"""The phone app's shell: served with a strict CSP, installable (manifest + icons), and small."""
from __future__ import annotations

import pytest

from server.web.phone import STATIC


def test_the_app_page_is_served_with_a_strict_policy_and_no_caching(client):
    resp = client.get("/m/")
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    assert '<html lang="zh-CN">' in html and 'rel="manifest" href="/m/manifest.webmanifest"' in html
    csp = resp.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "connect-src 'self'" in csp and "http" not in csp
    assert "camera=(self)" in resp.headers["Permissions-Policy"] and "geolocation=(self)" in resp.headers["Permissions-Policy"]
    assert resp.headers["Cache-Control"] == "no-store"
    assert "<script>" not in html  # no inline script: CSP 'self' would refuse it
    assert client.get("/m").status_code in (301, 302, 308)


def test_the_manifest_makes_it_installable_and_its_icons_exist(client):
    resp = client.get("/m/manifest.webmanifest")
    assert resp.mimetype == "application/manifest+json"
    m = resp.get_json()
    assert m["start_url"] == "/m/" and m["display"] == "standalone" and m["lang"] == "zh-CN"
    sizes = {i["sizes"] for i in m["icons"]}
    assert {"192x192", "512x512"} <= sizes
    for icon in m["icons"]:
        with client.get(icon["src"]) as got:  # closed: a static file left open is a ResourceWarning
            assert got.status_code == 200 and got.mimetype.startswith("image/"), icon["src"]


@pytest.mark.parametrize("name, limit_kb", [("app.js", 24), ("phone.css", 4)])
def test_the_assets_go_gzip_compressed_and_stay_small_for_a_slow_mobile_network(client, name, limit_kb):
    """What a phone downloads: the asset gzip-compressed (it asks for that; a client that does not
    gets it as it is). app.js is 61 KB as written, about a third of that compressed."""
    import gzip

    with client.get(f"/m/static/{name}", headers={"Accept-Encoding": "gzip, deflate, br"}) as got:
        assert got.status_code == 200 and got.headers["Content-Encoding"] == "gzip"
        assert "Accept-Encoding" in got.headers["Vary"]
        body = got.get_data()
    assert len(body) < limit_kb * 1024
    assert gzip.decompress(body) == (STATIC / name).read_bytes()
    with client.get(f"/m/static/{name}") as plain:
        assert "Content-Encoding" not in plain.headers and plain.get_data() == (STATIC / name).read_bytes()


def test_assets_are_named_by_their_content_and_kept_by_the_phone(client):
    from server.web.phone import asset_version

    html = client.get("/m/").get_data(as_text=True)
    assert f"app.js?v={asset_version()}" in html and f"phone.css?v={asset_version()}" in html
    with client.get(f"/m/static/app.js?v={asset_version()}") as resp:
        assert resp.status_code == 200 and "max-age=86400" in resp.headers["Cache-Control"]
