"""CSV and XLSX sinks that take one row at a time and keep nothing: CSV goes straight to its
file, XLSX through openpyxl's write-only mode (rows are serialised to a temp file as they come).

CSV is UTF-8 with a BOM so that Excel in China opens it as UTF-8, not GBK. XLSX keeps real cell
types (numbers, times), freezes the header, and sets A4 landscape, fit to width, header repeated
on every printed page."""
from __future__ import annotations

import csv
from datetime import datetime
from pathlib import Path

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font

from server.exports.tables import Table

#: A text cell starting with one of these is a formula to Excel (CSV) or to openpyxl (XLSX): a
#: trainee named "=HYPERLINK(...)" must stay a name.
FORMULA_START = ("=", "+", "-", "@")


def csv_value(v):
    if isinstance(v, datetime):
        return v.isoformat()  # with its +08:00, so nobody guesses the zone
    if isinstance(v, str) and v.startswith(FORMULA_START):
        return "'" + v  # OWASP's advice for CSV injection: Excel shows the text, runs nothing
    return v


class CsvSink:
    def __init__(self, path: Path, table: Table) -> None:
        self.path = path
        self._fh = open(path, "w", encoding="utf-8-sig", newline="")
        self._w = csv.writer(self._fh)
        self._w.writerow(table.header)

    def row(self, values) -> None:
        self._w.writerow([csv_value(v) for v in values])

    def close(self) -> None:
        self._fh.close()


class XlsxBook:
    """One write-only workbook; each table a sheet. Sheets may be appended to in any order
    (each write-only sheet has its own temp file)."""

    def __init__(self, path: Path, subtitle: str = "") -> None:
        self.path = path
        self.book = Workbook(write_only=True)
        self.subtitle = subtitle
        self._bold = Font(bold=True)
        self._wrap = Alignment(wrap_text=True, vertical="top")

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
        for i, name in enumerate(table.header):
            letter = _column_letter(i + 1)
            ws.column_dimensions[letter].width = max(8, min(40, len(name) * 2 + 2))
        header = []
        for name in table.header:
            c = WriteOnlyCell(ws, value=name)
            c.font = self._bold
            header.append(c)
        ws.append(header)
        return XlsxSink(ws)

    def close(self) -> None:
        self.book.save(self.path)


class XlsxSink:
    def __init__(self, ws) -> None:
        self.ws = ws

    def row(self, values) -> None:
        # Excel has no time zones: a time is written as Beijing wall time (the header says so);
        # openpyxl gives a datetime cell its date format itself.
        self.ws.append([v.replace(tzinfo=None) if isinstance(v, datetime)
                        else self._text(v) if isinstance(v, str) and v.startswith(FORMULA_START) else v for v in values])

    def _text(self, value: str) -> WriteOnlyCell:
        cell = WriteOnlyCell(self.ws, value=value)
        cell.data_type = "s"  # openpyxl would otherwise store it as a formula
        return cell

    def close(self) -> None:
        pass


def _column_letter(n: int) -> str:
    from openpyxl.utils import get_column_letter

    return get_column_letter(n)


class TableSet:
    """Every table of an export in every chosen format: `row(table, values)` writes it to each."""

    def __init__(self, out_dir: Path, tables: tuple[Table, ...], formats: set[str], stem: str, subtitle: str = "",
                 csv_only: frozenset[str] = frozenset()) -> None:
        self.files: list[Path] = []
        self._sinks: dict[str, list] = {t.name: [] for t in tables}
        self._book = None
        if "xlsx" in formats:
            self._book = XlsxBook(out_dir / f"{stem}.xlsx", subtitle)
            self.files.append(self._book.path)
            for t in tables:
                if t.name not in csv_only:
                    self._sinks[t.name].append(self._book.sheet(t))
        if "csv" in formats:
            for t in tables:
                sink = CsvSink(out_dir / f"{stem}-{t.name}.csv", t)
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
