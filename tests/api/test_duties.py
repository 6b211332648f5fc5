"""GET /api/duties and POST /api/duties/<id>/done: each role sees the duties of its own scope,
only the institution (or the admin) marks one done, and the mark is recorded."""
from __future__ import annotations

from datetime import UTC, date

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


def _make_jiangsu(session, world):
    from server.models import Region, TrainingClass

    if session.get(Region, "js") is None:
        session.add(Region(code="js", name="江苏省"))
        session.flush()
    session.get(TrainingClass, world.class_id).region_code = "js"
    session.commit()


def test_a_supervisor_records_an_accepted_application_and_owes_its_review_within_5_working_days(worlds, login, session):
    from policies.deadlines import deadline
    from server.services import rules

    y = worlds["yubei"]
    _make_jiangsu(session, y)
    api = login("yubei-supervisor")
    resp = api.post(f"/api/classes/{y.class_id}/application-received", json={"received_on": "2026-09-30"})
    assert resp.status_code == 201, resp.get_json()
    [duty] = resp.get_json()
    expected = deadline(rules.region("js"), "eligibility_review", date(2026, 9, 30))
    # National Day week (1-8 Oct 2026) is not counted: the 5th working day is after it.
    assert (duty["code"], duty["due_on"], duty["clause"]) == ("eligibility_review", expected.due.isoformat(), "js 2.2")
    assert duty["due_on"] > "2026-10-08" and duty["can_mark_done"] is True
    again = api.post(f"/api/classes/{y.class_id}/application-received", json={"received_on": "2026-09-30"})
    assert again.status_code == 201 and again.get_json()[0]["id"] == duty["id"]  # the same day again: nothing new
    other = api.post(f"/api/classes/{y.class_id}/application-received", json={"received_on": "2026-10-09"})
    assert other.status_code == 409 and other.get_json()["error"]["code"] == "application_already_recorded"


def test_the_review_duty_is_closed_by_the_reviewers_not_by_the_institution(worlds, login, session):
    y = worlds["yubei"]
    _make_jiangsu(session, y)
    [duty] = login("yubei-supervisor").post(f"/api/classes/{y.class_id}/application-received",
                                            json={"received_on": "2026-09-30"}).get_json()
    admin = login("yubei-admin")
    seen = {d["id"]: d for d in admin.get("/api/duties?status=all").get_json()}
    assert seen[duty["id"]]["can_mark_done"] is False  # the institution sees it, 人社 closes it
    assert admin.post(f"/api/duties/{duty['id']}/done", json={}).status_code == 403
    done = login("yubei-supervisor").post(f"/api/duties/{duty['id']}/done", json={"note": "审核通过"})
    assert done.status_code == 200 and done.get_json()["status"] == "done"


def test_a_region_without_a_review_deadline_needs_no_application_date_and_the_future_is_refused(worlds, login, session):
    y = worlds["yubei"]
    api = login("yubei-supervisor")
    cq = api.post(f"/api/classes/{y.class_id}/application-received", json={"received_on": "2026-09-30"})
    assert cq.status_code == 409 and cq.get_json()["error"]["code"] == "no_review_deadline"
    _make_jiangsu(session, y)
    future = api.post(f"/api/classes/{y.class_id}/application-received", json={"received_on": "2099-01-01"})
    assert future.status_code == 422


def test_institutions_and_other_districts_cannot_record_an_application(worlds, login, session):
    y = worlds["yubei"]
    _make_jiangsu(session, y)
    body = {"received_on": "2026-09-30"}
    assert login("yubei-admin").post(f"/api/classes/{y.class_id}/application-received", json=body).status_code == 403
    assert login("nanan-supervisor").post(f"/api/classes/{y.class_id}/application-received", json=body).status_code == 404


def test_absences_recorded_by_the_scheduler_are_listed_for_the_class_with_their_clause(worlds, login, session):
    from datetime import datetime

    from server.models import ClassStatus, Enrollment, TrainingClass
    from server.services import lesson_state

    y = worlds["yubei"]
    session.get(TrainingClass, y.class_id).status = ClassStatus.filed
    session.get(Enrollment, y.enrollment_id).enrolled_at = datetime(2026, 2, 20, tzinfo=UTC)
    session.commit()
    # The seeded check-in of the yubei trainee is flagged: decided by a reviewer, then absent.
    lesson_state.mark_absences(session, datetime(2026, 3, 2, 8, tzinfo=UTC))
    assert login("yubei-supervisor").get(f"/api/classes/{y.class_id}/absences").get_json() == []
    review = login("yubei-supervisor").post(f"/api/events/{y.event_id}/review", json={"decision": "rejected", "reason": "不在场地内"})
    assert review.status_code in (200, 201), review.get_json()
    lesson_state.mark_absences(session, datetime(2026, 3, 2, 9, tzinfo=UTC))
    rows = login("yubei-teacher").get(f"/api/classes/{y.class_id}/absences").get_json()
    assert [(r["trainee_id"], r["lesson_id"], r["reasons"][0]["clause"]) for r in rows] == [(y.trainee_id, y.lesson_id, "cq 5.2")]
    assert login("yubei-trainee").get(f"/api/classes/{y.class_id}/absences").status_code == 403
