"""Checkpoint quizzes (课程测验) on a recorded online lesson (issue 18): off until the class (or
its region) turns them on; the institution enters 3-5 questions per checkpoint in the lesson's
video; the trainee gets the questions without the answers; a wrong attempt is retried only after
the segment was watched again; a segment's minutes count once its quiz is passed."""
from __future__ import annotations

import io
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from server.models import Heartbeat, LessonQuiz, QuizAttempt
from tests.factories import post_multipart
from tests.factories import trainee_api as trainee


def questions(n: int = 3, answer: int = 1) -> list[dict]:
    return [{"text": f"第{i + 1}题：视频里讲了什么？", "options": ["甲", "乙", "丙"], "answer": answer} for i in range(n)]


def quiz_body(positions=(4.0, 8.0)) -> dict:
    return {"checkpoints": [{"position_s": p, "questions": questions()} for p in positions]}


@pytest.fixture
def video(app, live, admin, clip):
    """The online lesson with the Hamilton clip (9.2 s) uploaded and quizzes turned on for its class."""
    resp = post_multipart(admin, f"/api/lessons/{live['online']}/media", {"video": (io.BytesIO(clip), "第1讲.mp4")})
    assert resp.status_code == 201, resp.get_json()
    on = admin.post(f"/api/classes/{live['class_id']}/quizzes", json={"enabled": True})
    assert on.status_code == 200 and on.get_json()["quizzes_enabled"] is True
    return resp.get_json()


def count(session, model) -> int:
    session.rollback()
    return session.scalar(select(func.count()).select_from(model))


def test_quizzes_are_refused_until_the_class_turns_them_on(app, live, admin, clip, session):
    post_multipart(admin, f"/api/lessons/{live['online']}/media", {"video": (io.BytesIO(clip), "v.mp4")})
    resp = admin.post(f"/api/lessons/{live['online']}/quiz", json=quiz_body())
    assert resp.status_code == 409 and "未开启课程测验" in resp.get_json()["error"]["message"]
    assert count(session, LessonQuiz) == 0
    assert trainee(app).get(f"/api/lessons/{live['online']}/quiz").get_json() == {"enabled": False, "quiz": None}


def test_the_institution_enters_a_quiz_and_the_trainee_gets_the_questions_without_the_answers(app, live, admin, video):
    resp = admin.post(f"/api/lessons/{live['online']}/quiz", json=quiz_body())
    assert resp.status_code == 201, resp.get_json()
    staff = admin.get(f"/api/lessons/{live['online']}/quiz").get_json()
    assert staff["quiz"]["checkpoints"][0]["questions"][0]["answer"] == 1

    mine = trainee(app).get(f"/api/lessons/{live['online']}/quiz").get_json()
    points = mine["quiz"]["checkpoints"]
    assert [(c["segment_start_s"], c["position_s"], c["status"]) for c in points] == [(0.0, 4.0, "open"), (4.0, 8.0, "open")]
    assert "answer" not in str(points)
    assert points[0]["questions"][0]["options"] == ["甲", "乙", "丙"]


def test_a_quiz_with_problems_is_refused_field_by_field_in_chinese_and_nothing_is_stored(live, admin, video, session):
    body = {"checkpoints": [
        {"position_s": 4.0, "questions": questions(2)},  # too few questions
        {"position_s": 3.0, "questions": questions()},  # before the previous checkpoint
        {"position_s": 60.0, "questions": [{"text": "？", "options": ["甲", "甲"], "answer": 5}] * 3},  # past the end
    ]}
    resp = admin.post(f"/api/lessons/{live['online']}/quiz", json=body)
    assert resp.status_code == 422
    fields = {f["field"]: f["message"] for f in resp.get_json()["error"]["fields"]}
    assert "3–5 道题" in fields["checkpoints.0.questions"]
    assert "须在上一个测验点" in fields["checkpoints.1.position_s"]
    assert "超出了视频长度" in fields["checkpoints.2.position_s"]
    assert fields["checkpoints.2.questions.0.options"] == "选项不能重复"
    assert fields["checkpoints.2.questions.0.answer"] == "请选择正确答案"
    assert all(not any(c.isascii() and c.isalpha() for c in m) for m in fields.values())
    assert count(session, LessonQuiz) == 0


