"""Checkpoint quizzes (课程测验) on recorded lessons: a segment's watched minutes count once its
quiz is passed, and then the first watching counts (no second viewing needed).

Lesson 09:00-11:00 online with a one-hour video, checkpoints at 20:00 and 40:00 of the video.
"""
from __future__ import annotations

import pytest

from policies.attendance import AttendanceError, QuizGate, RecordedMedia, online_credit
from policies.model import Mode
from tests.unit.attendance.builders import ev, lesson, play, reasons, spans, t

ONLINE = lesson(mode=Mode.ONLINE)
SESSION = [ev("check_in", "09:00"), ev("check_out", "10:00")]


def hour(first=None, second=None) -> RecordedMedia:
    return RecordedMedia(3600, (QuizGate(1200, first), QuizGate(2400, second)))


def credit(media, now="12:00", heartbeats=None):
    return online_credit(ONLINE, SESSION, heartbeats or play("09:00", "10:00"), [], t(now), media=media)


def test_a_segment_whose_quiz_is_not_passed_is_held_back_with_its_reason():
    result = credit(hour(first=t("09:21")))
    # Segment 1 (0:00-20:00) passed; segment 2 (20:00-40:00) not; after the last checkpoint no quiz.
    assert spans(result) == [("09:00", "09:20"), ("09:40", "10:00")]
    held = [r for r in result.uncredited if r.reason.code == "quiz_pending"]
    assert len(held) == 1 and held[0].reason.clause == "POLICY §9"
    assert "第 2 段（20:00–40:00）" in held[0].reason.detail


def test_passing_the_quiz_later_credits_the_first_watching():
    before = credit(hour(first=t("09:21"), second=t("11:30")), now="11:00")
    after = credit(hour(first=t("09:21"), second=t("11:30")), now="11:30")
    assert before.credited_seconds == 2400
    assert after.credited_seconds == 3600
    assert spans(after) == [("09:00", "10:00")]


def test_rewatching_a_held_segment_is_a_replay_not_new_content():
    # Watched 0-20:00 (quiz not passed), then went back and watched it again: counted once, on pass.
    beats = play("09:00", "09:20") + play("09:20:30", "09:40:30", position=0)
    result = credit(RecordedMedia(3600, (QuizGate(1200, t("09:41")),)), heartbeats=beats)
    assert result.credited_seconds == 1200
    assert ("09:20:30", "09:40:30", "replayed") in reasons(result)


def test_no_checkpoints_credit_as_before():
    assert credit(RecordedMedia(3600)).credited_seconds == 3600


@pytest.mark.parametrize("gates", [
    (QuizGate(2400), QuizGate(1200)),
    (QuizGate(1200), QuizGate(1200)),
])
def test_checkpoints_out_of_order_are_refused(gates):
    with pytest.raises(AttendanceError):
        RecordedMedia(3600, gates)


def test_a_checkpoint_at_zero_is_refused():
    with pytest.raises(AttendanceError):
        QuizGate(0)
