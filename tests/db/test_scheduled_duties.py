"""Scheduled duties on a real database (SQLite and PostgreSQL): lessons opening and closing,
absences, deadline duties and their reminders, daily chain anchors, retention. Each job's
service is called with `now`, so nothing here sleeps."""
from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DatabaseError

from policies.deadlines import deadline
from server.models import (
    Absence,
    Certificate,
    ClassStatus,
    Consent,
    Duty,
    DutyReminder,
    Event,
    FaceTemplate,
    Funding,
    Heartbeat,
    Lesson,
    LessonMode,
    LessonTransition,
    Level,
)
from server.services import anchors, chain, duties, lesson_state, retention, rules
from tests.factories import NOW, chain_with_events, event, make_class, make_lesson, rewrite_event

UTC = UTC


def count(session, model, *where):
    session.rollback()
    return session.scalar(select(func.count()).select_from(model).where(*where))


# --- lessons opening and closing --------------------------------------------------------------

def test_a_lesson_opens_when_check_in_opens_and_closes_when_check_out_closes_each_recorded_once(session, world):
    cls, _ = make_class(session, world)
    start = NOW + timedelta(minutes=20)  # check-in opens 30 minutes early: already open
    lesson = make_lesson(session, world, cls, start)
    later = make_lesson(session, world, cls, NOW + timedelta(hours=3))
    session.commit()

    first = lesson_state.record_transitions(session, NOW)
    again = lesson_state.record_transitions(session, NOW + timedelta(seconds=30))
    assert (first.opened, first.closed, again.opened, again.closed) == (1, 0, 0, 0)

    after_end = lesson.ends_at + timedelta(minutes=31)
    closed = lesson_state.record_transitions(session, after_end)
    assert closed.closed == 1
    rows = session.scalars(select(LessonTransition).where(LessonTransition.lesson_id == lesson.id)
                           .order_by(LessonTransition.id)).all()
    assert [(r.state, r.effective_at) for r in rows] == [
        ("opened", start - timedelta(minutes=30)), ("closed", lesson.ends_at + timedelta(minutes=30))]
    assert rows[1].recorded_at == after_end  # when the job saw it, beside when it happened
    assert count(session, LessonTransition, LessonTransition.lesson_id == later.id) == 1  # opened by then, not closed


def test_a_cancelled_lesson_neither_opens_nor_closes(session, world):
    cls, _ = make_class(session, world)
    lesson = make_lesson(session, world, cls, NOW - timedelta(hours=5))
    lesson.cancelled_at = NOW - timedelta(days=2)
    session.commit()
    assert lesson_state.record_transitions(session, NOW) == lesson_state.TransitionResult(0, 0)


# --- absences ---------------------------------------------------------------------------------

def test_a_trainee_without_a_verified_check_in_is_recorded_absent_once_however_often_the_job_runs(session, world):
    cls, (present, absent) = make_class(session, world)
    lesson = make_lesson(session, world, cls, NOW - timedelta(hours=4))
    event(session, lesson, present, "check_in", "verified", lesson.starts_at, "a1")
    event(session, lesson, absent, "check_in", "rejected", lesson.starts_at, "a2")
    session.commit()

    first = lesson_state.mark_absences(session, NOW)
    second = lesson_state.mark_absences(session, NOW + timedelta(minutes=5))
    assert (first.recorded, second.recorded) == (1, 0)
    assert (first.lessons, second.lessons) == (1, 0)  # the roll is taken: the lesson is not loaded again
    assert count(session, LessonTransition, LessonTransition.state == "roll_taken") == 1
    row = session.scalar(select(Absence))
    assert row.trainee_id == absent.trainee_id and row.enrollment_id == absent.id
    assert row.reasons[0]["code"] == "check_in_not_verified" and row.reasons[0]["clause"] == "cq 5.2"
    assert row.evidence["events"][0]["verdict"] == "rejected"


