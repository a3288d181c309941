"""Parse and validate an accounts + contacts CSV.

Pure: bytes and a few sets of e-mail addresses in, a `ParseResult` out. No database, no request, so every
rule here is tested without fixtures. The services layer feeds it the organization's CSMs and stores the
result; the commit step writes only what this module accepted.

The format, in one paragraph (the import page says the same to users):
one row per account, or one row per contact. An account with three contacts takes three rows that repeat
its account columns (a repeated row may leave an account cell empty; a filled one must agree with the other
rows of that account). `external_id` and `name` are required on every row; every other cell is optional and
an empty cell means "leave the current value unchanged" (for a new account: the default). Contacts are
matched on their e-mail within the account. Row numbers are spreadsheet rows: the header is row 1.
"""
from __future__ import annotations

import codecs
import csv
import datetime as dt
import difflib
import io
import re
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from .columns import (
    ACCOUNT,
    ARR_MAX_INTEGER_DIGITS,
    COLUMN_NAMES,
    COLUMNS,
    COLUMNS_BY_NAME,
    CONTACT,
    CONTACT_COLUMNS,
    DATE_RE,
    FALSE_WORDS,
    FORMULA_PREFIXES,
    GROUPED_NUMBER_RE,
    IGNORED_COLUMNS,
    MAX_ROWS,
    OTHER_DATE_RE,
    PLAIN_NUMBER_RE,
    PROGRESS_EVERY,
    REQUIRED_COLUMNS,
    TRUE_WORDS,
    WARNING,
    Column,
    Issue,
    ParsedRow,
    ParseResult,
)

# --- decoding -------------------------------------------------------------------------------------------

def looks_binary(head: bytes) -> str | None:
    """A reason why these first bytes are not a text CSV, or None. Used by the upload form and the parser."""
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return None  # UTF-16 text (Excel's "Unicode text") has NULs but is text; the decoder handles it
    if head.startswith(b"PK\x03\x04"):
        return "This is an Excel workbook (.xlsx) or a zip file, not a CSV. In Excel use File → Save as → CSV UTF-8."
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        return "This is an old Excel workbook (.xls), not a CSV. In Excel use File → Save as → CSV UTF-8."
    if head.startswith(b"%PDF"):
        return "This is a PDF, not a CSV."
    if b"\x00" in head:
        return "This file is binary, not a CSV text file. Export it as CSV UTF-8 and upload it again."
    return None


def decode(data: bytes) -> tuple[str | None, str, list[Issue]]:
    """(text, encoding name, file issues). UTF-8 with or without BOM is the format; UTF-16 with a BOM is read
    too; anything else is read as Windows-1252 (what Excel writes for "CSV" on Windows) with a warning."""
    reason = looks_binary(data[:8192])
    if reason:
        return None, "", [Issue(None, "", "", reason)]
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16"), "utf-16", []
        except UnicodeDecodeError:
            return None, "", [Issue(None, "", "", "The file starts like UTF-16 text but is not valid UTF-16. "
                                                  "Save it as CSV UTF-8 and upload it again.")]
    try:
        return data.decode("utf-8-sig"), "utf-8", []
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        try:
            text, encoding, label = data.decode("cp1252"), "cp1252", "Windows-1252"
        except UnicodeDecodeError:  # five bytes are undefined in Windows-1252; Latin-1 maps every byte
            text, encoding, label = data.decode("latin-1"), "latin-1", "Latin-1"
        warning = Issue(
            None, "", "",
            f"The file is not UTF-8 (first non-UTF-8 byte on line {line}); it was read as {label}. "
            "If accented letters look wrong, save the file as CSV UTF-8 and upload it again.",
            level=WARNING,
        )
        return text, encoding, [warning]

EMPTY_FILE = "The file is empty. Download the template to see the format."


def file_text(data: bytes, result) -> str | None:
    """The file's text, or None when there is none to read; the reasons (empty file, undecodable bytes) and the
    encoding go on ``result`` (anything with ``file_issues`` and ``encoding``)."""
    if not data.strip(b" \t\r\n\xef\xbb\xbf"):
        result.file_issues.append(Issue(None, "", "", EMPTY_FILE))
        return None
    text, result.encoding, issues = decode(data)
    result.file_issues.extend(issues)
    return text



