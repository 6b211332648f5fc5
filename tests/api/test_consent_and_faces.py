"""Biometric consent before any face is stored; enrollment through recognition/ (real dlib on
the real photos in ../shared/faces); re-enrollment recorded; withdrawal erases."""
from __future__ import annotations

import io

import pytest
from sqlalchemy import select

from server.models import AuditEntry, Consent, FaceTemplate
from tests.factories import post_multipart

pytestmark = pytest.mark.slow


def _photos(faces_dir, *names):
    return [((faces_dir / "images" / n).read_bytes(), n.split("/")[-1]) for n in names]


def _post_faces(api, trainee_id, photos, reason=None):
    data = {"photos": [(io.BytesIO(b), n) for b, n in photos]}
    if reason:
        data["reason"] = reason
    return post_multipart(api, f"/api/trainees/{trainee_id}/face", data)


def _consent(api, trainee_id, granted=True, channel="paper"):
    return api.post(f"/api/trainees/{trainee_id}/consent", json={"granted": granted, "channel": channel, "text_version": "2026-12"})


def test_no_face_is_stored_without_recorded_consent(worlds, login, faces_dir, session):
    api = login("yubei-admin")
    resp = _post_faces(api, worlds["yubei"].trainee_id, _photos(faces_dir, "face_recognition/ex_obama.jpg"))
    assert resp.status_code == 409
    assert "同意" in resp.get_json()["error"]["message"]
    assert session.scalars(select(FaceTemplate)).all() == []


def test_a_trainee_consents_on_the_phone_and_staff_enrol_the_face_from_real_photos(worlds, login, faces_dir, session):
    y = worlds["yubei"]
    phone = login("yubei-trainee")
    text = phone.get("/api/consent-text").get_json()
    assert "敏感个人信息" in text["text"]
    assert _consent(phone, y.trainee_id, channel="phone").status_code == 201
    api = login("yubei-admin")
    resp = _post_faces(api, y.trainee_id, _photos(faces_dir, "face_recognition/ex_obama.jpg", "face_recognition/ex_obama2.jpg"))
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    assert body["photos"] == 2 and body["model"].startswith("dlib")
    t = session.get(FaceTemplate, body["template_id"])
    assert len(t.template) > 128 and len(t.photo_hashes) == 2
    assert session.scalar(select(AuditEntry).where(AuditEntry.action == "face.enroll")) is not None


def test_photos_of_two_different_people_are_refused_with_a_reason(worlds, login, faces_dir):
    y = worlds["yubei"]
    api = login("yubei-admin")
    _consent(api, y.trainee_id)
    resp = _post_faces(api, y.trainee_id, _photos(faces_dir, "face_recognition/ex_obama.jpg", "face_recognition/ex_biden.jpg"))
    assert resp.status_code == 422
    assert resp.get_json()["error"]["reasons"][0]["code"] == "photos_disagree"


def test_a_photo_without_a_face_gets_the_quality_message_in_chinese(worlds, login, faces_dir):
    y = worlds["yubei"]
    api = login("yubei-admin")
    _consent(api, y.trainee_id)
    dogs = [p for p in (faces_dir / "images" / "dlib_faces").iterdir() if "dog" in p.name.lower()]
    resp = _post_faces(api, y.trainee_id, [(dogs[0].read_bytes(), dogs[0].name)])
    assert resp.status_code == 422
    err = resp.get_json()["error"]
    assert err["reasons"][0]["code"] == "no_face"
    assert "人脸" in err["message"]


def test_re_enrollment_needs_a_reason_and_records_what_it_replaces(worlds, login, faces_dir, session):
    y = worlds["yubei"]
    api = login("yubei-admin")
    _consent(api, y.trainee_id)
    first = _post_faces(api, y.trainee_id, _photos(faces_dir, "face_recognition/ex_obama.jpg")).get_json()["template_id"]
    silent = _post_faces(api, y.trainee_id, _photos(faces_dir, "face_recognition/ex_obama2.jpg"))
    assert silent.status_code == 422 and silent.get_json()["error"]["code"] == "reason_required"
    again = _post_faces(api, y.trainee_id, _photos(faces_dir, "face_recognition/ex_obama2.jpg"), reason="发型变化，旧照片不像")
    assert again.status_code == 200
    assert again.get_json()["replaces_id"] == first
    assert session.scalar(select(AuditEntry).where(AuditEntry.action == "face.reenroll")) is not None


def test_withdrawing_consent_erases_the_template_but_keeps_the_record(worlds, login, faces_dir, session, app):
    y = worlds["yubei"]
    phone = login("yubei-trainee")
    _consent(phone, y.trainee_id, channel="phone")
    api = login("yubei-admin")
    tid = _post_faces(api, y.trainee_id, _photos(faces_dir, "face_recognition/ex_obama.jpg")).get_json()["template_id"]
    digest = session.get(FaceTemplate, tid).photo_hashes[0]
    assert app.extensions["hourproof_evidence"].exists(digest)
    assert _consent(phone, y.trainee_id, granted=False, channel="phone").status_code == 201
    session.rollback()  # end the read snapshot, see what requests wrote
    t = session.get(FaceTemplate, tid)
    assert t.template == b"" and t.erased_at is not None
    assert not app.extensions["hourproof_evidence"].exists(digest)
    assert [c.granted for c in session.scalars(select(Consent).order_by(Consent.id))] == [True, False]
    refused = _post_faces(api, y.trainee_id, _photos(faces_dir, "face_recognition/ex_obama.jpg"), reason="重新采集")
    assert refused.status_code == 409


def test_staff_cannot_tick_consent_for_a_trainee_on_the_phone_channel(worlds, login):
    resp = _consent(login("yubei-admin"), worlds["yubei"].trainee_id, channel="phone")
    assert resp.status_code == 422


def test_an_outdated_consent_text_version_is_refused(worlds, login):
    resp = login("yubei-trainee").post(f"/api/trainees/{worlds['yubei'].trainee_id}/consent",
                                       json={"granted": True, "channel": "phone", "text_version": "2020-01"})
    assert resp.status_code == 409


def test_the_class_roll_shows_who_is_ready_for_face_check_in(worlds, login, faces_dir):
    y = worlds["yubei"]
    api = login("yubei-admin")
    roll = api.get(f"/api/classes/{y.class_id}/enrollments").get_json()
    assert (roll[0]["consent"], roll[0]["face_enrolled"]) == (None, False)
    _consent(api, y.trainee_id)
    assert _post_faces(api, y.trainee_id, _photos(faces_dir, "face_recognition/ex_obama.jpg")).status_code == 200
    roll = api.get(f"/api/classes/{y.class_id}/enrollments").get_json()
    assert (roll[0]["consent"], roll[0]["face_enrolled"]) == ("granted", True)
