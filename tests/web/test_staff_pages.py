"""The staff pages: each renders for a signed-in institution admin, sends everyone else to the
log-in page, and loads nothing but this server's own scripts and styles."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
STATIC = REPO / "server" / "web" / "staff" / "static"
TEMPLATES = REPO / "server" / "web" / "staff" / "templates" / "staff"

PAGES = {
    "/manage": ["培训班与机构", "培训班", "培训场地", "师资", "新建培训班", "GCJ-02（高德地图 / 腾讯地图）", "BD-09（百度地图）"],
    "/manage/audit": ["操作日志"],
}


def _class_page(worlds):
    return f"/manage/classes/{worlds['yubei'].class_id}"


@pytest.mark.parametrize("path", [*PAGES, "class"])
def test_each_page_renders_in_chinese_for_a_signed_in_institution_admin(worlds, login, path):
    api = login("yubei-admin")
    url = _class_page(worlds) if path == "class" else path
    resp = api.get(url)
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    assert '<html lang="zh-CN">' in html
    expected = PAGES.get(path, ["培训计划（课次）", "检查计划", "提交备案", "计划变更", "学员", "报名一名学员", "从表格批量导入学员",
                                "人脸信息处理同意（纸质）", "采集人脸照片", "线下", "线上", "理论", "实操"])
    for heading in expected:
        assert heading in html, heading
    # The page carries the session's CSRF token for its scripts' POSTs, and is never cached.
    assert f'content="{api.csrf}"' in html
    assert resp.headers["Cache-Control"] == "no-store"
    assert "script-src 'self'" in resp.headers["Content-Security-Policy"]


def test_the_class_form_offers_every_occupation_of_the_catalog_and_every_region(worlds, login):
    from policies import loader

    html = login("yubei-admin").get("/manage").get_data(as_text=True)
    for occupation in loader.load_catalog().occupations:
        assert f'<option value="{occupation.code}">' in html
    for code in loader.region_codes():
        assert f'<option value="{code}">' in html
    assert "重庆市" in html


@pytest.mark.parametrize("path", ["/manage", "/manage/audit", "class"])
def test_a_page_without_a_session_redirects_to_login_and_comes_back(worlds, client, path):
    url = _class_page(worlds) if path == "class" else path
    resp = client.get(url)
    assert resp.status_code == 302
    assert resp.headers["Location"].startswith("/login?next=")
    assert url.replace("/", "%2F") in resp.headers["Location"]


# Supervisors and reviewers open /manage read-only (tests/web/test_class_history_pages.py).
@pytest.mark.parametrize("username", ["yubei-teacher", "yubei-trainee"])
def test_a_signed_in_user_who_is_not_staff_is_sent_to_login_with_a_notice(worlds, login, username):
    api = login(username)
    resp = api.get("/manage")
    assert resp.status_code == 302 and "denied=1" in resp.headers["Location"]
    page = api.get(resp.headers["Location"]).get_data(as_text=True)
    assert "无权使用机构管理页面" in page


def test_the_admin_may_use_the_pages_too(worlds, login):
    assert login("admin").get("/manage").status_code == 200


def test_the_login_page_renders_without_a_session_and_skips_itself_with_one(worlds, client, login):
    resp = client.get("/login")
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    assert '<html lang="zh-CN">' in html and "工作人员登录" in html and 'name="password"' in html
    signed_in = login("yubei-admin")
    again = signed_in.get("/login?next=/manage/audit")
    assert again.status_code == 302 and again.headers["Location"] == "/manage/audit"


@pytest.mark.parametrize("target", ["//evil.example/x", "https://evil.example/", "/api/audit", "/manage\\..\\x"])
def test_login_never_sends_anyone_off_site(worlds, client, target):
    html = client.get("/login", query_string={"next": target}).get_data(as_text=True)
    assert 'data-next="/manage"' in html


def test_the_login_form_is_what_the_api_expects(worlds, client):
    """The page's script posts username and password as JSON; the API's Chinese errors come back."""
    resp = client.post("/api/auth/login", json={"username": "yubei-admin", "password": "wrong-password"})
    assert resp.status_code == 401
    assert "用户名或密码错误" in resp.get_json()["error"]["message"]


@pytest.mark.parametrize("name", ["common.js", "login.js", "manage.js", "class.js", "audit.js", "duties.js", "live.js", "staff.css"])
def test_the_static_assets_are_served(client, name):
    resp = client.get(f"/static/staff/{name}")
    try:
        assert resp.status_code == 200
        assert resp.mimetype == ("text/css" if name.endswith(".css") else "text/javascript")
        assert resp.get_data() == (STATIC / name).read_bytes()
    finally:
        resp.close()


def test_every_asset_the_templates_reference_exists():
    vendor = REPO / "server" / "web" / "vendor"
    for template in TEMPLATES.glob("*.html"):
        text = template.read_text(encoding="utf-8")
        for folder, name in re.findall(r"url_for\('(staff|web)\.static', filename='([^']+)'\)", text):
            assert ((STATIC if folder == "staff" else vendor) / name).is_file(), (template.name, name)
        assert len(re.findall(r"filename='", text)) == len(re.findall(r"url_for\('(?:staff|web)\.static'", text))


def test_the_vendored_socket_io_client_is_served_from_this_server(client):
    resp = client.get("/vendor/socket.io.min.js")
    try:
        assert resp.status_code == 200 and resp.mimetype == "text/javascript"
        assert b"Socket.IO v4" in resp.get_data()[:200]
    finally:
        resp.close()


def test_nothing_is_loaded_from_the_internet():
    for path in [*STATIC.iterdir(), *TEMPLATES.iterdir()]:
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", text), path.name
        assert "@import" not in text and "url(http" not in text, path.name
        assert not re.search(r"fetch\(\s*[\"']https?:", text), path.name


def test_every_api_path_the_scripts_call_is_a_registered_endpoint():
    """The scripts build URLs from literal prefixes ("/api/classes/" + id + "/plan-check"); each
    literal must begin a path the API registers, so a renamed endpoint fails here, not in a browser."""
    from server.api.framework import REGISTRY

    registered = [re.sub(r"<[^>]+>", "{}", e.path) for e in REGISTRY]
    literals = set()
    for script in STATIC.glob("*.js"):
        literals |= set(re.findall(r"""["'](/api/[^"'?]*)""", script.read_text(encoding="utf-8")))
    assert literals
    for literal in literals:
        assert any(path.startswith(literal) or _fits(literal, path) for path in registered), literal
    # and the suffixes appended after an id
    for suffix in ["/plan-check", "/file", "/amendments", "/enrollments", "/lessons", "/consent", "/face", "/venues", "/teachers",
                   "/subsidy-history", "/subsidy-history/checks", "/retract"]:
        assert any(path.endswith(suffix) for path in registered), suffix


def _fits(literal: str, path: str) -> bool:
    return path.replace("{}", "").startswith(literal.rstrip("/"))
