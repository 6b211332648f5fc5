"""Printable PDFs really draw Chinese: the page is rendered to pixels (pypdfium2) and each
character of a known string must be ink, and distinct characters must look distinct - tofu boxes
(the .notdef glyph) are all the same box, and a missing glyph is blank. A Latin-only font is the
control that shows the check can fail."""
from __future__ import annotations

import io
import zipfile
from datetime import date
from decimal import Decimal
from pathlib import Path

import numpy as np
import pypdfium2 as pdfium
import pytest

from server.exports import pdf as pdfmod

from .conftest import add_attendance, export

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


def test_the_attendance_pdf_draws_its_chinese_title_and_names(worlds, login, session, tmp_path):
    y = worlds["yubei"]
    add_attendance(session, y)
    _, data = export(login("yubei-admin"), y.class_id)
    path = tmp_path / "attendance.pdf"
    path.write_bytes(zipfile.ZipFile(io.BytesIO(data)).read(f"class{y.class_id}-attendance.pdf"))
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
