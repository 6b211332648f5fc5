"""Scheduled spot checks: 2-4 random times per hour of online lesson, issued once per slot."""
from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import func, select

from server.models import Lesson, SpotCheck, User
from server.scheduler import jobs
from server.services import chain
from server.services.presence import plan_spot_checks

T0 = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)


@given(hours=st.integers(min_value=1, max_value=8), seed=st.integers(min_value=0, max_value=2**32))
def test_every_hour_of_a_lesson_gets_two_to_four_spot_checks_inside_it(hours, seed):
    end = T0 + timedelta(hours=hours)
    times = plan_spot_checks(T0, end, random.Random(seed))
    assert times == sorted(times)
    for h in range(hours):
        lo, hi = T0 + timedelta(hours=h), T0 + timedelta(hours=h + 1)
        n = sum(lo <= t < hi for t in times)
        assert 2 <= n <= 4
        assert all(lo + timedelta(minutes=5) <= t <= hi - timedelta(minutes=5) for t in times if lo <= t < hi)


def test_the_plan_is_secret_but_stable_per_lesson():
    a = plan_spot_checks(T0, T0 + timedelta(hours=2), jobs.lesson_rng("secret-1", 7))
    b = plan_spot_checks(T0, T0 + timedelta(hours=2), jobs.lesson_rng("secret-1", 7))
    c = plan_spot_checks(T0, T0 + timedelta(hours=2), jobs.lesson_rng("secret-2", 7))
    assert a == b and a != c


def test_due_slots_are_issued_once_to_each_trainee_checked_in_whose_page_is_open(app, live, session):
    from server.models import Heartbeat

    lesson = session.get(Lesson, live["online"])
    for n, trainee in enumerate((live["trainee"], live["other"])):
        chain.append(session, chain.NewEvent(kind="check_in", class_id=live["class_id"], lesson_id=lesson.id, enrollment_id=None,
                     trainee_id=trainee, actor_id=None, at=lesson.starts_at, verdict="verified", decides_event_id=None,
                     spot_check_id=None, reasons=[], evidence={}, idempotency_key=f"k-jobs-{n}", device_id=None))
    secret = "test-secret"
    first_slot = plan_spot_checks(lesson.starts_at, lesson.ends_at, jobs.lesson_rng(secret, lesson.id))[0]
    now = first_slot + timedelta(seconds=5)
    # The first trainee's page reported 10 s ago; the other checked in and closed the page.
    session.add(Heartbeat(lesson_id=lesson.id, trainee_id=live["trainee"], at=now - timedelta(seconds=10), visible=True))
    session.add(Heartbeat(lesson_id=lesson.id, trainee_id=live["other"], at=now - timedelta(minutes=5), visible=True))
    session.commit()
    issued = jobs.issue_due(session, secret, now)
    assert [c.trainee_id for c in issued] == [live["trainee"]]  # not the trainee whose page is gone
    assert issued[0].due_at == now + timedelta(seconds=60)
    again = jobs.issue_due(session, secret, now + timedelta(seconds=20))
    assert again == []
    assert session.scalar(select(func.count()).select_from(SpotCheck)) == 1


# --- offline lessons (issue 17: spot checks between check-in and check-out) -------------------

def test_an_offline_lesson_gets_its_regions_spot_checks_and_only_trainees_present_are_asked_and_a_missed_one_ends_the_credit(
        session, world):
    from server.services import ledger
    from tests.factories import NOW, event, make_class, make_lesson

    cls, (here, left, refused) = make_class(session, world, enrol=(0, 1, 2))
    start = NOW - timedelta(hours=3)
    lesson = make_lesson(session, world, cls, start, hours=2)
    secret = "test-secret"
    plan = plan_spot_checks(lesson.starts_at, lesson.ends_at, jobs.lesson_rng(secret, lesson.id), (1, 2))
    assert 2 <= len(plan) <= 4  # cq: 1-2 per started hour (offline_spot_checks, POLICY §9)
    slot = plan[0]
    event(session, lesson, here, "check_in", "verified", start - timedelta(minutes=5), "off-in-0")
    event(session, lesson, left, "check_in", "verified", start, "off-in-1")
    event(session, lesson, left, "check_out", "verified", slot - timedelta(minutes=1), "off-out-1")
    event(session, lesson, refused, "check_in", "rejected", start, "off-in-2")
    session.commit()
    issued = jobs.issue_due(session, secret, slot + timedelta(seconds=5))
    assert [c.trainee_id for c in issued] == [here.trainee_id]  # not who left, not whose check-in failed
    assert issued[0].planned_for == slot
    # Never answered; a verified check-out at the end. The missed check voids the span around it.
    event(session, lesson, here, "check_out", "verified", lesson.ends_at, "off-out-0")
    session.commit()
    out = ledger.ledger_for(session, cls, here, NOW)
    [row] = out["lessons"]
    assert row["credited_minutes"] == 0.0
    assert [(u["code"], u["start"], u["end"]) for u in row["uncredited"] if u["code"] == "spot_check_missed"] == [
        ("spot_check_missed", lesson.starts_at.isoformat(), lesson.ends_at.isoformat())]


def test_a_regions_time_to_answer_sets_when_a_spot_check_falls_due(session, live, monkeypatch):
    """spot_check_answer in the region file (POLICY §9, default 60 s) gives the due time of the
    spot checks the scheduler and a teacher issue."""
    import dataclasses

    from policies.model import Cited
    from server.services import presence, rules
    from server.services.scope import Actor

    own = rules.region

    def region(code):
        return dataclasses.replace(own(code), spot_check_answer_seconds=Cited(90, "POLICY §9"))

    monkeypatch.setattr(rules, "region", region)
    lesson = session.get(Lesson, live["online"])
    teacher = session.scalar(select(User).where(User.username == "teacher"))
    now = lesson.starts_at + timedelta(minutes=30)
    [check] = presence.issue_spot_checks(session, Actor.of(teacher), lesson.id, [live["trainee"]], "teacher", now)
    assert check.due_at - check.issued_at == timedelta(seconds=90)
