"""An absence recorded when a lesson closed stays as it was (append-only); when a reviewer later
approves the trainee's check-in, the listing shows the absence as superseded by that approval."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from server.models import Absence, ClassStatus, Enrollment, Event, Lesson, LessonMode, TrainingClass
from server.services import lesson_state

UTC = UTC
CLOSED = datetime(2026, 3, 2, 9, tzinfo=UTC)  # the yubei lesson ended at 05:00, its check-out window at 05:30


def _filed(session, world):
    session.get(TrainingClass, world.class_id).status = ClassStatus.filed
    session.get(Enrollment, world.enrollment_id).enrolled_at = datetime(2026, 2, 20, tzinfo=UTC)
    session.commit()


def _row(a: Absence) -> dict:
    return {c.key: getattr(a, c.key) for c in Absence.__table__.columns}


def test_an_absence_whose_check_in_a_reviewer_later_approves_is_listed_as_superseded_by_that_approval_and_the_row_is_unchanged(
        worlds, login, session):
    y = worlds["yubei"]
    _filed(session, y)
    supervisor = login("yubei-supervisor")
    # The seeded check-in is flagged; the reviewer rejects it; the lesson's roll records the absence.
    rejected = supervisor.post(f"/api/events/{y.event_id}/review", json={"decision": "rejected", "reason": "不在场地内"})
    assert rejected.status_code in (200, 201)
    assert lesson_state.mark_absences(session, CLOSED).recorded == 1
    before = _row(session.scalar(select(Absence)))
    [listed] = login("yubei-teacher").get(f"/api/classes/{y.class_id}/absences").get_json()
    assert listed["superseded"] is False and listed["superseded_by"] == []

    # On a second look (the trainee showed the sign-in sheet) the reviewer approves the same check-in.
    resp = supervisor.post(f"/api/events/{y.event_id}/review", json={"decision": "approved", "reason": "签到表核实在场"})
    assert resp.status_code in (200, 201), resp.get_json()
    session.rollback()
    approval = session.scalar(select(Event).where(Event.kind == "review_decision", Event.verdict == "approved"))
    [listed] = login("yubei-teacher").get(f"/api/classes/{y.class_id}/absences").get_json()
    assert listed["superseded"] is True
    assert listed["superseded_by"] == [{"event_id": approval.id, "kind": "review_decision", "verdict": "approved",
                                        "at": approval.at.isoformat(), "decides_event_id": y.event_id}]
    assert listed["reasons"] == before["reasons"]  # what was known then is still shown
    session.rollback()
    assert _row(session.scalar(select(Absence))) == before
    # The job does not record it again either (one absence per lesson and trainee).
    assert lesson_state.mark_absences(session, CLOSED + timedelta(minutes=5)).recorded == 0


def test_a_rejection_after_the_absence_does_not_supersede_it(worlds, login, session):
    y = worlds["yubei"]
    _filed(session, y)
    supervisor = login("yubei-supervisor")
    supervisor.post(f"/api/events/{y.event_id}/review", json={"decision": "rejected", "reason": "不在场地内"})
    lesson_state.mark_absences(session, CLOSED)
    supervisor.post(f"/api/events/{y.event_id}/review", json={"decision": "rejected", "reason": "复查仍不在场地内"})
    [listed] = login("yubei-admin").get(f"/api/classes/{y.class_id}/absences").get_json()
    assert listed["superseded"] is False


def _ev(id_, kind, verdict, at, decides=None):
    return Event(id=id_, kind=kind, verdict=verdict, at=at, decides_event_id=decides, spot_check_id=None)


def test_an_online_absence_is_superseded_by_the_approval_that_made_its_presence_credited():
    start = datetime(2026, 3, 2, 1, tzinfo=UTC)
    lesson = Lesson(id=7, mode=LessonMode.online, starts_at=start, ends_at=start + timedelta(hours=2))
    check_in = _ev(1, "check_in", "verified", start)
    answer = _ev(2, "spot_check", "flagged", start + timedelta(minutes=20))
    rejected = _ev(3, "review_decision", "rejected", start + timedelta(hours=1), decides=2)
    absence = Absence(evidence={"events": [{"id": e.id, "kind": e.kind, "verdict": e.verdict}
                                           for e in (check_in, answer, rejected)]})
    approved = _ev(4, "review_decision", "approved", start + timedelta(days=1), decides=2)
    now = [check_in, answer, rejected, approved]
    # Credited presence (from the ledger's rule) is what decides online; the approval is named.
    assert lesson_state.superseded_by(lesson, absence, now, 1200.0, "cq 5.2") == [approved]
    # Without credited presence the absence stands, whatever events came later.
    assert lesson_state.superseded_by(lesson, absence, now, 0.0, "cq 5.2") is None
