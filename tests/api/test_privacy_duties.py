"""The deployment's duties as a processor of face data (POLICY §12): the people counted, the
cyberspace-office filing due 30 working days after the count first reached the threshold, the
keeping periods per region with their clauses, and the impact-assessment draft as a PDF."""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pypdfium2 as pdfium
from sqlalchemy import select

from policies import deadlines
from server.models import Consent, FaceTemplate
from server.services import consent, privacy


def _template(session, trainee_id: int, at: datetime) -> FaceTemplate:
    c = Consent(trainee_id=trainee_id, purpose="biometric", granted=True, text_version=consent.CONSENT_VERSION,
                text_sha256=consent.CONSENT_SHA256, channel="paper")
    session.add(c)
    session.flush()
    t = FaceTemplate(trainee_id=trainee_id, template=b"\x01" * 16, model="m", model_version="1", photo_hashes=[],
                     consent_id=c.id, created_at=at)
    session.add(t)
    session.commit()
    return t


def test_the_filing_is_due_thirty_working_days_after_the_count_first_reached_the_threshold(worlds, session, monkeypatch):
    y, n = worlds["yubei"], worlds["nanan"]
    # Both worlds' trainees have a check-in event, but nobody has had a face template: no face data.
    assert privacy.people_with_face_data(session) == 0
    _template(session, y.trainee_id, datetime(2026, 9, 20, 2, tzinfo=UTC))
    assert privacy.filing_duty(session, threshold=2) is None
    # 2026-09-29 16:30 UTC is already 09-30 in Beijing: the day counted is China's.
    second = _template(session, n.trainee_id, datetime(2026, 9, 29, 16, 30, tzinfo=UTC))
    assert privacy.people_with_face_data(session) == 2
    duty = privacy.filing_duty(session, threshold=2)
    # 30 working days after 09-30, skipping the National Day holiday: later than six weeks of
    # Monday-to-Friday days would be (11-11).
    expected, _ = deadlines.shift_working_days(date(2026, 9, 30), 30)
    assert duty is not None and duty.reached_on == date(2026, 9, 30) and duty.due_on == expected
    assert expected > date(2026, 11, 11)
    assert duty.status(date(2026, 10, 8)) == "due" and duty.status(expected + timedelta(days=1)) == "overdue"

    # Erasing a template (consent withdrawn) does not move the day the threshold was reached (the
    # duty arose then); the person still counts while their check-in events (and so maybe photos)
    # remain, and a third person without a template never counts.
    second.template, second.erased_at = b"", datetime(2026, 10, 9, tzinfo=UTC)
    session.commit()
    assert privacy.people_with_face_data(session) == 2
    assert privacy.filing_duty(session, threshold=2).reached_on == date(2026, 9, 30)
    first = session.scalar(select(FaceTemplate).where(FaceTemplate.trainee_id == y.trainee_id))
    first.template, first.erased_at = b"", datetime(2026, 10, 9, tzinfo=UTC)
    session.commit()
    assert privacy.people_with_face_data(session) == 2  # both still have check-in events


def test_the_admin_sees_the_count_the_keeping_periods_and_records_the_filing_with_its_receipt(worlds, login, session, monkeypatch):
    y, n = worlds["yubei"], worlds["nanan"]
    for w, day in ((y, 3), (n, 4)):
        _template(session, w.trainee_id, datetime(2026, 11, day, 2, tzinfo=UTC))
    admin = login("admin")
    body = admin.get("/api/privacy").get_json()
    assert body["people_with_face_data"] == 2 and body["filing"] is None and body["filing_threshold"] == 100_000
    refused = admin.post("/api/privacy/filing-done", json={"receipt": "x"})
    assert refused.status_code == 409 and "尚未达到" in refused.get_json()["error"]["message"]
    regions = {r["region"]: r for r in body["keeping"]}
    assert set(regions) >= {"cq", "js"} and all(r["evidence_years"] >= 5 and r["photo_window_days"] > 0 for r in regions.values())
    assert all(r["evidence_clause"] and r["photo_window_clause"] for r in regions.values())
    # The demo keeps its key file in the data dir: the page says so, in Chinese.
    assert body["sealing"]["key_file_in_data_dir"] and "数据目录" in body["sealing"]["warning"]

    monkeypatch.setattr(privacy, "FILING_THRESHOLD", 2)
    body = admin.get("/api/privacy").get_json()
    assert body["filing"]["status"] == "due" and body["filing"]["reached_on"] == "2026-11-04"
    done = admin.post("/api/privacy/filing-done", json={"receipt": "渝网信备-2026-0001"}).get_json()
    again = admin.post("/api/privacy/filing-done", json={"receipt": "渝网信备-2026-0001"}).get_json()
    assert done["filing"]["status"] == "done" and done["filing"]["receipt"] == "渝网信备-2026-0001"
    assert again["filing"]["done_at"] == done["filing"]["done_at"]  # a retry records nothing twice
    from server.models import AuditEntry

    assert len(session.scalars(select(AuditEntry).where(AuditEntry.action == privacy.FILING_DONE)).all()) == 1

    for who in ("yubei-admin", "yubei-supervisor"):
        assert login(who).get("/api/privacy").status_code == 403


def test_the_impact_assessment_prints_what_is_collected_where_how_long_and_who_sees_it(worlds, login, tmp_path):
    answer = login("admin").get("/api/privacy/pia.pdf")
    assert answer.status_code == 200 and answer.mimetype == "application/pdf"
    path = tmp_path / "pia.pdf"
    path.write_bytes(answer.data)
    doc = pdfium.PdfDocument(str(path))
    try:
        text = "".join(doc[i].get_textpage().get_text_range() for i in range(len(doc)))
    finally:
        doc.close()
    for words in ("处理目的与方式", "收集的个人信息", "存储位置与保护措施", "保存期限", "可以查看的人员", "个人的权利",
                  "AES-256-GCM", "重庆", "复核期满即删除", "区县人社监管", "评估人"):
        assert words in text, words