def sniff_delimiter(text: str) -> str:
    """Comma, or semicolon/tab when the header line clearly uses those (European Excel, TSV exports)."""
    first_line = text.split("\n", 1)[0]
    counts = {d: first_line.count(d) for d in (",", ";", "\t")}
    best = max(counts, key=lambda d: (counts[d], d == ","))
    return best if counts[best] else ","


def canonical_column(name: str) -> str:
    return re.sub(r"[\s\-]+", "_", name.replace("\ufeff", "").strip().lower())


# --- cell validators: each returns (normalized value, None) or (None, message) ---------------------------

def _choice_lookup(choices: Iterable[tuple[str, str]]) -> dict[str, str]:
    lookup = {}
    for value, label in choices:
        for key in (value, label):
            lookup[key.lower()] = value
            lookup[canonical_column(key)] = value
    return lookup


_CHOICE_LOOKUPS = {c.name: _choice_lookup(c.choices) for c in COLUMNS if c.kind == "choice"}
_CHOICE_HELP = {
    c.name: ", ".join(f"{v} ({label})" if v != label.lower() else v for v, label in c.choices)
    for c in COLUMNS if c.kind == "choice"
}


def parse_decimal(value: str) -> tuple[str | None, str | None]:
    text = value.replace(" ", "")
    if text[:1] in "$€£":
        text = text[1:]
    if text.startswith("-"):
        return None, "ARR can't be negative."
    if text.startswith("+"):
        text = text[1:]
    if not (PLAIN_NUMBER_RE.match(text) or GROUPED_NUMBER_RE.match(text)):
        return None, "Not a number. Write ARR like 12500 or 12,500.50 (a dot for decimals)."
    try:
        number = Decimal(text.replace(",", ""))
    except InvalidOperation:  # pragma: no cover - the regexes only let decimal literals through
        return None, "Not a number."
    if number.as_tuple().exponent < -2 and number != number.quantize(Decimal("0.01")):
        return None, "ARR takes at most 2 decimal places."
    number = number.quantize(Decimal("0.01"))
    if number >= Decimal(10) ** ARR_MAX_INTEGER_DIGITS:
        return None, f"ARR is too large (at most {ARR_MAX_INTEGER_DIGITS} digits before the decimal point)."
    return str(number), None


def parse_date(value: str) -> tuple[str | None, str | None]:
    if DATE_RE.match(value):
        try:
            return dt.date.fromisoformat(value).isoformat(), None
        except ValueError:
            return None, "Not a real date (check the month and the day)."
    if OTHER_DATE_RE.match(value):
        return None, ("Write dates as YYYY-MM-DD, e.g. 2027-03-31: a date like 03/04/2027 means March 4 in "
                      "some countries and April 3 in others.")
    return None, "Not a date. Write dates as YYYY-MM-DD, e.g. 2027-03-31."


def parse_bool(value: str) -> tuple[bool | None, str | None]:
    word = value.lower()
    if word in TRUE_WORDS:
        return True, None
    if word in FALSE_WORDS:
        return False, None
    return None, "Write yes or no (true/false and 1/0 work too)."


# Django's e-mail validator is exact but slow for 100,000 cells: addresses matching this plain ASCII pattern
# (a strict subset of what Django accepts) pass at once, anything else gets Django's full check.
SIMPLE_EMAIL_RE = re.compile(
    r"^[a-z0-9!#$%&'*+/=?^_`{}|~-]+(\.[a-z0-9!#$%&'*+/=?^_`{}|~-]+)*"
    r"@(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$"
)


def parse_email(value: str) -> tuple[str | None, str | None]:
    email = value.lower()
    if len(email) <= 320 and SIMPLE_EMAIL_RE.match(email):
        return email, None
    try:
        validate_email(email)
    except ValidationError:
        return None, "Not a valid e-mail address."
    return email, None


def _clean_cell(cell: str) -> str:
    value = cell.strip()
    # Undo the apostrophe our own CSV exports put in front of formula-like text, so a downloaded file can be
    # fixed and uploaded again without growing apostrophes.
    if value[:1] == "'" and value[1:2] in FORMULA_PREFIXES and len(value) > 1:
        value = value[1:]
    return value


# --- the parser -----------------------------------------------------------------------------------------

