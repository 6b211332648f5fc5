"""From stored events to the 学时台账, with the clock an argument: offline credit is the overlap
of verified check-in/out with the lesson; online credit needs passed spot checks and a visible
page. Real frames, real recognizer, real database."""
from __future__ import annotations

import uuid
from datetime import UTC, timedelta

import pytest
from sqlalchemy import select

from server.models import Lesson, User
from server.services import checkin, ledger, presence, review
from server.services.scope import Actor
from tests.factories import MIRANDA_DEVICE, Phone, clip_times, inside_fix

pytestmark = pytest.mark.slow


@pytest.fixture
def ctx(app, recognizer):
    return checkin.Context(recognizer=recognizer, recognition_settings=app.config["RECOGNITION_SETTINGS"],
                           store=app.extensions["hourproof_evidence"], face_index=app.extensions["hourproof_face_index"])


def _actor(session, username):
    return Actor.of(session.scalar(select(User).where(User.username == username)))


def _bind_phone(session):
    user = session.scalar(select(User).where(User.username == "miranda"))
    user.device_id = MIRANDA_DEVICE
    session.commit()


def _do(session, ctx, actor, lesson_id, kind, at, frames, location=None, spot_check_id=None, seed=0):
    import random

    # the challenge a few seconds before the burst arrives, as on a phone that films first
    row = checkin.issue_challenge(session, actor, lesson_id, kind, spot_check_id, at - timedelta(seconds=5),
                                  ctx.recognition_settings, random.Random(seed))
    sub = checkin.Submission(kind=kind, nonce=row.nonce, idempotency_key=uuid.uuid4().hex, device_id=MIRANDA_DEVICE,
                             camera_label="前置摄像头", lat=location and location["lat"], lon=location and location["lon"],
                             accuracy_m=location and location["accuracy_m"], datum="wgs84", frames=frames,
                             spot_check_id=spot_check_id, fix_at=at if location else None,
                             frame_times=clip_times(len(frames)))
    status, answer = checkin.submit(session, actor, lesson_id, sub, at, ctx)
    return answer


def test_offline_credit_is_the_overlap_of_verified_check_in_and_check_out_with_the_lesson(
        app, live, session, ctx, clip_burst, other_burst):
    _bind_phone(session)
    me = _actor(session, "miranda")
    lesson = session.get(Lesson, live["offline"])
    start = lesson.starts_at
    a = _do(session, ctx, me, lesson.id, "check_in", start - timedelta(minutes=5), clip_burst, inside_fix(), seed=live["seed"])
    b = _do(session, ctx, me, lesson.id, "check_out", start + timedelta(minutes=120), clip_burst,
            inside_fix(), seed=live["seed"])
    assert a["verdict"] == "verified", a["reasons"]
    # The same frames again are a replay: flagged, so this check-out does not count on its own...
    assert b["verdict"] == "flagged"
    out = ledger.enrollment_ledger(session, me, live["enrollment"], start + timedelta(hours=3))
    offline = next(x for x in out["lessons"] if x["lesson_id"] == lesson.id)
    assert offline["credited_minutes"] == 0.0  # no verified end: nothing past the last verified event
    assert any(u["code"] in ("no_check_out", "pending_review") for u in offline["uncredited"])
    # ...until a supervisor looks at the evidence and approves it (a new event, not an edit).
    review.decide(session, _actor(session, "supervisor"), b["event_id"], "approved", "核对现场照片，确为本人", start + timedelta(hours=4))
    out = ledger.enrollment_ledger(session, me, live["enrollment"], start + timedelta(hours=4))
    offline = next(x for x in out["lessons"] if x["lesson_id"] == lesson.id)
    assert offline["credited_minutes"] == 120.0  # from the lesson's start (not the early check-in) to check-out


def test_a_missing_check_out_credits_up_to_the_last_verified_spot_check(app, live, session, ctx, clip_burst):
    _bind_phone(session)
    me = _actor(session, "miranda")
    lesson = session.get(Lesson, live["offline"])
    start = lesson.starts_at
    assert _do(session, ctx, me, lesson.id, "check_in", start, clip_burst, inside_fix(), seed=live["seed"])["verdict"] == "verified"
    [spot] = presence.issue_spot_checks(session, _actor(session, "teacher"), lesson.id, [live["trainee"]], "teacher",
                                        start + timedelta(minutes=60))
    # A re-encoding at a different quality: the same motions, but not byte-identical frames.
    import io

    from PIL import Image

    recoded = []
    for f in clip_burst:
        out = io.BytesIO()
        Image.open(io.BytesIO(f)).resize((600, 338)).save(out, "JPEG", quality=70)
        recoded.append(out.getvalue())
    answer = _do(session, ctx, me, lesson.id, "spot_check", start + timedelta(minutes=60, seconds=20), recoded,
                 inside_fix(), spot_check_id=spot.id, seed=live["seed"])
    assert answer["verdict"] in ("verified", "flagged"), answer["reasons"]
    if answer["verdict"] == "flagged":
        review.decide(session, _actor(session, "supervisor"), answer["event_id"], "approved", "画面相似但确为本人现场",
                      start + timedelta(minutes=61))
    out = ledger.enrollment_ledger(session, me, live["enrollment"], start + timedelta(hours=3))
    offline = next(x for x in out["lessons"] if x["lesson_id"] == lesson.id)
    assert 60.0 <= offline["credited_minutes"] <= 60.5
    assert any(u["code"] == "no_check_out" for u in offline["uncredited"])