def test_no_absence_is_recorded_before_the_check_out_window_closes(session, world):
    cls, _ = make_class(session, world)
    lesson = make_lesson(session, world, cls, NOW - timedelta(hours=2, minutes=10))  # ended 10 minutes ago
    session.commit()
    assert lesson_state.mark_absences(session, NOW).recorded == 0
    assert lesson_state.mark_absences(session, lesson.ends_at + timedelta(minutes=31)).recorded == 2


def test_a_check_in_awaiting_review_defers_the_absence_until_a_person_decides(session, world):
    cls, (waiting,) = make_class(session, world, enrol=(0,))
    lesson = make_lesson(session, world, cls, NOW - timedelta(hours=4))
    flagged = event(session, lesson, waiting, "check_in", "flagged", lesson.starts_at, "w1")
    session.commit()
    result = lesson_state.mark_absences(session, NOW)
    assert (result.recorded, result.pending) == (0, 1)
    assert count(session, LessonTransition, LessonTransition.state == "roll_taken") == 0  # looked at again later

    event(session, lesson, waiting, "review_decision", "rejected", NOW, None, decides=flagged.id)
    session.commit()
    assert lesson_state.mark_absences(session, NOW + timedelta(minutes=5)).recorded == 1
    assert count(session, LessonTransition, LessonTransition.state == "roll_taken") == 1


def test_a_check_in_approved_by_a_reviewer_counts_as_verified(session, world):
    cls, (trainee,) = make_class(session, world, enrol=(0,))
    lesson = make_lesson(session, world, cls, NOW - timedelta(hours=4))
    flagged = event(session, lesson, trainee, "check_in", "flagged", lesson.starts_at, "r1")
    event(session, lesson, trainee, "review_decision", "approved", NOW - timedelta(hours=1), None, decides=flagged.id)
    session.commit()
    assert lesson_state.mark_absences(session, NOW).recorded == 0


def test_an_online_lesson_without_verified_presence_records_the_trainee_absent(session, world):
    cls, (trainee,) = make_class(session, world, enrol=(0,))
    lesson = make_lesson(session, world, cls, NOW - timedelta(hours=4), mode=LessonMode.online)
    # Checked in and kept the page open, but never passed a spot check: nothing is verified.
    event(session, lesson, trainee, "check_in", "verified", lesson.starts_at, "o1")
    session.add_all([Heartbeat(lesson_id=lesson.id, trainee_id=trainee.trainee_id, at=lesson.starts_at + timedelta(seconds=s),
                               visible=True) for s in range(0, 600, 30)])
    session.commit()
    assert lesson_state.mark_absences(session, NOW).recorded == 1
    row = session.scalar(select(Absence))
    assert row.reasons[0]["code"] == "no_verified_presence" and row.evidence["credited_seconds"] == 0


def test_credited_online_presence_is_not_an_absence():
    lesson = Lesson(mode=LessonMode.online)
    assert lesson_state.absence_decision(lesson, [], 1200.0, "cq 5.2") == ("present", [])
    assert lesson_state.absence_decision(lesson, [], 0.0, "cq 5.2")[0] == "absent"


def test_lessons_of_a_draft_class_and_trainees_enrolled_after_a_lesson_get_no_absence(session, world):
    draft, _ = make_class(session, world, status=ClassStatus.draft)
    make_lesson(session, world, draft, NOW - timedelta(hours=4))
    filed, _ = make_class(session, world, enrol=(2,), enrolled_at=NOW - timedelta(hours=1))
    make_lesson(session, world, filed, NOW - timedelta(hours=4))
    session.commit()
    assert lesson_state.mark_absences(session, NOW).recorded == 0


def test_an_absence_cannot_be_edited_or_deleted(session, world):
    cls, _ = make_class(session, world, enrol=(0,))
    make_lesson(session, world, cls, NOW - timedelta(hours=4))
    session.commit()
    lesson_state.mark_absences(session, NOW)
    for statement in ("UPDATE absences SET reasons = '[]'", "DELETE FROM absences"):
        with pytest.raises(DatabaseError, match="append-only"):
            session.execute(text(statement))
        session.rollback()
    assert count(session, Absence) == 1


