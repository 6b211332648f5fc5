"""Printable PDFs with Chinese text: the 考勤表 and the training certificates (JS annex 1).

The font is Noto Sans SC (SIL OFL) from the PyPI package justmytype-intl-cjk, so the output is
the same on every machine and needs no system font; fpdf2 embeds only the glyphs used. The
package ships it as a variable font whose default instance is the thinnest weight (100), which
prints too faint for a form: the regular weight (400) is instanced from it once with fontTools
(~15 s) and kept in a cache dir (fonts.regular_font), falling back to the variable font if that
cannot be done. fpdf2 keeps every page of a document in memory until it is saved, so the 考勤表
is printed in parts of a fixed number of trainees (AttendancePdf.PART_SIZE), each saved and
dropped before the next one is laid out: its memory does not grow with the class, like the
CSV/XLSX writers'."""
from __future__ import annotations

import gc
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import cast

from fpdf import FPDF

from server.exports import fonts

FAMILY = "NotoSansSC"


def font_path() -> Path:
    """The font the PDFs are printed in: Noto Sans SC at its regular weight (see fonts.py)."""
    return fonts.regular_font()


class _Pdf(FPDF):
    """FPDF with an optional running head (institution and class, on every page) and footer (the
    document's 编号 and the page number, with the part when printed in parts)."""

    footer_prefix: str | None = None  # None: no footer (the certificates)
    running_head: str = ""
    number: str = ""

    def header(self) -> None:
        if not self.running_head:
            return
        self.set_y(5)
        self.set_font(FAMILY, "", 7.5)
        self.set_text_color(70)
        self.cell(0, 4, self.running_head, align="L")
        self.set_draw_color(150)
        self.set_line_width(0.2)
        self.line(self.l_margin, 9.5, self.w - self.r_margin, 9.5)
        self.set_draw_color(0)
        self.set_text_color(0)
        self.set_xy(self.l_margin, self.t_margin)

    def footer(self) -> None:
        if self.footer_prefix is None:
            return
        self.set_y(-10)
        self.set_font(FAMILY, "", 7)
        if self.number:
            self.cell(0, 4, f"编号：{self.number}", align="L")
            self.set_x(self.l_margin)
        # {nb} is fpdf2's alias for the document's page count, filled in when it is saved.
        self.cell(0, 4, f"{self.footer_prefix}第 {self.page_no()} 页，共 {{nb}} 页", align="C")


def new_pdf(orientation: str = "L") -> _Pdf:
    pdf = _Pdf(orientation=orientation, unit="mm", format="A4")
    # One weight (regular); headings are set larger instead of bold (another instance, ~15 s).
    pdf.add_font(FAMILY, "", str(font_path()))
    pdf.set_font(FAMILY, size=9)
    pdf.set_auto_page_break(True, margin=12)
    pdf.set_margins(10, 12, 10)
    return pdf


def _cn_date(d: date) -> str:
    return f"{d.year}年{d.month}月{d.day}日"


def _fmt(v) -> str:
    if isinstance(v, Decimal):
        return f"{v:f}"
    return "" if v is None else str(v)