def test_an_offline_spot_check_answered_away_from_the_venue_fails_the_location_check_and_voids_the_span(
        app, live, session, ctx, clip_burst, other_burst):
    _bind_phone(session)
    me = _actor(session, "miranda")
    lesson = session.get(Lesson, live["offline"])
    start = lesson.starts_at
    assert _do(session, ctx, me, lesson.id, "check_in", start, clip_burst, inside_fix(), seed=live["seed"])["verdict"] == "verified"
    [spot] = presence.issue_spot_checks(session, _actor(session, "teacher"), lesson.id, [live["trainee"]], "teacher",
                                        start + timedelta(minutes=60))
    answer = _do(session, ctx, me, lesson.id, "spot_check", start + timedelta(minutes=60, seconds=20), other_burst,
                 inside_fix(offset_m=3000), spot_check_id=spot.id, seed=live["seed"])
    assert answer["verdict"] == "rejected"
    assert "outside_fence" in {r["code"] for r in answer["reasons"]}, answer["reasons"]
    out = ledger.enrollment_ledger(session, me, live["enrollment"], start + timedelta(hours=3))
    offline = next(x for x in out["lessons"] if x["lesson_id"] == lesson.id)
    assert offline["credited_minutes"] == 0.0
    assert any(u["code"] == "spot_check_failed" for u in offline["uncredited"])


def test_online_credit_needs_a_visible_page_and_passed_spot_checks(app, live, session, ctx, clip_burst):
    _bind_phone(session)
    me = _actor(session, "miranda")
    lesson = session.get(Lesson, live["online"])
    start = lesson.starts_at
    assert _do(session, ctx, me, lesson.id, "check_in", start, clip_burst, seed=live["seed"])["verdict"] == "verified"
    from server.models import Heartbeat

    # Visible for 40 minutes, every 30 s; then the page is hidden for 10 minutes.
    for i in range(0, 80):
        session.add(Heartbeat(lesson_id=lesson.id, trainee_id=live["trainee"], at=start + timedelta(seconds=30 * i), visible=True))
    session.add(Heartbeat(lesson_id=lesson.id, trainee_id=live["trainee"], at=start + timedelta(minutes=40), visible=False))
    session.commit()
    [spot] = presence.issue_spot_checks(session, me, lesson.id, [live["trainee"]], "scheduled", start + timedelta(minutes=20))
    # The spot check is answered with a real burst; the frames were seen at check-in, so it is
    # flagged and approved by a person (a fresh burst would pass on its own).
    answer = _do(session, ctx, me, lesson.id, "spot_check", start + timedelta(minutes=20, seconds=30), clip_burst,
                 spot_check_id=spot.id, seed=live["seed"])
    if answer["verdict"] == "flagged":
        review.decide(session, _actor(session, "supervisor"), answer["event_id"], "approved", "本人在线", start + timedelta(minutes=21))
    out = ledger.enrollment_ledger(session, me, live["enrollment"], start + timedelta(minutes=50))
    online = next(x for x in out["lessons"] if x["lesson_id"] == lesson.id)
    assert 20.0 <= online["credited_minutes"] <= 20.6  # start to the passed spot check; nothing after it yet
    assert {u["code"] for u in online["uncredited"]} == {"no_check_out"}  # after the last pass: not yet credited
    assert out["credited"]["online"] != "0"
    # A second spot check while the page is hidden goes unanswered: missed, and it adds nothing.
    presence.issue_spot_checks(session, me, lesson.id, [live["trainee"]], "scheduled", start + timedelta(minutes=45))
    out = ledger.enrollment_ledger(session, me, live["enrollment"], start + timedelta(minutes=50))
    online = next(x for x in out["lessons"] if x["lesson_id"] == lesson.id)
    assert 20.0 <= online["credited_minutes"] <= 20.6
    assert "spot_check_missed" in {u["code"] for u in online["uncredited"]}


