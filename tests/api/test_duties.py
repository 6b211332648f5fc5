"""GET /api/duties and POST /api/duties/<id>/done: each role sees the duties of its own scope,
only the institution (or the admin) marks one done, and the mark is recorded."""
from __future__ import annotations

from datetime import date

from sqlalchemy import select

from server.models import AuditEntry, Duty


def _ids(resp):
    assert resp.status_code == 200, resp.get_json()
    return sorted(d["id"] for d in resp.get_json())


def test_supervisors_see_their_district_and_institutions_their_own_duties(worlds, login):
    y, n = worlds["yubei"], worlds["nanan"]
    assert _ids(login("yubei-supervisor").get("/api/duties")) == [y.duty_id]
    assert _ids(login("nanan-admin").get("/api/duties")) == [n.duty_id]
    assert _ids(login("city").get("/api/duties")) == sorted([y.duty_id, n.duty_id])
    assert _ids(login("admin").get(f"/api/duties?institution_id={y.institution_id}")) == [y.duty_id]


def test_a_duty_carries_its_due_date_status_and_clause(worlds, login):
    duty = login("yubei-admin").get("/api/duties?status=all").get_json()[0]
    assert duty["due_on"] == "2026-07-30" and duty["clause"] == "cq 3.2.1"
    assert duty["status"] in ("due", "overdue") and duty["class_name"] == "yubei class"
    assert isinstance(duty["days_left"], int) and duty["reminders"] == []


def test_teachers_and_trainees_are_not_shown_duties(worlds, login):
    for username in ("yubei-teacher", "yubei-trainee"):
        assert login(username).get("/api/duties").status_code == 403


def test_filtering_by_a_class_or_institution_of_another_scope_is_not_found(worlds, login):
    y = worlds["yubei"]
    api = login("nanan-supervisor")
    assert api.get(f"/api/duties?class_id={y.class_id}").status_code == 404
    assert api.get(f"/api/duties?institution_id={y.institution_id}").status_code == 404


def test_the_institution_marks_a_duty_done_with_who_when_and_a_note_in_the_audit_trail(worlds, login, session):
    y = worlds["yubei"]
    api = login("yubei-admin")
    resp = api.post(f"/api/duties/{y.duty_id}/done", json={"note": "已于7月20日报送"})
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["status"] == "done"
    assert _ids(api.get("/api/duties")) == []  # open = due + overdue
    assert _ids(api.get("/api/duties?status=done")) == [y.duty_id]
    session.rollback()
    entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "duty.done"))
    assert entry.entity_id == y.duty_id and entry.after["note"] == "已于7月20日报送"


def test_a_supervisor_cannot_mark_a_duty_done_and_an_outsider_cannot_even_find_it(worlds, login, session):
    y = worlds["yubei"]
    assert login("yubei-supervisor").post(f"/api/duties/{y.duty_id}/done", json={}).status_code == 403
    assert login("nanan-admin").post(f"/api/duties/{y.duty_id}/done", json={}).status_code == 404
    session.rollback()
    assert session.get(Duty, y.duty_id).done_at is None


def test_an_unknown_status_is_refused_with_the_field_named(worlds, login):
    resp = login("yubei-admin").get("/api/duties?status=late")
    assert resp.status_code == 422 and resp.get_json()["error"]["fields"][0]["field"] == "status"


def test_the_manage_page_has_the_duties_panel_and_its_script(worlds, login):
    html = login("yubei-admin").get("/manage").get_data(as_text=True)
    assert 'id="duties-table"' in html and "duties.js" in html
    assert date(2026, 7, 30).isoformat() not in html  # data comes from the API, not the page
