"""Checkpoint quizzes (课程测验) on recorded online lessons (issue 18; the rule: policies/quiz.py).

Off by default: the region (`checkpoint_quizzes` in its file) or the class (set by the
institution) turns them on. The institution enters checkpoints in the lesson's current video,
each with 3-5 questions; the trainee answers at each checkpoint; the credit rule holds a
segment's watched minutes back until its quiz is passed (policies.attendance.QuizGate).

Who: the institution's staff enter quizzes (MANAGE_LESSON_MEDIA, their own classes) and see the
answers, as do staff who see the class; trainees enrolled in the class get the questions
without the answers, and answer them."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from policies import quiz as rule
from policies.attendance import LiveMedia, QuizGate, RecordedMedia
from server.errors import ApiError
from server.models import Heartbeat, Lesson, LessonMedia, LessonQuiz, QuizAttempt, TrainingClass
from server.permissions import Capability, allows
from server.services import audit, rules
from server.services.lesson_media import policy_heartbeat
from server.services.scope import Actor, trainee_lesson, visible_lesson


def enabled(cls: TrainingClass) -> bool:
    """Whether the class's recorded lessons may carry checkpoint quizzes."""
    return bool(cls.checkpoint_quizzes or rules.region(cls.region_code).checkpoint_quizzes.value)


def current(session: Session, lesson_id: int) -> tuple[LessonQuiz, LessonMedia] | None:
    """The lesson's quiz for its current video: its latest quiz entered for that video (a quiz
    entered for a replaced video no longer applies)."""
    from server.services.lesson_media import current as current_media

    media = current_media(session, lesson_id)
    if media is None or media.kind != "recorded":
        return None
    found = session.scalar(select(LessonQuiz).where(LessonQuiz.lesson_id == lesson_id, LessonQuiz.media_id == media.id)
                           .order_by(LessonQuiz.id.desc()).limit(1))
    return (found, media) if found is not None else None


def _checkpoints(q: LessonQuiz, duration: float) -> tuple[rule.Checkpoint, ...]:
    parsed, problems = rule.parse(q.checkpoints, duration)
    if problems:  # pragma: no cover - stored only after the same check passed
        raise ApiError(500, "quiz_corrupt", "课程测验数据有误，请联系管理员")
    return parsed


def _staff_lesson(session: Session, actor: Actor, lesson_id: int) -> tuple[Lesson, TrainingClass]:
    from server.services.lesson_media import online_lesson

    return online_lesson(session, actor, lesson_id)


def save(session: Session, actor: Actor, lesson_id: int, data: dict, now: datetime) -> dict:
    """Enter (or replace) the quiz for the lesson's current video. Refused while quizzes are off
    (409), without a recorded video (409), once a trainee answered the current quiz (409: the
    credit already given rests on it), or with any problem in the questions (422, each field)."""
    lesson, cls = _staff_lesson(session, actor, lesson_id)
    if not enabled(cls):
        raise ApiError(409, "quizzes_off", "本班未开启课程测验：请先在班级设置中开启（或由所在地区统一开启）")
    from server.services.lesson_media import current as current_media

    media = current_media(session, lesson.id)
    if media is None or media.kind != "recorded" or not media.duration_s:
        raise ApiError(409, "no_video", "请先为本课次上传或链接录播视频，再设置测验点")
    existing = current(session, lesson.id)
    if existing is not None and session.scalar(select(QuizAttempt.id).where(QuizAttempt.quiz_id == existing[0].id).limit(1)):
        raise ApiError(409, "quiz_answered", "已有学员作答本课次的测验，不能再修改（学时按已作答的测验计算）")
    _parsed, problems = rule.parse(data, float(media.duration_s))
    if problems:
        raise ApiError(422, "invalid_quiz", f"测验有 {len(problems)} 处需要修改：{problems[0].message}",
                       fields=[{"field": p.field, "message": p.message} for p in problems])
    stored = {"checkpoints": [{"position_s": c.position,
                               "questions": [{"text": q.text, "options": list(q.options), "answer": q.answer}
                                             for q in c.questions]} for c in _parsed]}
    quiz = LessonQuiz(lesson_id=lesson.id, media_id=media.id, checkpoints=stored, added_by_id=actor.user_id, added_at=now)
    session.add(quiz)
    session.flush()
    audit.record(session, actor, "lesson_quiz.save", "lesson", lesson.id, None,
                 {"quiz_id": quiz.id, "media_id": media.id, "checkpoints": len(_parsed)}, institution_id=cls.institution_id)
    session.commit()
    return staff_json(quiz, media, cls)


def staff_json(quiz: LessonQuiz | None, media: LessonMedia | None, cls: TrainingClass) -> dict:
    return {"enabled": enabled(cls), "media_id": media.id if media is not None else None,
            "quiz": None if quiz is None else {"id": quiz.id, "added_at": quiz.added_at.isoformat(), **quiz.checkpoints}}