def test_the_ledger_is_served_to_the_trainee_and_the_district_but_not_to_another_trainee(app, live, session):
    mine = Phone(app).client.get(f"/api/enrollments/{live['enrollment']}/ledger")
    assert mine.status_code == 200
    body = mine.get_json()
    assert body["required_hours"] == "160" and body["minutes_per_class_hour"] == 45
    assert set(body["credited"]) >= {"offline", "online", "total", "complete"}
    rose = Phone(app, "rose", device="phone-rose-000001").client.get(f"/api/enrollments/{live['enrollment']}/ledger")
    assert rose.status_code == 404
    sup = app.test_client()
    sup.post("/api/auth/login", json={"username": "supervisor", "password": "correct-horse-9"})
    assert sup.get(f"/api/enrollments/{live['enrollment']}/ledger").status_code == 200


def test_time_since_the_last_check_of_a_running_lesson_is_pending_not_unverified(app, live, session, ctx, clip_burst):
    _bind_phone(session)
    me = _actor(session, "miranda")
    lesson = session.get(Lesson, live["offline"])
    start = lesson.starts_at
    assert _do(session, ctx, me, lesson.id, "check_in", start, clip_burst, inside_fix(), seed=live["seed"])["verdict"] == "verified"
    during = ledger.enrollment_ledger(session, me, live["enrollment"], start + timedelta(minutes=30))
    row = next(x for x in during["lessons"] if x["lesson_id"] == lesson.id)
    assert row["running"] and [u["pending"] for u in row["uncredited"] if u["code"] == "no_check_out"] == [True]
    assert during["raw"]["offline"] == "0.00"  # nothing counted as unverified while it is still open
    after = ledger.enrollment_ledger(session, me, live["enrollment"], lesson.ends_at + timedelta(hours=1))
    row = next(x for x in after["lessons"] if x["lesson_id"] == lesson.id)
    assert not row["running"] and [u["pending"] for u in row["uncredited"] if u["code"] == "no_check_out"] == [False]
    assert after["raw"]["offline"] != "0.00"  # the lesson is over: the unchecked time is unverified


def test_online_time_over_the_regions_cap_is_credited_only_up_to_the_cap_with_the_clause(app, live, session):
    """Chongqing sets no online cap of its own: POLICY §3's default, online counts for at most 50%
    of the required 160 学时 (80 学时 = 60 hours at 45 minutes). A class whose plan leans on online
    lessons: 16 past online lessons of 4 hours, each with a verified check-in, the page visible
    throughout (a heartbeat every 30 s) and a verified check-out = 64 hours online, 4 over the cap;
    and one offline lesson of 4 hours, which the cap does not touch."""
    from datetime import datetime, time
    from decimal import Decimal
    from zoneinfo import ZoneInfo

    from sqlalchemy import insert

    from server.models import Heartbeat, LessonContent, LessonMode, TrainingClass
    from server.services import chain

    shanghai = ZoneInfo("Asia/Shanghai")
    cls = session.get(TrainingClass, live["class_id"])
    today = datetime.now(UTC).astimezone(shanghai).date()
    cls.starts_on = today - timedelta(days=20)
    user = session.scalar(select(User).where(User.username == "miranda"))
    past = []
    for day in range(1, 18):  # the 17 days before today: one offline day, then 16 online days
        starts = datetime.combine(today - timedelta(days=day), time(9, 0), shanghai)
        offline = day == 17
        lesson = Lesson(class_id=cls.id, starts_at=starts, ends_at=starts + timedelta(hours=4),
                        mode=LessonMode.offline if offline else LessonMode.online,
                        content=LessonContent.practice if offline else LessonContent.theory,
                        venue_id=live["venue"] if offline else None)
        session.add(lesson)
        past.append(lesson)
    session.flush()
    beats = []
    for lesson in past:
        for kind, at in (("check_in", lesson.starts_at), ("check_out", lesson.ends_at)):
            chain.append(session, chain.NewEvent(kind=kind, class_id=cls.id, lesson_id=lesson.id, enrollment_id=live["enrollment"],
                         trainee_id=live["trainee"], actor_id=user.id, at=at, verdict="verified", decides_event_id=None,
                         spot_check_id=None, reasons=[],
                         evidence={"frames": ["ab" * 32], "face": {"best_distance": 0.31, "threshold": 0.55}},
                         idempotency_key=f"{kind}-{lesson.id}", device_id=MIRANDA_DEVICE))
        if lesson.mode is LessonMode.online:
            beats += [{"lesson_id": lesson.id, "trainee_id": live["trainee"], "at": lesson.starts_at + timedelta(seconds=30 * i),
                       "visible": True} for i in range(4 * 120 + 1)]
    session.execute(insert(Heartbeat), beats)
    session.commit()

    body = Phone(app).client.get(f"/api/enrollments/{live['enrollment']}/ledger").get_json()
    online = [x for x in body["lessons"] if x["lesson_id"] in {p.id for p in past} and x["mode"] == "online"]
    assert len(online) == 16 and {x["credited_minutes"] for x in online} == {240.0}  # each lesson in full
    assert Decimal(body["verified"]["online"]) == Decimal("85.33")  # 64 h = 3840 min / 45
    assert Decimal(body["credited"]["online_cap"]) == Decimal("80")
    assert Decimal(body["credited"]["online"]) == Decimal("80")  # capped
    assert Decimal(body["credited"]["offline"]) == Decimal("5.33")  # 240 min / 45, not capped
    assert Decimal(body["credited"]["total"]) == Decimal("85.33")
    assert body["credited"]["complete"] is False
    [cap] = [r for r in body["reasons"] if r["code"] == "online_over_cap"]
    assert cap["clause"] == "POLICY §3"
    assert "50%" in cap["detail"] and "240 分钟" in cap["detail"]


