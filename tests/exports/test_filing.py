"""What a Jiangsu filing needs: passing trainees' scores, the attendance sheet and the offline
lessons' group photos matched to the roster; then the training certificates."""
from __future__ import annotations

import io
import json
import zipfile

import pypdfium2 as pdfium

from recognition import RecognitionSettings, enroll
from recognition.testing import FakeFace, FakeRecognizer, fake_photo
from tests.factories import add_attendance, export, post_multipart

FAKE = FakeRecognizer()


def _enroll_fake_face(session, world, identity: str) -> None:
    from server.models import Consent, FaceTemplate

    consent = Consent(trainee_id=world.trainee_id, purpose="biometric", granted=True, text_version="t", text_sha256="0" * 64,
                      channel="paper")
    session.add(consent)
    session.flush()
    template = enroll([fake_photo(FakeFace(identity))], FAKE, RecognitionSettings()).template
    session.add(FaceTemplate(trainee_id=world.trainee_id, template=template.to_bytes(), model=template.model_name,
                             model_version=template.model_version, photo_hashes=[], consent_id=consent.id))
    session.commit()


def test_a_certificate_number_is_refused_until_the_assessment_is_passed(worlds, login):
    y = worlds["yubei"]
    api = login("yubei-admin")
    cert = {"number": "JS2026-000001", "issued_on": "2026-07-05"}
    assert api.post(f"/api/enrollments/{y.enrollment_id}/training-certificate", json=cert).status_code == 409
    failed = {"theory_score": 50, "practice_score": 70, "passed": False, "assessed_on": "2026-07-01"}
    assert api.post(f"/api/enrollments/{y.enrollment_id}/assessment", json=failed).status_code == 201
    assert api.post(f"/api/enrollments/{y.enrollment_id}/training-certificate", json=cert).status_code == 409
    passed = {"theory_score": 80, "practice_score": 85, "passed": True, "assessed_on": "2026-07-03"}
    assert api.post(f"/api/enrollments/{y.enrollment_id}/assessment", json=passed).status_code == 201
    assert api.post(f"/api/enrollments/{y.enrollment_id}/training-certificate", json=cert).status_code == 201
    assert api.post(f"/api/enrollments/{y.enrollment_id}/training-certificate", json=cert).status_code == 409


def test_the_js_filing_pack_holds_passing_scores_the_attendance_sheet_and_matched_group_photos(app, worlds, login, session,
                                                                                              member):
    y = worlds["yubei"]
    add_attendance(session, y)
    _enroll_fake_face(session, y, "yubei-face")
    app.extensions["hourproof_recognizer"] = lambda: FAKE
    api = login("yubei-admin")
    api.post(f"/api/enrollments/{y.enrollment_id}/assessment",
             json={"theory_score": 88, "practice_score": 92, "passed": True, "assessed_on": "2026-07-01"})
    photo = fake_photo(FakeFace("yubei-face"), FakeFace("a-visitor"))
    resp = post_multipart(login("yubei-teacher"), f"/api/lessons/{y.lesson_id}/group-photos",
                          {"photo": (io.BytesIO(photo), "group.png")})
    assert resp.status_code == 201, resp.get_json()
    body = resp.get_json()
    assert body["present"] == [y.trainee_id]
    assert len(body["match"]["faces"]) == 2 and sum(f["trainee"] is None for f in body["match"]["faces"]) == 1
    _, data = export(api, y.class_id, "js_filing")
    z = zipfile.ZipFile(io.BytesIO(data))
    scores = z.read(member(z, "考核通过学员成绩", "csv")).decode("utf-8-sig").splitlines()
    assert scores[1].split(",")[1:5] == ["yubei trainee", "500112199503120419", "88", "92"]
    assert member(z, "考勤表", "csv") and member(z, "考勤表", "pdf")
    photos = json.loads(z.read(member(z, "合影清单", "json")))
    assert photos[0]["present"] == [{"trainee_id": y.trainee_id, "name": "yubei trainee"}]
    assert z.read(photos[0]["file"]) == photo  # the photo itself, byte for byte, covered by the manifest
    assert photos[0]["file"] in json.loads(z.read("manifest.json"))["files"]


def test_the_certificates_export_prints_one_page_per_certificate_with_its_number(worlds, login, session, member):
    y = worlds["yubei"]
    api = login("yubei-admin")
    api.post(f"/api/enrollments/{y.enrollment_id}/assessment",
             json={"theory_score": 88, "practice_score": 92, "passed": True, "assessed_on": "2026-07-01"})
    api.post(f"/api/enrollments/{y.enrollment_id}/training-certificate", json={"number": "JS2026-000777", "issued_on": "2026-07-05"})
    _, data = export(api, y.class_id, "certificates")
    z = zipfile.ZipFile(io.BytesIO(data))
    pdf_bytes = z.read(member(z, "培训合格证书", "pdf"))
    doc = pdfium.PdfDocument(pdf_bytes)
    try:
        assert len(doc) == 1
        text = doc[0].get_textpage().get_text_range().replace("\r", "").replace("\n", "")
    finally:
        doc.close()
    assert "yubei trainee" in text and "证书编号：JS2026-000777" in text and "云计算工程技术人员职业" in text
    assert "—方向" in text and "中级等级培训" in text
