"""Class and district exports through the API: what is in them, that they are the ledger, and
that a subsidy export seals the hours so that later corrections show as amendments."""
from __future__ import annotations

import csv
import io
import json
import zipfile
from datetime import datetime
from decimal import Decimal

from openpyxl import load_workbook
from sqlalchemy import text

from server.clock import local
from server.models import Seal
from tests.factories import add_attendance, download, export, wait_for


def _zip(data: bytes) -> zipfile.ZipFile:
    return zipfile.ZipFile(io.BytesIO(data))


def _csv(z: zipfile.ZipFile, name: str) -> list[list[str]]:
    raw = z.read(name)
    assert raw.startswith(b"\xef\xbb\xbf"), f"{name} must start with a UTF-8 BOM for Excel"
    return list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))


def test_a_class_export_holds_the_attendance_sheet_hour_log_and_decisions_in_xlsx_csv_and_pdf(worlds, login, session):
    y = worlds["yubei"]
    add_attendance(session, y)
    job, data = export(login("yubei-admin"), y.class_id)
    z = _zip(data)
    names = set(z.namelist())
    created = datetime.fromisoformat(json.loads(z.read("manifest.json"))["created_at"])  # UTC
    stem = "yubei_class-{}-" + f"{local(created):%Y%m%d}"  # the class's name, the date in Beijing
    assert {"manifest.json", "manifest.sig", stem.format("考勤与学时") + ".xlsx", stem.format("考勤表") + ".csv",
            stem.format("学时明细") + ".csv", stem.format("补贴核定") + ".csv", stem.format("考勤表") + ".pdf"} <= names
    assert job["progress"] == 1.0 and job["done"] == job["total"] == 1
    log = _csv(z, stem.format("学时明细") + ".csv")
    assert log[0][:3] == ["姓名", "身份证号", "课次"]
    kinds = [row[7] for row in log[1:]]
    assert kinds == ["签到", "签到", "签退"]  # the seeded flagged check-in, then ours
    assert log[1][9] == "待复核" and "cq 5.2" in log[1][11]
    assert log[1][2] == str(y.lesson_id)  # the CSV is for machines: the lesson's id
    assert log[2][8] == "2026-03-02 09:05"  # Beijing time, to the minute


def test_the_attendance_sheet_is_exactly_the_ledger(worlds, login, session, member):
    y = worlds["yubei"]
    add_attendance(session, y)
    api = login("yubei-admin")
    ledger = api.get(f"/api/enrollments/{y.enrollment_id}/ledger").get_json()
    _, data = export(api, y.class_id)
    z = _zip(data)
    rows = _csv(z, member(z, "考勤表", "csv"))
    header, row = rows[0], rows[1]
    col = {name: i for i, name in enumerate(header)}
    assert row[col["计入学时"]] == ledger["credited"]["total"]
    assert row[col["核验学时"]] == str(Decimal(ledger["verified"]["offline"]) + Decimal(ledger["verified"]["online"]))
    lesson_col = next(i for i, name in enumerate(header) if name.startswith("第1次课 2026-03-02 09:00"))
    assert Decimal(row[lesson_col]) == Decimal(str(ledger["lessons"][0]["credited_minutes"])) == Decimal("225")
    # The XLSX has the same figures as numbers, a frozen header and an A4 landscape print setup.
    wb = load_workbook(io.BytesIO(z.read(member(z, "考勤与学时", "xlsx"))))
    ws = wb["考勤表"]
    assert ws.freeze_panes == "A2"
    assert ws.page_setup.orientation == "landscape" and ws.page_setup.paperSize == 9
    assert ws.print_title_rows == "$1:$1"
    cell = ws.cell(row=2, column=header.index("计入学时") + 1)
    assert cell.data_type == "n" and Decimal(str(cell.value)) == Decimal(ledger["credited"]["total"])
    times = wb["学时明细"]
    assert times.cell(row=2, column=9).is_date and times.cell(row=2, column=9).number_format == "yyyy-mm-dd hh:mm"


def test_subsidy_decisions_carry_every_reason_with_its_clause_and_never_show_an_unknown_amount_as_zero(worlds, login, session, member):
    y = worlds["yubei"]
    add_attendance(session, y)
    _, data = export(login("yubei-admin"), y.class_id)
    z = _zip(data)
    rows = _csv(z, member(z, "补贴核定", "csv"))
    header, row = rows[0], rows[1]
    d = dict(zip(header, row, strict=True))
    assert d["核定结论"] == "不符合"  # 3.75 学时 of 160
    assert "[cq" in d["理由（条款）"] and "hours_short" in d["理由（条款）"]  # the CSV keeps the codes
    assert d["补贴金额（元）"] == "—"