@dataclass
class _Header:
    positions: dict[str, int]  # known column → index
    blank_positions: list[int]  # columns with no header name: must stay empty
    ignored_positions: list[int]


def _read_header(cells: list[str]) -> tuple[_Header, list[Issue]]:
    issues: list[Issue] = []
    positions: dict[str, int] = {}
    blank, ignored, unknown = [], [], []
    for index, cell in enumerate(cells):
        name = canonical_column(cell)
        if not name:
            blank.append(index)
        elif name in IGNORED_COLUMNS:
            ignored.append(index)
        elif name not in COLUMNS_BY_NAME:
            unknown.append((index, cell.strip()))
        elif name in positions:
            issues.append(Issue(None, name, cell.strip(),
                                f"Column '{name}' appears twice (columns {positions[name] + 1} and {index + 1})."))
        else:
            positions[name] = index
    accepted = ", ".join(COLUMN_NAMES)
    for index, original in unknown:
        close = difflib.get_close_matches(canonical_column(original), COLUMN_NAMES, n=1)
        hint = f" Did you mean '{close[0]}'?" if close else ""
        issues.append(Issue(None, original, original,
                            f"Unknown column '{original}' (column {index + 1}).{hint} Accepted columns: {accepted}."))
    for name in REQUIRED_COLUMNS:
        if name not in positions:
            issues.append(Issue(None, name, "", f"Missing required column '{name}'. Accepted columns: {accepted}."))
    present_contact = [n for n in CONTACT_COLUMNS if n in positions]
    if present_contact:
        for name in ("contact_name", "contact_email"):
            if name not in positions:
                issues.append(Issue(None, name, "",
                                    f"Missing column '{name}': contacts need both contact_name and contact_email "
                                    f"(the file has {', '.join(present_contact)})."))
    return _Header(positions, blank, ignored), issues


def _cell_validator(column: Column, owner_emails: frozenset[str], member_emails: frozenset[str]):
    """A function value → (normalized, None) or (None, message) for one column (text is checked inline)."""
    if column.kind == "email":
        return parse_email
    if column.kind == "decimal":
        return parse_decimal
    if column.kind == "date":
        return parse_date
    if column.kind == "bool":
        return parse_bool
    if column.kind == "choice":
        lookup, help_text = _CHOICE_LOOKUPS[column.name], _CHOICE_HELP[column.name]

        def parse_choice(value: str):
            normalized = lookup.get(value.lower()) or lookup.get(canonical_column(value))
            if normalized is None:
                return None, f"'{value}' is not a valid {column.name}. Use one of: {help_text}."
            return normalized, None

        return parse_choice
    if column.kind == "owner":
        def parse_owner(value: str):
            email = value.lower()
            if email in owner_emails:
                return email, None
            if email in member_emails:
                return None, (f"{email} is a member of this organization but not a CSM or manager; only CSMs "
                              "and managers can own accounts.")
            return None, (f"No active CSM or manager with the e-mail {email} in this organization. Invite them "
                          "first (Settings → Members) or fix the address.")

        return parse_owner
    raise ValueError(f"no validator for column kind {column.kind}")  # pragma: no cover


# Kinds whose cells repeat a lot (owners, tiers, dates…): each distinct value is checked once.
CACHED_KINDS = frozenset({"choice", "owner", "bool", "date", "decimal"})


