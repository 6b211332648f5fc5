"""Consent by purpose (POLICY §11): face verification (a) and keeping check-in photos as evidence
(b) are consented to, versioned and withdrawn separately; without (b), check-in photos are deleted
once the event's review window closes - recorded in the audit log first, never a file something
else still names - and then answer 410 and count as expired (not missing) in `audit verify --photos`,
while the hash chain still verifies."""
from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from server.models import AuditEntry, Consent, Event, FaceTemplate, Lesson
from server.services import chain, consent, retention

LESSON_ENDS = datetime(2026, 3, 2, 5, tzinfo=UTC)  # the worlds' lesson (factories.build_worlds)


def _event(session, w, frames: list[str], key: str, *, verdict="verified", trainee_id=None, kind="check_in"):
    e = chain.append(session, chain.NewEvent(
        kind=kind, class_id=w.class_id, lesson_id=w.lesson_id, enrollment_id=w.enrollment_id,
        trainee_id=trainee_id or w.trainee_id, actor_id=w.trainee_user_id, at=LESSON_ENDS - timedelta(hours=3),
        verdict=verdict, decides_event_id=None, spot_check_id=None, reasons=[], evidence={"frames": frames},
        idempotency_key=key, device_id=None))
    session.commit()
    return e


def _review(session, w, target: Event, at: datetime) -> None:
    chain.append(session, chain.NewEvent(
        kind="review_decision", class_id=w.class_id, lesson_id=w.lesson_id, enrollment_id=w.enrollment_id,
        trainee_id=w.trainee_id, actor_id=None, at=at, verdict="approved", decides_event_id=target.id,
        spot_check_id=None, reasons=[], evidence={}, idempotency_key=None, device_id=None))
    session.commit()


def _keeping(session, trainee_id: int, granted: bool) -> None:
    n = consent.notices("cq")[consent.PHOTO_KEEPING]
    session.add(Consent(trainee_id=trainee_id, purpose=consent.PHOTO_KEEPING, granted=granted, text_version=n.version,
                        text_sha256=n.sha256, channel="paper"))
    session.commit()


def _expiries(session) -> list[AuditEntry]:
    session.rollback()
    return session.scalars(select(AuditEntry).where(AuditEntry.action == retention.EXPIRE_ACTION)
                           .order_by(AuditEntry.id)).all()


def test_each_purpose_is_consented_to_and_withdrawn_on_its_own_against_its_own_versioned_notice(worlds, login, session):
    y = worlds["yubei"]
    staff = login("yubei-admin")
    body = staff.get(f"/api/consent-text?trainee_id={y.trainee_id}").get_json()
    notices = {n["purpose"]: n for n in body["purposes"]}
    assert set(notices) == {"biometric", "photo_keeping"} and body["region"] == "cq"
    assert body["version"] == notices["biometric"]["version"] and body["text"] == notices["biometric"]["text"]
    # (a) no longer promises to keep the photos for years; (b) states the period and the window.
    assert "复核期" in notices["biometric"]["text"] and "5年" not in notices["biometric"]["text"]
    assert "培训结束后5年" in notices["photo_keeping"]["text"] and "30天" in notices["photo_keeping"]["text"]
    # The trainee's phone gets the same notices without naming anyone; nobody else's.
    phone = login("yubei-trainee")
    assert phone.get("/api/consent-text").get_json()["purposes"] == body["purposes"]
    assert phone.get(f"/api/consent-text?trainee_id={worlds['nanan'].trainee_id}").status_code == 404
    assert staff.get(f"/api/consent-text?trainee_id={worlds['nanan'].trainee_id}").status_code == 404

    url = f"/api/trainees/{y.trainee_id}/consent"
    keep = notices["photo_keeping"]
    assert staff.post(url, json={"purpose": "photo_keeping", "granted": True, "channel": "paper",
                                 "text_version": "2026-11"}).status_code == 409
    granted = staff.post(url, json={"purpose": "photo_keeping", "granted": True, "channel": "paper",
                                    "text_version": keep["version"]})
    assert granted.status_code == 201 and granted.get_json()["purpose"] == "photo_keeping"
    assert consent.consent_in_force(session, y.trainee_id, consent.PHOTO_KEEPING) is not None
    assert consent.consent_in_force(session, y.trainee_id) is None  # (a) is separate: not given
    assert y.trainee_id in consent.keeping_consented(session)
    withdrawn = staff.post(url, json={"purpose": "photo_keeping", "granted": False, "channel": "paper",
                                      "text_version": keep["version"]})
    assert withdrawn.status_code == 201
    session.rollback()
    assert consent.consent_in_force(session, y.trainee_id, consent.PHOTO_KEEPING) is None
    assert y.trainee_id not in consent.keeping_consented(session)
    # The default purpose stays biometric (older clients), recorded with the hash of the text shown.
    assert staff.post(url, json={"granted": True, "channel": "paper",
                                 "text_version": notices["biometric"]["version"]}).status_code == 201
    session.rollback()
    rows = session.scalars(select(Consent).where(Consent.trainee_id == y.trainee_id).order_by(Consent.id)).all()
    assert [(c.purpose, c.granted, c.text_sha256) for c in rows] == [
        ("photo_keeping", True, keep["sha256"]), ("photo_keeping", False, keep["sha256"]),
        ("biometric", True, notices["biometric"]["sha256"])]
    actions = session.scalars(select(AuditEntry.action).where(AuditEntry.action.like("consent.%")).order_by(AuditEntry.id)).all()
    assert actions == ["consent.photo_keeping.grant", "consent.photo_keeping.withdraw", "consent.grant"]


