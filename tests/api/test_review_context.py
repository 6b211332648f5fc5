"""A flagged event's review context: what a replay flag matched (earlier events and their frames,
found again from the stored fingerprints), whom a 1:N flag found, the fix against the fence; and
the enrolment photos of the two people concerned, scoped and every view audited."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
from sqlalchemy import select

from recognition import Template
from server.models import AuditEntry, Consent, Enrollment, FaceTemplate, FrameFingerprint, Trainee
from server.services import chain
from server.services.consent import CONSENT_SHA256, CONSENT_VERSION

EARLIER = ["0f0f0f0f0f0f0f00", "1234567812345678", "ffff0000ffff0000", "aaaaaaaaaaaaaaaa"]
# frames 0-2 of the flagged burst are frames 0, 2 and 3 of the earlier one within a few bits; frame 3 is new
NOW = ["0f0f0f0f0f0f0f01", "ffff0000ffff0000", "aaaaaaaaaaaaaaa8", "5a5a5a5a5a5a5a5a"]


def _template(session, trainee_id: int, photos: list[str]) -> FaceTemplate:
    consent = Consent(trainee_id=trainee_id, purpose="biometric", granted=True, text_version=CONSENT_VERSION,
                      text_sha256=CONSENT_SHA256, channel="paper")
    session.add(consent)
    session.flush()
    template = Template("test", "1", np.random.default_rng(trainee_id).normal(0, 0.1, (1, 128)))
    row = FaceTemplate(trainee_id=trainee_id, template=template.to_bytes(), model="test", model_version="1",
                       photo_hashes=photos, consent_id=consent.id, created_at=datetime.now(UTC) - timedelta(days=30))
    session.add(row)
    session.flush()
    return row


def _event(session, y, key: str, at: datetime, verdict: str, reasons: list, evidence: dict):
    return chain.append(session, chain.NewEvent(
        kind="check_in", class_id=y.class_id, lesson_id=y.lesson_id, enrollment_id=y.enrollment_id, trainee_id=y.trainee_id,
        actor_id=y.trainee_user_id, at=at, verdict=verdict, decides_event_id=None, spot_check_id=None, reasons=reasons,
        evidence=evidence, idempotency_key=key, device_id=None))


def _flagged_world(app, session, y) -> dict:
    """The yubei trainee with an enrolment photo, a classmate with one, an earlier verified
    check-in, and a check-in flagged both as a replay of it and as near the classmate (1:N)."""
    store = app.extensions["hourproof_evidence"]
    classmate = Trainee(resident_id="500112199807050827", name="罗斯林", phone="13800000009")
    session.add(classmate)
    session.flush()
    session.add(Enrollment(class_id=y.class_id, trainee_id=classmate.id))
    own = _template(session, y.trainee_id, [store.put(b"\xff\xd8\xff\xe0 own enrolment photo")])
    _template(session, classmate.id, [store.put(b"\xff\xd8\xff\xe0 classmate photo 1"),
                                      store.put(b"\xff\xd8\xff\xe0 classmate photo 2")])
    at = datetime.now(UTC)
    frames = [store.put(f"frame {i}".encode()) for i in range(4)]
    earlier = _event(session, y, "earlier", at - timedelta(days=1), "verified", [], {
        "frames": frames, "face": {"frames": [{"index": i, "fingerprint": fp} for i, fp in enumerate(EARLIER)]}})
    for fp in EARLIER:
        session.add(FrameFingerprint(fingerprint=fp, trainee_id=y.trainee_id, event_id=earlier.id, at=earlier.at))
    flagged = _event(session, y, "replayed", at, "flagged", [
        {"code": "frames_seen_before", "clause": "cq 5.2", "detail": "本次画面中有 3 帧与以前提交的画面相同"},
        {"code": "face_near_other", "clause": "cq 5.2", "detail": "与本班另一名学员的人脸也很接近"}], {
        "frames": frames,
        "face": {"template_id": own.id, "frames": [{"index": i, "fingerprint": fp} for i, fp in enumerate(NOW)],
                 "class_1n": {"outcome": "review", "claimed_distance": 0.35, "compared": 1,
                              "nearest_other": {"trainee_id": classmate.id, "distance": 0.39}}},
        "replay": {"frames_seen_before": [1, 2, 3], "compared_with": 4, "max_bits": 8},
        "location": {"lat": 29.6, "lon": 106.5, "accuracy_m": 12.0, "datum": "wgs84"},
        "fence": {"verdict": "uncertain", "distance_m": -5.0}})
    session.commit()
    return {"earlier": earlier.id, "flagged": flagged.id, "classmate": classmate.id}


def test_the_context_of_a_replay_and_1n_flagged_event_names_the_matched_frames_and_the_other_trainee(app, worlds, login, session):
    y = worlds["yubei"]
    w = _flagged_world(app, session, y)
    resp = login("yubei-supervisor").get(f"/api/events/{w['flagged']}/context")
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    assert body["kind"] == "check_in" and body["verdict"] == "flagged" and body["frames"] == 4
    assert [r["code"] for r in body["reasons"]] == ["frames_seen_before", "face_near_other"]
    assert body["reasons"][0]["clause"] == "cq 5.2"
    assert body["enrolment_photos"] == 1
    assert body["replay"]["frames_seen_before"] == [0, 1, 2]
    assert body["replay"]["matches"] == [{"event_id": w["earlier"], "kind": "check_in", "at": body["replay"]["matches"][0]["at"],
                                          "visible": True, "frames": [0, 2, 3], "this_frames": [0, 1, 2]}]
    assert body["replay"]["unmatched"] == 0
    assert body["other"] == {"trainee_id": w["classmate"], "name": "罗斯林", "visible": True, "same_class": True,
                             "outcome": "review", "distance": 0.39, "claimed_distance": 0.35, "enrolment_photos": 2}
    # the fix in the venue's datum (GCJ-02: a few hundred metres from the WGS-84 reading), and the fence
    assert body["fix"]["accuracy_m"] == 12.0 and 0 < abs(body["fix"]["lon"] - 106.5) < 0.01
    assert body["fence"]["kind"] == "circle" and body["fence"]["radius_m"] == 100
    assert body["fence_verdict"]["verdict"] == "uncertain" and body["review"] is None
    assert b"\xff\xd8" not in resp.data and "photo" not in resp.get_data(as_text=True).replace("enrolment_photos", "")


def test_the_context_of_an_event_without_flags_has_no_replay_and_no_other_identity(app, worlds, login):
    y = worlds["yubei"]
    body = login("city").get(f"/api/events/{y.event_id}/context").get_json()
    assert body["replay"] is None and body["other"] is None and body["fix"] is None and body["enrolment_photos"] == 0
    assert login("nanan-supervisor").get(f"/api/events/{y.event_id}/context").status_code == 404
    assert login("yubei-teacher").get(f"/api/events/{y.event_id}/context").status_code == 403


def test_the_enrolment_photos_of_the_two_people_concerned_are_served_scoped_and_every_view_is_audited(app, worlds, login, session):
    y, nanan = worlds["yubei"], worlds["nanan"]
    w = _flagged_world(app, session, y)
    url = f"/api/events/{w['flagged']}/enrolment-photos"
    sup = login("yubei-supervisor")
    own = sup.get(f"{url}/{y.trainee_id}/0")
    assert own.status_code == 200 and own.data == b"\xff\xd8\xff\xe0 own enrolment photo"
    assert "no-store" in own.headers["Cache-Control"]
    other = sup.get(f"{url}/{w['classmate']}/1")
    assert other.status_code == 200 and other.data == b"\xff\xd8\xff\xe0 classmate photo 2"
    entries = session.scalars(select(AuditEntry).where(AuditEntry.action == "evidence.view_enrolment_photo")
                              .order_by(AuditEntry.id)).all()
    assert [(e.entity, e.entity_id, e.actor_name, e.after["trainee_id"], e.after["photo"]) for e in entries] == [
        ("event", w["flagged"], "yubei-supervisor", y.trainee_id, 0),
        ("event", w["flagged"], "yubei-supervisor", w["classmate"], 1)]
    # no second photo of the trainee; nobody else's face through this event; nothing out of scope
    assert sup.get(f"{url}/{y.trainee_id}/1").status_code == 404
    assert sup.get(f"{url}/{nanan.trainee_id}/0").status_code == 404
    assert login("nanan-supervisor").get(f"{url}/{y.trainee_id}/0").status_code == 404
    assert login("yubei-teacher").get(f"{url}/{y.trainee_id}/0").status_code == 403
    assert login("yubei-trainee").get(f"{url}/{y.trainee_id}/0").status_code == 403
    assert session.scalar(select(AuditEntry).where(AuditEntry.action == "evidence.view_enrolment_photo",
                                                   AuditEntry.id > entries[-1].id)) is None


def test_a_review_decision_answers_with_the_decision_as_the_row_shows_it(app, worlds, login):
    y = worlds["yubei"]
    resp = login("yubei-supervisor").post(f"/api/events/{y.event_id}/review", json={"decision": "rejected", "reason": "人不在场"})
    assert resp.status_code == 201
    review = resp.get_json()["review"]
    assert review["decision"] == "rejected" and review["by"] == "s" and review["reason"] == "人不在场" and review["at"]