def view(session: Session, actor: Actor, lesson_id: int, now: datetime) -> dict:
    """Staff see the quiz with its answers; a trainee sees the questions without them, and where
    they stand at each checkpoint."""
    if allows(actor.role, Capability.ATTEND_LESSONS):
        lesson, cls, _enrollment = trainee_lesson(session, actor, lesson_id)
        return trainee_json(session, lesson, cls, actor.trainee_id, now)
    lesson, cls = visible_lesson(session, actor, lesson_id)
    found = current(session, lesson.id)
    from server.services.lesson_media import current as current_media

    return staff_json(found[0] if found else None, current_media(session, lesson.id), cls)


def _attempts(session: Session, quiz_id: int, trainee_id: int | None) -> list[QuizAttempt]:
    return list(session.scalars(select(QuizAttempt).where(QuizAttempt.quiz_id == quiz_id, QuizAttempt.trainee_id == trainee_id)
                                .order_by(QuizAttempt.id)))


def trainee_json(session: Session, lesson: Lesson, cls: TrainingClass, trainee_id: int | None, now: datetime) -> dict:
    found = current(session, lesson.id) if enabled(cls) else None
    if found is None:
        return {"enabled": enabled(cls), "quiz": None}
    quiz, media = found
    checkpoints = _checkpoints(quiz, float(media.duration_s or 0))
    attempts = _attempts(session, quiz.id, trainee_id)
    out = []
    start = 0.0
    for i, c in enumerate(checkpoints):
        mine = [a for a in attempts if a.checkpoint == i]
        last = mine[-1] if mine else None
        status = ("passed" if any(a.passed for a in mine) else "failed" if last is not None else "open")
        out.append({"index": i, "number": i + 1, "position_s": c.position, "segment_start_s": start, "status": status,
                    "last": None if last is None else {"correct": last.correct, "total": last.total, "at": last.at.isoformat()},
                    "questions": [{"text": q.text, "options": list(q.options)} for q in c.questions]})
        start = c.position
    return {"enabled": True, "quiz": {"id": quiz.id, "media_id": media.id, "checkpoints": out}}


def attempt(session: Session, actor: Actor, lesson_id: int, checkpoint: int, answers: list[int], key: str,
            now: datetime) -> tuple[dict, int]:
    """Grade a trainee's answers to one checkpoint and record them (201); the same key again
    returns the first answer (200) and records nothing. Refused: before the lesson starts (409);
    after a wrong attempt until the segment was watched again (409, policies.quiz.rewatched); a
    checkpoint already passed answers 200 with what stands, recording nothing."""
    lesson, cls, _enrollment = trainee_lesson(session, actor, lesson_id)
    previous = session.scalar(select(QuizAttempt).where(QuizAttempt.trainee_id == actor.trainee_id,
                                                        QuizAttempt.idempotency_key == key))
    if previous is not None:
        if previous.lesson_id != lesson.id or previous.checkpoint != checkpoint:
            raise ApiError(409, "key_reused", "该请求编号已用于另一次作答，请刷新页面后重试")
        return _result(session, previous, lesson), 200
    found = current(session, lesson.id) if enabled(cls) else None
    if found is None:
        raise ApiError(404, "no_quiz", "本课次没有课程测验")
    quiz, media = found
    checkpoints = _checkpoints(quiz, float(media.duration_s or 0))
    if not 0 <= checkpoint < len(checkpoints):
        raise ApiError(422, "invalid_input", f"没有第 {checkpoint + 1} 个测验点",
                       fields=[{"field": "checkpoint", "message": "测验点不存在"}])
    cp = checkpoints[checkpoint]
    if len(answers) != len(cp.questions) or any(not 0 <= a < len(q.options) for a, q in zip(answers, cp.questions, strict=False)):
        raise ApiError(422, "invalid_input", f"请回答全部 {len(cp.questions)} 道题后再提交",
                       fields=[{"field": "answers", "message": f"须为 {len(cp.questions)} 个选项序号"}])
    if now < lesson.starts_at:
        raise ApiError(409, "lesson_not_started", "课程尚未开始，开始后再作答")
    mine = [a for a in _attempts(session, quiz.id, actor.trainee_id) if a.checkpoint == checkpoint]
    start = checkpoints[checkpoint - 1].position if checkpoint else 0.0
    passed = next((a for a in mine if a.passed), None)
    if passed is not None:
        return _result(session, passed, lesson), 200
    if mine:
        beats = session.scalars(select(Heartbeat).where(Heartbeat.lesson_id == lesson.id, Heartbeat.trainee_id == actor.trainee_id,
                                                        Heartbeat.at >= mine[-1].at).order_by(Heartbeat.at)).all()
        if not rule.rewatched([policy_heartbeat(h) for h in beats], start, cp.position, mine[-1].at):
            reason = rule.rewatch_needed(checkpoint + 1, start, cp.position)
            raise ApiError(409, reason.code, reason.detail)
    grade = rule.grade(cp, answers)
    row = QuizAttempt(quiz_id=quiz.id, lesson_id=lesson.id, trainee_id=actor.trainee_id, checkpoint=checkpoint,
                      answers=list(answers), correct=grade.correct, total=grade.total, passed=grade.passed,
                      idempotency_key=key, at=now)
    session.add(row)
    try:
        session.commit()
    except IntegrityError:  # the same key, sent twice at once: the other request recorded it
        session.rollback()
        again = session.scalar(select(QuizAttempt).where(QuizAttempt.trainee_id == actor.trainee_id,
                                                         QuizAttempt.idempotency_key == key))
        if again is None:
            raise
        return _result(session, again, lesson), 200
    return _result(session, row, lesson), 201


