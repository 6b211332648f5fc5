"""CSV and XLSX sinks that take one row at a time and keep nothing: CSV goes straight to its
file, XLSX through openpyxl's write-only mode (rows are serialised to a temp file as they come).

CSV is UTF-8 with a BOM so that Excel in China opens it as UTF-8, not GBK; it is the
machine-readable copy, so a `Shown` cell gives its code there. XLSX is for people: real cell types
(numbers, times shown to the minute), a frozen and wrapped header, A4 landscape, fit to width,
header repeated on every printed page, and column widths that fit their content. A write-only
sheet writes its column widths before its first row, when the content is not known yet: each
sheet measures its cells as they stream through (a number per column), and the widths are set in
the saved file afterwards (XlsxBook.close)."""
from __future__ import annotations

import csv
import re
import shutil
import zipfile
from datetime import datetime
from decimal import Decimal
from pathlib import Path

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font

from server.exports.names import FileNames
from server.exports.tables import Share, Shown, Table

#: A text cell starting with one of these is a formula to Excel (CSV) or to openpyxl (XLSX): a
#: trainee named "=HYPERLINK(...)" must stay a name.
FORMULA_START = ("=", "+", "-", "@")
#: How a time is shown: Beijing wall time to the minute (the headers say 北京时间)
TIME_FORMAT = "%Y-%m-%d %H:%M"
XLSX_TIME_FORMAT = "yyyy-mm-dd hh:mm"
#: Column widths in Excel's units (about one digit; a Chinese character is two): the narrowest,
#: and the widest before a long text (a reason, the evidence) wraps inside its cell instead.
MIN_WIDTH, MAX_WIDTH = 6, 50


def csv_value(v):
    if isinstance(v, Shown):
        v = v.machine
    if isinstance(v, Share):
        return str(Decimal(v))
    if isinstance(v, datetime):
        return f"{v:{TIME_FORMAT}}"
    if isinstance(v, str) and v.startswith(FORMULA_START):
        return "'" + v  # OWASP's advice for CSV injection: Excel shows the text, runs nothing
    return v


class CsvSink:
    def __init__(self, path: Path, table: Table) -> None:
        self.path = path
        self._fh = open(path, "w", encoding="utf-8-sig", newline="")
        self._w = csv.writer(self._fh)
        self._w.writerow([name.replace("\n", " ") for name in table.header])

    def row(self, values) -> None:
        self._w.writerow([csv_value(v) for v in values])

    def close(self) -> None:
        self._fh.close()


def text_width(text: str) -> int:
    """How wide `text` shows in Excel's units, its widest line: a Chinese (3-byte UTF-8)
    character counts two, anything else one; cheap enough for every cell of a large export."""
    if "\n" in text:
        return max(text_width(line) for line in text.split("\n"))
    if text.isascii():
        return len(text)
    n = len(text)
    return n + (len(text.encode("utf-8")) - n) // 2


def cell_width(v) -> int:
    if v is None:
        return 0
    if isinstance(v, datetime):
        return 16
    if isinstance(v, Decimal):
        return len(f"{v:f}")
    return text_width(str(v))


class XlsxBook:
    """One write-only workbook; each table a sheet. Sheets may be appended to in any order
    (each write-only sheet has its own temp file)."""

    def __init__(self, path: Path, subtitle: str = "") -> None:
        self.path = path
        self.book = Workbook(write_only=True)
        self.subtitle = subtitle
        self._bold = Font(bold=True)
        self._head = Alignment(wrap_text=True, vertical="center", horizontal="center")
        self.sinks: list[XlsxSink] = []

    def sheet(self, table: Table) -> XlsxSink:
        ws = self.book.create_sheet(title=table.title[:31])
        # Properties must be set before the first row: write-only sheets stream their XML.
        ws.freeze_panes = "A2"
        ws.page_setup.orientation = "landscape"
        ws.page_setup.paperSize = "9"  # A4
        ws.page_setup.fitToWidth = 1
        ws.page_setup.fitToHeight = 0
        ws.sheet_properties.pageSetUpPr.fitToPage = True
        ws.print_title_rows = "1:1"
        ws.oddHeader.center.text = table.title + (f" {self.subtitle}" if self.subtitle else "")
        ws.oddFooter.center.text = "第 &P 页 / 共 &N 页"
        sink = XlsxSink(ws, [text_width(name) for name in table.header])
        for i, width in enumerate(sink.widths):
            # Replaced by the measured widths when the book is closed; the <cols> element must exist.
            ws.column_dimensions[_column_letter(i + 1)].width = _excel_width(width)
        header = []
        for name in table.header:
            c = WriteOnlyCell(ws, value=name)
            c.font = self._bold
            c.alignment = self._head
            header.append(c)
        ws.append(header)
        self.sinks.append(sink)
        return sink

    def close(self) -> None:
        self.book.save(self.path)
        set_column_widths(self.path, [[_excel_width(w) for w in s.widths] for s in self.sinks])