def test_a_recorded_lessons_ledger_credits_the_content_watched_once_and_says_why_the_rest_did_not_count(app, live, session):
    """A past online lesson of 2 hours that plays a 1-hour recorded video in the page, checked in
    and out (verified), the page visible with the player's state every 30 s: 30 minutes watched,
    then a jump 20 minutes ahead (played 10 minutes there), back to 30:00 and on to the end of
    the video (30 minutes), then the same video again from the start for 20 minutes. Credited:
    the 60 minutes of content watched in order, each minute once; the jump, the replay and the
    time after the video ended say why they are not."""
    from datetime import datetime

    from sqlalchemy import insert

    from server.models import Heartbeat, LessonContent, LessonMedia, LessonMode, TrainingClass
    from server.services import chain

    cls = session.get(TrainingClass, live["class_id"])
    starts = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=5)
    lesson = Lesson(class_id=cls.id, starts_at=starts, ends_at=starts + timedelta(hours=2), mode=LessonMode.online,
                    content=LessonContent.theory)
    session.add(lesson)
    session.flush()
    session.add(LessonMedia(lesson_id=lesson.id, kind="recorded", sha256="ab" * 32, content_type="video/mp4",
                            size_bytes=1, duration_s=3600.0))
    user = session.scalar(select(User).where(User.username == "miranda"))
    for kind, at in (("check_in", lesson.starts_at), ("check_out", lesson.ends_at)):
        chain.append(session, chain.NewEvent(kind=kind, class_id=cls.id, lesson_id=lesson.id, enrollment_id=live["enrollment"],
                     trainee_id=live["trainee"], actor_id=user.id, at=at, verdict="verified", decides_event_id=None,
                     spot_check_id=None, reasons=[], evidence={"seeded": True}, idempotency_key=f"{kind}-{lesson.id}",
                     device_id=MIRANDA_DEVICE))
    beats = []

    def play(from_min: float, to_min: float, position_s: float, state: str = "playing") -> None:
        at = starts + timedelta(minutes=from_min)
        n = int((to_min - from_min) * 2)
        for i in range(n + 1):
            moved = 30 * i if state == "playing" else 0
            beats.append({"lesson_id": lesson.id, "trainee_id": live["trainee"], "at": at + timedelta(seconds=30 * i),
                          "visible": True, "position_s": position_s + moved, "playback": state, "rate": 1.0})

    play(0, 30, 0)              # 0:00-30:00 of the video
    play(30.5, 40, 3000)        # jumped to 50:00: not credited
    play(40.5, 70, 1800)        # back to 30:00, on to the end (60:00 at 70 min)
    play(70.5, 80, 3600, "ended")
    play(80.5, 100, 0)          # the same video again from the start
    play(100.5, 120, 1170, "paused")
    session.execute(insert(Heartbeat), beats)
    session.commit()

    body = Phone(app).client.get(f"/api/enrollments/{live['enrollment']}/ledger").get_json()
    [row] = [x for x in body["lessons"] if x["lesson_id"] == lesson.id]
    assert 59.0 <= row["credited_minutes"] <= 60.0, row  # the video's 60 minutes, once
    codes = {u["code"] for u in row["uncredited"]}
    assert {"seek_ahead", "replayed", "paused"} <= codes, codes
    [ahead] = [u for u in row["uncredited"] if u["code"] == "seek_ahead"]
    assert ahead["clause"] == "POLICY §9" and "30:00" in ahead["detail"]
    assert all(u["claimed"] for u in row["uncredited"] if u["code"] in ("seek_ahead", "replayed", "paused"))
