"""Inputs an outside fuzzing run sent (issue 22): each gets a 4xx with our JSON error in Chinese,
never a 500, and nothing is written."""
from __future__ import annotations

import io
import json

import pytest

from tests.factories import DEVICE


def _english(text: str) -> bool:
    """English words beyond the names of the formats and programs a user knows by those names."""
    for name in ("JSON", "Excel", "WPS", ".xlsx", ".csv", "MB"):
        text = text.replace(name, "")
    return any(c.isascii() and c.isalpha() for c in text)


def test_json_nested_a_thousand_levels_deep_is_refused_even_before_log_in(app):
    body = '{"username": ' + "[" * 1000 + "]" * 1000 + ', "password": "x"}'
    resp = app.test_client().post("/api/auth/login", data=body, content_type="application/json")
    assert resp.status_code == 400
    error = resp.get_json()["error"]
    assert error["code"] == "json_too_deep" and not _english(error["message"])


def test_brackets_inside_a_string_are_not_nesting(app):
    password = "[" * 100
    resp = app.test_client().post("/api/auth/login", json={"username": "nobody", "password": password, "device_id": DEVICE})
    assert resp.status_code == 401, resp.get_json()


def test_json_nested_deep_in_the_check_in_meta_field_is_refused(worlds, login):
    trainee = login("yubei-trainee")
    meta = "{\"kind\": " + "[" * 1000 + "]" * 1000 + "}"
    resp = trainee.client.post(f"/api/lessons/{worlds['yubei'].lesson_id}/events",
                               data={"meta": meta, "frames": (io.BytesIO(b"x"), "f.jpg")},
                               headers={"X-CSRF-Token": trainee.csrf}, content_type="multipart/form-data")
    assert resp.status_code == 400
    assert resp.get_json()["error"]["code"] == "json_too_deep"


def test_broken_json_says_where_it_broke_in_chinese(app):
    resp = app.test_client().post("/api/auth/login", data='{"username": ', content_type="application/json")
    assert resp.status_code == 400
    message = resp.get_json()["error"]["message"]
    assert "第 1 行" in message and not _english(message)


def test_a_missing_or_wrong_field_is_named_with_a_chinese_reason(app):
    resp = app.test_client().post("/api/auth/login", data=json.dumps({"username": 5}), content_type="application/json")
    assert resp.status_code == 422
    fields = {f["field"]: f["message"] for f in resp.get_json()["error"]["fields"]}
    assert fields["password"] == "必填" and fields["username"] == "须为文本"


def test_a_wrong_method_says_which_methods_the_address_allows(app):
    resp = app.test_client().delete("/api/auth/login")
    assert resp.status_code == 405
    assert "POST" in resp.headers["Allow"]
    error = resp.get_json()["error"]
    assert "POST" in error["message"] and not _english(error["message"].replace("POST", "").replace("OPTIONS", ""))


def test_an_id_in_full_width_digits_is_not_read_as_an_id(worlds, login):
    admin = login("yubei-admin")
    assert admin.get(f"/api/classes/{worlds['yubei'].class_id}").status_code == 200
    full_width = "".join(chr(ord("０") + int(d)) for d in str(worlds["yubei"].class_id))
    resp = admin.get(f"/api/classes/{full_width}")
    assert resp.status_code == 404
    assert not _english(resp.get_json()["error"]["message"])


def _xlsx_with(sheet_xml: bytes | None = None, workbook_xml: bytes | None = None, extra: dict | None = None) -> bytes:
    """A real .xlsx (openpyxl's) with one part replaced, as a broken or hostile file would have it."""
    import zipfile

    from openpyxl import Workbook

    wb = Workbook()
    wb.active.append(["姓名", "身份证号"])
    wb.active.append(["陈小雨", "500112200102150647"])
    good = io.BytesIO()
    wb.save(good)
    out = io.BytesIO()
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            body = src.read(info)
            if info.filename == "xl/worksheets/sheet1.xml" and sheet_xml is not None:
                body = sheet_xml
            if info.filename == "xl/workbook.xml" and workbook_xml is not None:
                body = workbook_xml
            dst.writestr(info.filename, body)
        for name, body in (extra or {}).items():
            dst.writestr(name, body)
    return out.getvalue()


def _import(login, worlds, data: bytes, class_id=None):
    api = login("yubei-admin")
    return api.client.post("/api/trainees/import",
                           data={"file": (io.BytesIO(data), "名单.xlsx"), "class_id": str(class_id or worlds["yubei"].class_id)},
                           headers={"X-CSRF-Token": api.csrf}, content_type="multipart/form-data")


