"""Importing trainees from spreadsheets: every row reported, failing rows import nothing."""
from __future__ import annotations

import io

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from server.models import Enrollment, Trainee, User

GOOD_1 = "500112200102150647"
GOOD_2 = "500112199807050827"
BAD_CHECK = "500112199807050828"


def _rows(class_id: int, other_class: int) -> list[list[str]]:
    return [
        ["姓名", "身份证号", "手机号", "班级编号", "培训前就业状态"],
        ["陈小雨", GOOD_1, "13900000001", str(class_id), "在职"],
        ["错号码", BAD_CHECK, "13900000002", str(class_id), "在职"],
        ["刘一鸣", GOOD_2, "13900000003", str(class_id), "未就业"],
        ["刘一鸣", GOOD_2, "13900000003", str(class_id), "未就业"],
        ["外班人", "500112198506200719", "13900000004", str(other_class), ""],
        ["无班级", "500108199001011234", "13900000005", "999999", ""],
    ]


def _csv(rows, encoding: str) -> bytes:
    return "\n".join(",".join(r) for r in rows).encode(encoding)


def _xlsx(rows) -> bytes:
    wb = Workbook()
    ws = wb.active
    for r in rows:
        # Institutions often type the ID as a number-looking text and the class id as a number.
        ws.append([int(c) if c.isdigit() and len(c) < 10 else c for c in r])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


@pytest.mark.parametrize("kind", ["utf-8", "utf-8-sig", "gbk", "xlsx"])
def test_an_import_reports_each_row_and_imports_only_the_valid_ones(worlds, login, session, kind):
    y, n = worlds["yubei"], worlds["nanan"]
    rows = _rows(y.class_id, n.class_id)
    data, name = (_xlsx(rows), "学员名单.xlsx") if kind == "xlsx" else (_csv(rows, kind), "学员名单.csv")
    api = login("yubei-admin")
    before = session.scalar(select(func.count()).select_from(Trainee))
    resp = api.client.post("/api/trainees/import", data={"file": (io.BytesIO(data), name)},
                           headers={"X-CSRF-Token": api.csrf}, content_type="multipart/form-data")
    assert resp.status_code == 200, resp.get_json()
    report = resp.get_json()
    by_row = {r["row"]: r for r in report["rows"]}
    assert report["imported"] == 2 and report["failed"] == 4
    assert by_row[2]["ok"] and by_row[2]["activation_code"]
    assert by_row[3]["errors"][0]["code"] == "invalid_resident_id"
    assert by_row[4]["ok"]
    assert by_row[5]["errors"][0]["code"] == "duplicate"
    assert by_row[6]["errors"][0]["code"] == "unknown_class"  # another institution's class
    assert by_row[7]["errors"][0]["code"] == "unknown_class"
    session.rollback()  # end the read snapshot, see what requests wrote
    # Only the two valid people were created; nothing of the failing rows.
    assert session.scalar(select(func.count()).select_from(Trainee)) == before + 2
    assert session.scalar(select(Trainee).where(Trainee.resident_id == "500112198506200719")) is None
    assert session.scalar(select(User).where(User.username == "13900000004")) is None
    enrolled = session.scalar(select(func.count()).select_from(Enrollment).where(Enrollment.class_id == y.class_id))
    assert enrolled == 3  # the world's trainee + 2 imported


def test_an_import_of_someone_already_in_the_class_reports_a_duplicate(worlds, login):
    y = worlds["yubei"]
    csv = "姓名,身份证号\nyubei trainee,500112199503120419\n".encode()
    api = login("yubei-admin")
    resp = api.client.post("/api/trainees/import", data={"file": (io.BytesIO(csv), "a.csv"), "class_id": str(y.class_id)},
                           headers={"X-CSRF-Token": api.csrf}, content_type="multipart/form-data")
    assert resp.get_json()["rows"][0]["errors"][0]["code"] == "duplicate"


@pytest.mark.parametrize("data, name, code", [
    (b"", "a.csv", "empty_file"),
    ("手机号\n13900000001\n".encode(), "a.csv", "missing_columns"),
    (b"PK\x03\x04 not really a zip", "a.xlsx", "bad_xlsx"),
    (b"\x89PNG\r\n", "photo.png", "unsupported_file"),
])
def test_a_file_that_cannot_be_read_gets_a_clear_error(worlds, login, data, name, code):
    api = login("yubei-admin")
    resp = api.client.post("/api/trainees/import", data={"file": (io.BytesIO(data), name),
                                                         "class_id": str(worlds["yubei"].class_id)},
                           headers={"X-CSRF-Token": api.csrf}, content_type="multipart/form-data")
    assert 400 <= resp.status_code < 500
    assert resp.get_json()["error"]["code"] == code


