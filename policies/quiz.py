"""Checkpoint quizzes (课程测验) on a recorded online lesson (POLICY §9).

The institution places checkpoints in the lesson video, each with 3-5 single-choice questions on
the segment before it (from the previous checkpoint, or the start). A trainee reaching a
checkpoint answers them; the segment's watched minutes count once every answer is right
(policies.attendance.QuizGate holds them back until then). A wrong attempt may be retried only
after the segment has been watched again (`rewatched`), so guessing through the options costs a
re-watch each time.

Pure: the quiz as data in, verdicts out; `heartbeats` are policies.attendance.Heartbeat values.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from policies.attendance import Heartbeat
from policies.hours import intersect, merge
from policies.model import Reason

QUIZ_CLAUSE = "POLICY §9"
#: Questions per checkpoint (the platforms trainees know ask a handful after a segment).
MIN_QUESTIONS, MAX_QUESTIONS = 3, 5
MIN_OPTIONS, MAX_OPTIONS = 2, 6
MAX_CHECKPOINTS = 20
MAX_TEXT = 500
#: A re-watch may miss the last stretch between two reports (the page reports every 15 s) and
#: the drift the credit rule allows: at most this many seconds or 10% of the segment, the lesser.
REWATCH_SLACK_S = 30.0
#: ...but never less than this: the report that says "playing" leaves the phone some moments after
#: the video starts (a slow phone, a busy network), so a short segment's first second may go unseen.
REWATCH_MIN_SLACK_S = 1.0
#: As in policies.attendance: between two reports the video may drift 2 s + 5% from the clock.
_DRIFT_S, _DRIFT_SHARE = 2.0, 0.05


@dataclass(frozen=True)
class Question:
    text: str
    options: tuple[str, ...]
    answer: int  # index into options


@dataclass(frozen=True)
class Checkpoint:
    position: float  # seconds into the video; the segment ends here
    questions: tuple[Question, ...]


@dataclass(frozen=True)
class QuizProblem:
    """One thing wrong with a quiz as entered: where (a JSON path) and what, in Chinese."""

    field: str
    message: str


def _pos(seconds: float) -> str:
    whole = int(seconds)
    h, m, s = whole // 3600, whole // 60 % 60, whole % 60
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def _text(value: Any) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def parse(data: Any, duration: float) -> tuple[tuple[Checkpoint, ...], list[QuizProblem]]:
    """The checkpoints of a quiz as entered ({"checkpoints": [{"position_s", "questions": [{"text",
    "options", "answer"}]}]}) for a video of `duration` seconds, and every problem found (the
    quiz is accepted only when there are none)."""
    problems: list[QuizProblem] = []

    def bad(where: str, message: str) -> None:
        problems.append(QuizProblem(where, message))

    items = data.get("checkpoints") if isinstance(data, dict) else None
    if not isinstance(items, list) or not items:
        bad("checkpoints", "请至少设置一个测验点")
        return (), problems
    if len(items) > MAX_CHECKPOINTS:
        bad("checkpoints", f"测验点最多 {MAX_CHECKPOINTS} 个")
        return (), problems
    out: list[Checkpoint] = []
    previous = 0.0
    for i, item in enumerate(items):
        where = f"checkpoints.{i}"
        if not isinstance(item, dict):
            bad(where, "测验点格式不正确")
            continue
        pos = item.get("position_s")
        if isinstance(pos, bool) or not isinstance(pos, int | float) or not pos == pos:
            bad(f"{where}.position_s", "请填写测验点在视频中的位置（秒）")
            pos = None
        elif pos <= previous:
            bad(f"{where}.position_s", f"测验点 {_pos(pos)} 须在上一个测验点（{_pos(previous)}）之后")
        elif pos > duration:
            bad(f"{where}.position_s", f"测验点 {_pos(pos)} 超出了视频长度 {_pos(duration)}")
        questions = item.get("questions")
        if not isinstance(questions, list) or not MIN_QUESTIONS <= len(questions) <= MAX_QUESTIONS:
            bad(f"{where}.questions", f"每个测验点须有 {MIN_QUESTIONS}–{MAX_QUESTIONS} 道题")
            questions = questions if isinstance(questions, list) else []
        qs: list[Question] = []
        for j, q in enumerate(questions[:MAX_QUESTIONS]):
            qw = f"{where}.questions.{j}"
            q = q if isinstance(q, dict) else {}
            text = _text(q.get("text"))
            if text is None or len(text) > MAX_TEXT:
                bad(f"{qw}.text", f"请填写题目（不超过 {MAX_TEXT} 字）")
            options = q.get("options")
            opts = [_text(o) for o in options] if isinstance(options, list) else []
            if not MIN_OPTIONS <= len(opts) <= MAX_OPTIONS or any(o is None or len(o) > MAX_TEXT for o in opts):
                bad(f"{qw}.options", f"每题须有 {MIN_OPTIONS}–{MAX_OPTIONS} 个非空选项")
            elif len(set(opts)) != len(opts):
                bad(f"{qw}.options", "选项不能重复")
            answer = q.get("answer")
            if isinstance(answer, bool) or not isinstance(answer, int) or not 0 <= answer < max(len(opts), 1):
                bad(f"{qw}.answer", "请选择正确答案")
            if text is not None and opts and all(o is not None for o in opts) and isinstance(answer, int):
                qs.append(Question(text, tuple(o for o in opts if o is not None), int(answer)))
        if isinstance(pos, int | float) and not isinstance(pos, bool):
            previous = max(previous, float(pos))
            out.append(Checkpoint(float(pos), tuple(qs)))
    return (tuple(out) if not problems else ()), problems


@dataclass(frozen=True)
class Grade:
    correct: int
    total: int

    @property
    def passed(self) -> bool:
        return self.total > 0 and self.correct == self.total


def grade(checkpoint: Checkpoint, answers: Sequence[int]) -> Grade:
    """Every question must be answered right: the quiz proves the segment was watched, and a
    wrong attempt is retried after watching it again, so there is no partial pass."""
    if len(answers) != len(checkpoint.questions):
        raise ValueError(f"expected {len(checkpoint.questions)} answers, got {len(answers)}")
    return Grade(sum(1 for q, a in zip(checkpoint.questions, answers, strict=True) if q.answer == a),
                 len(checkpoint.questions))


def rewatched(heartbeats: Sequence[Heartbeat], start: float, end: float, since: datetime) -> bool:
    """Whether the video's [start, end) was played through again after `since` (a failed
    attempt): pairs of consecutive reports after it, on a visible page, playing at 1x without a
    seek, together cover all of the segment but the slack (10%, within REWATCH_MIN_SLACK_S and
    REWATCH_SLACK_S)."""
    reports = sorted((hb for hb in heartbeats if hb.playback is not None and hb.at >= since), key=lambda h: h.at)
    played: list[tuple[float, float]] = []
    for a, b in zip(reports, reports[1:], strict=False):
        pa, pb = a.playback, b.playback
        assert pa is not None and pb is not None
        dt = (b.at - a.at).total_seconds()
        dp = pb.position - pa.position
        if (dt <= 0 or pa.state != "playing" or not (a.visible and b.visible)
                or abs(pa.rate - 1) > 1e-6 or abs(pb.rate - 1) > 1e-6):
            continue
        if 0 < dp <= dt + _DRIFT_S + _DRIFT_SHARE * dt:
            played.append((pa.position, pb.position))
    length = end - start
    covered = sum(y - x for x, y in intersect(merge(played), [(start, end)]))
    return covered >= length - min(REWATCH_SLACK_S, max(REWATCH_MIN_SLACK_S, 0.1 * length))


def failed_reason(number: int, start: float, end: float, result: Grade) -> Reason:
    return Reason("quiz_failed", QUIZ_CLAUSE,
                  f"第 {number} 段测验答对 {result.correct}/{result.total} 题，未通过。"
                  f"请重新观看 {_pos(start)}–{_pos(end)} 后再作答，通过后这段观看时间计入学时")


def rewatch_needed(number: int, start: float, end: float) -> Reason:
    return Reason("quiz_rewatch_needed", QUIZ_CLAUSE,
                  f"第 {number} 段测验上次未通过：请先重新观看 {_pos(start)}–{_pos(end)}，再重新作答")
