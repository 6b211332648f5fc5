"""The checkpoint quiz rule (policies/quiz.py): what a quiz as entered must be, how answers are
graded (all right, or not passed), and when a segment counts as watched again for a retry."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from policies.attendance import Heartbeat, Playback
from policies.quiz import grade, parse, rewatched

T0 = datetime(2026, 12, 7, 1, 0, tzinfo=UTC)


def q(answer=0, options=("对", "错")):
    return {"text": "讲了什么？", "options": list(options), "answer": answer}


def test_a_well_formed_quiz_parses_into_ordered_checkpoints():
    points, problems = parse({"checkpoints": [{"position_s": 60, "questions": [q()] * 3},
                                              {"position_s": 120.5, "questions": [q(1)] * 5}]}, 300)
    assert problems == []
    assert [(c.position, len(c.questions)) for c in points] == [(60.0, 3), (120.5, 5)]


@pytest.mark.parametrize("data, field", [
    ({}, "checkpoints"),
    ({"checkpoints": [{"position_s": True, "questions": [q()] * 3}]}, "checkpoints.0.position_s"),
    ({"checkpoints": [{"position_s": 60, "questions": [q()] * 6}]}, "checkpoints.0.questions"),
    ({"checkpoints": [{"position_s": 60, "questions": [q(), q(), {"text": " ", "options": ["a", "b"], "answer": 0}]}]},
     "checkpoints.0.questions.2.text"),
    ({"checkpoints": [{"position_s": 60, "questions": [q(), q(), q(options=("只有一个",))]}]}, "checkpoints.0.questions.2.options"),
    ({"checkpoints": [{"position_s": 60, "questions": [q(), q(), q(answer=2)]}]}, "checkpoints.0.questions.2.answer"),
    ({"checkpoints": [{"position_s": 301, "questions": [q()] * 3}]}, "checkpoints.0.position_s"),
])
def test_a_malformed_quiz_names_the_field_and_parses_to_nothing(data, field):
    points, problems = parse(data, 300)
    assert points == ()
    assert field in [p.field for p in problems]


def test_a_quiz_is_passed_only_with_every_answer_right():
    (point,), _ = parse({"checkpoints": [{"position_s": 60, "questions": [q(0), q(1), q(1)]}]}, 300)
    assert grade(point, [0, 1, 1]).passed
    wrong = grade(point, [0, 1, 0])
    assert (wrong.correct, wrong.total, wrong.passed) == (2, 3, False)
    with pytest.raises(ValueError):
        grade(point, [0, 1])


def _play(start_pos: float, seconds: int, since=T0, rate=1.0, visible=True, every=15):
    return [Heartbeat(since + timedelta(seconds=s), visible, Playback(start_pos + s * rate, "playing", rate))
            for s in range(0, seconds + 1, every)]


def test_a_segment_played_through_again_after_the_failed_attempt_counts_as_rewatched():
    assert rewatched(_play(0, 600), 0, 600, T0)
    # The last report may come up to 30 s before the checkpoint.
    assert rewatched(_play(0, 570), 0, 600, T0)


@pytest.mark.parametrize("beats", [
    _play(0, 600, since=T0 - timedelta(hours=1)),  # watched before the failed attempt
    _play(0, 300),  # half of it
    _play(0, 300, rate=2.0),  # at double speed
    _play(0, 600, visible=False),  # with the page hidden
    _play(0, 30) + _play(580, 20, since=T0 + timedelta(seconds=45)),  # skipped to the end
])
def test_a_segment_not_played_through_again_at_1x_on_a_visible_page_is_not_rewatched(beats):
    assert not rewatched(beats, 0, 600, T0)


def test_a_short_segment_rewatched_but_for_its_first_second_still_counts_and_not_half_of_it():
    # The "playing" report leaves the phone a moment after the video starts: a 3 s segment seen from
    # 0.8 s counts; one seen from 1.5 s does not.
    def seen_from(position: float) -> list[Heartbeat]:
        return [Heartbeat(T0 + timedelta(seconds=1), True, Playback(position, "playing", 1.0)),
                Heartbeat(T0 + timedelta(seconds=1 + 3 - position), True, Playback(3.0, "paused", 1.0))]

    assert rewatched(seen_from(0.8), 0, 3, T0)
    assert not rewatched(seen_from(1.5), 0, 3, T0)
