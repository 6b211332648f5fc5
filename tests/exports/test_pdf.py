"""Printable PDFs really draw Chinese: the page is rendered to pixels (pypdfium2) and each
character of a known string must be ink, and distinct characters must look distinct - tofu boxes
(the .notdef glyph) are all the same box, and a missing glyph is blank. A Latin-only font is the
control that shows the check can fail."""
from __future__ import annotations

import io
import json
import zipfile
from datetime import date
from decimal import Decimal
from pathlib import Path

import numpy as np
import pypdfium2 as pdfium
import pytest

from server.exports import bundle, signing
from server.exports import pdf as pdfmod
from tests.factories import add_attendance, export

SCALE = 4


def glyph_problem(path: Path, text: str) -> str | None:
    """None when every character of `text` (first occurrence on page 1) is drawn as a glyph of
    its own; otherwise what is wrong."""
    doc = pdfium.PdfDocument(str(path))
    try:
        page = doc[0]
        tp = page.get_textpage()
        content = tp.get_text_range()
        start = content.find(text)
        if start < 0:
            return f"{text!r} not in the page's text"
        bitmap = page.render(scale=SCALE, grayscale=True).to_numpy()
        gray = bitmap if bitmap.ndim == 2 else bitmap[..., 0]
        height = page.get_height()
        crops = []
        for i in range(len(text)):
            left, bottom, right, top = tp.get_charbox(start + i)
            box = gray[int((height - top) * SCALE):int((height - bottom) * SCALE) + 1,
                       int(left * SCALE):int(right * SCALE) + 1]
            if box.size == 0 or (box < 128).mean() < 0.03:
                return f"{text[i]!r} is blank"
            crops.append((box < 128).astype(np.uint8))
        tp.close()
        page.close()
    finally:
        doc.close()
    for i in range(len(crops)):
        for j in range(i + 1, len(crops)):
            a, b = crops[i], crops[j]
            h, w = min(a.shape[0], b.shape[0]), min(a.shape[1], b.shape[1])
            if (a[:h, :w] != b[:h, :w]).mean() < 0.02:
                return f"{text[i]!r} and {text[j]!r} are drawn alike (tofu)"
    return None


def test_the_attendance_pdf_draws_its_chinese_title_and_names(worlds, login, session, tmp_path, member):
    y = worlds["yubei"]
    add_attendance(session, y)
    _, data = export(login("yubei-admin"), y.class_id)
    path = tmp_path / "attendance.pdf"
    z = zipfile.ZipFile(io.BytesIO(data))
    path.write_bytes(z.read(member(z, "考勤表", "pdf")))
    assert glyph_problem(path, "考勤表") is None
    assert glyph_problem(path, "课次核验分钟") is None


def test_the_check_fails_for_a_font_without_chinese_glyphs(tmp_path):
    from fontTools import subset
    from fpdf import FPDF

    latin = tmp_path / "latin-only.ttf"
    options = subset.Options()
    font = subset.load_font(str(pdfmod.font_path()), options)
    sub = subset.Subsetter(options)
    sub.populate(unicodes=range(0x20, 0x7F))
    sub.subset(font)
    font.save(str(latin))
    font.close()
    pdf = FPDF()
    pdf.add_font("latin", "", str(latin))
    pdf.add_page()
    pdf.set_font("latin", size=24)
    pdf.cell(text="AB 考勤表")
    path = tmp_path / "tofu.pdf"
    import logging

    logging.getLogger("fpdf").setLevel(logging.CRITICAL)  # fpdf2 logs each missing glyph
    pdf.output(str(path))
    problem = glyph_problem(path, "考勤表")
    # Either the glyphs are missing from the text layer, blank, or the same tofu box.
    assert problem is not None and ("not in" in problem or "blank" in problem or "alike" in problem), problem
    assert glyph_problem(path, "AB") is None  # the Latin the font does have is drawn


def test_the_check_fails_when_every_chinese_character_is_drawn_as_the_same_box(tmp_path):
    """Tofu proper: the characters are in the text layer, but each is drawn with one shared glyph."""
    import logging

    from fontTools import subset
    from fpdf import FPDF

    options = subset.Options()
    font = subset.load_font(str(pdfmod.font_path()), options)
    box_glyph = font.getBestCmap()[ord("口")]
    sub = subset.Subsetter(options)
    sub.populate(unicodes=list(range(0x20, 0x7F)) + [ord("口")])
    sub.subset(font)
    for table in font["cmap"].tables:
        if table.isUnicode():
            for ch in "考勤表":
                table.cmap[ord(ch)] = box_glyph
    tofu = tmp_path / "tofu.ttf"
    font.save(str(tofu))
    font.close()
    pdf = FPDF()
    pdf.add_font("tofu", "", str(tofu))
    pdf.add_page()
    pdf.set_font("tofu", size=24)
    pdf.cell(text="考勤表")
    logging.getLogger("fpdf").setLevel(logging.CRITICAL)
    path = tmp_path / "tofu.pdf"
    pdf.output(str(path))
    assert glyph_problem(path, "考勤表") == "'考' and '勤' are drawn alike (tofu)"


