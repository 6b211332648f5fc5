"""GET /api/me/lessons: the phone app's list of a trainee's lessons of a day (Beijing time)."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

from server.models import Lesson, LessonContent, LessonMode


def test_a_trainee_sees_the_lessons_of_the_day_with_venue_enrollment_and_latest_event(worlds, login):
    y = worlds["yubei"]
    body = login("yubei-trainee").get("/api/me/lessons?date=2026-03-02").get_json()
    assert body["date"] == "2026-03-02" and body["timezone"] == "Asia/Shanghai"
    assert body["enrollments"] == [{"enrollment_id": y.enrollment_id, "class_id": y.class_id, "class_name": "yubei class",
                                    "region_code": "cq"}]
    [lesson] = body["lessons"]
    assert lesson["lesson_id"] == y.lesson_id and lesson["enrollment_id"] == y.enrollment_id
    assert lesson["mode"] == "offline" and lesson["content"] == "practice"
    assert lesson["starts_at"] == "2026-03-02T01:00:00+00:00" and lesson["ends_at"] == "2026-03-02T05:00:00+00:00"
    assert lesson["venue"]["name"] == "yubei venue" and lesson["venue"]["datum"] == "gcj02"
    assert lesson["venue"]["centre"] == [29.6, 106.5] and lesson["venue"]["radius_m"] == 100
    assert lesson["state"] == "closed"  # 2026-03-02 is past
    assert lesson["check_in_opens_at"] == "2026-03-02T00:30:00+00:00" and lesson["check_out_closes_at"] == "2026-03-02T05:30:00+00:00"
    assert lesson["latest_event"]["verdict"] == "flagged"
    assert lesson["check_in"]["event_id"] == y.event_id and lesson["check_out"] is None
    assert lesson["check_in"]["review"] is None
    assert lesson["latest_event"]["reasons"][0]["clause"] == "cq 5.2"


def test_another_day_has_no_lessons_but_still_lists_the_enrollments(worlds, login):
    body = login("yubei-trainee").get("/api/me/lessons?date=2026-03-03").get_json()
    assert body["lessons"] == [] and len(body["enrollments"]) == 1


def test_days_are_cut_in_beijing_time_and_cancelled_lessons_are_left_out(worlds, login, session):
    y = worlds["yubei"]
    # 2026-03-03 23:30 Beijing is 15:30 UTC on the 3rd; 00:30 Beijing on the 4th is 16:30 UTC on the 3rd.
    late = Lesson(class_id=y.class_id, starts_at=datetime(2026, 3, 3, 15, 30, tzinfo=UTC),
                  ends_at=datetime(2026, 3, 3, 15, 50, tzinfo=UTC), mode=LessonMode.online, content=LessonContent.theory)
    after_midnight = Lesson(class_id=y.class_id, starts_at=datetime(2026, 3, 3, 16, 30, tzinfo=UTC),
                            ends_at=datetime(2026, 3, 3, 17, 30, tzinfo=UTC), mode=LessonMode.online,
                            content=LessonContent.theory)
    cancelled = Lesson(class_id=y.class_id, starts_at=datetime(2026, 3, 3, 2, 0, tzinfo=UTC),
                       ends_at=datetime(2026, 3, 3, 3, 0, tzinfo=UTC), mode=LessonMode.online,
                       content=LessonContent.theory, cancelled_at=datetime(2026, 3, 1, tzinfo=UTC))
    session.add_all([late, after_midnight, cancelled])
    session.commit()
    api = login("yubei-trainee")
    assert [x["lesson_id"] for x in api.get("/api/me/lessons?date=2026-03-03").get_json()["lessons"]] == [late.id]
    day4 = api.get("/api/me/lessons?date=2026-03-04").get_json()["lessons"]
    assert [x["lesson_id"] for x in day4] == [after_midnight.id]
    assert day4[0]["venue"] is None and day4[0]["mode"] == "online"


def test_today_is_the_default_and_the_state_follows_the_check_in_window(worlds, login, session):
    y = worlds["yubei"]
    now = datetime.now(UTC)
    # Kept inside one Beijing day whatever the hour the test runs at.
    from server.clock import DEPLOYMENT_ZONE as SHANGHAI

    midnight = datetime.combine(now.astimezone(SHANGHAI).date(), datetime.min.time(), SHANGHAI)
    rows = {
        "running": Lesson(class_id=y.class_id, starts_at=now - timedelta(minutes=1), ends_at=now + timedelta(minutes=1),
                          mode=LessonMode.offline, content=LessonContent.practice, venue_id=y.venue_id),
        "whole_day": Lesson(class_id=y.class_id, starts_at=midnight, ends_at=midnight + timedelta(days=1) - timedelta(minutes=1),
                            mode=LessonMode.online, content=LessonContent.theory),
    }
    session.add_all(rows.values())
    session.commit()
    body = login("yubei-trainee").get("/api/me/lessons").get_json()
    assert body["date"] == now.astimezone(SHANGHAI).date().isoformat()
    states = {x["lesson_id"]: x["state"] for x in body["lessons"]}
    assert states[rows["running"].id] == "in_progress" and states[rows["whole_day"].id] == "in_progress"


def test_the_state_names_each_part_of_the_window():
    from server.services.checkin import CheckinSettings
    from server.services.trainee_home import window_state

    t0 = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
    lesson = Lesson(starts_at=t0, ends_at=t0 + timedelta(hours=4))
    s = CheckinSettings()
    at = lambda minutes: window_state(lesson, t0 + timedelta(minutes=minutes), s)  # noqa: E731
    assert [at(-31), at(-30), at(-1), at(0), at(240), at(241), at(270), at(271)] == [
        "not_open", "open", "open", "in_progress", "in_progress", "check_out_only", "check_out_only", "closed"]


def test_only_trainees_may_ask_and_only_about_their_own_classes(worlds, login):
    y, n = worlds["yubei"], worlds["nanan"]
    assert login("yubei-admin").get("/api/me/lessons").status_code == 403
    assert login("yubei-supervisor").get("/api/me/lessons").status_code == 403
    resp = login("nanan-trainee").get(f"/api/me/lessons?class_id={y.class_id}&date=2026-03-02")
    assert resp.status_code == 404 and "yubei" not in resp.get_data(as_text=True)
    mine = login("nanan-trainee").get(f"/api/me/lessons?class_id={n.class_id}&date=2026-03-02").get_json()
    assert [x["lesson_id"] for x in mine["lessons"]] == [n.lesson_id]


def test_a_signed_out_phone_gets_401_and_bad_input_422(worlds, client, login):
    assert client.get("/api/me/lessons").status_code == 401
    api = login("yubei-trainee")
    assert api.get("/api/me/lessons?date=2026-02-30").status_code == 422
    assert api.get("/api/me/lessons?day=2026-03-02").status_code == 422


def test_a_reviewed_check_in_carries_the_reviewers_decision(worlds, login):
    y = worlds["yubei"]
    resp = login("yubei-supervisor").post(f"/api/events/{y.event_id}/review", json={"decision": "approved", "reason": "看过证据，在场"})
    assert resp.status_code == 201, resp.get_json()
    [lesson] = login("yubei-trainee").get("/api/me/lessons?date=2026-03-02").get_json()["lessons"]
    assert lesson["check_in"]["verdict"] == "flagged"
    assert lesson["check_in"]["review"]["decision"] == "approved" and lesson["check_in"]["review"]["reason"] == "看过证据，在场"
    assert lesson["latest_event"]["kind"] == "review_decision"
