"""Institution management: venues, classes, filing against the rules, amendments, audit."""
from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from server.models import AuditEntry, ClassAmendment, Lesson

SH = "+08:00"
CIRCLE = {"name": "实训楼", "address": "渝北区", "datum": "gcj02", "fence_kind": "circle", "centre_lat": 29.62,
          "centre_lon": 106.53, "radius_m": 120}


@pytest.mark.parametrize(
    "change, field",
    [
        ({"radius_m": 0}, "radius_m"),
        ({"radius_m": -10}, "radius_m"),
        ({"centre_lat": 95}, "centre_lat"),
        ({"centre_lon": "east"}, "centre_lon"),
        ({"datum": "mars"}, "datum"),
        ({"fence_kind": "polygon", "polygon": [[29.6, 106.5], [29.7, 106.6]]}, "polygon"),
        ({"raduis_m": 100}, "raduis_m"),  # a typo is an error, not silently ignored
        ({"name": ""}, "name"),
    ],
)
def test_a_venue_with_bad_input_is_refused_with_the_field_named(worlds, login, change, field):
    resp = login("yubei-admin").post("/api/venues", json={**CIRCLE, **change})
    assert resp.status_code == 422
    assert field in " ".join(f["field"] for f in resp.get_json()["error"]["fields"])


def test_nan_in_json_is_refused_as_invalid_json(worlds, login):
    api = login("yubei-admin")
    resp = api.client.post("/api/venues", data='{"centre_lat": NaN}', content_type="application/json",
                           headers={"X-CSRF-Token": api.csrf})
    assert resp.status_code == 400
    assert resp.get_json()["error"]["code"] == "invalid_json"


def test_a_body_that_is_not_json_is_refused_with_415(worlds, login):
    api = login("yubei-admin")
    resp = api.client.post("/api/venues", data="name=x", content_type="application/x-www-form-urlencoded",
                           headers={"X-CSRF-Token": api.csrf})
    assert resp.status_code == 415


def test_an_oversized_body_is_refused_with_413(worlds, login):
    resp = login("yubei-admin").post("/api/venues", json={**CIRCLE, "address": "x" * 300_000})
    assert resp.status_code == 413


def test_a_polygon_venue_is_stored_with_its_datum(worlds, login):
    api = login("yubei-admin")
    resp = api.post("/api/venues", json={**CIRCLE, "fence_kind": "polygon", "datum": "bd09",
                                         "polygon": [[29.6200, 106.5300], [29.6205, 106.5300], [29.6205, 106.5305]]})
    assert resp.status_code == 201, resp.get_json()
    body = resp.get_json()
    assert body["datum"] == "bd09" and len(body["polygon"]) == 3
    listed = api.get(f"/api/institutions/{worlds['yubei'].institution_id}/venues").get_json()
    assert body["id"] in [v["id"] for v in listed]


def _lessons(n_offline: int, n_online: int, start=date(2026, 3, 2), hours: int = 4):
    out = []
    for i in range(n_offline + n_online):
        day = start + timedelta(days=i)
        out.append({"starts_at": f"{day}T09:00:00{SH}", "ends_at": f"{day}T{9 + hours:02d}:00:00{SH}",
                    "mode": "online" if i >= n_offline else "offline",
                    "content": "theory" if i >= n_offline else "practice"})
    return out


def _new_class(api, world, lessons, **kw):
    for lesson in lessons:
        if lesson["mode"] == "offline":
            lesson["venue_id"] = world.venue_id
    body = {"name": "云计算中级 1 期", "region_code": "cq", "district_id": world.district_id, "occupation_code": "2-02-38-04",
            "level": "mid", "starts_on": "2026-03-01", "ends_on": "2026-05-31", "lessons": lessons, **kw}
    resp = api.post("/api/classes", json=body)
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()["id"]


def test_filing_a_plan_with_more_than_half_online_is_refused_with_every_violation_and_its_clause(worlds, login):
    api = login("yubei-admin")
    # 10 offline + 20 online lessons of 4 h = 160 学时 at 45 min, two thirds online; one lesson outside the dates.
    lessons = _lessons(10, 20)
    lessons.append({"starts_at": f"2026-07-01T09:00:00{SH}", "ends_at": f"2026-07-01T10:00:00{SH}",
                    "mode": "online", "content": "theory"})
    class_id = _new_class(api, worlds["yubei"], lessons)
    resp = api.post(f"/api/classes/{class_id}/file")
    assert resp.status_code == 422
    check = resp.get_json()["error"]["check"]
    codes = {v["code"] for v in check["violations"]}
    assert len(codes) >= 2, codes
    assert all(v["clause"] for v in check["violations"])
    assert any("online" in c for c in codes)
    assert api.get(f"/api/classes/{class_id}").get_json()["status"] == "draft"
    # The clause stays as data; the message a person reads names Chongqing's cap (the digest's default) in words.
    assert {v["code"]: v["clause"] for v in check["violations"]}["online_share_over_cap"] == "POLICY §3"
    message = resp.get_json()["error"]["message"]
    assert "线上学时计入不超过规定学时的50%（政策摘要第3条）" in message and "POLICY" not in message