# --- deadline duties and reminders --------------------------------------------------------------

def test_a_yunnan_subsidised_class_owes_its_filing_15_working_days_before_opening(session, world):
    cls, _ = make_class(session, world, region="yn", starts_on=date(2026, 5, 11), ends_on=date(2026, 6, 30))
    session.commit()
    result = duties.sync(session, NOW)
    duty = session.scalar(select(Duty).where(Duty.class_id == cls.id))
    expected = deadline(rules.region("yn"), "filing_before_opening", date(2026, 5, 11))
    assert result.created == 1
    assert (duty.code, duty.due_on, duty.clause, duty.provisional) == ("filing_before_opening", expected.due, "yn 4.4.1", False)
    assert duty.due_on < date(2026, 4, 20)  # 15 working days reach back past the 1-5 May holiday
    assert duties.sync(session, NOW).created == 0  # idempotent


def test_a_class_moved_to_another_opening_date_moves_its_open_duty(session, world):
    cls, _ = make_class(session, world, region="yn", starts_on=date(2026, 5, 11), ends_on=date(2026, 6, 30))
    session.commit()
    duties.sync(session, NOW)
    cls.starts_on = date(2026, 6, 1)
    session.commit()
    result = duties.sync(session, NOW)
    duty = session.scalar(select(Duty))
    assert (result.created, result.updated) == (0, 1)
    assert duty.due_on == deadline(rules.region("yn"), "filing_before_opening", date(2026, 6, 1)).due
    assert duty.anchor_date == date(2026, 6, 1) and duty.updated_at == NOW


def test_chongqing_reports_are_owed_by_self_paid_classes_only(session, world):
    subsidised, _ = make_class(session, world, region="cq")
    self_paid, _ = make_class(session, world, region="cq", funding=Funding.self_paid)
    session.commit()
    duties.sync(session, NOW)
    rows = session.scalars(select(Duty)).all()
    assert [(d.class_id, d.code, d.due_on, d.clause) for d in rows] == [
        (self_paid.id, "self_paid_report", date(2026, 5, 30), "cq 3.2.1")]
    assert subsidised.id not in {d.class_id for d in rows}


def test_jiangsu_registers_continuing_education_within_a_month_and_waits_for_an_application_to_date_its_review(session, world):
    cls, _ = make_class(session, world, region="js", ends_on=date(2026, 1, 31), starts_on=date(2026, 1, 5))
    session.commit()
    result = duties.sync(session, NOW)
    rows = session.scalars(select(Duty).where(Duty.class_id == cls.id)).all()
    # Keeping periods (years_after) are retention, not reminders; the review is dated only when
    # 人社 records the accepted application (record_application), never guessed by the sync.
    assert [(d.code, d.due_on, d.clause) for d in rows] == [("continuing_education_registration", date(2026, 2, 28), "js 3.1")]
    assert result.not_computable == set()


def test_zhejiang_duties_run_per_trainee_from_their_level_certificate(session, world):
    cls, (with_cert, without) = make_class(session, world, region="zj-jinhua", occupation="2-02-10-11",
                                           starts_on=date(2026, 1, 5), ends_on=date(2026, 2, 27))
    session.add(Certificate(trainee_id=with_cert.trainee_id, kind="level", occupation_code="2-02-38-03", level=Level.mid,
                            number="ZJ-001", issued_on=date(2026, 3, 6)))
    session.commit()
    duties.sync(session, NOW)
    rows = session.scalars(select(Duty).where(Duty.class_id == cls.id)).all()
    assert [(d.subject, d.due_on, d.clause) for d in rows] == [(f"enrollment:{with_cert.id}", date(2027, 3, 6), "jinhua 4")]


def test_an_opening_in_a_year_the_calendar_does_not_know_gives_a_provisional_due_date(session, world):
    make_class(session, world, region="yn", starts_on=date(2027, 3, 1), ends_on=date(2027, 4, 30))
    session.commit()
    duties.sync(session, NOW)
    duty = session.scalar(select(Duty))
    assert duty.provisional is True and "仅供参考" in duty.detail


