"""A region's miss budget for online spot checks (`spot_check_misses`, POLICY §9) reaches the rule
through the ledger (and the exports and the live roll, which share its lesson_credit_from), and
the phone's pending spot checks say what missing one costs. Real database, events on the chain."""
from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest
from sqlalchemy import select

from policies.model import Cited
from server.models import Event, Heartbeat, LessonMode, Role, SpotCheck
from server.services import ledger, presence, rules
from server.services.scope import Actor
from tests.factories import NOW, event, make_class, make_lesson

START = NOW - timedelta(hours=3)  # 09:00 Beijing, an online lesson to 11:00


@pytest.fixture
def budget(monkeypatch):
    """Set cq's `spot_check_misses` (absent from the shipped file) for the test."""
    own = rules.region

    def set_to(n: int, clause: str = "POLICY §9") -> None:
        monkeypatch.setattr(rules, "region", lambda code: dataclasses.replace(own(code), spot_check_misses=Cited(n, clause)))
    return set_to


def _online_lesson_with_missed_checks(session, world, missed_at=(30, 60)):
    """Trainee 0 in an online lesson 09:00-11:00: verified check-in and check-out, the page visible
    throughout, and spot checks at `missed_at` minutes that were never answered."""
    cls, (mine,) = make_class(session, world, enrol=(0,))
    lesson = make_lesson(session, world, cls, START, hours=2, mode=LessonMode.online)
    event(session, lesson, mine, "check_in", "verified", lesson.starts_at, "mb-in")
    event(session, lesson, mine, "check_out", "verified", lesson.ends_at, "mb-out")
    at = lesson.starts_at
    while at <= lesson.ends_at:
        session.add(Heartbeat(lesson_id=lesson.id, trainee_id=mine.trainee_id, at=at, visible=True))
        at += timedelta(seconds=30)
    for m in missed_at:
        issued = lesson.starts_at + timedelta(minutes=m)
        session.add(SpotCheck(lesson_id=lesson.id, class_id=cls.id, trainee_id=mine.trainee_id, issued_at=issued,
                              due_at=issued + timedelta(seconds=60), origin="scheduled"))
    session.commit()
    return cls, mine, lesson


def _codes(row: dict) -> list[tuple[str, str, str]]:
    return [(u["code"], u["start"], u["clause"]) for u in row["uncredited"]]


def test_the_regions_miss_budget_reaches_the_ledger_with_its_clause(session, world, budget):
    cls, mine, lesson = _online_lesson_with_missed_checks(session, world)
    [row] = ledger.ledger_for(session, cls, mine, NOW)["lessons"]
    assert "miss_budget_exceeded" not in {u["code"] for u in row["uncredited"]}  # no budget in cq's file

    budget(1, "js 4.2")
    [row] = ledger.ledger_for(session, cls, mine, NOW)["lessons"]
    second = (lesson.starts_at + timedelta(minutes=60)).isoformat()
    [over] = [u for u in row["uncredited"] if u["code"] == "miss_budget_exceeded"]
    assert (over["start"], over["end"], over["clause"]) == (second, lesson.ends_at.isoformat(), "js 4.2")
    assert over["detail"] == "本课次已错过 2 次随机抽查，超过本地区允许的 1 次，自 10:00 起本课次不再计入学时"
    assert row["credited_minutes"] == 0.0


def test_the_live_roll_and_the_ledger_read_the_budget_from_the_lessons_region_when_not_given(session, world, budget):
    budget(0)
    cls, mine, lesson = _online_lesson_with_missed_checks(session, world, missed_at=(30,))
    events = session.scalars(select(Event).where(Event.lesson_id == lesson.id).order_by(Event.id)).all()
    beats = session.scalars(select(Heartbeat).where(Heartbeat.lesson_id == lesson.id).order_by(Heartbeat.at)).all()
    checks = session.scalars(select(SpotCheck).where(SpotCheck.lesson_id == lesson.id)).all()
    # services/dashboard.py calls lesson_credit_from without `misses`: the lesson's region decides.
    result = ledger.lesson_credit_from(lesson, events, beats, checks, NOW, "cq 5.2")
    assert [r.code for r in result.reasons] == ["spot_check_missed", "miss_budget_exceeded"]
    assert result.reasons[1].clause == "POLICY §9"


def test_a_pending_spot_check_says_what_missing_it_costs_where_the_region_sets_a_budget(session, world, budget):
    cls, mine, lesson = _online_lesson_with_missed_checks(session, world, missed_at=(30,))
    me = Actor(None, "trainee", Role.trainee, trainee_id=mine.trainee_id)
    at = lesson.starts_at + timedelta(minutes=45)
    assert presence.miss_budget_json(session, me, lesson.id, at) is None  # no budget: nothing to say

    budget(2)
    one_left = presence.miss_budget_json(session, me, lesson.id, at)
    assert one_left is not None
    assert (one_left["allowed"], one_left["missed"], one_left["ends_lesson"]) == (2, 1, False)
    assert one_left["detail"] == "本地区每课次最多允许错过 2 次随机抽查，本课次已错过 1 次；超过后本课次此后的学习时间不再计入学时"

    budget(1, "js 4.2")
    last = presence.miss_budget_json(session, me, lesson.id, at)
    assert last is not None
    assert (last["missed"], last["ends_lesson"], last["clause"]) == (1, True, "js 4.2")
    assert "本次抽查若超时未完成，本课次此后的学习时间不再计入学时，重新观看也不能补回" in last["detail"]

    budget(0)
    spent = presence.miss_budget_json(session, me, lesson.id, at)
    assert spent is not None and spent["ends_lesson"]
    assert spent["detail"] == "本课次已错过 1 次随机抽查，超过本地区允许的 0 次，本课次此后的学习时间不再计入学时"
