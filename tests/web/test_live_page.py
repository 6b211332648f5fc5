"""Who gets the live dashboard page (/live): every watching role, each in its own scope (the API
and the Socket.IO rooms enforce the scope; the page only needs a signed-in watcher)."""
from __future__ import annotations

import pytest


@pytest.mark.parametrize("username", ["yubei-supervisor", "city", "yubei-teacher", "yubei-admin", "admin"])
def test_every_watching_role_gets_the_dashboard(worlds, login, username):
    resp = login(username).get("/live")
    assert resp.status_code == 200
    page = resp.get_data(as_text=True)
    assert "实时监管" in page and "/vendor/socket.io.min.js" in page and "live.js" in page
    assert "script-src 'self'" in resp.headers["Content-Security-Policy"]


def test_a_trainee_or_nobody_is_sent_to_log_in(worlds, login, client):
    resp = client.get("/live")
    assert resp.status_code == 302 and resp.headers["Location"].startswith("/login?next=%2Flive")
    resp = login("yubei-trainee").get("/live")
    assert resp.status_code == 302 and "denied=1" in resp.headers["Location"]


def test_only_reviewers_get_the_review_table_and_only_spot_checkers_the_button(worlds, login):
    supervisor = login("yubei-supervisor").get("/live").get_data(as_text=True)
    teacher = login("yubei-teacher").get("/live").get_data(as_text=True)
    city = login("city").get("/live").get_data(as_text=True)
    assert 'id="review-table"' in supervisor and 'id="spot-check-all"' in supervisor
    assert 'id="review-table"' not in teacher and 'id="spot-check-all"' in teacher
    assert 'id="review-table"' in city and 'id="spot-check-all"' not in city
    # held face enrolments: 人社 decides them, never the institution's teacher
    assert 'id="face-holds"' in supervisor and 'id="face-holds"' in city and 'id="face-holds"' not in teacher
    # deadlines (due and overdue duties) for those who are told of them, not teachers
    assert 'id="duties-table"' in supervisor and 'id="duties-table"' in city and 'id="duties-table"' not in teacher


def test_a_supervisor_who_signs_in_lands_on_the_dashboard_with_the_class_history_one_link_away(worlds, login):
    api = login("yubei-supervisor")
    resp = api.get("/login")
    assert resp.status_code == 302 and resp.headers["Location"] == "/live"
    nav = api.get("/live").get_data(as_text=True)
    assert "培训班与机构" not in nav and '<a href="/manage">培训班历史与导出</a>' in nav
    assert 'href="/manage/audit"' not in nav
