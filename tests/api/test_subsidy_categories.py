"""补贴类别 as the region's own list: enrolment reads what people write into the region's code,
refuses what it cannot read with the list, and the class says who still lacks a known category
before filing and export (policies/categories.py)."""
from __future__ import annotations

from sqlalchemy import select

from server.models import Enrollment


def test_the_class_offers_its_regions_categories_by_their_chinese_names(worlds, login):
    cls = login("yubei-admin").get(f"/api/classes/{worlds['yubei'].class_id}").get_json()
    names = {c["code"]: c["name"] for c in cls["subsidy_categories"]}
    assert names == {"graduate_of_the_year": "毕业年度高校毕业生", "enterprise_employee": "企业在岗职工"}
    assert all(c["clause"] == "cq 4.1.1" and c["detail"] for c in cls["subsidy_categories"])


def test_an_enrolment_stores_the_regions_code_for_what_the_institution_wrote_and_shows_its_name(worlds, login, session):
    admin = login("yubei-admin")
    resp = admin.post(f"/api/classes/{worlds['yubei'].class_id}/enrollments",
                      json={"resident_id": "500112200102150647", "name": "陈小雨", "subsidy_category": "企业职工"})
    assert resp.status_code == 201, resp.get_json()
    body = resp.get_json()
    assert (body["subsidy_category"], body["subsidy_category_name"], body["subsidy_category_known"]) == \
        ("enterprise_employee", "企业在岗职工", True)
    # The world's own trainee has no category: said now, with the clause, not first in the export.
    [warning] = body["warnings"]
    assert warning["code"] == "category_missing" and "yubei trainee" in warning["message"] and warning["clause"] == "cq 4.1.1"
    session.rollback()
    stored = session.scalar(select(Enrollment.subsidy_category).where(Enrollment.id == body["id"]))
    assert stored == "enterprise_employee"


def test_a_category_the_region_does_not_know_is_refused_with_its_list_and_nothing_is_stored(worlds, login, session):
    admin = login("yubei-admin")
    before = session.scalar(select(Enrollment.id).order_by(Enrollment.id.desc()).limit(1))
    resp = admin.post(f"/api/classes/{worlds['yubei'].class_id}/enrollments",
                      json={"resident_id": "500112200102150647", "name": "陈小雨", "subsidy_category": "失业人员"})
    assert resp.status_code == 422
    error = resp.get_json()["error"]
    assert error["code"] == "unknown_category"
    assert [f["field"] for f in error["fields"]] == ["subsidy_category"]
    assert "企业在岗职工" in error["fields"][0]["message"]
    session.rollback()
    assert session.scalar(select(Enrollment.id).order_by(Enrollment.id.desc()).limit(1)) == before


def test_the_plan_check_warns_about_trainees_whose_category_the_rules_cannot_judge(worlds, login):
    admin = login("yubei-admin")
    check = admin.get(f"/api/classes/{worlds['yubei'].class_id}/plan-check").get_json()
    codes = [w["code"] for w in check["warnings"]]
    assert "category_missing" in codes
    admin.post(f"/api/classes/{worlds['yubei'].class_id}/enrollments",
               json={"resident_id": "500112200102150647", "name": "陈小雨", "subsidy_category": "企业在岗职工"})
    roster = admin.get(f"/api/classes/{worlds['yubei'].class_id}/enrollments").get_json()
    assert sorted(e["subsidy_category_name"] or "未填写" for e in roster) == ["企业在岗职工", "未填写"]