def _parse_rows(records: list[tuple[int, list[str]]], header: _Header, width: int,
                owner_emails: frozenset[str], member_emails: frozenset[str]) -> list[ParsedRow]:
    """Validate column by column (a tight loop per column, cached checks for repetitive values): a 50,000-row
    file takes about a second instead of the several a cell-by-cell dispatch would."""
    rows = [ParsedRow(row=number, raw=cells) for number, cells in records]
    for row in rows:
        cells = row.raw
        if len(cells) > width and any(c.strip() for c in cells[width:]):
            extra = [c for c in cells[width:] if c.strip()]
            row.errors.append(Issue(row.row, "", ", ".join(extra),
                                    f"This row has {len(cells)} cells but the header has {width} columns. "
                                    "Is a comma inside a value missing its quotes?"))
        for index in header.blank_positions:
            if index < len(cells) and cells[index].strip():
                row.errors.append(Issue(row.row, f"column {index + 1}", cells[index].strip(),
                                        f"Column {index + 1} has no header name, so this value has nowhere to go."))
    contacts: list[dict] = [{} for _ in rows]
    for name, index in header.positions.items():
        column = COLUMNS_BY_NAME[name]
        values = [_clean_cell(cells[index]) if index < len(cells) else "" for _, cells in records]
        is_account = column.scope == ACCOUNT
        targets = [r.account for r in rows] if is_account else contacts
        model_field = column.field
        if not is_account:
            for row, value in zip(rows, values, strict=True):
                if value:
                    row.mentions_contact = True
        if column.kind == "text":
            limit = column.max_length
            for row, target, value in zip(rows, targets, values, strict=True):
                if not value:
                    if column.required:
                        row.errors.append(Issue(row.row, name, "", f"{name} is required.", scope=ACCOUNT))
                elif len(value) > limit:
                    row.errors.append(Issue(row.row, name, value,
                                            f"Too long: {len(value)} characters, the limit is {limit}.",
                                            scope=column.scope))
                else:
                    target[model_field] = value
            continue
        check = _cell_validator(column, owner_emails, member_emails)
        limit = column.max_length
        cache: dict[str, tuple] | None = {} if column.kind in CACHED_KINDS else None
        for row, target, value in zip(rows, targets, values, strict=True):
            if not value:
                continue
            if limit is not None and len(value) > limit:
                message = f"Too long: {len(value)} characters, the limit is {limit}."
                row.errors.append(Issue(row.row, name, value, message, scope=column.scope))
                continue
            if cache is None:
                normalized, message = check(value)
            else:
                result = cache.get(value)
                if result is None:
                    result = cache[value] = check(value)
                normalized, message = result
            if message:
                row.errors.append(Issue(row.row, name, value, message, scope=column.scope))
            else:
                target[model_field] = normalized
    for row, contact in zip(rows, contacts, strict=True):
        if not row.mentions_contact:
            continue
        failed = {e.column for e in row.errors}
        if "email" not in contact and "contact_email" not in failed:
            row.errors.append(Issue(row.row, "contact_email", "",
                                    "contact_email is required when the row has a contact "
                                    "(contacts are matched on their e-mail).", scope=CONTACT))
        if "name" not in contact and "contact_name" not in failed:
            row.errors.append(Issue(row.row, "contact_name", "", "contact_name is required when the row has a contact.",
                                    scope=CONTACT))
        row.contact = contact
    # Report lines of a row in column order, whatever order the checks above ran in.
    order = {name: i for i, name in enumerate(COLUMN_NAMES)}
    for row in rows:
        if len(row.errors) > 1:
            row.errors.sort(key=lambda e: order.get(e.column, -1))
    return rows


def _check_accounts_across_rows(rows: list[ParsedRow], positions: dict[str, int]) -> None:
    """Rows sharing an external_id describe one account: they must agree, and each repeat adds a contact."""

    def cell(row: ParsedRow, column: str) -> str:  # the value as typed, for the report
        index = positions.get(column)
        return _clean_cell(row.raw[index]) if index is not None and index < len(row.raw) else ""

    groups: dict[str, list[ParsedRow]] = {}
    for row in rows:
        external_id = row.account.get("external_id")
        if external_id is not None:
            groups.setdefault(external_id, []).append(row)
    column_of = {c.field: c.name for c in COLUMNS if c.scope == ACCOUNT}
    for external_id, members in groups.items():
        if len(members) == 1:
            continue
        seen: dict[str, tuple[str, int]] = {}
        emails: dict[str, int] = {}
        primary_row: int | None = None
        first = members[0]
        for row in members:
            for field_name, value in row.account.items():
                earlier = seen.get(field_name)
                if earlier is None:
                    seen[field_name] = (value, row.row)
                elif earlier[0] != value:
                    row.errors.append(Issue(
                        row.row, column_of[field_name], cell(row, column_of[field_name]),
                        f"Row {earlier[1]} has the same external_id with {column_of[field_name]} '{earlier[0]}'. "
                        "Rows of one account must carry the same account values (or leave them empty).",
                        scope=ACCOUNT))
            if row is not first and not row.mentions_contact:
                row.errors.append(Issue(
                    row.row, "external_id", external_id,
                    f"Duplicate external_id: {external_id} is already on row {first.row}. Repeat an account only "
                    "to add another contact (one contact per row)."))
            email = (row.contact or {}).get("email")
            if email:
                if email in emails:
                    row.errors.append(Issue(row.row, "contact_email", cell(row, "contact_email"),
                                            f"Contact {email} is already on row {emails[email]} for this account.",
                                            scope=CONTACT))
                else:
                    emails[email] = row.row
                if row.contact.get("is_primary"):
                    if primary_row is not None:
                        row.errors.append(Issue(
                            row.row, "contact_is_primary", cell(row, "contact_is_primary"),
                            f"Row {primary_row} already makes another contact of this account primary; "
                            "an account has one primary contact.", scope=CONTACT))
                    else:
                        primary_row = row.row
        # An account whose values are in doubt is not imported at all, not even from its clean rows.
        bad = next((e for r in members for e in r.errors if e.scope == ACCOUNT), None)
        if bad is not None:
            for row in members:
                if row.ok:
                    row.errors.append(Issue(row.row, "external_id", external_id,
                                            f"Not imported: account {external_id} has errors on row {bad.row}.",
                                            scope=ACCOUNT))


