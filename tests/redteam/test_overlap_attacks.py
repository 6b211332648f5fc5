"""Red team: one person in two places at once (issue 17, "One person, one place, one time").

The attack: a trainee enrolled in two classes opens class A's online lesson on the phone while
checked in to class B's offline session. Each lesson on its own is verified; the same minutes
must still be credited once (POLICY §10), to the session that started first, and both ledgers -
and the subsidy decision an export makes from them - must name the other class to a reviewer.
Real database (SQLite and PostgreSQL), events appended to the chain as the check-in service does."""
from __future__ import annotations

from datetime import timedelta

from server.exports.data import ClassData
from server.models import Heartbeat, LessonMode
from server.services import ledger
from tests.factories import NOW, event, make_class, make_lesson

DAY = NOW - timedelta(days=1)  # 2026-03-09 12:00 Beijing
NINE = DAY - timedelta(hours=3)  # 09:00 Beijing


def _two_classes_one_person(session, world):
    """Trainee 0 in class B (offline 09:00-12:00, checked in 09:00 and out 12:00, verified) and in
    class A (online 10:00-11:00: verified check-in and check-out, the page visible throughout)."""
    cls_b, (in_b,) = make_class(session, world, enrol=(0,))
    cls_a, (in_a,) = make_class(session, world, enrol=(0,))
    cls_b.name, cls_a.name = "线下B班", "线上A班"
    offline = make_lesson(session, world, cls_b, NINE, hours=3)
    online = make_lesson(session, world, cls_a, NINE + timedelta(hours=1), hours=1, mode=LessonMode.online)
    event(session, offline, in_b, "check_in", "verified", offline.starts_at, "b-in")
    event(session, offline, in_b, "check_out", "verified", offline.ends_at, "b-out")
    event(session, online, in_a, "check_in", "verified", online.starts_at, "a-in")
    event(session, online, in_a, "check_out", "verified", online.ends_at, "a-out")
    at = online.starts_at
    while at <= online.ends_at:
        session.add(Heartbeat(lesson_id=online.id, trainee_id=in_a.trainee_id, at=at, visible=True))
        at += timedelta(seconds=30)
    session.commit()
    return (cls_a, in_a, online), (cls_b, in_b, offline)


def test_an_online_lesson_during_an_open_offline_session_of_another_class_is_not_credited_twice(session, world):
    (cls_a, in_a, online), (cls_b, in_b, offline) = _two_classes_one_person(session, world)
    a = ledger.ledger_for(session, cls_a, in_a, NOW)
    b = ledger.ledger_for(session, cls_b, in_b, NOW)
    # Each lesson is verified on its own...
    assert a["verified"]["online"] != "0.00" and b["verified"]["offline"] == "4.00"
    # ...but the hour from 10:00 to 11:00 is credited once: to B, whose session started first.
    assert a["credited"]["total"] == "0.00"
    assert b["credited"]["total"] == "4.00"  # 180 minutes = 4 学时 of 45 minutes
    [lesson_a] = a["lessons"]
    assert lesson_a["credited_minutes"] == 0.0
    # Both are flagged, each naming the other class, with a clause that resolves in docs/policy.md.
    [why_a] = [r for r in a["reasons"] if r["code"] == "overlap_not_credited"]
    [why_b] = [r for r in b["reasons"] if r["code"] == "overlap_credited_here"]
    assert "《线下B班》第1次课（线下）" in why_a["detail"] and "60 分钟" in why_a["detail"]
    assert "《线上A班》第1次课（线上）" in why_b["detail"]
    assert why_a["clause"] == why_b["clause"] == "POLICY §10"
    assert any(u["code"] == "overlap_not_credited" and u["other_lesson_id"] == offline.id for u in lesson_a["uncredited"])


def test_the_subsidy_export_of_the_later_class_counts_none_of_the_shared_minutes(session, world):
    (cls_a, in_a, online), _ = _two_classes_one_person(session, world)
    [record] = list(ClassData(session, cls_a, NOW).records())
    assert record.hours.ledger.credited_seconds == 0
    assert record.decision.credited_hours == 0
    assert "overlap_not_credited" in {r.code for r in record.decision.reasons}