def test_certificates_follow_the_js_annex_layout(tmp_path):
    c = pdfmod.CertificateData(name="林曼努", resident_id="320102199003074518", starts_on=date(2026, 3, 2),
                               ends_on=date(2026, 5, 29), occupation="人工智能工程技术人员", direction="", level="初级",
                               hours=Decimal("64.00"), institution="南京某某职业培训学校", issued_on=date(2026, 6, 5),
                               number="JS2026-000123")
    path = tmp_path / "certificates.pdf"
    assert pdfmod.certificates_pdf(path, [c]) == 1
    doc = pdfium.PdfDocument(str(path))
    text = doc[0].get_textpage().get_text_range().replace("\r", "").replace("\n", "")
    doc.close()
    for part in ("专业技术人才知识更新工程", "培训合格证书", "林曼努", "身份证号：320102199003074518", "2026年3月2日",
                 "2026年5月29日", "人工智能工程技术人员职业", "—方向", "初级等级培训", "计 64.00 学时", "经考核合格，准予结业",
                 "南京某某职业培训学校", "发证日期：2026年6月5日", "证书编号：JS2026-000123", "http://zsgx.mohrss.gov.cn/"):
        assert part in text, part
    assert glyph_problem(path, "培训合格证书") is None


# --- the 考勤表 in parts --------------------------------------------------------------------------------

def _pages_text(path: Path) -> list[str]:
    doc = pdfium.PdfDocument(str(path))
    try:
        out = []
        for page in doc:
            tp = page.get_textpage()
            out.append(tp.get_text_range().replace("\r", ""))
            tp.close()
            page.close()
        return out
    finally:
        doc.close()


def _attendance(tmp_path: Path, trainees: int, part_size: int, lessons: int = 14) -> pdfmod.AttendancePdf:
    """A 考勤表 of `trainees` named 学员0001, ... over `lessons` lessons (14: two groups of columns)."""
    att = pdfmod.AttendancePdf(tmp_path, "class9", "考勤表 云计算1班", ["培训班：云计算1班（编号 9）", "每学时 45 分钟"],
                               [f"03-{j + 1:02d} 09:00\n线下" for j in range(lessons)], ["计入学时", "规定学时"],
                               trainees, part_size=part_size)
    for i in range(1, trainees + 1):
        att.add([i, f"学员{i:04d}", "500112199001011234"], [225] * lessons, [Decimal("3.75") * lessons, 64])
    return att


def _names(text: str) -> list[str]:
    import re

    return re.findall(r"学员\d{4}", text)


def test_a_large_class_prints_its_attendance_in_parts_each_a_complete_pdf(tmp_path):
    files = _attendance(tmp_path, trainees=7, part_size=3).close()
    assert [f.name for f in files] == ["class9-第001部分.pdf", "class9-第002部分.pdf", "class9-第003部分.pdf"]
    assert not (tmp_path / "class9.pdf").exists()
    seen: list[str] = []
    for k, (path, first, last) in enumerate(zip(files, (1, 4, 7), (3, 6, 7), strict=True), start=1):
        pages = _pages_text(path)
        # Three tables (lesson columns 1-12, 13-14, the totals), each fits a page at this size.
        assert len(pages) == 3
        for p, text in enumerate(pages, start=1):
            flat = text.replace("\n", "")
            assert "考勤表 云计算1班" in flat and "培训班：云计算1班（编号 9）" in flat and "每学时 45 分钟" in flat
            assert f"第 {k} 部分，共 3 部分：序号 {first} 至 {last}（全班 7 人）" in flat
            assert f"第 {k} 部分，共 3 部分　第 {p} 页，共 3 页" in flat
        tables = [_names(text) for text in pages]
        expected = [f"学员{i:04d}" for i in range(first, last + 1)]
        assert tables == [expected] * 3  # every table of the part holds the part's trainees, in order
        seen += tables[0]
    assert seen == [f"学员{i:04d}" for i in range(1, 8)]  # the parts add up to the class, none twice