def parse_import(
    data: bytes,
    *,
    owner_emails: Collection[str],
    member_emails: Collection[str] = (),
    max_rows: int = MAX_ROWS,
    progress: Callable[[int], object] | None = None,
) -> ParseResult:
    """Parse and validate every row. Never raises on bad input: every problem becomes a report line.

    `owner_emails`: lower-case e-mails of the people who may own accounts (active CSMs and managers);
    `member_emails`: all active members, for a clearer message when someone is a member in another role."""
    result = ParseResult()
    text = file_text(data, result)
    if text is None:
        return result
    owner_emails = frozenset(e.lower() for e in owner_emails)
    member_emails = frozenset(e.lower() for e in member_emails)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sniff_delimiter(text))
    blank_rows: list[int] = []
    records: list[tuple[int, list[str]]] = []
    header: _Header | None = None
    width = 0
    row_number = 0
    try:
        for cells in reader:
            row_number += 1
            if header is None:
                if not any(c.strip() for c in cells):
                    blank_rows.append(row_number)
                    continue
                result.header = list(cells)
                width = len(cells)
                header, header_issues = _read_header(cells)
                result.file_issues.extend(header_issues)
                continue
            if not any(c.strip() for c in cells):
                blank_rows.append(row_number)
                continue
            if len(records) >= max_rows:
                result.file_issues.append(Issue(
                    None, "", "", f"The file has more than {max_rows:,} rows. Split it into smaller files."))
                break
            records.append((row_number, cells))
            if progress is not None and len(records) % PROGRESS_EVERY == 0:
                progress(PROGRESS_EVERY)
    except csv.Error as exc:
        result.file_issues.append(Issue(
            None, "", "", f"The file could not be read as CSV near row {row_number + 1} ({exc}). "
                          "Check for an unbalanced quote."))
    if header is None:
        result.file_issues.append(Issue(None, "", "", EMPTY_FILE))
        return result
    result.rows = _parse_rows(records, header, width, owner_emails, member_emails)
    if progress is not None:
        progress(len(records) % PROGRESS_EVERY)
    if not result.rows and not result.file_errors:
        result.file_issues.append(Issue(None, "", "", "The file has a header but no data rows."))
    if blank_rows:
        shown = ", ".join(str(n) for n in blank_rows[:10]) + ("…" if len(blank_rows) > 10 else "")
        result.file_issues.append(Issue(None, "", "", f"Skipped {len(blank_rows)} empty row(s): {shown}.",
                                        level=WARNING))
    _check_accounts_across_rows(result.rows, header.positions)
    return result


def template_rows(owner_email: str) -> tuple[list[str], list[list[str]]]:
    """The downloadable template: the header and two rows showing one account with two contacts."""
    account = ["ACME-001", "Acme Corporation", "acme.example", "Manufacturing", "Mid-market", "adopting", "EMEA",
               owner_email, "48000.00", "2027-03-31"]
    return list(COLUMN_NAMES), [
        [*account, "Jane Doe", "jane.doe@acme.example", "VP Operations", "champion", "yes"],
        [*account, "Sam Lee", "sam.lee@acme.example", "Operations analyst", "user", "no"],
    ]