def test_a_subsidy_export_seals_the_hours_and_a_later_correction_is_an_amendment_in_the_next_export(worlds, login, session, member):
    y = worlds["yubei"]
    add_attendance(session, y)
    api = login("yubei-admin")
    _, first = export(api, y.class_id, "subsidy")
    manifest = json.loads(_zip(first).read("manifest.json"))
    seal = session.query(Seal).filter_by(class_id=y.class_id).one()
    assert seal.chain_seq == manifest["chains"][f"class:{y.class_id}"]["seq"] == 3
    assert seal.figures[str(y.enrollment_id)]["credited"] == "5.00"
    session.rollback()
    # A reviewer approves the flagged check-in after the seal: a new event, shown as an amendment.
    resp = login("yubei-supervisor").post(f"/api/events/{y.event_id}/review", json={"decision": "approved", "reason": "核实为本人"})
    assert resp.status_code in (200, 201), resp.get_json()
    _, second = export(api, y.class_id, "class")
    z = _zip(second)
    amend = _csv(z, member(z, "封存后修正", "csv"))
    assert len(amend) == 2 and amend[1][2] == "5.00" and amend[1][6] == "复核" and amend[1][5] == "4"
    assert json.loads(z.read("manifest.json"))["previous_seal"]["chain_seq"] == 3
    # The seal itself cannot be rewritten.
    import pytest

    with pytest.raises(Exception, match="append-only"):
        session.execute(text("UPDATE export_seals SET chain_seq = 99"))
        session.flush()
    session.rollback()


def test_only_the_institution_may_export_for_a_subsidy_and_a_teacher_may_not_export(worlds, login):
    y = worlds["yubei"]
    assert login("yubei-supervisor").post(f"/api/classes/{y.class_id}/exports", json={"kind": "subsidy"}).status_code == 403
    assert login("yubei-teacher").post(f"/api/classes/{y.class_id}/exports", json={"kind": "class"}).status_code == 403
    ok = login("yubei-supervisor").post(f"/api/classes/{y.class_id}/exports", json={"kind": "class"})
    assert ok.status_code == 202
    assert wait_for(login("yubei-supervisor"), ok.get_json())["status"] == "done"


def test_resident_ids_are_masked_in_a_supervisors_export(worlds, login, session, member):
    y = worlds["yubei"]
    _, data = export(login("yubei-supervisor"), y.class_id)
    z = _zip(data)
    rows = _csv(z, member(z, "考勤表", "csv"))
    assert rows[1][2] == "5001**********0419"


def test_a_district_export_rolls_up_the_supervisors_district_only(worlds, login, session, member):
    y, n = worlds["yubei"], worlds["nanan"]
    add_attendance(session, y)
    api = login("yubei-supervisor")
    resp = api.post(f"/api/districts/{y.district_id}/exports")
    assert resp.status_code == 202
    job = wait_for(api, resp.get_json())
    assert job["status"] == "done", job
    z = _zip(download(api, job))
    rollup = _csv(z, member(z, "区县汇总", "csv"))
    assert [r[0] for r in rollup[1:]] == [str(y.class_id)]
    assert rollup[1][7:10] == ["0", "1", "0"]  # eligible, not, review
    manifest = json.loads(z.read("manifest.json"))
    assert set(manifest["chains"]) == {f"class:{y.class_id}"}
    assert api.post(f"/api/districts/{n.district_id}/exports").status_code == 404


def test_a_job_another_institution_started_is_not_found(worlds, login):
    y = worlds["yubei"]
    job = login("yubei-admin").post(f"/api/classes/{y.class_id}/exports", json={"kind": "class"}).get_json()
    wait_for(login("yubei-admin"), job)
    for outsider in ("nanan-admin", "nanan-supervisor"):
        assert login(outsider).get(f"/api/export-jobs/{job['id']}").status_code == 404
        assert login(outsider).get(f"/api/export-jobs/{job['id']}/download").status_code == 404


def test_a_name_that_looks_like_a_formula_stays_text_in_xlsx_and_csv(worlds, login, session, member):
    from server.models import Trainee

    y = worlds["yubei"]
    session.get(Trainee, y.trainee_id).name = '=HYPERLINK("http://x","y")'
    session.commit()
    _, data = export(login("yubei-admin"), y.class_id)
    z = _zip(data)
    assert _csv(z, member(z, "考勤表", "csv"))[1][1] == '\'=HYPERLINK("http://x","y")'
    cell = load_workbook(io.BytesIO(z.read(member(z, "考勤与学时", "xlsx"))))["考勤表"].cell(row=2, column=2)
    assert cell.data_type == "s" and cell.value == '=HYPERLINK("http://x","y")'