def test_a_plan_at_exactly_half_online_with_enough_hours_is_filed(worlds, login):
    api = login("yubei-admin")
    class_id = _new_class(api, worlds["yubei"], _lessons(15, 15))  # 30 x 4 h = 160 学时, 50% online
    check = api.get(f"/api/classes/{class_id}/plan-check").get_json()
    assert check["accepted"] is True and check["online_share"] == "0.5000"
    resp = api.post(f"/api/classes/{class_id}/file")
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["status"] == "filed"


def test_too_few_hours_are_refused_at_filing(worlds, login):
    api = login("yubei-admin")
    class_id = _new_class(api, worlds["yubei"], _lessons(5, 0))
    resp = api.post(f"/api/classes/{class_id}/file")
    assert resp.status_code == 422
    assert resp.get_json()["error"]["check"]["violations"]


def test_a_filed_plan_changes_only_through_a_recorded_amendment(worlds, login, session):
    api = login("yubei-admin")
    class_id = _new_class(api, worlds["yubei"], _lessons(16, 14))
    assert api.post(f"/api/classes/{class_id}/file").status_code == 200
    extra = [{**x, "venue_id": worlds["yubei"].venue_id} for x in _lessons(1, 0, start=date(2026, 5, 1))]
    direct = api.post(f"/api/classes/{class_id}/lessons", json={"lessons": extra})
    assert direct.status_code == 409
    lessons = api.get(f"/api/classes/{class_id}").get_json()["lessons"]
    online = [x["id"] for x in lessons if x["mode"] == "online"]
    # Swap one online lesson for another online lesson on a later day: still 160 h, still <= 50%.
    resp = api.post(f"/api/classes/{class_id}/amendments", json={
        "reason": "教师因病调课", "cancel_lesson_ids": [online[0]],
        "add_lessons": _lessons(0, 1, start=date(2026, 5, 2))})
    assert resp.status_code == 201, resp.get_json()
    amendment_id = resp.get_json()["id"]
    # 2 May 2026 is in the Labour Day break: recorded all the same, with a warning naming the day.
    assert [(w["code"], w["clause"]) for w in resp.get_json()["warnings"]] == [("lesson_on_statutory_holiday", "POLICY §9")]
    assert "劳动节假期" in resp.get_json()["warnings"][0]["message"]
    session.rollback()  # end the read snapshot, see what requests wrote
    cancelled = session.get(Lesson, online[0])
    assert cancelled.cancelled_at is not None and cancelled.amendment_id == amendment_id
    assert session.get(ClassAmendment, amendment_id).reason == "教师因病调课"


def test_an_amendment_that_would_break_the_online_cap_is_refused_and_changes_nothing(worlds, login, session):
    api = login("yubei-admin")
    class_id = _new_class(api, worlds["yubei"], _lessons(15, 15))
    assert api.post(f"/api/classes/{class_id}/file").status_code == 200
    offline = [x["id"] for x in api.get(f"/api/classes/{class_id}").get_json()["lessons"] if x["mode"] == "offline"]
    resp = api.post(f"/api/classes/{class_id}/amendments", json={
        "reason": "改为线上", "cancel_lesson_ids": [offline[0]], "add_lessons": _lessons(0, 1, start=date(2026, 5, 2))})
    assert resp.status_code == 422
    session.rollback()  # end the read snapshot, see what requests wrote
    assert session.get(Lesson, offline[0]).cancelled_at is None
    assert session.scalars(select(ClassAmendment)).all() == []


def test_an_unknown_occupation_code_is_refused_naming_the_field(worlds, login):
    api = login("yubei-admin")
    resp = api.post("/api/classes", json={"name": "x", "region_code": "cq", "district_id": worlds["yubei"].district_id,
                                          "occupation_code": "9-99-99-99", "level": "mid", "starts_on": "2026-03-01",
                                          "ends_on": "2026-05-31"})
    assert resp.status_code == 422
    assert resp.get_json()["error"]["fields"][0]["field"] == "occupation_code"


def test_a_zhejiang_legacy_occupation_code_is_stored_as_the_current_one(worlds, login):
    api = login("yubei-admin")
    resp = api.post("/api/classes", json={"name": "x", "region_code": "cq", "district_id": worlds["yubei"].district_id,
                                          "occupation_code": "2-02-10-11", "level": "mid", "starts_on": "2026-03-01",
                                          "ends_on": "2026-05-31"})
    assert resp.status_code == 201
    assert resp.get_json()["occupation_code"] == "2-02-38-03"


