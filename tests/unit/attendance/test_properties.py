"""Properties over generated timelines, offline and online."""
from __future__ import annotations

import random
from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from policies.attendance import AttendanceEvent, Heartbeat, SpotCheck, offline_credit, online_credit
from policies.model import Mode, PlannedLesson
from tests.unit.attendance.builders import t

START = t("09:00")
KINDS = ("check_in", "check_out", "spot_check")
VERDICTS = ("verified", "verified", "verified", "rejected", "flagged")


@st.composite
def offline_cases(draw):
    length = draw(st.integers(30, 240))
    lesson = PlannedLesson(START, START + timedelta(minutes=length), Mode.OFFLINE)
    offsets = draw(st.lists(st.integers(-40 * 60, (length + 40) * 60), unique=True, max_size=12))
    events = [AttendanceEvent(f"e{i}", draw(st.sampled_from(KINDS)), START + timedelta(seconds=s),
                              draw(st.sampled_from(VERDICTS))) for i, s in enumerate(offsets)]
    reviews = []
    for i, e in enumerate(events):
        if draw(st.booleans()) and draw(st.booleans()):
            reviews.append(AttendanceEvent(f"r{i}", "review_decision", e.at + timedelta(minutes=draw(st.integers(0, 30))),
                                           decides=e.id, decision=draw(st.sampled_from(("approved", "rejected")))))
    latest = max([e.at for e in events + reviews], default=START)
    now = max(latest, START + timedelta(minutes=draw(st.integers(-10, length + 60))))
    return lesson, events + reviews, now


def _check_shape(result, lesson, now):
    ivs = result.intervals
    horizon = min(lesson.end, now)
    # Sorted, disjoint, non-empty, inside the lesson and not past now.
    assert all(iv.start < iv.end for iv in ivs)
    assert all(a.end < b.start for a, b in zip(ivs, ivs[1:], strict=False))
    assert all(lesson.start <= iv.start and iv.end <= horizon for iv in ivs)
    assert result.credited_seconds <= (lesson.end - lesson.start).total_seconds()
    # Every moment of the lesson up to now is either credited or uncredited with a reason, once.
    inside = sorted([(iv.start, iv.end) for iv in ivs]
                    + [(u.start, u.end) for u in result.uncredited if u.reason.code != "outside_lesson_time"])
    if horizon > lesson.start:
        assert inside[0][0] == lesson.start and inside[-1][1] == horizon
        assert all(a[1] == b[0] for a, b in zip(inside, inside[1:], strict=False))
    else:
        assert inside == []
    outside = [u for u in result.uncredited if u.reason.code == "outside_lesson_time"]
    assert all(u.end <= lesson.start or u.start >= lesson.end for u in outside)
    assert all(u.reason.code and u.reason.clause and u.reason.detail for u in result.uncredited)


@settings(max_examples=400, deadline=None)
@given(offline_cases())
def test_offline_credit_is_inside_the_lesson_disjoint_and_accounts_for_every_moment(case):
    lesson, events, now = case
    _check_shape(offline_credit(lesson, events, now), lesson, now)


@settings(max_examples=300, deadline=None)
@given(offline_cases(), st.integers(-40 * 60, 280 * 60), st.sampled_from(("rejected", "flagged")))
def test_adding_a_failed_spot_check_never_increases_offline_credit(case, offset, verdict):
    lesson, events, now = case
    at = START + timedelta(seconds=offset, milliseconds=1)  # never at the same instant as another event
    if at > now:
        return
    before = offline_credit(lesson, events, now).credited_seconds
    failed = AttendanceEvent("failed", "spot_check", at, verdict)
    assert offline_credit(lesson, events + [failed], now).credited_seconds <= before


@settings(max_examples=200, deadline=None)
@given(offline_cases(), st.randoms(use_true_random=False))
def test_the_order_events_arrive_in_does_not_matter(case, rnd: random.Random):
    lesson, events, now = case
    shuffled = list(events)
    rnd.shuffle(shuffled)
    assert offline_credit(lesson, shuffled, now) == offline_credit(lesson, events, now)


@st.composite
def online_cases(draw):
    length = draw(st.integers(30, 180))
    lesson = PlannedLesson(START, START + timedelta(minutes=length), Mode.ONLINE)
    offsets = draw(st.lists(st.integers(-20 * 60, (length + 20) * 60), unique=True, max_size=6))
    events = [AttendanceEvent(f"e{i}", draw(st.sampled_from(("check_in", "check_in", "check_out"))),
                              START + timedelta(seconds=s), draw(st.sampled_from(VERDICTS)))
              for i, s in enumerate(offsets)]
    # Heartbeats: a walk with random steps (some longer than the gap) and some hidden stretches.
    beats, at = [], START - timedelta(minutes=draw(st.integers(0, 20)))
    end = lesson.end + timedelta(minutes=20)
    steps = draw(st.lists(st.tuples(st.sampled_from((10, 30, 30, 30, 44, 60, 300)), st.booleans(), st.booleans()),
                          min_size=1, max_size=60))
    for step, visible, flip in steps * (1 + (length * 60) // max(1, sum(s for s, _, _ in steps))):
        if at > end:
            break
        beats.append(Heartbeat(at, visible or not flip))
        at += timedelta(seconds=step)
    checks = []
    for i, s in enumerate(draw(st.lists(st.integers(0, length * 60), unique=True, max_size=6))):
        answer = draw(st.one_of(st.none(), st.integers(1, 90)))
        issued = START + timedelta(seconds=s, milliseconds=500)
        checks.append(SpotCheck(f"s{i}", issued, None if answer is None else issued + timedelta(seconds=answer),
                                answer is not None and draw(st.booleans())))
    latest = max([e.at for e in events] + [b.at for b in beats]
                 + [c.answered_at or c.issued_at for c in checks], default=START)
    now = max(latest, START + timedelta(minutes=draw(st.integers(-10, length + 30))))
    return lesson, events, beats, checks, now


@settings(max_examples=300, deadline=None)
@given(online_cases())
def test_online_credit_is_inside_the_lesson_disjoint_and_accounts_for_every_moment(case):
    lesson, events, beats, checks, now = case
    _check_shape(online_credit(lesson, events, beats, checks, now), lesson, now)


@settings(max_examples=300, deadline=None)
@given(online_cases(), st.integers(0, 200 * 60), st.one_of(st.none(), st.integers(1, 59)))
def test_adding_a_failed_or_missed_spot_check_never_increases_online_credit(case, offset, answer):
    lesson, events, beats, checks, now = case
    issued = START + timedelta(seconds=offset, milliseconds=250)
    answered = None if answer is None else issued + timedelta(seconds=answer)
    if (answered or issued) > now:
        return
    before = online_credit(lesson, events, beats, checks, now).credited_seconds
    failed = SpotCheck("failed", issued, answered, False)
    assert online_credit(lesson, events, beats, checks + [failed], now).credited_seconds <= before


@settings(max_examples=200, deadline=None)
@given(online_cases())
def test_online_credit_never_exceeds_the_visible_heartbeat_time(case):
    lesson, events, beats, checks, now = case
    result = online_credit(lesson, events, beats, checks, now)
    for iv in result.intervals:
        assert any(b.visible for b in beats if iv.start <= b.at <= iv.end) or (iv.end - iv.start) <= timedelta(seconds=45)