def test_a_class_that_fits_one_part_is_one_file_under_the_usual_name_numbered_without_parts(tmp_path):
    files = _attendance(tmp_path, trainees=3, part_size=3).close()
    assert [f.name for f in files] == ["class9.pdf"]
    pages = _pages_text(files[0])
    assert len(pages) == 3
    assert all(f"第 {p} 页，共 3 页" in text for p, text in enumerate(pages, start=1))
    assert not any("部分" in text for text in pages)
    assert [_names(text) for text in pages] == [["学员0001", "学员0002", "学员0003"]] * 3


def test_part_page_numbers_count_the_pages_of_a_part_that_runs_over_several(tmp_path):
    # 120 trainees in the first part: each of its two tables runs over pages, the heading repeated;
    # the second part's 30 fit a page per table.
    files = _attendance(tmp_path, trainees=150, part_size=120, lessons=3).close()
    assert len(files) == 2
    counts = []
    for k, path in enumerate(files, start=1):
        pages = _pages_text(path)
        assert len(pages) > 2 if k == 1 else sum("序号" in text for text in pages) == 2
        for p, text in enumerate(pages, start=1):
            assert f"第 {k} 部分，共 2 部分　第 {p} 页，共 {len(pages)} 页" in text.replace("\n", "")
            if "序号" not in text:  # the signature block, on a page of its own when the last one is full
                assert p == len(pages) and "制表人" in text
                continue
            assert "姓名" in text  # the heading row repeated on every page
        counts.append(len(set(_names("".join(pages)))))
    assert counts == [120, 30]


def test_each_part_is_freed_before_the_next_is_laid_out(tmp_path, monkeypatch):
    """What keeps memory flat: no earlier part's document (pages, parsed font) is alive when
    the next one starts. fpdf2's objects hold reference cycles, so this fails without the
    collection after each part."""
    import weakref

    alive: list[weakref.ref] = []
    real = pdfmod.new_pdf

    def new_pdf(*args):
        assert [r for r in alive if r() is not None] == [], "an earlier part is still in memory"
        doc = real(*args)
        alive.append(weakref.ref(doc))
        return doc

    monkeypatch.setattr(pdfmod, "new_pdf", new_pdf)
    files = _attendance(tmp_path, trainees=5, part_size=2, lessons=2).close()
    assert len(files) == 3 and len(alive) == 3
    assert all(r() is None for r in alive)


def test_the_parts_refuse_a_trainee_count_other_than_the_one_they_were_numbered_for(tmp_path):
    att = _attendance(tmp_path, trainees=2, part_size=1, lessons=1)
    with pytest.raises(ValueError, match="more trainees"):
        att.add([3, "学员0003", "x"], [1], [1, 1])
    short = pdfmod.AttendancePdf(tmp_path, "c", "考勤表", [], ["a"], ["b"], 3, part_size=2)
    short.add([1, "学员0001", "x"], [1], [1])
    with pytest.raises(ValueError, match="counted for 3"):
        short.close()


def test_a_multi_part_class_export_lists_every_part_and_draws_chinese_in_the_second(worlds, login, session, tmp_path,
                                                                                     monkeypatch, data_dir):
    from server.models import Enrollment, Trainee

    y = worlds["yubei"]
    add_attendance(session, y)
    trainee = Trainee(resident_id="32010219900307451X", name="林曼努")
    session.add(trainee)
    session.flush()
    session.add(Enrollment(class_id=y.class_id, trainee_id=trainee.id))
    session.commit()
    monkeypatch.setattr(pdfmod.AttendancePdf, "PART_SIZE", 1)
    job, data = export(login("yubei-admin"), y.class_id)
    z = zipfile.ZipFile(io.BytesIO(data))
    pdfs = sorted(n for n in z.namelist() if n.endswith(".pdf"))
    stem = pdfs[0].removesuffix("-第001部分.pdf")
    assert stem.startswith("yubei_class-考勤表-")
    assert pdfs == [f"{stem}-第001部分.pdf", f"{stem}-第002部分.pdf"]
    assert set(pdfs) <= set(json.loads(z.read("manifest.json"))["files"])  # signed like every file
    bundle_path = tmp_path / "bundle.zip"
    bundle_path.write_bytes(data)
    verified = bundle.verify_bundle(bundle_path, signing.load_or_create(data_dir).public_key(), session)
    assert verified.ok, verified.failures
    assert job["done"] == job["total"] == 2
    second = tmp_path / "part-2.pdf"
    second.write_bytes(z.read(f"{stem}-第002部分.pdf"))
    assert glyph_problem(second, "考勤表") is None
    assert glyph_problem(second, "林曼努") is None
    text = "".join(_pages_text(second)).replace("\n", "")
    assert "第 2 部分，共 2 部分：序号 2 至 2（全班 2 人）" in text and "yubei trainee" not in text


