"""Account recovery for trainees (a new phone, a forgotten password, a lost code) and the printed
activation slips, with real argon2, real sessions and the real PDF."""
from __future__ import annotations

import numpy as np
import pytest
from sqlalchemy import select

from server.models import AuditEntry, User
from tests.factories import DEVICE, PASSWORD

NEW_PHONE = "new-phone-98765"


def resident_id(body17: str) -> str:
    """A valid 18-digit resident ID from its first 17 digits (GB 11643 check digit)."""
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    return body17 + "10X98765432"[sum(int(d) * w for d, w in zip(body17, weights, strict=True)) % 11]


def enrol(admin, class_id: int, name: str, body17: str, phone: str) -> dict:
    resp = admin.post(f"/api/classes/{class_id}/enrollments",
                      json={"resident_id": resident_id(body17), "name": name, "phone": phone})
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()


def log_in_trainee(app, username: str, password: str, device: str):
    return app.test_client().post("/api/auth/login", json={"username": username, "password": password, "device_id": device})


def activate(app, username: str, code: str, password: str, device: str):
    return app.test_client().post("/api/auth/activate", json={"username": username, "activation_code": code,
                                                              "new_password": password, "device_id": device})


def test_unbinding_a_phone_needs_a_reason_and_the_audit_trail_keeps_it(worlds, login, session):
    y = worlds["yubei"]
    login("yubei-trainee")
    admin = login("yubei-admin")
    missing = admin.post(f"/api/users/{y.trainee_user_id}/unbind-device", json={})
    assert missing.status_code == 422
    assert missing.get_json()["error"]["fields"][0]["field"] == "reason"
    resp = admin.post(f"/api/users/{y.trainee_user_id}/unbind-device", json={"reason": "学员手机丢失，已换新手机"})
    assert resp.status_code == 200 and resp.get_json()["user"]["device_bound"] is False
    session.rollback()
    entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "device.unbind"))
    assert entry.actor_name == "yubei-admin" and entry.entity_id == y.trainee_user_id
    assert entry.after["reason"] == "学员手机丢失，已换新手机"
    assert entry.institution_id == y.institution_id
    again = admin.post(f"/api/users/{y.trainee_user_id}/unbind-device", json={"reason": "再解绑一次"})
    assert again.status_code == 409 and "没有绑定手机" in again.get_json()["error"]["message"]


def test_after_an_unbind_the_trainee_is_told_once_on_the_new_phone_who_unbound_it_when_and_why(worlds, login, app):
    y = worlds["yubei"]
    login("yubei-trainee")
    refused = log_in_trainee(app, "yubei-trainee", PASSWORD, NEW_PHONE)
    assert refused.status_code == 403 and refused.get_json()["error"]["code"] == "device_mismatch"
    login("yubei-admin").post(f"/api/users/{y.trainee_user_id}/unbind-device", json={"reason": "更换手机"})
    first = log_in_trainee(app, "yubei-trainee", PASSWORD, NEW_PHONE)
    assert first.status_code == 200
    [notice] = first.get_json()["notices"]
    assert notice["kind"] == "device_unbound" and notice["reason"] == "更换手机"
    assert notice["by"].startswith("培训机构")
    assert "解除了您的账号与原手机的绑定" in notice["message"] and "原因：更换手机" in notice["message"]
    assert first.get_json()["user"]["device_bound"] is True
    # Told once: the next log-in says nothing, and the old phone is the one refused now.
    assert log_in_trainee(app, "yubei-trainee", PASSWORD, NEW_PHONE).get_json()["notices"] == []
    assert log_in_trainee(app, "yubei-trainee", PASSWORD, DEVICE).status_code == 403