def test_a_row_with_a_name_too_long_for_the_column_is_reported_and_the_others_go_in(worlds, login, session):
    y = worlds["yubei"]
    csv = ("姓名,身份证号\n" + "长" * 70 + ",500112200102150647\n刘一鸣,500112199807050827\n").encode()
    api = login("yubei-admin")
    resp = api.client.post("/api/trainees/import", data={"file": (io.BytesIO(csv), "a.csv"), "class_id": str(y.class_id)},
                           headers={"X-CSRF-Token": api.csrf}, content_type="multipart/form-data")
    assert resp.status_code == 200, resp.get_data(as_text=True)[:300]
    report = resp.get_json()
    assert (report["imported"], report["failed"]) == (1, 1)
    assert report["rows"][0]["errors"][0]["code"] == "too_long"
    session.rollback()
    assert session.scalar(select(Trainee).where(Trainee.resident_id == "500112200102150647")) is None


def _post(api, data: bytes, name: str, class_id: int):
    return api.client.post("/api/trainees/import", data={"file": (io.BytesIO(data), name), "class_id": str(class_id)},
                           headers={"X-CSRF-Token": api.csrf}, content_type="multipart/form-data")


def test_an_import_reads_headings_phones_and_categories_as_people_write_them(worlds, login, session):
    y = worlds["yubei"]
    csv = ("名字,身份证,联系电话,人员类别,就业状态\n"
           f"陈小雨,{GOOD_1},139 0000 0021,企业职工,在岗\n"
           f"刘一鸣,{GOOD_2},+86 139-0000-0022,失业人员,\n").encode()
    resp = _post(login("yubei-admin"), csv, "名单.csv", y.class_id)
    assert resp.status_code == 200, resp.get_data(as_text=True)[:300]
    first, second = resp.get_json()["rows"]
    assert first["ok"], first
    # 失业人员 is a group in Jiangsu, not in Chongqing: refused with Chongqing's own list.
    assert [e["field"] for e in second["errors"]] == ["subsidy_category"]
    assert "企业在岗职工" in second["errors"][0]["message"] and "毕业年度高校毕业生" in second["errors"][0]["message"]
    session.rollback()
    enrolment = session.get(Enrollment, first["enrollment_id"])
    assert enrolment.subsidy_category == "enterprise_employee"
    assert enrolment.employment_at_start.value == "employed"
    assert session.scalar(select(Trainee.phone).where(Trainee.resident_id == GOOD_1)) == "13900000021"


def test_an_id_that_excel_turned_into_a_number_is_reported_as_such_not_as_a_wrong_check_digit(worlds, login):
    y = worlds["yubei"]
    wb = Workbook()
    wb.active.append(["姓名", "身份证号", "手机号"])
    wb.active.append(["陈小雨", float(GOOD_1), 13900000021])  # what Excel keeps: 15 significant digits
    wb.active.append(["刘一鸣", GOOD_2, 13900000022.0])  # the ID as text; a phone number as a number is whole
    buf = io.BytesIO()
    wb.save(buf)
    csv = f"姓名,身份证号\n王大山,5.00112E+17\n李四,{GOOD_1[:15]}000\n".encode()
    api = login("yubei-admin")
    rows = _post(api, buf.getvalue(), "名单.xlsx", y.class_id).get_json()["rows"]
    assert rows[0]["errors"][0]["code"] == "id_stored_as_number"
    assert "Excel" in rows[0]["errors"][0]["message"] and "文本" in rows[0]["errors"][0]["message"]
    assert rows[1]["ok"], rows[1]
    rows = _post(api, csv, "名单.csv", y.class_id).get_json()["rows"]
    assert rows[0]["errors"][0]["code"] == "id_stored_as_number"
    assert "可能已被 Excel 当作数字截断" in rows[1]["errors"][0]["message"]
    assert not any(c.isascii() and c.isalpha() and c not in "ExcelX" for c in rows[1]["errors"][0]["message"])


def test_a_trainee_who_already_has_an_account_goes_in_with_a_note_and_no_new_code(worlds, login, session):
    from datetime import date

    from server.models import Level, TrainingClass

    y = worlds["yubei"]
    second = TrainingClass(institution_id=y.institution_id, region_code="cq", district_id=y.district_id, name="第二期",
                           occupation_code="2-02-38-04", level=Level.mid, starts_on=date(2026, 7, 1), ends_on=date(2026, 9, 30))
    session.add(second)
    session.commit()
    csv = "姓名,身份证号,补贴类别\nyubei trainee,500112199503120419,\n".encode()
    [row] = _post(login("yubei-admin"), csv, "a.csv", second.id).get_json()["rows"]
    assert row["ok"] and row["activation_code"] is None
    assert "已有账号" in row["note"]
    assert any("未填写补贴类别" in w for w in row["warnings"])