def _excel_width(measured: int) -> float:
    return float(max(MIN_WIDTH, min(MAX_WIDTH, measured)) + 2)


class XlsxSink:
    def __init__(self, ws, widths: list[int]) -> None:
        self.ws = ws
        #: The widest cell of each column so far (the header's widest line to start with)
        self.widths = widths
        self._wrap = Alignment(wrap_text=True, vertical="top")

    def row(self, values) -> None:
        out = []
        widths = self.widths
        for i, v in enumerate(values):
            if isinstance(v, Shown):
                v = v.people
            w = cell_width(v)
            if i < len(widths) and w > widths[i]:
                widths[i] = w
            if isinstance(v, Share):
                cell = WriteOnlyCell(self.ws, value=Decimal(v))
                cell.number_format = "0.00%"
                out.append(cell)
            elif isinstance(v, datetime):
                # Excel has no time zones: a time is written as Beijing wall time (the header says so).
                cell = WriteOnlyCell(self.ws, value=v.replace(tzinfo=None, second=0, microsecond=0))
                cell.number_format = XLSX_TIME_FORMAT
                out.append(cell)
            elif isinstance(v, str) and (v.startswith(FORMULA_START) or "\n" in v or w > MAX_WIDTH):
                out.append(self._text(v, wrap="\n" in v or w > MAX_WIDTH))
            else:
                out.append(v)
        self.ws.append(out)

    def _text(self, value: str, wrap: bool) -> WriteOnlyCell:
        cell = WriteOnlyCell(self.ws, value=value)
        cell.data_type = "s"  # openpyxl would otherwise store a leading "=" as a formula
        if wrap:
            cell.alignment = self._wrap
        return cell

    def close(self) -> None:
        pass


def _column_letter(n: int) -> str:
    from openpyxl.utils import get_column_letter

    return get_column_letter(n)


_SHEET = re.compile(r"xl/worksheets/sheet(\d+)\.xml")
_COLS = re.compile(rb"<cols>.*?</cols>", re.S)


def set_column_widths(path: Path, widths: list[list[float]]) -> None:
    """Set the widths of the columns of each sheet (in workbook order) in a saved workbook:
    the file is copied entry by entry, each sheet's <cols> element (at its start) replaced and the
    rest of the sheet streamed through, so a large sheet is never held in memory."""
    tmp = path.with_name(path.name + ".cols")
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            m = _SHEET.fullmatch(info.filename)
            out = zipfile.ZipInfo(info.filename, info.date_time)
            out.compress_type = zipfile.ZIP_DEFLATED
            with src.open(info) as r, dst.open(out, "w", force_zip64=True) as w:
                if m and int(m.group(1)) <= len(widths):
                    head = b""
                    while b"</cols>" not in head and b"<sheetData" not in head:
                        chunk = r.read(1 << 16)
                        if not chunk:
                            break
                        head += chunk
                    cols = "".join(f'<col min="{i}" max="{i}" width="{width:g}" customWidth="1"/>'
                                   for i, width in enumerate(widths[int(m.group(1)) - 1], start=1))
                    w.write(_COLS.sub(f"<cols>{cols}</cols>".encode(), head, count=1))
                shutil.copyfileobj(r, w, 1 << 20)
    tmp.replace(path)


class TableSet:
    """Every table of an export in every chosen format: `row(table, values)` writes it to each."""

    def __init__(self, out_dir: Path, tables: tuple[Table, ...], formats: set[str], names: FileNames, book: str,
                 subtitle: str = "", csv_only: frozenset[str] = frozenset()) -> None:
        """The workbook is named after `book` ("<subject>-<book>-<date>.xlsx"), each CSV after its table's title."""
        self.files: list[Path] = []
        self._sinks: dict[str, list] = {t.name: [] for t in tables}
        self._book = None
        if "xlsx" in formats:
            self._book = XlsxBook(out_dir / names(book, "xlsx"), subtitle)
            self.files.append(self._book.path)
            for t in tables:
                if t.name not in csv_only:
                    self._sinks[t.name].append(self._book.sheet(t))
        if "csv" in formats:
            for t in tables:
                sink = CsvSink(out_dir / names(t.title, "csv"), t)
                self.files.append(sink.path)
                self._sinks[t.name].append(sink)

    def row(self, table: Table, values) -> None:
        for sink in self._sinks[table.name]:
            sink.row(values)

    def close(self) -> None:
        for sinks in self._sinks.values():
            for s in sinks:
                s.close()
        if self._book is not None:
            self._book.close()