def test_photos_without_consent_to_keep_them_go_after_the_review_window_recorded_first_and_shared_files_stay(
        app, worlds, session, monkeypatch):
    y, n = worlds["yubei"], worlds["nanan"]
    store = app.extensions["hourproof_evidence"]
    a1, a2, shared, b1, c1, d1 = (store.put(f"\xff\xd8\xff\xe0 frame {x}".encode()) for x in ("a1", "a2", "x", "b1", "c1", "d1"))
    plain = _event(session, y, [a1, a2, shared], "plain")
    under_review = _event(session, y, [b1], "flagged-open", verdict="flagged")
    reviewed = _event(session, y, [c1], "flagged-decided", verdict="flagged")
    _review(session, y, reviewed, LESSON_ENDS + timedelta(days=20))
    kept_by_b = _event(session, n, [d1, shared], "nanan-keeps")
    _keeping(session, n.trainee_id, True)
    # a2 is also an enrolment photo of a face template: never deleted with the frames.
    session.add(Consent(trainee_id=y.trainee_id, purpose="biometric", granted=True, text_version=consent.CONSENT_VERSION,
                        text_sha256=consent.CONSENT_SHA256, channel="paper"))
    session.flush()
    session.add(FaceTemplate(trainee_id=y.trainee_id, template=b"\x01", model="m", model_version="1", photo_hashes=[a2],
                             consent_id=session.scalar(select(Consent.id).order_by(Consent.id.desc()))))
    session.commit()
    events_before = session.scalar(select(func.count()).select_from(Event))

    # Inside the window nothing goes.
    assert retention.expire_frames(session, LESSON_ENDS + timedelta(days=29), store).files == 0

    # Recorded before deleting: a delete that fails leaves the record and the files.
    def broken(_digest):
        raise OSError("disk gone")
    monkeypatch.setattr(store, "delete", broken)
    with pytest.raises(OSError):
        retention.expire_frames(session, LESSON_ENDS + timedelta(days=31), store)
    [entry] = _expiries(session)
    assert entry.after["events"] == [plain.id] and entry.after["hashes"] == [a1] and store.exists(a1)
    monkeypatch.undo()

    # The next run finishes the recorded deletion and records nothing twice.
    report = retention.expire_frames(session, LESSON_ENDS + timedelta(days=31), store)
    assert (report.finished, report.events, report.review_open) == (1, 0, 1)
    [entry] = _expiries(session)
    assert (entry.entity, entry.entity_id, entry.actor_name) == ("class", y.class_id, "system")
    assert entry.after["hashes"] == [a1] and sorted(entry.after["shared_hashes"]) == sorted([a2, shared])
    assert entry.after["clause"] == "POLICY §11"
    assert not store.exists(a1) and all(store.exists(h) for h in (a2, shared, b1, c1, d1))

    # The reviewed event's window runs from the decision; the open review still keeps its photos.
    later = LESSON_ENDS + timedelta(days=51)
    assert retention.expire_frames(session, later, store).events == 1
    assert not store.exists(c1) and store.exists(b1)

    # Withdrawing (b) shortens the keeping from then on: the next run takes the photos, and the
    # file the first event shared goes too now that nothing kept names it.
    _keeping(session, n.trainee_id, False)
    assert retention.expire_frames(session, later, store).events == 1
    assert not store.exists(d1) and not store.exists(shared) and store.exists(a2)
    assert retention.expired_event_ids(session) == {plain.id, reviewed.id, kept_by_b.id}
    assert under_review.id not in retention.expired_event_ids(session)

    # The rows stay and every chain still verifies.
    assert session.scalar(select(func.count()).select_from(Event)) == events_before
    assert session.get(Event, plain.id).evidence["frames"] == [a1, a2, shared]
    checked, problems = chain.verify(session)
    assert checked == events_before and problems == []


