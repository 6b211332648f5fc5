"""History for 人社 (issue 19): supervisors and reviewers open the class list and a class's page
read-only, the class list says where each class stands now, and nobody sees another district's
class."""
from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import pytest


def _page_data(html: str) -> dict:
    return json.loads(re.search(r'<script type="application/json" id="page-data">(.*?)</script>', html, re.S).group(1))


def _class_with_lessons(session, world, name, spans, status="filed"):
    """A class of `world`'s institution with one offline lesson per (start, end)."""
    from server.models import ClassStatus, Lesson, LessonContent, LessonMode, Level, TrainingClass

    first = min(s for s, _ in spans).date() if spans else datetime(2026, 3, 1).date()
    last = max(e for _, e in spans).date() if spans else datetime(2026, 6, 30).date()
    cls = TrainingClass(institution_id=world.institution_id, region_code="cq", district_id=world.district_id, name=name,
                        occupation_code="2-02-38-04", level=Level.mid, starts_on=first, ends_on=last,
                        status=ClassStatus(status))
    session.add(cls)
    session.flush()
    session.add_all([Lesson(class_id=cls.id, starts_at=s, ends_at=e, mode=LessonMode.offline, content=LessonContent.practice,
                            venue_id=world.venue_id, teacher_id=world.teacher_id) for s, e in spans])
    session.commit()
    return cls.id


@pytest.mark.parametrize("username", ["yubei-supervisor", "city"])
def test_a_supervisor_or_reviewer_gets_the_class_list_and_class_page_with_read_controls_only(worlds, login, username):
    api = login(username)
    manage = api.get("/manage")
    assert manage.status_code == 200
    html = manage.get_data(as_text=True)
    assert "培训班历史与导出" in html and 'id="classes-table"' in html and 'id="class-filters"' in html
    # No form to create a class, venue or teacher; the district roll-up instead.
    assert 'id="class-form"' not in html and 'id="venue-form"' not in html and 'id="teacher-form"' not in html
    assert 'id="district-export"' in html
    data = _page_data(html)
    assert data["can"]["export_districts"] and not data["can"]["file_classes"]

    page = api.get(f"/manage/classes/{worlds['yubei'].class_id}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'id="hours-table"' in html and 'data-export="class"' in html and 'id="amendments-table"' in html
    assert 'id="reviews-table"' in html and 'id="class-duties-table"' in html
    # Sealing the hours is the institution's act; enrolment and import forms are hidden.
    assert 'data-export="subsidy"' not in html
    assert re.search(r'class="form-box hidden" id="enroll-box"', html) and re.search(r'class="form-box hidden" id="import-box"', html)
    can = _page_data(html)["can"]
    assert not can["enrol_trainees"] and not can["manage_lesson_media"] and can["export_classes"]


def test_the_institution_admin_still_gets_every_form_and_the_subsidy_export(worlds, login):
    api = login("yubei-admin")
    html = api.get("/manage").get_data(as_text=True)
    assert 'id="class-form"' in html and 'id="venue-form"' in html and 'id="district-export"' not in html
    html = api.get(f"/manage/classes/{worlds['yubei'].class_id}").get_data(as_text=True)
    assert 'data-export="subsidy"' in html and 'class="form-box" id="enroll-box"' in html
    # Reviews are 人社's; the institution sees its deadlines.
    assert 'id="reviews-table"' not in html and 'id="class-duties-table"' in html


def test_another_districts_supervisor_gets_404_for_the_class_its_ledger_and_exports(worlds, login):
    y = worlds["yubei"]
    nanan = login("nanan-supervisor")
    assert nanan.get(f"/api/classes/{y.class_id}").status_code == 404
    assert nanan.get(f"/api/enrollments/{y.enrollment_id}/ledger").status_code == 404
    assert nanan.post(f"/api/classes/{y.class_id}/exports", json={"kind": "class"}).status_code == 404
    assert nanan.post(f"/api/districts/{y.district_id}/exports").status_code == 404
    assert y.class_id not in [c["id"] for c in nanan.get("/api/classes").get_json()]


def test_the_supervisors_own_class_reads_with_its_ledger_but_writes_are_refused(worlds, login):
    y = worlds["yubei"]
    api = login("yubei-supervisor")
    assert api.get(f"/api/enrollments/{y.enrollment_id}/ledger").status_code == 200
    assert api.post(f"/api/classes/{y.class_id}/file").status_code == 403
    assert api.post(f"/api/classes/{y.class_id}/exports", json={"kind": "subsidy"}).status_code == 403


def test_the_class_list_says_which_classes_are_in_session_upcoming_finished_filed_and_sealed(worlds, login, session):
    from server.models import Seal

    y = worlds["yubei"]
    now = datetime.now(UTC)
    running = _class_with_lessons(session, y, "running", [(now - timedelta(hours=1), now + timedelta(hours=2)),
                                                          (now + timedelta(days=7), now + timedelta(days=7, hours=3))])
    upcoming = _class_with_lessons(session, y, "upcoming", [(now + timedelta(days=2), now + timedelta(days=2, hours=3))],
                                   status="draft")
    sealed = _class_with_lessons(session, y, "sealed", [(now - timedelta(days=20), now - timedelta(days=20) + timedelta(hours=3))])
    session.add(Seal(class_id=sealed, sealed_at=now - timedelta(days=1), sealed_by_name="yubei-admin", chain_seq=1,
                     chain_hash="0" * 64, figures={}))
    session.commit()

    rows = {c["id"]: c for c in login("yubei-supervisor").get("/api/classes").get_json()}
    assert (rows[running]["in_session"], rows[running]["timing"], rows[running]["status"]) == (True, "ongoing", "filed")
    assert (rows[upcoming]["in_session"], rows[upcoming]["timing"], rows[upcoming]["status"]) == (False, "upcoming", "draft")
    assert rows[sealed]["timing"] == "finished" and rows[sealed]["sealed_at"] is not None
    assert rows[y.class_id]["timing"] == "finished" and rows[y.class_id]["sealed_at"] is None
    assert rows[running]["sealed_at"] is None


def test_a_supervisor_who_asked_for_a_class_page_is_sent_back_to_it_after_signing_in(worlds, login):
    api = login("yubei-supervisor")
    url = f"/manage/classes/{worlds['yubei'].class_id}"
    resp = api.get("/login", query_string={"next": url})
    assert resp.status_code == 302 and resp.headers["Location"] == url
    # The audit trail stays the institution's.
    assert "denied=1" in api.get("/manage/audit").headers["Location"]


def test_a_supervisor_reads_a_classs_amendments_with_who_why_and_what_changed(worlds, login, session):
    from server.models import ClassAmendment, User

    y = worlds["yubei"]
    admin = session.query(User).filter_by(username="yubei-admin").one()
    session.add(ClassAmendment(class_id=y.class_id, at=datetime(2026, 3, 1, 2, tzinfo=UTC), by_id=admin.id, reason="教师因病调课",
                               change={"add_lessons": [{}, {}], "cancel_lesson_ids": [y.lesson_id]}, check={}))
    session.commit()
    [a] = login("yubei-supervisor").get(f"/api/classes/{y.class_id}").get_json()["amendments"]
    assert (a["by"], a["reason"], a["cancel_lesson_ids"], a["added_lessons"]) == ("a", "教师因病调课", [y.lesson_id], 2)
