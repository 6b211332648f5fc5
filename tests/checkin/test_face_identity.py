"""Identity at check-in, on real faces: the class 1:N, the attempt limit, the review band and the
flag after a template change. The trainee's face is Lin-Manuel Miranda's (the Hamilton clip);
his classmate Rose's account is the one a friend tries to use."""
from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from server.models import Event, FaceTemplate
from tests.factories import Phone, add_consented_face, inside_fix

ROSE_DEVICE = "phone-rose-000001"


def _codes(body: dict) -> list[str]:
    return [r["code"] for r in body["reasons"]]


def _stored(session, event_id: int) -> Event:
    session.rollback()  # see what the request committed
    return session.get(Event, event_id)


def _give_rose_a_template(session, live, template) -> None:
    add_consented_face(session, live["other"], template)
    session.commit()


@pytest.fixture(scope="module")
def rose_template(faces_dir, recognizer):
    from recognition import enroll

    photo = (faces_dir / "images" / "face_recognition" / "knn_train__rose_leslie__img1.jpg").read_bytes()
    result = enroll([photo], recognizer)
    assert result.ok and result.template is not None
    return result.template


def test_a_classmates_face_enrolled_on_a_second_account_is_refused_by_the_class_1_to_n(
        app, live, session, clip_burst, miranda_template, monkeypatch):
    """The swapped-template story: Miranda's face was enrolled as Rose's too (before enrolment
    searched for duplicates). With Rose's phone, Miranda's burst matches Rose's template 1:1."""
    from server.services import checkin

    _give_rose_a_template(session, live, miranda_template)
    body = Phone(app, "rose", device=ROSE_DEVICE).send(live["offline"], clip_burst, location=inside_fix()).get_json()
    assert body["verdict"] == "rejected" and "face_closer_to_other" in _codes(body), body["reasons"]
    # the trainee is told nothing about whom: no name, no id anywhere in the answer
    assert "林曼努" not in json.dumps(body, ensure_ascii=False)
    assert all(set(r) <= {"code", "clause", "detail"} for r in body["reasons"])
    event = _stored(session, body["event_id"])
    assert event.evidence["face"]["class_1n"]["nearest_other"]["trainee_id"] == live["trainee"]  # the reviewer is

    # The attack without the defence: the same burst on Rose's account, no classmates compared.
    monkeypatch.setattr(checkin, "_classmates", lambda *_a: {})
    body = Phone(app, "rose", device=ROSE_DEVICE).send(live["offline"], clip_burst, location=inside_fix()).get_json()
    # the face passes as Rose's; only this test's resent burst and fix are flagged as replays
    assert body["verdict"] != "rejected" and set(_codes(body)) <= {"late", "replayed_fix", "frames_seen_before"}, body["reasons"]
    assert _stored(session, body["event_id"]).evidence["face"]["identity"]["outcome"] == "accept"


def test_the_kth_failed_face_attempt_closes_self_service_and_every_attempt_is_kept(
        app, live, session, clip_burst, rose_template):
    """A friend (Miranda's face) tries Rose's account again and again."""
    from server.services.checkin import CheckinSettings

    _give_rose_a_template(session, live, rose_template)
    limit = CheckinSettings().max_face_failures
    app.config["CHALLENGES_PER_MINUTE"] = limit + 1  # this test tries K + 1 times within a minute
    phone = Phone(app, "rose", device=ROSE_DEVICE)
    bodies = [phone.send(live["offline"], clip_burst, location=inside_fix()).get_json() for _ in range(limit + 1)]
    assert [b["verdict"] for b in bodies] == ["rejected"] * limit + ["flagged"]
    assert all("identity_not_confirmed" in _codes(b) for b in bodies[:limit])
    assert "face_attempts_exhausted" not in _codes(bodies[limit - 2])
    assert "face_attempts_exhausted" in _codes(bodies[limit - 1])  # the K-th says so
    last = bodies[limit]
    assert "face_attempts_exhausted" in _codes(last) and "授课老师" in last["message"]
    assert not set(_codes(last)) & {"identity_not_confirmed", "face_closer_to_other"}  # no face work was done
    session.rollback()
    stored = session.scalars(select(Event).where(Event.trainee_id == live["other"], Event.lesson_id == live["offline"])
                             .order_by(Event.id)).all()
    assert len(stored) == limit + 1 and all(e.evidence["frames"] for e in stored)  # a reviewer sees every attempt
    assert "face" not in stored[-1].evidence  # no further face work: retrying cannot multiply the false accept rate


def test_a_fused_distance_in_the_review_band_is_flagged_not_verified(app, live, session, clip_burst):
    # A deployment whose calibration put the strict threshold under this burst's fused distance.
    strict = replace(app.config["RECOGNITION_SETTINGS"], match_threshold=0.30)
    app.config["RECOGNITION_SETTINGS"] = strict
    body = Phone(app).send(live["offline"], clip_burst, location=inside_fix()).get_json()
    assert body["verdict"] == "flagged" and _codes(body) == ["face_uncertain", "late"], body["reasons"]
    face = _stored(session, body["event_id"]).evidence["face"]
    identity = face["identity"]
    assert identity["outcome"] == "review"
    # the template's own thresholds: its ten nearest other templates in the deployment (the live
    # world's other trainees) set the shift
    assert identity["cohort_mean"] is not None and identity["accept_below"] == pytest.approx(0.30 + identity["shift"], abs=1e-4)


def test_without_enough_other_templates_in_the_deployment_the_strictest_thresholds_apply(app, live, session, clip_burst):
    from server.models import FaceTemplate as Row

    for row in session.scalars(select(Row).where(Row.trainee_id.in_(live["cohort"]))):
        row.erased_at, row.template = datetime.now(UTC), b""
    session.commit()
    app.extensions["hourproof_face_index"] = type(app.extensions["hourproof_face_index"])()  # a new worker
    body = Phone(app).send(live["offline"], clip_burst, location=inside_fix()).get_json()
    identity = _stored(session, body["event_id"]).evidence["face"]["identity"]
    settings = app.config["RECOGNITION_SETTINGS"]
    assert identity["cohort_mean"] is None and identity["shift"] == -settings.cohort_weight * settings.cohort_clamp


def test_a_check_in_soon_after_a_re_enrolment_is_flagged_for_review(app, live, session, clip_burst, miranda_template):
    old = session.scalar(select(FaceTemplate).where(FaceTemplate.trainee_id == live["trainee"]))
    session.add(FaceTemplate(trainee_id=live["trainee"], template=miranda_template.to_bytes(), model=old.model,
                             model_version=old.model_version, photo_hashes=[], consent_id=old.consent_id,
                             replaces_id=old.id, reason="换了眼镜", created_at=datetime.now(UTC) - timedelta(days=1)))
    session.commit()
    body = Phone(app).send(live["offline"], clip_burst, location=inside_fix()).get_json()
    assert body["verdict"] == "flagged" and _codes(body) == ["template_recently_changed", "late"], body["reasons"]
