"""The CSV formats of the signal imports (usage, survey responses, support tickets) and their reader.

A column per field of `accounts.signals.rows.FIELDS` (the API's row format, so a file and an API request are
checked by the same rules). Reading is pure: bytes in, the header's problems and the data rows out; the rows'
values (and the accounts they name) are checked by `accounts.signals.services.signals_prepare`.
`iter_signal_csv` reads a file of any size as a stream, in chunks, for the `import_signals` command.
"""
from __future__ import annotations

import csv
import difflib
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

from accounts.signals.rows import FIELDS, SURVEYS, TICKETS, USAGE

from .columns import ERROR, FORMULA_PREFIXES, IGNORED_COLUMNS, MAX_ROWS, Issue
from .parsing import EMPTY_FILE, canonical_column, file_text, sniff_delimiter

KIND_LABELS = {USAGE: "Product usage", SURVEYS: "Survey responses", TICKETS: "Support tickets"}
ACCOUNT_COLUMNS = ("account_id", "account_external_id")

TEMPLATES = {
    USAGE: [
        ["account_external_id", "metric", "date", "value"],
        ["ACME-001", "active_users", "2026-11-20", "42"],
        ["ACME-001", "licensed_seats", "2026-11-20", "50"],
        ["ACME-001", "logins", "2026-11-20", "133"],
    ],
    SURVEYS: [
        ["external_id", "account_external_id", "contact_email", "kind", "score", "responded_at", "comment"],
        ["resp-8812", "ACME-001", "jane.doe@acme.example", "nps", "9", "2026-11-20T14:30:00Z", "Great support"],
        ["resp-8813", "ACME-001", "sam.lee@acme.example", "csat", "4", "2026-11-21", ""],
    ],
    TICKETS: [
        ["external_id", "account_external_id", "subject", "priority", "status", "escalated", "opened_at", "closed_at"],
        ["ZD-10442", "ACME-001", "SSO login fails", "high", "open", "yes", "2026-11-19T09:12:00Z", ""],
        ["ZD-10390", "ACME-001", "Export question", "low", "solved", "no", "2026-11-10T15:00:00Z",
         "2026-11-11T10:00:00Z"],
    ],
}


def signal_columns(kind: str):
    """The columns of a signal CSV (name, required, choices, help, max_length), for the import page."""
    return FIELDS[kind]


def signal_template(kind: str) -> tuple[list[str], list[list[str]]]:
    header, *rows = TEMPLATES[kind]
    return header, rows


@dataclass
class SignalCsv:
    """A signal CSV read into memory (the import page's files, up to MAX_ROWS rows)."""

    header: list[str] = field(default_factory=list)
    numbers: list[int] = field(default_factory=list)  # spreadsheet row of each data row (the header is row 1)
    cells: list[dict] = field(default_factory=list)  # column → cell text (filled cells only)
    raw: list[list[str]] = field(default_factory=list)  # the row as uploaded, for the rejected-rows download
    file_issues: list[Issue] = field(default_factory=list)
    encoding: str = ""

    @property
    def file_errors(self) -> list[Issue]:
        return [i for i in self.file_issues if i.level == ERROR]


def _clean(cell: str) -> str:
    value = cell.strip()
    if value[:1] == "'" and value[1:2] in FORMULA_PREFIXES and len(value) > 1:
        value = value[1:]  # the apostrophe our own exports put before formula-like text
    return value


def read_header(kind: str, cells: list[str]) -> tuple[dict[str, int], list[Issue]]:
    """(column → position, problems with the header)."""
    names = [f.name for f in FIELDS[kind]]
    accepted = ", ".join(names)
    positions: dict[str, int] = {}
    issues: list[Issue] = []
    for index, cell in enumerate(cells):
        name = canonical_column(cell)
        if not name or name in IGNORED_COLUMNS:
            continue
        if name not in names:
            close = difflib.get_close_matches(name, names, n=1)
            hint = f" Did you mean '{close[0]}'?" if close else ""
            issues.append(Issue(None, cell.strip(), cell.strip(),
                                f"Unknown column '{cell.strip()}' (column {index + 1}).{hint} Accepted columns: "
                                f"{accepted}."))
        elif name in positions:
            issues.append(Issue(None, name, cell.strip(),
                                f"Column '{name}' appears twice (columns {positions[name] + 1} and {index + 1})."))
        else:
            positions[name] = index
    for f in FIELDS[kind]:
        if f.required and f.name not in positions:
            issues.append(Issue(None, f.name, "", f"Missing required column '{f.name}'. Accepted columns: {accepted}."))
    if not any(c in positions for c in ACCOUNT_COLUMNS):
        issues.append(Issue(None, "account_external_id", "",
                            "Missing the account column: add account_external_id (your CRM id) or account_id."))
    return positions, issues