def test_a_broken_or_hostile_spreadsheet_gets_a_clear_error_and_imports_nothing(worlds, login, session):
    from sqlalchemy import func, select

    from server.models import Trainee

    before = session.scalar(select(func.count()).select_from(Trainee))
    cases = {
        "truncated sheet XML": _xlsx_with(sheet_xml=b"<worksheet><sheetData><row><c r="),
        "undefined entity": _xlsx_with(sheet_xml=b'<?xml version="1.0"?><worksheet xmlns="http://schemas.openxmlformats.org/'
                                                 b'spreadsheetml/2006/main"><sheetData>&undefined;</sheetData></worksheet>'),
        "no sheets": _xlsx_with(workbook_xml=b'<?xml version="1.0"?><workbook xmlns="http://schemas.openxmlformats.org/'
                                             b'spreadsheetml/2006/main"><sheets/></workbook>'),
        "truncated zip": _xlsx_with()[:-200],
        # Millions of cells in a few hundred KB: refused from the zip's directory, before parsing.
        "a bomb": _xlsx_with(sheet_xml=b"<worksheet><sheetData>" + b"<row><c><v>1</v></c></row>" * 2_000_000 + b"</sheetData></worksheet>"),
    }
    for name, data in cases.items():
        resp = _import(login, worlds, data)
        assert 400 <= resp.status_code < 500, (name, resp.status_code, resp.get_data(as_text=True)[:200])
        assert not _english(resp.get_json()["error"]["message"]), name
    session.rollback()
    assert session.scalar(select(func.count()).select_from(Trainee)) == before


def test_a_class_id_too_large_for_the_database_is_refused_not_a_server_error(worlds, login):
    resp = _import(login, worlds, _xlsx_with(), class_id="99999999999999999999")
    assert resp.status_code == 422 and resp.get_json()["error"]["fields"][0]["field"] == "class_id"
    api = login("yubei-admin")
    csv = "姓名,身份证号,班级编号\n陈小雨,500112200102150647,99999999999999999999\n".encode()
    resp = api.client.post("/api/trainees/import", data={"file": (io.BytesIO(csv), "a.csv")},
                           headers={"X-CSRF-Token": api.csrf}, content_type="multipart/form-data")
    assert resp.status_code == 200
    assert resp.get_json()["rows"][0]["errors"][0]["code"] == "unknown_class"


def test_dates_at_the_ends_of_the_calendar_or_written_as_numbers_are_refused_with_the_plausible_years(worlds, login):
    trainee = login("yubei-trainee")
    for day in ("9999-12-31", "0001-01-01", "0"):
        resp = trainee.get(f"/api/me/lessons?date={day}")
        assert resp.status_code == 422, (day, resp.get_json())
        assert not _english(resp.get_json()["error"]["fields"][0]["message"])
    assert trainee.get("/api/me/lessons?date=2026-03-02").status_code == 200
    admin = login("yubei-admin")
    resp = admin.post(f"/api/classes/{worlds['yubei'].class_id}/lessons", json={"lessons": [
        {"starts_at": "9999-12-31T20:00:00Z", "ends_at": "9999-12-31T22:00:00Z", "mode": "online", "content": "theory"}]})
    assert resp.status_code == 422
    assert "2000 年至 2099 年" in resp.get_json()["error"]["fields"][0]["message"]
    # The class's plan still checks: nothing of the refused lesson was stored.
    assert admin.get(f"/api/classes/{worlds['yubei'].class_id}/plan-check").status_code == 200


def test_log_out_ends_every_session_of_the_user_a_saved_cookie_included(worlds, login, app):
    admin = login("yubei-admin")
    other_tab = login("yubei-admin")  # the same user signed in elsewhere
    saved = admin.client.get_cookie("session").value
    assert admin.post("/api/auth/logout").status_code == 200
    replay = app.test_client()
    replay.set_cookie("session", saved)
    assert replay.get("/api/classes").status_code == 401
    assert other_tab.get("/api/classes").status_code == 401
    assert login("yubei-admin").get("/api/classes").status_code == 200  # logging in again works


def test_unbinding_a_phone_logs_the_old_phone_out_at_once(worlds, login):
    phone = login("yubei-trainee")
    assert phone.get("/api/me/lessons").status_code == 200
    admin = login("yubei-admin")
    resp = admin.post(f"/api/users/{worlds['yubei'].trainee_user_id}/unbind-device", json={"reason": "学员换了新手机"})
    assert resp.status_code == 200, resp.get_json()
    assert phone.get("/api/me/lessons").status_code == 401