def test_an_expired_photo_answers_410_and_audit_verify_photos_counts_it_expired_while_a_lost_one_is_missing(
        app, worlds, login, session, capsys, monkeypatch):
    from server.cli import main
    from server.scheduler import jobs

    y = worlds["yubei"]
    store = app.extensions["hourproof_evidence"]
    old = _event(session, y, [store.put(b"\xff\xd8\xff\xe0 an old frame")], "old")
    # The daily job deletes them by default (a legal duty; no HOURPROOF_RETENTION_PURGE needed).
    summary = jobs.review_retention(app)
    assert "past their review window" in summary and "1 files of 1 events deleted" in summary
    lost_digest = store.put(b"\xff\xd8\xff\xe0 a frame lost on disk")
    lost = _event(session, y, [lost_digest], "lost")
    store.delete(lost_digest)  # gone without any rule: a genuine loss

    sup = login("yubei-supervisor")
    resp = sup.get(f"/api/events/{old.id}/frames/0")
    assert resp.status_code == 410
    assert resp.get_json()["error"] == {"code": "evidence_expired", "message": retention.EXPIRED_MESSAGE}
    assert resp.get_json()["error"]["message"] == "签到照片已在复核期结束后删除（学员未同意留存）"
    assert sup.get(f"/api/events/{lost.id}/frames/0").status_code == 500

    settings = app.config["HOURPROOF_SETTINGS"]
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    monkeypatch.setenv("HOURPROOF_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("SECRET_KEY", "test-secret")
    code = main(["audit", "verify", "--photos", "--json", "--class-id", str(y.class_id)])
    report = json.loads(capsys.readouterr().out)
    assert code == 1 and report["problems"] == []  # the chain itself verifies
    assert report["photos"]["expired_after_review_window"] == 1 and report["photos"]["purged_by_retention"] == 0
    [problem] = report["photos"]["problems"]
    assert (problem["event_id"], problem["digest"]) == (lost.id, lost_digest) and "missing" in problem["problem"]
    session.rollback()
    assert session.get(Lesson, y.lesson_id).ends_at == LESSON_ENDS


def test_a_trainee_who_agreed_to_the_old_notice_that_kept_photos_keeps_them_until_they_say_otherwise(worlds, session):
    # The 2026-11 biometric notice asked, in one text, to keep the photos for the keeping period:
    # the split must not delete years of evidence those trainees agreed to keep.
    y = worlds["yubei"]
    session.add(Consent(trainee_id=y.trainee_id, purpose="biometric", granted=True, text_version="2026-11",
                        text_sha256="0" * 64, channel="paper"))
    session.commit()
    assert y.trainee_id in consent.keeping_consented(session)
    _keeping(session, y.trainee_id, False)  # they withdraw (b): from then on the window applies
    assert y.trainee_id not in consent.keeping_consented(session)


def test_re_consenting_to_the_new_face_notice_without_keeping_ends_the_old_notices_keeping(worlds, session):
    y = worlds["yubei"]
    for version in ("2026-11", consent.CONSENT_VERSION):
        session.add(Consent(trainee_id=y.trainee_id, purpose="biometric", granted=True, text_version=version,
                            text_sha256="0" * 64, channel="paper"))
    session.commit()
    assert y.trainee_id not in consent.keeping_consented(session)
