"""Properties over generated timelines, offline and online."""
from __future__ import annotations

import random
from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from policies.attendance import AttendanceEvent, EventVerdict, SpotCheck, offline_credit, online_credit
from policies.model import Mode, PlannedLesson
from tests.unit.attendance.strategies import KINDS, START, VERDICTS, check_shape, online_cases


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


@settings(max_examples=400, deadline=None)
@given(offline_cases())
def test_offline_credit_is_inside_the_lesson_disjoint_and_accounts_for_every_moment(case):
    lesson, events, now = case
    check_shape(offline_credit(lesson, events, now), lesson, now)


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


@settings(max_examples=300, deadline=None)
@given(online_cases())
def test_online_credit_is_inside_the_lesson_disjoint_and_accounts_for_every_moment(case):
    lesson, events, beats, checks, now = case
    check_shape(online_credit(lesson, events, beats, checks, now), lesson, now)


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
    # A verified check ran on the page, so it is a moment the page was visible, like a heartbeat.
    seen = ([b.at for b in beats if b.visible] + [e.at for e in events if e.verdict is EventVerdict.VERIFIED]
            + [c.answered_at for c in checks if c.passed and c.answered_at is not None])
    for iv in result.intervals:
        assert any(iv.start <= at <= iv.end for at in seen) or (iv.end - iv.start) <= timedelta(seconds=45)