def test_another_institution_gets_404_for_a_trainee_or_class_it_does_not_train(worlds, login):
    y = worlds["yubei"]
    other = login("nanan-admin")
    for url, body in [(f"/api/users/{y.trainee_user_id}/unbind-device", {"reason": "越权解绑"}),
                      (f"/api/users/{y.trainee_user_id}/reissue-activation-code", {"reason": "越权重置"}),
                      (f"/api/classes/{y.class_id}/activation-codes", {"reason": "越权补发"}),
                      (f"/api/classes/{y.class_id}/activation-slips",
                       {"slips": [{"trainee_id": y.trainee_id, "activation_code": "12345678"}]})]:
        resp = other.post(url, json=body)
        assert resp.status_code == 404, (url, resp.get_json())
    # 人社 and teachers watch; they do not hand out accounts.
    for who in ("yubei-supervisor", "yubei-teacher"):
        assert login(who).post(f"/api/users/{y.trainee_user_id}/reissue-activation-code",
                               json={"reason": "越权重置"}).status_code == 403


def test_a_reissued_code_ends_the_old_password_and_the_new_activation_binds_the_phone_it_is_made_on(worlds, login, app, session):
    y = worlds["yubei"]
    old_phone = login("yubei-trainee")
    admin = login("yubei-admin")
    resp = admin.post(f"/api/users/{y.trainee_user_id}/reissue-activation-code", json={"reason": "学员忘记密码"})
    assert resp.status_code == 200, resp.get_json()
    code = resp.get_json()["activation_code"]
    assert len(code) == 8 and code.isdigit()
    # The old password and the old phone's session stop working at once.
    assert old_phone.get("/api/auth/me").status_code == 401
    old = log_in_trainee(app, "yubei-trainee", PASSWORD, DEVICE)
    assert old.status_code == 401 and old.get_json()["error"]["code"] == "bad_credentials"
    assert activate(app, "yubei-trainee", "00000000" if code != "00000000" else "11111111", "brand-new-pass-1",
                    NEW_PHONE).status_code == 401
    act = activate(app, "yubei-trainee", code, "brand-new-pass-1", NEW_PHONE)
    assert act.status_code == 200, act.get_json()
    [notice] = act.get_json()["notices"]
    assert notice["kind"] == "code_reissued" and "原因：学员忘记密码" in notice["message"]
    session.rollback()
    user = session.get(User, y.trainee_user_id)
    assert user.device_id == NEW_PHONE and user.activation_code_hash is None
    assert activate(app, "yubei-trainee", code, "another-pass-2", NEW_PHONE).status_code == 401  # single use
    assert log_in_trainee(app, "yubei-trainee", "brand-new-pass-1", NEW_PHONE).status_code == 200
    assert log_in_trainee(app, "yubei-trainee", "brand-new-pass-1", DEVICE).status_code == 403
    entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "user.reissue_code"))
    assert entry.after["reason"] == "学员忘记密码" and entry.before["activated"] is True


def test_reissuing_a_class_s_codes_replaces_the_unused_ones_and_skips_who_has_activated(worlds, login, app):
    y = worlds["yubei"]
    admin = login("yubei-admin")
    first = enrol(admin, y.class_id, "陈小雨", "50011220010215064", "13900000009")["activation_code"]
    resp = admin.post(f"/api/classes/{y.class_id}/activation-codes", json={"reason": "激活单遗失，补打"})
    assert resp.status_code == 200, resp.get_json()
    data = resp.get_json()
    assert [i["name"] for i in data["issued"]] == ["陈小雨"]
    assert [s["trainee_id"] for s in data["skipped"]] == [y.trainee_id]  # the world's trainee has a password
    second = data["issued"][0]["activation_code"]
    assert activate(app, "13900000009", first, "my-new-secret-1", NEW_PHONE).status_code == 401
    assert activate(app, "13900000009", second, "my-new-secret-1", NEW_PHONE).status_code == 200
    outsider = admin.post(f"/api/classes/{y.class_id}/activation-codes",
                          json={"reason": "补打", "trainee_ids": [worlds["nanan"].trainee_id]})
    assert outsider.status_code == 422 and outsider.get_json()["error"]["fields"][0]["field"] == "trainee_ids"


