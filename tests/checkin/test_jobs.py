"""Scheduled spot checks: 2-4 random times per hour of online lesson, issued once per slot."""
from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import func, select

from server.models import Lesson, SpotCheck
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


def test_due_slots_are_issued_once_to_each_trainee_who_checked_in(app, live, session):
    lesson = session.get(Lesson, live["online"])
    chain.append(session, chain.NewEvent(kind="check_in", class_id=live["class_id"], lesson_id=lesson.id, enrollment_id=live["enrollment"],
                 trainee_id=live["trainee"], actor_id=None, at=lesson.starts_at, verdict="verified", decides_event_id=None,
                 spot_check_id=None, reasons=[], evidence={}, idempotency_key="k-jobs-1", device_id=None))
    session.commit()
    secret = "test-secret"
    first_slot = plan_spot_checks(lesson.starts_at, lesson.ends_at, jobs.lesson_rng(secret, lesson.id))[0]
    now = first_slot + timedelta(seconds=5)
    issued = jobs.issue_due(session, secret, now)
    assert [c.trainee_id for c in issued] == [live["trainee"]]  # not the trainee who never checked in
    assert issued[0].due_at == now + timedelta(seconds=60)
    again = jobs.issue_due(session, secret, now + timedelta(seconds=20))
    assert again == []
    assert session.scalar(select(func.count()).select_from(SpotCheck)) == 1
