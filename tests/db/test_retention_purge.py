"""Purging photo files past their keeping period (SQLite and PostgreSQL), with `now` passed in:
the frames and group photos of a class that ended more than 5 years ago go, the event rows (and
so the hash chain) stay, each purge is in the audit log, a file younger evidence shares is kept,
a dry run changes nothing, and the daily duty purges only when configured."""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from server.models import AuditEntry, Consent, Event, FaceTemplate, GroupPhoto
from server.services import chain, retention
from tests.factories import make_class, make_lesson

UTC = UTC
ENDED = date(2020, 2, 28)  # a JS class: electronic records kept 5 years after training ends (js 4.2)
FIVE_YEARS_AND_A_DAY = datetime(2025, 3, 1, 4, tzinfo=UTC)  # 12:00 in Beijing on 2025-03-01
FIVE_YEARS_LESS_A_DAY = datetime(2025, 2, 27, 4, tzinfo=UTC)


@pytest.fixture
def store(app):
    return app.extensions["hourproof_evidence"]


def photo(store, label: str) -> str:
    return store.put(f"\xff\xd8\xff\xe0 frame {label}".encode())


def frames_event(session, lesson, enrollment, frames, key, at=None):
    return chain.append(session, chain.NewEvent(kind="check_in", class_id=lesson.class_id, lesson_id=lesson.id, enrollment_id=enrollment.id,
                        trainee_id=enrollment.trainee_id, actor_id=None, at=at or lesson.starts_at, verdict="verified",
                        decides_event_id=None, spot_check_id=None, reasons=[], evidence={"frames": frames},
                        idempotency_key=key, device_id=None))


def old_class(session, world, store):
    cls, (trainee, other) = make_class(session, world, region="js", starts_on=date(2020, 1, 6), ends_on=ENDED)
    lesson = make_lesson(session, world, cls, datetime(2020, 1, 7, 1, tzinfo=UTC))
    a, b, c = photo(store, "a"), photo(store, "b"), photo(store, "group")
    frames_event(session, lesson, trainee, [a, b], "old-1")
    frames_event(session, lesson, other, [], "old-2")  # an event without frames
    session.add(GroupPhoto(class_id=cls.id, lesson_id=lesson.id, sha256=c, uploaded_at=lesson.ends_at, present=[trainee.trainee_id],
                           match={}))
    session.commit()
    return cls, lesson, (trainee, other), (a, b, c)


def purges(session) -> list[AuditEntry]:
    session.rollback()
    return session.scalars(select(AuditEntry).where(AuditEntry.action == "evidence.purge").order_by(AuditEntry.id)).all()


def test_photos_of_a_class_ended_five_years_and_a_day_ago_are_purged_and_five_years_less_a_day_are_not(session, world, store):
    cls, _, _, (a, b, c) = old_class(session, world, store)
    events_before = session.scalar(select(func.count()).select_from(Event))

    early = retention.purge_photos(session, FIVE_YEARS_LESS_A_DAY, store, dry_run=False)
    assert early.classes == [] and early.files == 0
    assert all(store.exists(h) for h in (a, b, c)) and purges(session) == []

    report = retention.purge_photos(session, FIVE_YEARS_AND_A_DAY, store, dry_run=False)
    [plan] = report.classes
    assert (plan.class_id, plan.kept_until, plan.clause) == (cls.id, date(2025, 2, 28), "js 4.2")
    assert sorted(plan.hashes) == sorted([a, b, c]) and (plan.events, plan.group_photos) == (1, 1)
    assert not any(store.exists(h) for h in (a, b, c))
    # The rows stay: the events (with their frames' hashes) and the chain they are links of.
    assert session.scalar(select(func.count()).select_from(Event)) == events_before
    assert session.scalar(select(Event).where(Event.idempotency_key == "old-1")).evidence["frames"] == [a, b]
    checked, problems = chain.verify(session)
    assert checked == events_before and problems == []
    # Recorded: who (the system), which class, the counts and every hash.
    [entry] = purges(session)
    assert (entry.entity, entry.entity_id, entry.actor_name, entry.institution_id) == ("class", cls.id, "system",
                                                                                         cls.institution_id)
    assert entry.after["files_deleted"] == 3 and sorted(entry.after["hashes"]) == sorted([a, b, c])
    assert entry.after["clause"] == "js 4.2" and entry.after["kept_until"] == "2025-02-28"
    # A class whose purge is recorded is not scanned again.
    again = retention.purge_photos(session, FIVE_YEARS_AND_A_DAY + timedelta(days=1), store, dry_run=False)
    assert again.classes == [] and again.done_before == 1 and len(purges(session)) == 1


