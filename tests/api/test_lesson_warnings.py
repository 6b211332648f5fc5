"""Plan editing tells the truth early: a lesson the rules would warn about is stored all the same,
and the answer says why it needs a look, naming the lesson as the class page's table does (its
date, time and 编号)."""
from __future__ import annotations

SH = "+08:00"


def _draft(api, world, starts_on="2025-12-01", ends_on="2026-01-31") -> int:
    resp = api.post("/api/classes", json={
        "name": "云计算中级 2 期", "region_code": "cq", "district_id": world.district_id, "occupation_code": "2-02-38-04",
        "level": "mid", "starts_on": starts_on, "ends_on": ends_on})
    assert resp.status_code == 201, resp.get_json()
    assert resp.get_json()["warnings"] == []
    return resp.get_json()["id"]


def _online(day: str, start: str = "09:00", end: str = "12:00") -> dict:
    return {"starts_at": f"{day}T{start}:00{SH}", "ends_at": f"{day}T{end}:00{SH}", "mode": "online", "content": "theory"}


def test_a_lesson_added_on_new_years_day_is_stored_and_comes_back_with_a_holiday_warning(worlds, login):
    api = login("yubei-admin")
    class_id = _draft(api, worlds["yubei"])
    resp = api.post(f"/api/classes/{class_id}/lessons", json={"lessons": [_online("2026-01-01")]})
    assert resp.status_code == 201, resp.get_json()
    [lesson] = resp.get_json()["lessons"]
    assert resp.get_json()["warnings"] == [{
        "code": "lesson_on_statutory_holiday", "clause": "POLICY §9",
        "message": f"2026-01-01 09:00—12:00 的课次（编号 {lesson['id']}）在 2026-01-01，是元旦假期（法定节假日放假），"
                   "学员可能无法到课；课次已保存，请确认是否调整。"}]
    stored = api.get(f"/api/classes/{class_id}").get_json()["lessons"]
    assert [x["id"] for x in stored] == [lesson["id"]]


def test_a_lesson_on_an_ordinary_weekday_comes_back_without_warnings(worlds, login):
    api = login("yubei-admin")
    class_id = _draft(api, worlds["yubei"])
    resp = api.post(f"/api/classes/{class_id}/lessons", json={"lessons": [_online("2026-01-05")]})
    assert resp.status_code == 201 and resp.get_json()["warnings"] == []


def test_a_lesson_outside_the_class_dates_is_stored_with_a_warning_and_still_refused_at_filing(worlds, login):
    api = login("yubei-admin")
    class_id = _draft(api, worlds["yubei"])
    resp = api.post(f"/api/classes/{class_id}/lessons", json={"lessons": [_online("2026-02-05")]})
    assert resp.status_code == 201
    [lesson] = resp.get_json()["lessons"]
    [warning] = resp.get_json()["warnings"]
    assert (warning["code"], warning["clause"]) == ("lesson_outside_class_dates", "cq 3.2.2")
    assert f"2026-02-05 09:00—12:00 的课次（编号 {lesson['id']}）不在培训班日期" in warning["message"]
    check = api.get(f"/api/classes/{class_id}/plan-check").get_json()
    outside = [v for v in check["violations"] if v["code"] == "lesson_outside_class_dates"]
    assert [v["detail"] for v in outside] == [
        f"2026-02-05 09:00—12:00 的课次（编号 {lesson['id']}）不在培训班日期 2025-12-01 至 2026-01-31 之内。"]


def test_overlapping_lessons_are_named_by_their_numbers_at_the_plan_check(worlds, login):
    api = login("yubei-admin")
    class_id = _draft(api, worlds["yubei"])
    first, second = api.post(f"/api/classes/{class_id}/lessons", json={"lessons": [
        _online("2026-01-05"), _online("2026-01-05", "11:00", "13:00")]}).get_json()["lessons"]
    check = api.get(f"/api/classes/{class_id}/plan-check").get_json()
    [overlap] = [v for v in check["violations"] if v["code"] == "lessons_overlap"]
    assert overlap["detail"].startswith(
        f"2026-01-05 09:00—12:00 的课次（编号 {first['id']}）与 2026-01-05 11:00—13:00 的课次（编号 {second['id']}）时间重叠")


def test_a_lesson_at_another_institutions_venue_is_refused_naming_its_date_and_time(worlds, login):
    api = login("yubei-admin")
    class_id = _draft(api, worlds["yubei"])
    lesson = {**_online("2026-01-05"), "mode": "offline", "content": "practice", "venue_id": worlds["nanan"].venue_id}
    resp = api.post(f"/api/classes/{class_id}/lessons", json={"lessons": [lesson]})
    assert resp.status_code == 422
    error = resp.get_json()["error"]
    assert error["code"] == "unknown_venue"
    assert error["message"].startswith("2026-01-05 09:00—12:00 的课次的场地")
    assert error["fields"][0]["field"] == "lessons.0.venue_id"
