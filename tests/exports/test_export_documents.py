"""What an institution hands to 人社 without retyping: the 考勤表 PDF, the workbook and the file
names read as Chinese documents (no reason codes, no "POLICY §", lessons as 第n次课, Beijing time to
the minute, a signature and stamp block, widths that fit), while the CSV keeps the codes for machines."""
from __future__ import annotations

import io
import re
import zipfile
from datetime import date
from urllib.parse import unquote

import pypdfium2 as pdfium
from openpyxl import load_workbook

from server.exports import fonts
from server.exports.names import FileNames, bundle_name, safe
from server.exports.tables import category_zh
from server.models import EmploymentAtStart, Enrollment
from server.services import rules
from tests.factories import add_attendance, download, export

#: An ASCII code as the machines write it (hours_short, enterprise_employee, not_employed)
CODE = re.compile(r"(?<![A-Za-z0-9])[a-z][a-z0-9]*(?:_[a-z0-9]+)+(?![A-Za-z0-9])")


def _pdf_text(data: bytes) -> list[str]:
    doc = pdfium.PdfDocument(data)
    try:
        out = []
        for page in doc:
            tp = page.get_textpage()
            out.append(tp.get_text_range().replace("\r", "").replace("\n", ""))
            tp.close()
            page.close()
        return out
    finally:
        doc.close()


def test_the_pdf_and_workbook_people_read_carry_no_reason_code_and_the_csv_keeps_them(worlds, login, session, member):
    y = worlds["yubei"]
    add_attendance(session, y)
    enrollment = session.get(Enrollment, y.enrollment_id)
    enrollment.subsidy_category = "enterprise_employee"
    enrollment.employment_at_start = EmploymentAtStart.employed
    session.commit()
    api = login("yubei-admin")
    job, data = export(api, y.class_id)
    z = zipfile.ZipFile(io.BytesIO(data))

    # The machine-readable CSV has the codes the people's copies leave out.
    decisions_csv = z.read(member(z, "补贴核定", "csv")).decode("utf-8-sig")
    codes = set(re.findall(r"\(([a-z_]+)\)", decisions_csv + z.read(member(z, "学时明细", "csv")).decode("utf-8-sig")))
    assert "hours_short" in codes and "enterprise_employee" in decisions_csv

    pages = _pdf_text(z.read(member(z, "考勤表", "pdf")))
    for n, text in enumerate(pages, start=1):
        assert "培训机构：yubei school" in text and "培训班：yubei class" in text  # the running head
        assert re.search(r"编号：KQ-\d{6}-\d{12}", text) and f"第 {n} 页，共 {len(pages)} 页" in text  # the footer
    whole = "".join(pages)
    assert "第1次课2026-03-0209:00 线下" in whole.replace("\n", "")
    assert all(label in pages[-1] for label in ("制表人（签字）", "审核人（签字）", "机构盖章", "日期"))

    book = load_workbook(io.BytesIO(z.read(member(z, "考勤与学时", "xlsx"))))
    cells = [(ws.title, c) for ws in book.worksheets for row in ws.iter_rows() for c in row if c.value is not None]
    for where, text in [("PDF", whole)] + [(f"{t}!{c.coordinate}", str(c.value)) for t, c in cells]:
        assert "POLICY §" not in text, (where, text)
        assert not CODE.search(text), (where, text)
        assert not any(f"({code})" in text for code in codes), (where, text)
    decisions = book["补贴核定"]
    row = {decisions.cell(1, i).value: decisions.cell(2, i).value for i in range(1, decisions.max_column + 1)}
    assert row["补贴类别"].startswith("企业在岗职工") and row["参训时就业状态"] == "参训时已就业"
    assert "【" in row["理由（条款）"] and "学时" in row["理由（条款）"]
    log = book["学时明细"]
    assert log.cell(2, 3).value == "第1次课"
    at = log.cell(2, 9)
    assert at.number_format == "yyyy-mm-dd hh:mm" and at.value.second == 0 and at.value.microsecond == 0

    # Widths fit: the 18-digit ID is not cut, a lesson column is no wider than its three-line heading.
    sheet = book["考勤表"]
    assert sheet.column_dimensions["C"].width >= 18 + 2
    assert sheet.column_dimensions["D"].width <= 20 and "第1次课" in sheet["D1"].value

    # The download is named in Chinese (RFC 5987), with an ASCII fallback.
    resp = api.get(job["download"])
    disposition = resp.headers["Content-Disposition"]
    resp.close()
    assert disposition.startswith(f'attachment; filename="hourproof-export-{job["id"]}.zip"; filename*=UTF-8\'\'')
    name = unquote(disposition.split("UTF-8''", 1)[1])
    assert re.fullmatch(r"yubei_class-考勤与学时-\d{8}-\d{4}\.zip", name), name
    assert download(api, job) == data


def test_a_subsidy_category_shows_as_the_regions_words_and_an_unknown_one_says_so():
    cq = rules.region("cq")
    assert category_zh("enterprise_employee", cq).startswith("企业在岗职工")
    assert category_zh("retired_astronaut", cq) == "未识别的类别：retired_astronaut"
    assert category_zh(None, cq) == "未登记"


def test_file_names_are_chinese_with_the_subject_and_date_and_safe_in_a_header_or_a_zip():
    names = FileNames.of("云计算/1班: 周末 \"提高\"", date(2026, 12, 7))
    assert names("考勤表", "pdf") == "云计算_1班_周末_提高-考勤表-20261207.pdf"
    assert safe("   ") == "未命名" and len(safe("班" * 200)) == 40
    from datetime import datetime

    assert bundle_name("云计算1班", "subsidy", datetime(2026, 12, 7, 9, 30)) == "云计算1班-补贴核定-20261207-0930.zip"


def test_the_pdfs_print_in_a_static_regular_weight_not_the_variable_fonts_thin_default():
    from fontTools.ttLib import TTFont

    path = fonts.regular_font()
    assert path != fonts.variable_font()
    font = TTFont(str(path), lazy=True)
    try:
        assert "fvar" not in font and font["OS/2"].usWeightClass == 400
    finally:
        font.close()