def test_a_session_cookie_with_fields_of_unexpected_types_is_no_session_not_a_server_error(worlds, login, app):
    from flask.sessions import SecureCookieSessionInterface

    serializer = SecureCookieSessionInterface().get_signing_serializer(app)
    lesson = worlds["yubei"].lesson_id
    for odd in ({"uid": "1", "exp": 9e18}, {"uid": [1], "exp": 9e18}, {"uid": 1, "exp": "never"},
                {"uid": 1, "exp": 9e18, "csrf": 5, "pw": None}, {"uid": None}):
        client = app.test_client()
        client.set_cookie("session", serializer.dumps(odd))
        assert client.get("/api/classes").status_code == 401, odd
        resp = client.post(f"/api/lessons/{lesson}/heartbeat", json={"visible": True}, headers={"X-CSRF-Token": "x"})
        assert resp.status_code in (401, 403), (odd, resp.status_code)


def test_a_group_photo_that_is_not_a_usable_image_is_refused_and_nothing_is_stored(worlds, login, session):
    from PIL import Image
    from sqlalchemy import func, select

    from server.models import GroupPhoto
    from tests.factories import post_multipart

    def png(width: int, height: int) -> bytes:
        buf = io.BytesIO()
        Image.new("L", (width, height)).save(buf, "PNG", optimize=True)
        return buf.getvalue()

    jpeg = io.BytesIO()
    Image.new("RGB", (640, 480), (120, 90, 60)).save(jpeg, "JPEG")
    cases = {"a text file": b"not a photo at all", "a cut-off JPEG": jpeg.getvalue()[:2000],
             "a 20000 x 20000 PNG": png(20000, 20000)}
    teacher = login("yubei-teacher")
    for name, data in cases.items():
        resp = post_multipart(teacher, f"/api/lessons/{worlds['yubei'].lesson_id}/group-photos",
                              {"photo": (io.BytesIO(data), "group.png")})
        assert resp.status_code == 422, (name, resp.status_code)
        assert not _english(resp.get_json()["error"]["message"]), name
    session.rollback()
    assert session.scalar(select(func.count()).select_from(GroupPhoto)) == 0


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # SQLite's one write lock
def test_an_import_hashes_its_activation_codes_without_holding_the_write_lock(worlds, login, test_db_url, monkeypatch):
    import sqlite3

    from server.services import accounts

    path = test_db_url.removeprefix("sqlite:///")
    seen: list[bool] = []
    real = accounts.hash_password

    def hash_and_probe(secret: str) -> str:
        # Another writer, as a log-in would be, asks for the write lock without waiting.
        other = sqlite3.connect(path, timeout=0)
        try:
            other.execute("BEGIN IMMEDIATE")
            other.execute("ROLLBACK")
            seen.append(True)
        except sqlite3.OperationalError:
            seen.append(False)
        finally:
            other.close()
        return real(secret)

    monkeypatch.setattr(accounts, "hash_password", hash_and_probe)
    csv = "姓名,身份证号\n陈小雨,500112200102150647\n刘一鸣,500112199807050827\n".encode()
    api = login("yubei-admin")
    resp = api.client.post("/api/trainees/import", data={"file": (io.BytesIO(csv), "a.csv"), "class_id": str(worlds["yubei"].class_id)},
                           headers={"X-CSRF-Token": api.csrf}, content_type="multipart/form-data")
    assert resp.get_json()["imported"] == 2
    assert seen == [True, True]


def test_one_user_cannot_start_more_than_two_exports_at_once(worlds, login, session):
    from datetime import UTC, datetime

    from sqlalchemy import select

    from server.models import ExportJob, User

    y = worlds["yubei"]
    admin_id = session.scalar(select(User.id).where(User.username == "yubei-admin"))
    session.add_all([ExportJob(kind="class", class_id=y.class_id, requested_by_id=admin_id, status=status,
                               created_at=datetime.now(UTC), done=0, total=0) for status in ("queued", "running")])
    session.commit()
    resp = login("yubei-admin").post(f"/api/classes/{y.class_id}/exports", json={"kind": "class"})
    assert resp.status_code == 429
    assert not _english(resp.get_json()["error"]["message"])
    # Another user is not held up by it.
    assert login("yubei-supervisor").post(f"/api/classes/{y.class_id}/exports", json={"kind": "class"}).status_code == 202


def test_a_venue_with_latitude_and_longitude_swapped_is_told_so(worlds, login):
    resp = login("yubei-admin").post("/api/venues", json={
        "name": "实训楼", "address": "x", "institution_id": worlds["yubei"].institution_id, "datum": "gcj02",
        "fence_kind": "circle", "centre_lat": 106.53, "centre_lon": 29.6, "radius_m": 100, "area_m2": 2000})
    assert resp.status_code == 422
    messages = [f["message"] for f in resp.get_json()["error"]["fields"]]
    assert any("可能填反了" in m for m in messages), messages