def _result(session: Session, a: QuizAttempt, lesson: Lesson) -> dict:
    quiz = session.get(LessonQuiz, a.quiz_id)
    media = session.get(LessonMedia, quiz.media_id) if quiz is not None else None
    checkpoints = _checkpoints(quiz, float(media.duration_s or 0)) if quiz is not None and media is not None else ()
    end = checkpoints[a.checkpoint].position if checkpoints else 0.0
    start = checkpoints[a.checkpoint - 1].position if checkpoints and a.checkpoint else 0.0
    number = a.checkpoint + 1
    grade = rule.Grade(a.correct, a.total)
    message = (f"第 {number} 段测验通过（答对 {a.correct}/{a.total} 题），这段观看时间计入学时" if a.passed
               else rule.failed_reason(number, start, end, grade).detail)
    return {"attempt_id": a.id, "checkpoint": a.checkpoint, "passed": a.passed, "correct": a.correct, "total": a.total,
            "segment_start_s": start, "position_s": end, "message": message, "at": a.at.isoformat()}


@dataclass
class Gates:
    """The checkpoint quizzes of many lessons, for the credit rule: each lesson's checkpoint
    positions and, per trainee, when each checkpoint was first passed. Two queries in all."""

    positions: dict[int, tuple[float, ...]] = field(default_factory=dict)
    passed: dict[tuple[int, int], dict[int, datetime]] = field(default_factory=dict)

    def apply(self, lesson_id: int, trainee_id: int | None,
              media: RecordedMedia | LiveMedia | None) -> RecordedMedia | LiveMedia | None:
        positions = self.positions.get(lesson_id)
        if not positions or not isinstance(media, RecordedMedia):
            return media
        mine = self.passed.get((lesson_id, trainee_id or 0), {})
        gates = tuple(QuizGate(p, mine.get(i)) for i, p in enumerate(positions) if p <= media.duration)
        return RecordedMedia(media.duration, gates)


def gates(session: Session, media: dict[int, LessonMedia]) -> Gates:
    """The quizzes that gate credit for these lessons' current videos (`media`: lesson id ->
    its current media row, services.lesson_media.latest_media). A quiz entered while quizzes
    were on keeps gating: the trainees answered it, and the credit rests on it."""
    recorded = {m.id: lid for lid, m in media.items() if m.kind == "recorded"}
    out = Gates()
    if not recorded:
        return out
    quiz_of: dict[int, int] = {}
    for q in session.scalars(select(LessonQuiz).where(LessonQuiz.media_id.in_(list(recorded))).order_by(LessonQuiz.id)):
        lid = recorded[q.media_id]
        quiz_of[lid] = q.id  # the latest wins
        out.positions[lid] = tuple(float(c["position_s"]) for c in q.checkpoints.get("checkpoints", []))
    if not quiz_of:
        return out
    for a in session.scalars(select(QuizAttempt).where(QuizAttempt.quiz_id.in_(list(quiz_of.values())),
                                                       QuizAttempt.passed.is_(True)).order_by(QuizAttempt.at)):
        if quiz_of.get(a.lesson_id) == a.quiz_id:
            out.passed.setdefault((a.lesson_id, a.trainee_id), {}).setdefault(a.checkpoint, a.at)
    return out


def set_class_quizzes(session: Session, actor: Actor, class_id: int, on: bool) -> TrainingClass:
    """The institution turns checkpoint quizzes on (or off) for its class. Off is refused once a
    quiz was entered in the class (it keeps gating credit; see `gates`), and where the region
    turned them on for every class."""
    from server.services.scope import writable_class

    cls = writable_class(session, actor, class_id, Capability.MANAGE_LESSON_MEDIA)
    if not on:
        if rules.region(cls.region_code).checkpoint_quizzes.value:
            raise ApiError(409, "quizzes_required", "本地区要求录播课设置课程测验，不能关闭")
        entered = session.scalar(select(LessonQuiz.id).join(Lesson, Lesson.id == LessonQuiz.lesson_id)
                                 .where(Lesson.class_id == cls.id).limit(1))
        if entered is not None:
            raise ApiError(409, "quizzes_in_use", "本班已录入课程测验，不能关闭（学时按测验结果计算）")
    if cls.checkpoint_quizzes != on:
        before = cls.checkpoint_quizzes
        cls.checkpoint_quizzes = on
        audit.record(session, actor, "class.checkpoint_quizzes", "training_class", cls.id, {"checkpoint_quizzes": before},
                     {"checkpoint_quizzes": on}, institution_id=cls.institution_id)
    session.commit()
    return cls