def test_a_wrong_attempt_is_retried_only_after_the_segment_is_watched_again_then_passes_once(app, live, admin, video, session):
    assert admin.post(f"/api/lessons/{live['online']}/quiz", json=quiz_body()).status_code == 201
    phone = trainee(app)
    url = f"/api/lessons/{live['online']}/quiz/attempts"
    wrong = phone.post(url, json={"checkpoint": 0, "answers": [1, 0, 1], "idempotency_key": "attempt-0001"})
    assert wrong.status_code == 201
    assert wrong.get_json()["passed"] is False and "答对 2/3 题" in wrong.get_json()["message"]
    assert "0:00–0:04" in wrong.get_json()["message"]

    again = phone.post(url, json={"checkpoint": 0, "answers": [1, 1, 1], "idempotency_key": "attempt-0002"})
    assert again.status_code == 409 and "请先重新观看 0:00–0:04" in again.get_json()["error"]["message"]

    # The player went back to the start of the segment and played it through (reports each second).
    failed_at = session.scalars(select(QuizAttempt)).one().at
    session.add_all(Heartbeat(lesson_id=live["online"], trainee_id=live["trainee"], at=failed_at + timedelta(seconds=1 + i),
                              visible=True, position_s=float(i), playback="playing", rate=1.0) for i in range(6))
    session.commit()
    right = phone.post(url, json={"checkpoint": 0, "answers": [1, 1, 1], "idempotency_key": "attempt-0003"})
    assert right.status_code == 201 and right.get_json()["passed"] is True
    replay = phone.post(url, json={"checkpoint": 0, "answers": [1, 1, 1], "idempotency_key": "attempt-0003"})
    assert replay.status_code == 200 and replay.get_json()["attempt_id"] == right.get_json()["attempt_id"]
    assert count(session, QuizAttempt) == 2

    status = phone.get(f"/api/lessons/{live['online']}/quiz").get_json()["quiz"]["checkpoints"]
    assert [c["status"] for c in status] == ["passed", "open"]
    # Once answered, the quiz stays as the trainees answered it.
    changed = admin.post(f"/api/lessons/{live['online']}/quiz", json=quiz_body((5.0,)))
    assert changed.status_code == 409 and "已有学员作答" in changed.get_json()["error"]["message"]
    off = admin.post(f"/api/classes/{live['class_id']}/quizzes", json={"enabled": False})
    assert off.status_code == 409


def test_the_credit_rule_gets_each_trainees_own_passed_checkpoints(app, live, admin, video, session):
    from server.services.ledger import lesson_media_for_credit

    assert admin.post(f"/api/lessons/{live['online']}/quiz", json=quiz_body()).status_code == 201
    phone = trainee(app)
    ok = phone.post(f"/api/lessons/{live['online']}/quiz/attempts",
                    json={"checkpoint": 1, "answers": [1, 1, 1], "idempotency_key": "attempt-1001"})
    assert ok.status_code == 201 and ok.get_json()["passed"] is True
    session.rollback()
    media = lesson_media_for_credit(session, [live["online"]])
    mine = media.for_trainee(live["online"], live["trainee"])
    theirs = media.for_trainee(live["online"], live["other"])
    assert [(g.position, g.passed_at is not None) for g in mine.checkpoints] == [(4.0, False), (8.0, True)]
    assert [g.passed_at for g in theirs.checkpoints] == [None, None]


def test_answers_that_do_not_fit_the_questions_are_refused_and_nothing_is_recorded(app, live, admin, video, session):
    assert admin.post(f"/api/lessons/{live['online']}/quiz", json=quiz_body()).status_code == 201
    phone = trainee(app)
    url = f"/api/lessons/{live['online']}/quiz/attempts"
    short = phone.post(url, json={"checkpoint": 0, "answers": [1, 1], "idempotency_key": "attempt-2001"})
    assert short.status_code == 422 and "全部 3 道题" in short.get_json()["error"]["message"]
    nowhere = phone.post(url, json={"checkpoint": 7, "answers": [1, 1, 1], "idempotency_key": "attempt-2002"})
    assert nowhere.status_code == 422
    assert count(session, QuizAttempt) == 0