def test_staff_who_recover_accounts_see_whether_each_is_activated_and_bound_and_teachers_do_not(worlds, login):
    y = worlds["yubei"]
    login("yubei-trainee")
    admin = login("yubei-admin")
    enrol(admin, y.class_id, "陈小雨", "50011220010215064", "13900000009")
    rows = {r["trainee"]["name"]: r for r in admin.get(f"/api/classes/{y.class_id}/enrollments").get_json()}
    assert rows["陈小雨"]["account"]["activated"] is False and rows["陈小雨"]["account"]["device_bound"] is False
    world_trainee = next(r for r in rows.values() if r["trainee"]["id"] == y.trainee_id)
    assert world_trainee["account"] == {**world_trainee["account"], "user_id": y.trainee_user_id,
                                        "activated": True, "device_bound": True}
    teacher_rows = login("yubei-teacher").get(f"/api/classes/{y.class_id}/enrollments").get_json()
    assert all("account" not in r for r in teacher_rows)


def test_a_slip_is_printed_only_for_a_code_that_still_works(worlds, login):
    y = worlds["yubei"]
    admin = login("yubei-admin")
    new = enrol(admin, y.class_id, "陈小雨", "50011220010215064", "13900000009")
    wrong = "12345678" if new["activation_code"] != "12345678" else "87654321"
    resp = admin.post(f"/api/classes/{y.class_id}/activation-slips",
                      json={"slips": [{"trainee_id": new["trainee"]["id"], "activation_code": wrong}]})
    assert resp.status_code == 422
    error = resp.get_json()["error"]
    assert error["code"] == "stale_activation_code"
    assert error["fields"][0]["field"] == "slips.0.activation_code" and "陈小雨" in error["fields"][0]["message"]


def test_the_activation_slips_show_name_masked_id_class_and_code_with_a_qr_code_of_the_phone_address(worlds, login, app, session):
    pdfium = pytest.importorskip("pypdfium2")
    y = worlds["yubei"]
    app.config["PUBLIC_URL"] = "https://xuexi.example.cn"
    admin = login("yubei-admin")
    a = enrol(admin, y.class_id, "陈小雨", "50011220010215064", "13900000009")
    b = enrol(admin, y.class_id, "王大山", "50011219900101123", "13900000010")
    resp = admin.post(f"/api/classes/{y.class_id}/activation-slips", json={"slips": [
        {"trainee_id": a["trainee"]["id"], "activation_code": a["activation_code"]},
        {"trainee_id": b["trainee"]["id"], "activation_code": b["activation_code"]}]})
    assert resp.status_code == 200, resp.get_data(as_text=True)[:300]
    assert resp.mimetype == "application/pdf" and resp.headers["Cache-Control"] == "no-store"
    doc = pdfium.PdfDocument(resp.data)
    try:
        page = doc[0]
        text = page.get_textpage().get_text_range()
        for expected in ("学员激活单", "陈小雨", "王大山", a["activation_code"], b["activation_code"],
                         a["trainee"]["resident_id"][:4] + "*" * 10 + a["trainee"]["resident_id"][-4:],
                         "yubei class", "139****0009", "https://xuexi.example.cn/m/"):
            assert expected in text, expected
        assert resident_id("50011220010215064") not in text  # never the full ID on paper
        pixels = page.render(scale=3, grayscale=True).to_numpy()
    finally:
        doc.close()
    cv2 = pytest.importorskip("cv2")
    gray = pixels if pixels.ndim == 2 else pixels[..., 0]
    height, width = gray.shape
    # Four slips to an A4 page: the two here are the top quarters, each with its own QR code.
    for quarter in (gray[:height // 2, :width // 2], gray[:height // 2, width // 2:]):
        decoded, _points, _ = cv2.QRCodeDetector().detectAndDecode(np.ascontiguousarray(quarter))
        assert decoded == "https://xuexi.example.cn/m/"
    session.rollback()
    assert session.scalar(select(AuditEntry).where(AuditEntry.action == "class.print_slips")).after == {"slips": 2}