@pytest.mark.parametrize("body, field", [
    ({"region_code": "xx"}, "region_code"),
    ({"starts_on": "2026-06-01", "ends_on": "2026-05-01"}, "(body)"),
    ({"starts_on": "2026-02-30"}, "starts_on"),
    ({"level": "expert"}, "level"),
])
def test_a_class_with_bad_input_is_refused_naming_the_field(worlds, login, body, field):
    base = {"name": "x", "region_code": "cq", "district_id": worlds["yubei"].district_id, "occupation_code": "2-02-38-04",
            "level": "mid", "starts_on": "2026-03-01", "ends_on": "2026-05-31"}
    resp = login("yubei-admin").post("/api/classes", json={**base, **body})
    assert resp.status_code == 422, resp.get_json()
    assert field in [f["field"] for f in resp.get_json()["error"]["fields"]]


def test_a_lesson_time_without_a_time_zone_is_refused(worlds, login):
    resp = login("yubei-admin").post(f"/api/classes/{worlds['yubei'].class_id}/lessons", json={"lessons": [
        {"starts_at": "2026-03-09T09:00:00", "ends_at": "2026-03-09T12:00:00", "mode": "online", "content": "theory"}]})
    assert resp.status_code == 422
    assert "须带时区" in resp.get_data(as_text=True)


def test_every_management_action_is_audited_with_who_and_what(worlds, login, session):
    api = login("yubei-admin")
    api.post("/api/teachers", json={"name": "李老师", "title": "讲师"})
    entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "teacher.create"))
    assert entry.actor_name == "yubei-admin" and entry.after["name"] == "李老师"
    trail = api.get("/api/audit").get_json()
    assert trail[0]["action"] == "teacher.create"


def test_the_audit_log_cannot_be_edited_or_deleted_even_with_sql(worlds, login, session):
    login("yubei-admin").post("/api/teachers", json={"name": "李老师"})
    entry_id = session.scalar(select(AuditEntry.id).where(AuditEntry.action == "teacher.create"))
    with pytest.raises(DBAPIError):
        session.execute(text("UPDATE audit_entries SET actor_name = 'someone-else' WHERE id = :i"), {"i": entry_id})
    session.rollback()
    with pytest.raises(DBAPIError):
        session.execute(text("DELETE FROM audit_entries WHERE id = :i"), {"i": entry_id})
    session.rollback()
    assert session.scalar(select(AuditEntry.actor_name).where(AuditEntry.id == entry_id)) == "yubei-admin"


def test_the_openapi_document_is_served_and_lists_the_management_routes(worlds, client):
    spec = client.get("/api/openapi.json").get_json()
    assert spec["openapi"].startswith("3.1")
    for path in ["/api/venues", "/api/classes", "/api/classes/{class_id}/file", "/api/trainees/import"]:
        assert path in spec["paths"], path
    venue = spec["components"]["schemas"]["VenueIn"]
    assert "radius_m" in venue["properties"]
    assert client.get("/api/docs").status_code == 200


def test_a_lesson_added_by_mistake_can_be_removed_from_a_draft_but_not_from_a_filed_plan(worlds, login, session):
    api = login("yubei-admin")
    class_id = _new_class(api, worlds["yubei"], _lessons(15, 15))
    lessons = api.get(f"/api/classes/{class_id}").get_json()["lessons"]
    resp = api.client.delete(f"/api/classes/{class_id}/lessons/{lessons[0]['id']}", headers={"X-CSRF-Token": api.csrf})
    assert resp.status_code == 200
    assert len(api.get(f"/api/classes/{class_id}").get_json()["lessons"]) == 29
    assert session.scalar(select(AuditEntry).where(AuditEntry.action == "lesson.remove")).before["lesson"]["id"] == lessons[0]["id"]
    without_csrf = api.client.delete(f"/api/classes/{class_id}/lessons/{lessons[1]['id']}")
    assert without_csrf.status_code == 403
    # Back to 30 lessons, filed: now only an amendment can take a lesson out.
    extra = [{**x, "venue_id": worlds["yubei"].venue_id} for x in _lessons(1, 0, start=date(2026, 5, 1))]
    api.post(f"/api/classes/{class_id}/lessons", json={"lessons": extra})
    assert api.post(f"/api/classes/{class_id}/file").status_code == 200
    refused = api.client.delete(f"/api/classes/{class_id}/lessons/{lessons[1]['id']}", headers={"X-CSRF-Token": api.csrf})
    assert refused.status_code == 409


def test_the_districts_list_names_each_district_with_its_city_and_region(worlds, login):
    rows = login("yubei-admin").get("/api/districts").get_json()
    assert {(r["name"], r["city"], r["region_code"]) for r in rows} == {("yubei", "重庆市", "cq"), ("nanan", "重庆市", "cq")}


def test_a_subsidised_class_requires_the_room_code_unless_the_institution_says_otherwise(worlds, login):
    api = login("yubei-admin")
    subsidised = _new_class(api, worlds["yubei"], _lessons(1, 0))
    self_paid = _new_class(api, worlds["yubei"], _lessons(1, 0), funding="self_paid")
    opted_out = _new_class(api, worlds["yubei"], _lessons(1, 0), room_code=False)
    assert [api.get(f"/api/classes/{c}").get_json()["room_code"] for c in (subsidised, self_paid, opted_out)] == [True, False, False]
