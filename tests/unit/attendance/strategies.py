"""Hypothesis strategies for random lessons and the shape every credit result must have
(shared by the property tests of the attendance rule)."""
from __future__ import annotations

from datetime import timedelta

from hypothesis import strategies as st

from policies.attendance import AttendanceEvent, Heartbeat, SpotCheck
from policies.model import Mode, PlannedLesson
from tests.unit.attendance.builders import t

START = t("09:00")
KINDS = ("check_in", "check_out", "spot_check")
VERDICTS = ("verified", "verified", "verified", "rejected", "flagged")


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


def check_shape(result, lesson, now):
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