def test_each_stage_of_a_reminder_is_recorded_once(session, world):
    cls, _ = make_class(session, world, region="cq", funding=Funding.self_paid, ends_on=date(2026, 3, 1))
    session.commit()
    duties.sync(session, NOW)
    duty = session.scalar(select(Duty))
    assert duty.due_on == date(2026, 3, 31)

    def at(day: date) -> datetime:  # 09:00 in Beijing that day
        return datetime(day.year, day.month, day.day, 1, 0, tzinfo=UTC)

    stages = []
    for day in (date(2026, 3, 20), date(2026, 3, 24), date(2026, 3, 25), date(2026, 3, 30), date(2026, 3, 31),
                date(2026, 3, 31), date(2026, 4, 1), date(2026, 4, 9)):
        stages += [r.stage for r in duties.remind(session, at(day))]
    assert stages == ["ahead", "due", "overdue"]  # nothing before 7 days ahead; then each stage once
    assert count(session, DutyReminder) == 3
    message = session.scalar(select(DutyReminder.message).where(DutyReminder.stage == "overdue"))
    assert "已逾期" in message and "cq 3.2.1" in message and cls.name in message


def test_a_duty_marked_done_gets_no_more_reminders_and_keeps_its_due_date(session, world):
    from server.services.scope import Actor

    make_class(session, world, region="cq", funding=Funding.self_paid, ends_on=date(2026, 3, 1))
    session.commit()
    duties.sync(session, NOW)
    duty = session.scalar(select(Duty))
    done = duties.mark_done(session, Actor.system(), duty.id, "已报送", NOW)
    assert done["status"] == "done"
    assert duties.remind(session, datetime(2026, 4, 2, 1, tzinfo=UTC)) == []


def test_status_is_due_until_the_day_passes_then_overdue():
    duty = Duty(due_on=date(2026, 3, 31), done_at=None)
    assert duties.status_of(duty, date(2026, 3, 31)) == "due"
    assert duties.status_of(duty, date(2026, 4, 1)) == "overdue"
    duty.done_at = NOW
    assert duties.status_of(duty, date(2026, 4, 1)) == "done"


# --- daily chain anchors ------------------------------------------------------------------------

def test_each_chain_is_anchored_once_a_day_and_each_line_links_to_the_one_before(session, world, tmp_path):
    cls, lesson, trainee = chain_with_events(session, world)
    path = anchors.anchor_path(tmp_path)
    first = anchors.anchor_heads(session, path, NOW)
    assert [(r["chain"], r["seq"], r["count"]) for r in first] == [(f"class:{cls.id}", 3, 3)]
    assert first[0]["head"] == chain.head_of(session, cls.id)[1] and first[0]["date"] == "2026-03-10"
    event(session, lesson, trainee, "check_out", "verified", lesson.ends_at, "anchor-out")
    session.commit()
    assert anchors.anchor_heads(session, path, NOW + timedelta(hours=2)) == []  # once a day
    nxt = anchors.anchor_heads(session, path, NOW + timedelta(days=1))
    assert [r["seq"] for r in nxt] == [4]
    assert anchors.anchor_heads(session, path, NOW + timedelta(days=2)) == []  # unchanged head: no new line
    lines = path.read_text(encoding="utf-8").splitlines()
    assert json.loads(lines[1])["prev"] == anchors.line_hash(lines[0])
    assert anchors.verify(session, path) == (2, [])


def test_a_chain_rewritten_with_recomputed_hashes_passes_the_chain_check_but_not_its_anchor(session, world, tmp_path):
    cls, _, _ = chain_with_events(session, world)
    path = anchors.anchor_path(tmp_path)
    anchors.anchor_heads(session, path, NOW)
    last = session.scalar(select(Event).where(Event.class_id == cls.id).order_by(Event.seq.desc()))
    rewrite_event(session, last.id, {"verdict": "rejected"})

    assert chain.verify(session)[1] == []  # the chain alone cannot see it
    lines, problems = anchors.verify(session, path)
    assert lines == 1 and len(problems) == 1
    assert problems[0].chain == f"class:{cls.id}" and "rewritten after the anchor" in problems[0].problem


