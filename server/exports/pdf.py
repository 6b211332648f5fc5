"""Printable PDFs with Chinese text: the 考勤表 and the training certificates (JS annex 1).

The font is Noto Sans SC (SIL OFL) from the PyPI package justmytype-intl-cjk, so the output is
the same on every machine and needs no system font; fpdf2 embeds only the glyphs used. The PDF
is built in memory (fpdf2 keeps its pages), so unlike CSV/XLSX it grows with the class: it is
meant for printing a class, not for a district's millions of events."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

from fpdf import FPDF
from fpdf.fonts import FontFace

FAMILY = "NotoSansSC"


def font_path() -> Path:
    import justmytype_intl_cjk

    path = Path(justmytype_intl_cjk.__file__).resolve().parent / "fonts" / "ofl" / "notosanssc" / "NotoSansSC[wght].ttf"
    if not path.exists():  # pragma: no cover - a broken install
        raise FileNotFoundError(f"CJK font missing at {path}: reinstall justmytype-intl-cjk")
    return path


def new_pdf(orientation: str = "L") -> FPDF:
    pdf = FPDF(orientation=orientation, unit="mm", format="A4")
    # The variable font is used at its default instance: fpdf2 can instance other weights, but
    # that takes ~25 s per weight on this 17 MB font, per process. Headings are set larger instead.
    pdf.add_font(FAMILY, "", str(font_path()))
    pdf.set_font(FAMILY, size=9)
    pdf.set_auto_page_break(True, margin=12)
    pdf.set_margins(10, 10, 10)
    return pdf


def _cn_date(d: date) -> str:
    return f"{d.year}年{d.month}月{d.day}日"


def _fmt(v) -> str:
    if isinstance(v, Decimal):
        return f"{v:f}"
    return "" if v is None else str(v)


class AttendancePdf:
    """Rows are added one trainee at a time; `save` lays them out, lesson columns in groups that
    fit an A4 landscape page, the heading repeated on every page."""

    LESSONS_PER_PAGE = 12

    def __init__(self, title: str, facts: list[str], lesson_labels: list[str]) -> None:
        self.title, self.facts, self.labels = title, facts, lesson_labels
        self.rows: list[tuple[list[str], list[str], list[str]]] = []

    def add(self, ident: list, lesson_minutes: list, totals: list) -> None:
        self.rows.append(([_fmt(v) for v in ident], [_fmt(v) for v in lesson_minutes], [_fmt(v) for v in totals]))

    def _page_head(self, pdf: FPDF, part: str) -> None:
        pdf.add_page()
        pdf.set_font(FAMILY, "", 14)
        pdf.cell(0, 8, self.title + (f"（{part}）" if part else ""), new_x="LMARGIN", new_y="NEXT", align="C")
        pdf.set_font(FAMILY, "", 8)
        for line in self.facts:
            pdf.cell(0, 4.5, line, new_x="LMARGIN", new_y="NEXT")
        pdf.ln(1)

    def save(self, path: Path, totals_header: list[str]) -> None:
        pdf = new_pdf("L")
        head = FontFace(fill_color=(225, 225, 225))
        ident_header = ["序号", "姓名", "身份证号"]
        groups = [list(range(i, min(i + self.LESSONS_PER_PAGE, len(self.labels))))
                  for i in range(0, len(self.labels), self.LESSONS_PER_PAGE)] or [[]]
        for gi, cols in enumerate(groups):
            if not cols:
                break
            self._page_head(pdf, f"课次核验分钟 {gi + 1}/{len(groups)}")
            pdf.set_font(FAMILY, "", 7)
            widths = [10, 22, 34] + [17] * len(cols)
            with pdf.table(col_widths=widths, width=sum(widths), headings_style=head, repeat_headings=1,
                           line_height=4, text_align="CENTER", first_row_as_headings=True) as table:
                table.row(ident_header + [self.labels[c] for c in cols])
                for ident, minutes, _ in self.rows:
                    table.row(ident + [minutes[c] for c in cols])
        self._page_head(pdf, "学时合计")
        pdf.set_font(FAMILY, "", 7)
        widths = [10, 22, 34] + [min(20, (277 - 66) // max(1, len(totals_header)))] * len(totals_header)
        with pdf.table(col_widths=widths, width=sum(widths), headings_style=head, repeat_headings=1, line_height=4,
                       text_align="CENTER") as table:
            table.row(ident_header + totals_header)
            for ident, _, totals in self.rows:
                table.row(ident + totals)
        pdf.output(str(path))


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