def test_a_photo_shared_with_younger_evidence_or_a_face_template_is_kept(session, world, store):
    _, lesson, (trainee, other), (a, b, c) = old_class(session, world, store)
    young, (young_trainee, _) = make_class(session, world, region="js", starts_on=date(2024, 9, 2), ends_on=date(2024, 12, 20))
    young_lesson = make_lesson(session, world, young, datetime(2024, 9, 3, 1, tzinfo=UTC))
    frames_event(session, young_lesson, young_trainee, [a], "young-1")  # the same bytes as an old frame
    enrolled = photo(store, "enrollment")
    frames_event(session, lesson, other, [enrolled], "old-3")
    session.add(Consent(trainee_id=other.trainee_id, purpose="biometric", granted=True, text_version="v", text_sha256="0" * 64,
                        channel="paper", at=datetime(2020, 1, 1, tzinfo=UTC)))
    session.flush()
    consent = session.scalar(select(Consent.id))
    session.add(FaceTemplate(trainee_id=other.trainee_id, template=b"\x01", model="m", model_version="1",
                             photo_hashes=[enrolled], consent_id=consent))
    session.commit()

    [plan] = retention.purge_photos(session, FIVE_YEARS_AND_A_DAY, store, dry_run=False).classes
    assert sorted(plan.shared) == sorted([a, enrolled]) and sorted(plan.hashes) == sorted([b, c])
    assert store.exists(a) and store.exists(enrolled) and not store.exists(b) and not store.exists(c)
    [entry] = purges(session)
    assert sorted(entry.after["shared_hashes"]) == sorted([a, enrolled]) and entry.after["kept_shared"] == 2


def test_a_dry_run_lists_what_would_go_and_deletes_and_records_nothing(session, world, store):
    _, _, _, (a, b, c) = old_class(session, world, store)
    dry = retention.purge_photos(session, FIVE_YEARS_AND_A_DAY, store, dry_run=True)
    assert dry.dry_run and dry.files == 3 and "would be deleted (dry run)" in dry.summary()
    assert all(store.exists(h) for h in (a, b, c)) and purges(session) == []
    # ...and the real run afterwards still finds everything.
    assert retention.purge_photos(session, FIVE_YEARS_AND_A_DAY, store, dry_run=False).files == 3


def test_the_daily_duty_only_reports_unless_purging_is_configured(app, session, world, store, test_db_url):
    from server import create_app
    from server.scheduler import jobs

    _, _, (trainee, _), (a, b, c) = old_class(session, world, store)  # past its period at today's real date as well
    # The trainee agreed to keep the photos as evidence: the keeping period applies to them, not
    # the review window (which the duty applies without being asked, tests/api/test_consent_by_purpose.py).
    session.add(Consent(trainee_id=trainee.trainee_id, purpose="photo_keeping", granted=True, text_version="v",
                        text_sha256="0" * 64, channel="paper"))
    session.commit()
    summary = jobs.review_retention(app)
    assert "photo files not purged" in summary and "HOURPROOF_RETENTION_PURGE" in summary
    assert all(store.exists(h) for h in (a, b, c))

    settings = app.config["HOURPROOF_SETTINGS"]
    purging = create_app({"TESTING": True, "database_url": test_db_url, "data_dir": settings.data_dir, "secret_key": "test-secret",
                          "ENV": {"HOURPROOF_RETENTION_PURGE": "1"}})
    try:
        assert purging.config["HOURPROOF_SETTINGS"].retention_purge is True
        summary = jobs.review_retention(purging)
    finally:
        from server import close_app

        close_app(purging)
    assert "3 of 1 classes deleted" in summary
    assert not any(store.exists(h) for h in (a, b, c)) and len(purges(session)) == 1


def test_hourproof_retention_is_a_dry_run_unless_told_to_purge(app, session, world, store, monkeypatch, capsys):
    from server.cli import main

    _, _, _, (a, b, c) = old_class(session, world, store)
    settings = app.config["HOURPROOF_SETTINGS"]
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    monkeypatch.setenv("HOURPROOF_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("SECRET_KEY", "test-secret")
    assert main(["retention"]) == 0
    out = capsys.readouterr().out
    assert "DRY RUN" in out and "3 files would go" in out and "js 4.2" in out
    assert all(store.exists(h) for h in (a, b, c)) and purges(session) == []
    assert main(["retention", "--purge"]) == 0
    assert "3 files deleted" in capsys.readouterr().out
    assert not any(store.exists(h) for h in (a, b, c)) and len(purges(session)) == 1


def test_the_setting_is_off_unless_set():
    from server.config import Settings

    assert Settings.from_env({"SECRET_KEY": "k", "HOURPROOF_DATA_DIR": "/nonexistent"}).retention_purge is False
    assert Settings.from_env({"SECRET_KEY": "k", "HOURPROOF_DATA_DIR": "/nonexistent",
                              "HOURPROOF_RETENTION_PURGE": "1"}).retention_purge is True