def _char_boxes(path: Path, page_index: int, text: str) -> list[tuple[float, float, float, float]]:
    """(left, bottom, right, top) in points of each character of the first `text` on the page,
    found in the text layer with line breaks removed (a wrapped text is split over lines)."""
    doc = pdfium.PdfDocument(str(path))
    try:
        tp = doc[page_index].get_textpage()
        chars = [(i, tp.get_text_range(i, 1)) for i in range(tp.count_chars())]
        kept = [(i, c) for i, c in chars if c not in "\r\n"]
        flat = "".join(c for _, c in kept)
        start = flat.find(text)
        assert start >= 0, f"{text!r} not on page {page_index + 1}"
        boxes = [tp.get_charbox(kept[start + j][0]) for j in range(len(text))]
        tp.close()
        return boxes
    finally:
        doc.close()


def test_a_name_wider_than_its_column_is_wrapped_inside_the_column_not_cut_or_run_into_the_next_cell(tmp_path):
    long_name = "买买提·艾力·阿布都热合曼·吐尔逊托合提·库尔班江"
    att = pdfmod.AttendancePdf(tmp_path, "class9", "考勤表", [], ["03-01 09:00\n线下"], ["计入学时"], 3)
    att.add([1, "学员0001", "500112199001011234"], [225], [3])
    att.add([2, long_name, "500112199001011242"], [225], [3])
    att.add([3, "学员0003", "500112199001011250"], [0], [0])
    [path] = att.close()
    mm = 72 / 25.4
    for page, widths in enumerate(([10, 22, 34, 17], [10, 22, 34, 24])):  # the lessons' table, the totals'
        table_left = 10 + (277 - sum(widths)) / 2  # centred between the 10 mm margins
        name_left, name_right = (table_left + 10) * mm, (table_left + 32) * mm
        boxes = _char_boxes(path, page, long_name)  # the whole name is printed, in order
        assert all(name_left <= left and right <= name_right for left, _, right, _ in boxes)
        assert len({round(top) for _, _, _, top in boxes}) > 1  # on several lines
        # The row is as tall as its lines: the next trainee's row starts below the name's last line.
        lowest = min(bottom for _, bottom, _, _ in boxes)
        [(_, _, _, next_top)] = _char_boxes(path, page, "学员0003")[:1]
        assert next_top < lowest
        text = _pages_text(path)[page].replace("\n", "")
        assert "500112199001011242" in text and "学员0001" in text


def test_the_heading_row_is_printed_in_grey_at_the_top_of_every_page_of_a_multi_page_part(tmp_path):
    [path] = _attendance(tmp_path, trainees=150, part_size=150).close()
    pages = _pages_text(path)
    # Three tables (lessons 1-12, lessons 13-14, totals), each over several pages.
    assert len(pages) > 3
    tables: dict[str, list[int]] = {"03-01 09:00": [], "03-13 09:00": [], "计入学时": []}
    doc = pdfium.PdfDocument(str(path))
    try:
        for p, text in enumerate(pages):
            if p == len(pages) - 1 and "序号" not in text and "制表人" in text:
                continue  # the signature block alone on the last page
            assert "序号" in text and "姓名" in text and "身份证号" in text, f"page {p + 1} has no heading row"
            [table] = [first for first in tables if first in text]  # one table's heading per page
            tables[table].append(p)
            if "考勤表 云计算1班" not in text:  # a continuation page starts with the heading row
                assert text.lstrip().startswith("序号"), text[:40]
            # The heading cells are filled grey, the trainees' cells are white.
            (left, bottom, right, top) = _char_boxes(path, p, "序号")[0]
            page = doc[p]
            gray = page.render(scale=SCALE, grayscale=True).to_numpy()
            gray = gray if gray.ndim == 2 else gray[..., 0]
            height = page.get_height()
            row = int((height - (top + bottom) / 2) * SCALE)
            beside = gray[row, int((left - 2) * SCALE)]  # 2 pt left of the text, inside the cell
            assert 215 <= beside <= 235, beside
            (left, bottom, right, top) = _char_boxes(path, p, "学员")[0]
            assert gray[int((height - (top + bottom) / 2) * SCALE), int((left - 2) * SCALE)] > 250
            page.close()
    finally:
        doc.close()
    assert all(len(on) > 1 for on in tables.values()), tables  # each table ran over pages
    assert sorted(sum(tables.values(), [])) == list(range(len(pages)))[:len(sum(tables.values(), []))]
    # Every trainee is a row of each table, once.
    names = _names("".join(pages))
    assert sorted(names) == sorted([f"学员{i:04d}" for i in range(1, 151)] * 3)