def test_an_edited_anchor_file_is_named_at_the_line_after_the_edit(session, world, tmp_path):
    chain_with_events(session, world)
    path = anchors.anchor_path(tmp_path)
    anchors.anchor_heads(session, path, NOW)
    chain_with_events(session, world, key="second")
    anchors.anchor_heads(session, path, NOW)
    lines = path.read_text(encoding="utf-8").splitlines()
    first = json.loads(lines[0])
    first["at"] = "2026-03-10T00:00:00+00:00"  # same head, other text
    path.write_text(json.dumps(first, sort_keys=True, separators=(",", ":")) + "\n" + lines[1] + "\n", encoding="utf-8")
    _, problems = anchors.verify(session, path)
    assert [(p.line, "link" in p.problem) for p in problems] == [(2, True)]


# --- retention ----------------------------------------------------------------------------------

def test_evidence_younger_than_five_years_is_never_considered_for_purging(session, world):
    # Ended 4 years and 11 months before NOW: inside the keeping period.
    young, (trainee, _) = make_class(session, world, starts_on=date(2021, 3, 1), ends_on=date(2021, 4, 10))
    lesson = make_lesson(session, world, young, datetime(2021, 3, 2, 1, tzinfo=UTC))
    event(session, lesson, trainee, "check_in", "verified", lesson.starts_at, "young-1")
    session.commit()
    before = count(session, Event)
    report = retention.review(session, NOW)
    assert report.expired_classes == {} and report.would_purge == {} and report.purged == 0
    assert count(session, Event) == before
    assert "nothing older than the keeping period" in report.summary()


def test_only_rows_past_the_keeping_period_are_reported_and_none_is_deleted(session, world):
    old, (trainee, _) = make_class(session, world, region="js", starts_on=date(2020, 1, 6), ends_on=date(2020, 2, 28))
    lesson = make_lesson(session, world, old, datetime(2020, 1, 7, 1, tzinfo=UTC))
    event(session, lesson, trainee, "check_in", "verified", lesson.starts_at, "old-1")
    event(session, lesson, trainee, "check_out", "verified", lesson.ends_at, "old-2")
    # A late decision on an old event is itself young evidence: it is kept.
    event(session, lesson, trainee, "review_decision", "approved", NOW - timedelta(days=30), None)
    session.commit()
    report = retention.review(session, NOW)
    assert report.expired_classes == {old.id: (date(2025, 2, 28), "js 4.2")}
    assert report.would_purge["events"] == 2
    assert report.purged == 0 and count(session, Event) == 3
    assert "none purged" in report.summary()


def test_the_keeping_period_is_never_shorter_than_five_years_in_any_region():
    for code in ("cq", "yn", "js", "zj-jinhua"):
        assert retention.keep_years(code)[0] >= 5


def test_templates_of_trainees_who_withdrew_consent_are_erased_and_others_are_untouched(session, world):
    withdrawn, kept = world["trainees"][0], world["trainees"][1]
    for t, granted in ((withdrawn, True), (kept, True), (withdrawn, False)):
        session.add(Consent(trainee_id=t.id, purpose="biometric", granted=granted, text_version="v", text_sha256="0" * 64,
                            channel="paper", at=NOW - timedelta(days=1)))
        session.flush()
    first = session.scalar(select(Consent.id).order_by(Consent.id))
    for t in (withdrawn, kept):
        session.add(FaceTemplate(trainee_id=t.id, template=b"\x01" * 16, model="m", model_version="1", photo_hashes=[],
                                 consent_id=first))
    session.commit()
    report = retention.review(session, NOW)
    assert report.templates_erased == 1
    session.rollback()
    rows = {t.trainee_id: t for t in session.scalars(select(FaceTemplate))}
    assert rows[withdrawn.id].template == b"" and rows[withdrawn.id].erased_at == NOW
    assert rows[kept.id].template == b"\x01" * 16 and rows[kept.id].erased_at is None