class AttendancePdf:
    """The 考勤表 of one class, written to `directory` in parts of at most `part_size` trainees.

    fpdf2 holds a document's pages until it is saved (a 20,000-trainee class of 50 lessons is
    ~2,700 pages), so rows are only buffered until a part is full; the part is then laid out,
    saved and dropped before the next one starts, and memory stays that of one part whatever the
    class size. Each part is a complete printable document: title, class facts, lesson columns in
    groups that fit an A4 landscape page, the heading on every page, the running head (institution
    and class) and footer (编号, page x of y) on every page, its own page numbers, and at its end
    the block for signatures and the stamp (制表人、审核人、机构盖章、日期). The number of parts
    is fixed up front from the class size (`total`), so every part says "第 k 部分，共 m 部分"
    and which 序号 it holds. One part is named `<stem>.pdf`; several are `<stem>-第001部分.pdf`,
    ... (zero-padded so they sort in order)."""

    #: Trainees per part. Measured with bench/export.py --pdf (50 lessons): any PDF export holds
    #: ~55 MiB at its peak (mostly the parsed CJK font) plus ~11 MiB per 1,000 trainees of a part
    #: (one document grew 22 -> 48 MiB above that for 2k -> 4k trainees). Each part parses and
    #: subsets the font again: fpdf2's add_font takes only a path, and saving subsets the parsed
    #: font in place, so it cannot be shared between documents. Timed on AttendancePdf alone (a
    #: throwaway script, 50 lessons, fake rows, not the full bench), a part costs ~0.7 s fixed (font
    #: parsed and subset, file saved: a 10-trainee part) plus ~3.3 ms per trainee of layout since
    #: the tables are drawn by _Table (it was ~35-45 ms with fpdf2's table): ~4 s for a part of
    #: 1,000, ~17% of it the fixed cost (~40% at 250 per part, for ~10 MiB less). The rest of the
    #: class export (ledgers, decisions) still costs more per trainee than this. A part of 1,000 is
    #: ~140 printed pages.
    PART_SIZE = 1000
    LESSONS_PER_PAGE = 12

    #: The signature and stamp block: each box's label, and what is printed at its foot
    SIGNATURES = (("制表人（签字）", ""), ("审核人（签字）", ""), ("机构盖章", ""), ("日期", "年　　　月　　　日"))
    SIGNATURE_HEIGHT = 42  # mm: room for a 40 mm round seal

    def __init__(self, directory: Path, stem: str, title: str, facts: list[str], lesson_labels: list[str],
                 totals_header: list[str], total: int, part_size: int | None = None, *, running_head: str = "",
                 number: str = "") -> None:
        self.directory, self.stem = Path(directory), stem
        self.running_head, self.number = running_head, number
        self.title, self.facts, self.labels, self.totals_header = title, facts, lesson_labels, totals_header
        self.total = total
        self.part_size = part_size or self.PART_SIZE
        self.parts = max(1, math.ceil(total / self.part_size))
        self.files: list[Path] = []
        self.added = 0
        self.rows: list[tuple[list[str], list[str], list[str]]] = []  # the current part's only

    def name(self, part: int) -> str:
        if self.parts == 1:
            return f"{self.stem}.pdf"
        return f"{self.stem}-第{part:0{max(3, len(str(self.parts)))}d}部分.pdf"

    def add(self, ident: list, lesson_minutes: list, totals: list) -> None:
        if self.added >= self.total:
            # Every part already says how many parts there are: an extra row would make that false.
            raise ValueError(f"more trainees than the class's {self.total}: the parts were counted from that")
        self.rows.append(([_fmt(v) for v in ident], [_fmt(v) for v in lesson_minutes], [_fmt(v) for v in totals]))
        self.added += 1
        if len(self.rows) == self.part_size:
            self._write_part()

    def close(self) -> list[Path]:
        """Write the last part (or the only one, possibly without rows) and return every part's path."""
        if self.added != self.total:
            raise ValueError(f"{self.added} trainees added, but the parts were counted for {self.total}")
        if self.rows or not self.files:
            self._write_part()
        return self.files

    def _page_head(self, pdf: FPDF, part_line: str | None, what: str) -> None:
        pdf.add_page()
        pdf.set_font(FAMILY, "", 14)
        pdf.cell(0, 8, f"{self.title}（{what}）", new_x="LMARGIN", new_y="NEXT", align="C")
        pdf.set_font(FAMILY, "", 8)
        for line in self.facts + ([part_line] if part_line else []):
            pdf.cell(0, 4.5, line, new_x="LMARGIN", new_y="NEXT")
        pdf.ln(1)

    def _signatures(self, pdf: FPDF) -> None:
        """The boxes to sign and stamp, below the last table (on a page of their own if it is full)."""
        height = self.SIGNATURE_HEIGHT
        if pdf.y + 4 + height > pdf.page_break_trigger:
            pdf.add_page()
        y = pdf.y + 4
        width = pdf.epw / len(self.SIGNATURES)
        pdf.set_font(FAMILY, "", 9)
        pdf.set_line_width(0.3)
        for i, (label, foot) in enumerate(self.SIGNATURES):
            x = pdf.l_margin + i * width
            pdf.rect(x, y, width, height)
            pdf.set_xy(x + 2, y + 2)
            pdf.cell(width - 4, 5, f"{label}：")
            if foot:
                pdf.set_xy(x + 2, y + height - 8)
                pdf.cell(width - 4, 5, foot, align="R")
        pdf.set_line_width(0.2)
        pdf.set_xy(pdf.l_margin, y + height)

    def _write_part(self) -> None:
        k = len(self.files) + 1
        first = (k - 1) * self.part_size + 1
        pdf = new_pdf("L")
        pdf.running_head, pdf.number = self.running_head, self.number
        pdf.footer_prefix, part_line = "", None
        if self.parts > 1:
            part_line = (f"第 {k} 部分，共 {self.parts} 部分：序号 {first} 至 {first + len(self.rows) - 1}"
                         f"（全班 {self.total} 人）")
            pdf.footer_prefix = f"第 {k} 部分，共 {self.parts} 部分　"
        ident_header = ["序号", "姓名", "身份证号"]
        groups = [list(range(i, min(i + self.LESSONS_PER_PAGE, len(self.labels))))
                  for i in range(0, len(self.labels), self.LESSONS_PER_PAGE)]
        for gi, cols in enumerate(groups):
            self._page_head(pdf, part_line, f"课次核验分钟 {gi + 1}/{len(groups)}")
            _Table(pdf, [10, 22, 34] + [17] * len(cols), ident_header + [self.labels[c] for c in cols]).rows(
                ident + [minutes[c] for c in cols] for ident, minutes, _ in self.rows)
        self._page_head(pdf, part_line, "学时合计")
        widths = [10, 22, 34] + [min(24, (277 - 66) // max(1, len(self.totals_header)))] * len(self.totals_header)
        _Table(pdf, widths, ident_header + self.totals_header).rows(ident + totals for ident, _, totals in self.rows)
        self._signatures(pdf)
        path = self.directory / self.name(k)
        pdf.output(str(path))
        self.files.append(path)
        self.rows = []
        # fpdf2's document and font objects refer to each other, so dropping the last reference
        # does not free them: without a collection here, parts pile up until the cyclic
        # collector happens to run a full pass (rarer as the heap grows). One full pass per part
        # (~1,000 trainees) costs little and keeps memory at one part.
        del pdf
        gc.collect()


class _Table:
    """A bordered table of centred cells drawn row by row at a fixed line height, centred on the
    page like fpdf2's `pdf.table(...)` (which this replaces: it lays out every cell as multi-line
    text, which made the 考勤表 ~8x slower; the page breaks and the look are the same). The heading row (grey fill, its texts wrapped,
    e.g. "03-02 09:00\n线下") is drawn at the top of the table and again at the top of every page
    the table runs onto.

    A cell text wider than its column is never cut or let run into the next cell: its row is
    drawn taller with the text wrapped inside the column (WRAP, not truncate: the sheet must show
    the whole name; a name is at most 64 characters, 8 lines in the 姓名 column). Only such a row
    pays for the line breaking; every other row is a frame and a centred FPDF.text per cell."""

    LINE = 4  # mm: one line of 7 pt text
    FONT_SIZE = 7
    HEAD_FILL = (225, 225, 225)

    def __init__(self, pdf: FPDF, widths: Sequence[float], heading: list[str]) -> None:
        self.pdf, self.widths = pdf, widths
        pdf.set_font(FAMILY, "", self.FONT_SIZE)
        self.x = pdf.l_margin + (pdf.epw - sum(widths)) / 2
        self.room = [w - 2 * pdf.c_margin for w in widths]  # text width inside a cell
        self.head_lines = [self._lines(w, t) for w, t in zip(widths, heading, strict=False)]
        self.head_height = max((len(lines) for lines in self.head_lines), default=1) * self.LINE
        self._draw_heading()

    def _lines(self, w: float, text: str) -> list[str]:
        # output="LINES" makes it the wrapped lines; its signature covers every `output` at once.
        return cast(list[str], self.pdf.multi_cell(w, self.LINE, text, dry_run=True, output="LINES")) or [""]

    def _draw_heading(self) -> None:
        pdf = self.pdf
        pdf.set_fill_color(*self.HEAD_FILL)
        self._draw_wrapped(self.head_lines, self.head_height, fill=True)
        # Back to the text colour: FPDF.text wraps every string in a colour change otherwise.
        pdf.set_fill_color(0)

    def _draw_wrapped(self, cells: list[list[str]], height: float, fill: bool) -> None:
        """One row of cells given as lines, `height` tall, each cell's lines centred vertically."""
        pdf, y = self.pdf, self.pdf.y
        x = self.x
        for w, lines in zip(self.widths, cells, strict=False):
            pdf.rect(x, y, w, height, style="DF" if fill else "D")
            pdf.set_xy(x, y + (height - len(lines) * self.LINE) / 2)
            for line in lines:
                pdf.cell(w, self.LINE, line, align="C", new_x="LEFT", new_y="NEXT")
            x += w
        pdf.set_xy(self.x, y + height)

    def _break_for(self, height: float) -> None:
        pdf = self.pdf
        if pdf.y + height > pdf.page_break_trigger:
            pdf.add_page()
            pdf.set_font(FAMILY, "", self.FONT_SIZE)
            self._draw_heading()

    def rows(self, rows) -> None:
        pdf, widths, room, line = self.pdf, self.widths, self.room, self.LINE
        width_of = pdf.get_string_width
        # Where FPDF.cell puts the baseline of a centred line of this height.
        baseline = 0.5 * line + 0.3 * pdf.font_size
        for cells in rows:
            text_widths = [width_of(t) for t in cells]
            if all(tw <= r and "\n" not in t for t, tw, r in zip(cells, text_widths, room, strict=False)):
                self._break_for(line)
                # What FPDF.cell(w, line, t, border=1, align="C") draws, without its per-call
                # layout machinery (most of its cost): the cell's frame and the centred text.
                x, y = self.x, pdf.y
                for w, t, tw in zip(widths, cells, text_widths, strict=False):
                    pdf.rect(x, y, w, line)
                    if t:
                        pdf.text(x + (w - tw) / 2, y + baseline, t)
                    x += w
                pdf.set_xy(self.x, y + line)
            else:
                wrapped = [self._lines(w, t) for w, t in zip(widths, cells, strict=False)]
                height = max(len(lines) for lines in wrapped) * line
                self._break_for(height)
                self._draw_wrapped(wrapped, height, fill=False)


@dataclass(frozen=True)
class CertificateData:
    """What the JS annex 1 layout shows (培训合格证书参考样式)."""

    name: str
    resident_id: str
    starts_on: date
    ends_on: date
    occupation: str
    direction: str
    level: str
    hours: Decimal
    institution: str
    issued_on: date
    number: str


def certificates_pdf(path: Path, certificates: list[CertificateData]) -> int:
    """One A4 landscape page per certificate; returns the number of pages."""
    pdf = new_pdf("L")
    pdf.set_auto_page_break(False)
    for c in certificates:
        pdf.add_page()
        pdf.set_draw_color(150, 30, 30)
        pdf.set_line_width(1.2)
        pdf.rect(12, 12, 273, 186)
        pdf.set_line_width(0.3)
        pdf.rect(15, 15, 267, 180)
        pdf.set_y(32)
        pdf.set_font(FAMILY, "", 16)
        pdf.cell(0, 10, "专业技术人才知识更新工程", new_x="LMARGIN", new_y="NEXT", align="C")
        pdf.set_font(FAMILY, "", 28)
        pdf.cell(0, 16, "培训合格证书", new_x="LMARGIN", new_y="NEXT", align="C")
        pdf.ln(8)
        direction = c.direction if c.direction and c.direction.strip() else "—"
        body = (f"{c.name}，身份证号：{c.resident_id}，于 {_cn_date(c.starts_on)}至 {_cn_date(c.ends_on)}，"
                f"参加专业技术人才知识更新工程数字技术工程师培育项目 {c.occupation}职业 {direction}方向 "
                f"{c.level}等级培训（计 {_fmt(c.hours)} 学时），经考核合格，准予结业。")
        pdf.set_font(FAMILY, "", 14)
        pdf.set_x(40)
        pdf.multi_cell(217, 10, "　　" + body, align="L")
        pdf.ln(12)
        pdf.set_x(150)
        pdf.cell(110, 9, f"{c.institution}（培训机构印章）", align="R", new_x="LMARGIN", new_y="NEXT")
        pdf.set_x(150)
        pdf.cell(110, 9, f"发证日期：{_cn_date(c.issued_on)}", align="R", new_x="LMARGIN", new_y="NEXT")
        pdf.set_y(170)
        pdf.set_font(FAMILY, "", 10)
        pdf.set_x(30)
        pdf.cell(0, 6, "机构信息查询网址：http://zsgx.mohrss.gov.cn/    http://www.osta.org.cn/", new_x="LMARGIN", new_y="NEXT")
        pdf.set_x(30)
        pdf.cell(0, 6, f"证书编号：{c.number}", new_x="LMARGIN", new_y="NEXT")
    pdf.output(str(path))
    return len(certificates)
