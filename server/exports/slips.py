"""Activation slips (学员激活单): four to an A4 page, with cut lines.

Why four: each slip is then A6 (105 x 148.5 mm), big enough for a 42 mm QR code a phone reads at
arm's length and 10 pt text, and a class of 40 prints on 10 sheets instead of 40; cut apart, each
trainee still gets a paper of their own (the code is theirs alone). The QR code is the phone
log-in address (/m/), the same on every slip: the code itself is never in the QR, so a photo of
the QR across the room gives nothing away."""
from __future__ import annotations

import io
from collections.abc import Sequence

import segno

from server.exports.pdf import FAMILY, new_pdf
from server.services.account_recovery import Slip

SLIP_W, SLIP_H = 105.0, 148.5  # A6: a quarter of A4 portrait
PAD = 8.0
QR_MM = 42.0

STEPS = (
    # No space after the number: fpdf2 wraps at spaces, and would leave "1." alone on its line.
    "1．用手机扫描右侧二维码，或在手机浏览器输入上方地址，打开签到页面。",
    "2．点“首次登录激活”，输入登录账号和激活码，设置自己的密码。",
    "3．激活用的手机即绑定为本人的签到手机，请用本人常用的手机激活。",
)
WARNING = "激活码只能使用一次，请勿交给他人或拍照外传。遗失或更换手机请联系培训机构。"


def qr_png(url: str) -> bytes:
    out = io.BytesIO()
    # Error correction M (15%): survives a fold or a smudge on paper; border 4 is the standard quiet zone.
    segno.make(url, error="m", micro=False).save(out, kind="png", scale=10, border=4)
    return out.getvalue()


def activation_slips_pdf(slips: Sequence[Slip], login_url: str) -> bytes:
    """The slips as one PDF, in the order given."""
    pdf = new_pdf(orientation="P")
    pdf.set_auto_page_break(False)
    pdf.set_title("学员激活单")
    qr = io.BytesIO(qr_png(login_url))
    for i, slip in enumerate(slips):
        if i % 4 == 0:
            pdf.add_page()
            _cut_lines(pdf)
        x = (i % 2) * SLIP_W
        y = ((i % 4) // 2) * SLIP_H
        _slip(pdf, x, y, slip, login_url, qr)
    return bytes(pdf.output())


def _cut_lines(pdf) -> None:
    pdf.set_draw_color(150)
    pdf.set_line_width(0.2)
    with pdf.local_context():
        pdf.set_dash_pattern(dash=2, gap=2)
        pdf.line(SLIP_W, 0, SLIP_W, 2 * SLIP_H)
        pdf.line(0, SLIP_H, 2 * SLIP_W, SLIP_H)
    pdf.set_font(FAMILY, "", 6)
    pdf.set_text_color(150)
    pdf.text(SLIP_W + 1, SLIP_H - 1, "沿虚线剪开")
    pdf.set_text_color(0)
    pdf.set_draw_color(0)


def _slip(pdf, x: float, y: float, slip: Slip, login_url: str, qr: io.BytesIO) -> None:
    left, width = x + PAD, SLIP_W - 2 * PAD
    pdf.set_xy(left, y + PAD)
    pdf.set_font(FAMILY, "", 15)
    pdf.cell(width, 8, "学员激活单", align="C", new_x="LEFT", new_y="NEXT")
    pdf.set_font(FAMILY, "", 8)
    pdf.multi_cell(width, 4.5, f"{slip.institution_name}\n{slip.class_name}", align="C", new_x="LEFT", new_y="NEXT")
    # Never pdf.ln(): it returns to the page's left margin, i.e. into the slip on the left.
    pdf.set_xy(left, pdf.get_y() + 3)
    rows = (("姓名", slip.name, 12), ("身份证号", slip.masked_resident_id, 10), ("登录账号", slip.login, 10))
    for label, value, size in rows:
        pdf.set_font(FAMILY, "", 9)
        pdf.cell(18, 6, label + "：", new_x="RIGHT", new_y="TOP")
        pdf.set_font(FAMILY, "", size)
        pdf.multi_cell(width - 18, 6, value, new_x="LEFT", new_y="NEXT")
        pdf.set_x(left)
    pdf.set_font(FAMILY, "", 9)
    pdf.cell(18, 10, "激活码：", new_x="RIGHT", new_y="TOP")
    pdf.set_font(FAMILY, "", 22)
    pdf.cell(width - 18, 10, slip.activation_code, new_x="LEFT", new_y="NEXT")
    pdf.set_xy(left, pdf.get_y() + 4)
    top = pdf.get_y()
    text_w = width - QR_MM - 3
    pdf.image(qr, x=left + width - QR_MM, y=top, w=QR_MM, h=QR_MM)
    pdf.set_font(FAMILY, "", 8)
    pdf.multi_cell(text_w, 4, "签到页面：\n" + login_url, new_x="LEFT", new_y="NEXT")
    for step in STEPS:
        pdf.set_xy(left, pdf.get_y() + 1.5)
        pdf.multi_cell(text_w, 4, step, new_x="LEFT", new_y="NEXT")
    pdf.set_xy(left, max(pdf.get_y(), top + QR_MM) + 5)
    pdf.set_font(FAMILY, "", 8)
    pdf.multi_cell(width, 4, WARNING, new_x="LEFT", new_y="NEXT")
