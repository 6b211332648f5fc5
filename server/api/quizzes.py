"""Checkpoint quizzes (课程测验) on recorded online lessons (services/quizzes.py)."""
from __future__ import annotations

from server.api import responses
from server.api.blueprint import bp
from server.api.framework import endpoint
from server.api.schemas import ClassQuizzesIn, QuizAttemptIn, QuizIn
from server.clock import utc_now
from server.extensions import db
from server.permissions import Capability
from server.services import classes as classes_svc
from server.services import quizzes
from server.services.scope import Actor


@endpoint(bp, "POST", "/classes/<int:class_id>/quizzes",
          summary="Turn checkpoint quizzes on (or off) for a class's recorded lessons", tag="online",
          capability=Capability.MANAGE_LESSON_MEDIA, body=ClassQuizzesIn, response=responses.SetClassQuizzesOut)
def set_class_quizzes(actor: Actor, class_id: int, body: ClassQuizzesIn):
    return classes_svc.class_json(quizzes.set_class_quizzes(db.session, actor, class_id, body.enabled))


@endpoint(bp, "POST", "/lessons/<int:lesson_id>/quiz",
          summary="Enter the checkpoint quiz of a recorded lesson's current video (3-5 questions per checkpoint)",
          tag="online", capability=Capability.MANAGE_LESSON_MEDIA, body=QuizIn, status=201, response=responses.SaveQuizOut)
def save_quiz(actor: Actor, lesson_id: int, body: QuizIn):
    return quizzes.save(db.session, actor, lesson_id, body.model_dump(), utc_now())


@endpoint(bp, "GET", "/lessons/<int:lesson_id>/quiz",
          summary="A lesson's checkpoint quiz: staff see the answers; a trainee the questions and where they stand",
          tag="online", response=responses.GetQuizOut)
def get_quiz(actor: Actor, lesson_id: int):
    return quizzes.view(db.session, actor, lesson_id, utc_now())


@endpoint(bp, "POST", "/lessons/<int:lesson_id>/quiz/attempts",
          summary="Answer one checkpoint's questions (graded; a wrong attempt is retried after re-watching)",
          tag="online", capability=Capability.ATTEND_LESSONS, body=QuizAttemptIn, status=201,
          also=(200,), response=responses.AnswerQuizOut)  # 200: the same key again, or a checkpoint already passed
def answer_quiz(actor: Actor, lesson_id: int, body: QuizAttemptIn):
    return quizzes.attempt(db.session, actor, lesson_id, body.checkpoint, body.answers, body.idempotency_key, utc_now())