def _row_cells(positions: dict[str, int], cells: list[str]) -> dict:
    width = len(cells)
    out = {}
    for name, index in positions.items():
        if index < width:
            value = _clean(cells[index])
            if value:
                out[name] = value
    return out


def _too_wide(number: int, cells: list[str], header_width: int) -> Issue | None:
    if len(cells) > header_width and any(c.strip() for c in cells[header_width:]):
        return Issue(number, "", ", ".join(c for c in cells[header_width:] if c.strip()),
                     f"This row has {len(cells)} cells but the header has {header_width} columns. Is a comma inside "
                     "a value missing its quotes?")
    return None


def read_signal_csv(kind: str, data: bytes, *, max_rows: int = MAX_ROWS) -> tuple[SignalCsv, list[Issue]]:
    """Read a whole (page-sized) file. Returns the rows and the row-level problems found while reading
    (a row wider than the header); never raises on bad input."""
    result = SignalCsv()
    row_issues: list[Issue] = []
    text = file_text(data, result)
    if text is None:
        return result, row_issues
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sniff_delimiter(text))
    positions: dict[str, int] | None = None
    number = 0
    try:
        for cells in reader:
            number += 1
            if not any(c.strip() for c in cells):
                continue
            if positions is None:
                result.header = list(cells)
                positions, header_issues = read_header(kind, cells)
                result.file_issues.extend(header_issues)
                continue
            if len(result.cells) >= max_rows:
                result.file_issues.append(Issue(None, "", "", f"The file has more than {max_rows:,} rows. Split it, "
                                                              "or use the import_signals command for big files."))
                break
            wide = _too_wide(number, cells, len(result.header))
            if wide is not None:
                row_issues.append(wide)
            result.numbers.append(number)
            result.cells.append(_row_cells(positions, cells))
            result.raw.append(cells)
    except csv.Error as exc:
        result.file_issues.append(Issue(None, "", "", f"The file could not be read as CSV near row {number + 1} "
                                                      f"({exc}). Check for an unbalanced quote."))
    if positions is None:
        result.file_issues.append(Issue(None, "", "", EMPTY_FILE))
    elif not result.cells and not result.file_errors:
        result.file_issues.append(Issue(None, "", "", "The file has a header but no data rows."))
    return result, row_issues


def iter_signal_csv(kind: str, stream: BinaryIO, *, chunk_size: int = 5_000,
                    encoding: str = "utf-8-sig") -> Iterator[tuple[list[int], list[dict], list[Issue]]]:
    """Stream a file of any size: yields (row numbers, rows as column → cell, row-level problems) per chunk of
    `chunk_size` data rows. A header problem raises ValueError with every problem in its message."""
    text = io.TextIOWrapper(stream, encoding=encoding, newline="")
    first = text.readline()
    delimiter = sniff_delimiter(first)
    reader = csv.reader(_chain_first(first, text), delimiter=delimiter)
    header = next(reader, None)
    if header is None:
        raise ValueError("The file is empty.")
    positions, issues = read_header(kind, header)
    if [i for i in issues if i.level == ERROR]:
        raise ValueError(" ".join(i.message for i in issues))
    numbers: list[int] = []
    rows: list[dict] = []
    problems: list[Issue] = []
    number = 1
    for cells in _rows_or_error(reader):
        number += 1
        if not any(c.strip() for c in cells):
            continue
        wide = _too_wide(number, cells, len(header))
        if wide is not None:
            problems.append(wide)
        numbers.append(number)
        rows.append(_row_cells(positions, cells))
        if len(rows) >= chunk_size:
            yield numbers, rows, problems
            numbers, rows, problems = [], [], []
    if rows or problems:
        yield numbers, rows, problems


def _rows_or_error(reader) -> Iterator[list[str]]:
    """The reader's rows; a CSV syntax error becomes a ValueError naming the line."""
    try:
        yield from reader
    except csv.Error as exc:
        raise ValueError(f"The file could not be read as CSV near line {reader.line_num} ({exc}). Check for an "
                         "unbalanced quote.") from exc


def _chain_first(first: str, rest) -> Iterator[str]:
    yield first
    yield from rest
