"""CSV import of contract lines: the renewals kind of the two-phase import (accounts/imports/kinds.py).

The flow, pages, report downloads and the `import_contracts` command are the accounts import's; this module
only knows the contract-lines format: its columns, how a row is checked (`parse_contracts`, phase 1: no
write) and how the valid rows are committed (`write_contracts`, phase 2: `contract_line_upsert_bulk` in
chunks of 5,000 — the API's one way in, so ARR is re-derived from the lines as there — then the renewals of
the accounts touched are synced, inside the import's single transaction).

The format in one paragraph (the import page says the same): one row per contract line. `external_id` is
the line's id in your billing system (the upsert key: a known id updates that line, a new one creates it);
the account is given by `account_external_id` or `account_id` (exactly one per row); the amount by `arr`
or `mrr` (exactly one; ARR = 12 × MRR). A row describes the whole line: an empty optional cell takes the
default (no end date = open-ended, quantity 1, annual billing, no auto-renew, 0 notice days, recurring,
the organization's currency). `end_date` is exclusive: the first day without service.
"""
from __future__ import annotations

import csv
import datetime as dt
import difflib
import io
import re
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from accounts.imports.columns import (
    FORMULA_PREFIXES,
    GROUPED_NUMBER_RE,
    IGNORED_COLUMNS,
    MAX_ROWS,
    PLAIN_NUMBER_RE,
    PROGRESS_EVERY,
    ROW,
    WARNING,
    Column,
    Issue,
    ParseResult,
)
from accounts.imports.kinds import ImportKind, register_import_kind
from accounts.imports.parsing import EMPTY_FILE, canonical_column, file_text, parse_bool, sniff_delimiter
from accounts.imports.parsing import parse_date as parse_date_text
from accounts.models import Account
from csops.tenancy.models import Organization

from .models import BillingPeriod, ContractLine
from .selectors import IN_CHUNK, chunked

KIND = "contracts"
MONEY_MAX_INTEGER_DIGITS = 12  # ContractLine.arr: max_digits=14, decimal_places=2
NOTICE_DAYS_MAX = 32_767
QUANTITY_MAX = 2_147_483_647


def _max_length(name: str) -> int:
    return ContractLine._meta.get_field(name).max_length


COLUMNS: tuple[Column, ...] = (
    Column("external_id", ROW, "external_id", "text", required=True, max_length=_max_length("external_id"),
           help="The line's id in your billing system or CRM. A known id updates that line; a new one creates it."),
    Column("account_external_id", ROW, "account_external_id", "text",
           help="The account's external_id (as in the accounts import). Give this or account_id."),
    Column("account_id", ROW, "account_id", "text",
           help="The account's id in CS Ops (a UUID), instead of its external_id."),
    Column("product", ROW, "product", "text", max_length=_max_length("product")),
    Column("plan", ROW, "plan", "text", max_length=_max_length("plan")),
    Column("start_date", ROW, "start_date", "date", required=True,
           help="First day of service, YYYY-MM-DD, e.g. 2026-01-01."),
    Column("end_date", ROW, "end_date", "date",
           help="First day WITHOUT service (exclusive): a 2026 calendar-year term ends 2027-01-01. "
                "Empty = open-ended."),
    Column("arr", ROW, "arr", "money",
           help="Annual recurring revenue of the line, e.g. 12000 or 12,000.50. Give arr or mrr."),
    Column("mrr", ROW, "mrr", "money", help="Monthly recurring revenue instead of arr (ARR = 12 × MRR)."),
    Column("quantity", ROW, "quantity", "int",
           help="Seats or units, a whole number (default 1). ARR is the line's total."),
    Column("billing_period", ROW, "billing_period", "choice", choices=tuple(BillingPeriod.choices),
           help="Default annual."),
    Column("auto_renew", ROW, "auto_renew", "bool", help="yes/no (default no)."),
    Column("notice_days", ROW, "notice_days", "int",
           help="Days before the end date by which a non-renewal notice is due (default 0)."),
    Column("is_recurring", ROW, "is_recurring", "bool",
           help="no for one-time fees and services (kept, but in no revenue metric). Default yes."),
    Column("currency", ROW, "currency", "text", max_length=3,
           help="ISO code; must be the organization's reporting currency (default)."),
)
COLUMNS_BY_NAME = {c.name: c for c in COLUMNS}
COLUMN_NAMES = tuple(c.name for c in COLUMNS)
REQUIRED_COLUMNS = tuple(c.name for c in COLUMNS if c.required)
_CHOICES = {c.name: {k for pair in c.choices for k in (pair[0], str(pair[1]).lower())} for c in COLUMNS if c.choices}


@dataclass
class ContractRow:
    """One data row: its cells as uploaded, the API row it becomes, and its problems."""

    row: int
    raw: list[str]
    values: dict = field(default_factory=dict)  # a contract_line_upsert_bulk row
    errors: list[Issue] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def error(self, column: str, value: str, message: str) -> None:
        self.errors.append(Issue(self.row, column, value, message))

    def as_dict(self, *, importable: bool = True) -> dict:
        if self.ok and importable:
            return {"row": self.row, "ok": True, "v": self.values}
        return {"row": self.row, "ok": False, "raw": self.raw}


# --- cells --------------------------------------------------------------------------------------------------

def _clean(cell: str) -> str:
    value = cell.strip()
    if value[:1] == "'" and value[1:2] in FORMULA_PREFIXES and len(value) > 1:
        value = value[1:]  # our own exports' formula guard, so a downloaded file can go back in as is
    return value


def parse_money(value: str, name: str) -> tuple[str | None, str | None]:
    """A non-negative amount with at most 2 decimals, as a plain decimal string ("12500.50")."""
    label = name.upper()
    text = value.replace(" ", "")
    if text[:1] in "$€£":
        text = text[1:]
    if text.startswith("-"):
        return None, f"{label} can't be negative."
    if not (PLAIN_NUMBER_RE.match(text) or GROUPED_NUMBER_RE.match(text)):
        return None, f"Not a number. Write {label} like 12500 or 12,500.50 (a dot for decimals)."
    try:
        amount = Decimal(text.replace(",", ""))
    except InvalidOperation:  # pragma: no cover - the regexes only let decimal literals through
        return None, "Not a number."
    if amount != amount.quantize(Decimal("0.01")):
        return None, f"{label} takes at most 2 decimal places."
    annual = amount * 12 if name == "mrr" else amount
    if annual >= Decimal(10) ** MONEY_MAX_INTEGER_DIGITS:
        return None, (f"{label} is too large (ARR has at most {MONEY_MAX_INTEGER_DIGITS} digits before the "
                      "decimal point).")
    return str(amount.quantize(Decimal("0.01"))), None


def parse_date(value: str) -> tuple[dt.date | None, str | None]:
    """The accounts import's date rule (YYYY-MM-DD only, with the same messages), as a date."""
    text, error = parse_date_text(value)
    return (dt.date.fromisoformat(text) if text else None), error


def parse_int(value: str, *, limit: int) -> tuple[int | None, str | None]:
    text = value.replace(",", "") if re.fullmatch(r"\d{1,3}(,\d{3})+", value) else value
    if not text.isdigit():
        return None, "Write a whole number of 0 or more, e.g. 25."
    number = int(text)
    if number > limit:
        return None, f"Too large: at most {limit:,}."
    return number, None


# --- the file -------------------------------------------------------------------------------------------------

def _read_header(cells: list[str]) -> tuple[dict[str, int], list[int], list[Issue]]:
    """(column → index, indexes of blank-named columns, file issues)."""
    positions: dict[str, int] = {}
    blank: list[int] = []
    issues: list[Issue] = []
    accepted = ", ".join(COLUMN_NAMES)
    for index, cell in enumerate(cells):
        name = canonical_column(cell)
        if not name:
            blank.append(index)
        elif name in IGNORED_COLUMNS:
            continue
        elif name not in COLUMNS_BY_NAME:
            close = difflib.get_close_matches(name, COLUMN_NAMES, n=1)
            hint = f" Did you mean '{close[0]}'?" if close else ""
            issues.append(Issue(None, cell.strip(), cell.strip(),
                                f"Unknown column '{cell.strip()}' (column {index + 1}).{hint} "
                                f"Accepted columns: {accepted}."))
        elif name in positions:
            issues.append(Issue(None, name, cell.strip(),
                                f"Column '{name}' appears twice (columns {positions[name] + 1} and {index + 1})."))
        else:
            positions[name] = index
    for name in REQUIRED_COLUMNS:
        if name not in positions:
            issues.append(Issue(None, name, "", f"Missing required column '{name}'. Accepted columns: {accepted}."))
    if "account_external_id" not in positions and "account_id" not in positions:
        issues.append(Issue(None, "account_external_id", "",
                            "Missing the account: add an account_external_id (or account_id) column."))
    if "arr" not in positions and "mrr" not in positions:
        issues.append(Issue(None, "arr", "", "Missing the amount: add an arr (or mrr) column."))
    return positions, blank, issues


def _records(text: str, result: ParseResult, max_rows: int, progress) -> tuple[list[str] | None, list]:
    """(header cells or None, [(row number, cells)]); blank rows skipped with a warning, CSV errors reported."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sniff_delimiter(text))
    header: list[str] | None = None
    records: list[tuple[int, list[str]]] = []
    blank_rows: list[int] = []
    number = 0
    try:
        for cells in reader:
            number += 1
            if not any(c.strip() for c in cells):
                blank_rows.append(number)
                continue
            if header is None:
                header = list(cells)
                continue
            if len(records) >= max_rows:
                result.file_issues.append(Issue(None, "", "", f"The file has more than {max_rows:,} rows. "
                                                              "Split it into smaller files."))
                break
            records.append((number, cells))
            if progress is not None and len(records) % PROGRESS_EVERY == 0:
                progress(PROGRESS_EVERY)
    except csv.Error as exc:
        result.file_issues.append(Issue(None, "", "", f"The file could not be read as CSV near row {number + 1} "
                                                      f"({exc}). Check for an unbalanced quote."))
    if progress is not None:
        progress(len(records) % PROGRESS_EVERY)
    if blank_rows:
        shown = ", ".join(str(n) for n in blank_rows[:10]) + ("…" if len(blank_rows) > 10 else "")
        result.file_issues.append(Issue(None, "", "", f"Skipped {len(blank_rows)} empty row(s): {shown}.",
                                        level=WARNING))
    return header, records


def _check_row(row: ContractRow, cells: dict[str, str], *, currency: str, cache: dict) -> None:
    """Fill row.values from the cells (column → cleaned text), or add its problems."""
    def cached(kind: str, value: str, check: Callable):
        key = (kind, value)
        if key not in cache:
            cache[key] = check(value)
        return cache[key]

    values = row.values
    for name in ("external_id", "product", "plan"):
        value, limit = cells.get(name, ""), COLUMNS_BY_NAME[name].max_length
        if len(value) > limit:
            row.error(name, value, f"Too long: {len(value)} characters, the limit is {limit}.")
        elif value:
            values[name] = value
    if not cells.get("external_id"):
        row.error("external_id", "", "external_id is required: it is how a later import finds this line again.")
    refs = [n for n in ("account_external_id", "account_id") if cells.get(n)]
    if len(refs) != 1:
        row.error(refs[-1] if refs else "account_external_id", cells.get(refs[-1], "") if refs else "",
                  "Give the account once: account_external_id or account_id." if refs
                  else "The account is required: give its account_external_id (or account_id).")
    elif refs[0] == "account_id":
        try:
            values["account_id"] = str(uuid.UUID(cells["account_id"]))
        except ValueError:
            row.error("account_id", cells["account_id"], "Not an account id (a UUID like 3f2b…-…).")
    else:
        values["account_external_id"] = cells["account_external_id"]
    dates = {}
    for name in ("start_date", "end_date"):
        if cells.get(name):
            day, message = cached("date", cells[name], parse_date)
            if message:
                row.error(name, cells[name], message)
            else:
                dates[name] = day
                values[name] = day.isoformat()
    if not cells.get("start_date"):
        row.error("start_date", "", "start_date is required (the first day of service).")
    if "start_date" in dates and "end_date" in dates and dates["end_date"] <= dates["start_date"]:
        row.error("end_date", cells["end_date"], "The end date is exclusive (the first day without service) and "
                                                 "must be after the start date.")
    amounts = [n for n in ("arr", "mrr") if cells.get(n)]
    recurring = True
    if cells.get("is_recurring"):
        flag, message = cached("bool", cells["is_recurring"], parse_bool)
        if message:
            row.error("is_recurring", cells["is_recurring"], message)
        else:
            recurring = values["is_recurring"] = flag
    if len(amounts) != 1:
        row.error("mrr" if amounts else "arr", cells.get("mrr", ""),
                  "Give the amount once: arr or mrr, not both." if amounts
                  else "The amount is required: give arr (or mrr).")
    else:
        name = amounts[0]
        amount, message = cached(name, cells[name], lambda v: parse_money(v, name))
        if message:
            row.error(name, cells[name], message)
        elif recurring and Decimal(amount) <= 0:
            row.error(name, cells[name], "A recurring line needs a positive amount; record free lines with "
                                         "is_recurring = no.")
        else:
            values[name] = amount
    for name, limit in (("quantity", QUANTITY_MAX), ("notice_days", NOTICE_DAYS_MAX)):
        if cells.get(name):
            number, message = cached(name, cells[name], lambda v, lim=limit: parse_int(v, limit=lim))
            if message:
                row.error(name, cells[name], message)
            else:
                values[name] = number
    if cells.get("billing_period"):
        period = cells["billing_period"].lower()
        if period not in _CHOICES["billing_period"]:
            row.error("billing_period", cells["billing_period"],
                      f"'{cells['billing_period']}' is not a billing period. Use one of: monthly, quarterly, annual.")
        else:
            values["billing_period"] = period
    if cells.get("auto_renew"):
        flag, message = cached("bool", cells["auto_renew"], parse_bool)
        if message:
            row.error("auto_renew", cells["auto_renew"], message)
        else:
            values["auto_renew"] = flag
    if cells.get("currency"):
        code = cells["currency"].upper()
        if code != currency:
            row.error("currency", cells["currency"],
                      f"Only the organization's reporting currency ({currency}) is supported; convert the "
                      "amount first.")
        else:
            values["currency"] = code


def _check_across_rows(rows: list[ContractRow], organization: Organization) -> None:
    """Each line once per file; every account named must exist in this organization (two lookups per 10k)."""
    by_id: dict[str, list[ContractRow]] = {}
    for row in rows:
        if row.values.get("external_id"):
            by_id.setdefault(row.values["external_id"], []).append(row)
    for external_id, same in by_id.items():
        if len(same) > 1:
            where = ", ".join(str(r.row) for r in same)
            for row in same:
                row.error("external_id", external_id, f"Line {external_id} is on rows {where}: give each line once.")
    ext_refs = sorted({r.values["account_external_id"] for r in rows if "account_external_id" in r.values})
    id_refs = sorted({r.values["account_id"] for r in rows if "account_id" in r.values})
    known_ext, known_ids = set(), set()
    for chunk in chunked(ext_refs, IN_CHUNK):
        known_ext.update(Account.objects.filter(external_id__in=chunk).values_list("external_id", flat=True))
    for chunk in chunked(id_refs, IN_CHUNK):
        known_ids.update(str(pk) for pk in Account.objects.filter(pk__in=chunk).values_list("pk", flat=True))
    for row in rows:
        ext, pk = row.values.get("account_external_id"), row.values.get("account_id")
        if ext is not None and ext not in known_ext:
            row.error("account_external_id", ext, f"No account with the external_id {ext} in this organization. "
                                                  "Import the account first (Accounts and contacts).")
        elif pk is not None and pk not in known_ids:
            row.error("account_id", pk, f"No account with the id {pk} in this organization.")


def parse_contracts(data: bytes, *, organization: Organization, progress=None, max_rows: int = MAX_ROWS) -> ParseResult:
    """Phase 1: read and check every row (never raises on bad input: every problem is a report line)."""
    result = ParseResult()
    text = file_text(data, result)
    if text is None:
        return result
    header, records = _records(text, result, max_rows, progress)
    if header is None:
        result.file_issues.append(Issue(None, "", "", EMPTY_FILE))
        return result
    result.header = header
    positions, blank, header_issues = _read_header(header)
    result.file_issues.extend(header_issues)
    width, cache = len(header), {}
    currency = organization.reporting_currency
    for number, cells in records:
        row = ContractRow(row=number, raw=cells)
        if len(cells) > width and any(c.strip() for c in cells[width:]):
            row.error("", ", ".join(c for c in cells[width:] if c.strip()),
                      f"This row has {len(cells)} cells but the header has {width} columns. Is a comma inside a "
                      "value missing its quotes?")
        for index in blank:
            if index < len(cells) and cells[index].strip():
                row.error(f"column {index + 1}", cells[index].strip(),
                          f"Column {index + 1} has no header name, so this value has nowhere to go.")
        _check_row(row, {n: _clean(cells[i]) if i < len(cells) else "" for n, i in positions.items()},
                   currency=currency, cache=cache)
        result.rows.append(row)
    if not result.rows and not result.file_errors:
        result.file_issues.append(Issue(None, "", "", "The file has a header but no data rows."))
    _check_across_rows(result.rows, organization)
    order = {name: i for i, name in enumerate(COLUMN_NAMES)}
    for row in result.rows:
        row.errors.sort(key=lambda e: order.get(e.column, -1))
    return result


# --- phase 2 --------------------------------------------------------------------------------------------------

def write_contracts(*, organization: Organization, actor, batch, rows: Sequence[dict], progress=None) -> dict:
    """Upsert the valid rows in chunks of MAX_UPSERT_ROWS, then sync the renewals of every account touched
    (before or after: a line can move between accounts). Inside the import's transaction: a row the upsert
    now refuses (an account deleted since the check…) rolls the whole import back."""
    from accounts.imports.services import ImportBlocked

    from .periods import org_today
    from .services import MAX_UPSERT_ROWS, contract_line_upsert_bulk, renewals_sync

    summary = {"created": 0, "updated": 0, "unchanged": 0, "accounts_arr_changed": 0}
    touched: set = set()
    done = 0
    for start in range(0, len(rows), MAX_UPSERT_ROWS):
        chunk = rows[start:start + MAX_UPSERT_ROWS]
        lines = [dict(r["v"]) for r in chunk]
        external_ids = [line["external_id"] for line in lines]
        for ids in chunked(external_ids, IN_CHUNK):
            touched.update(ContractLine.objects.filter(external_id__in=ids).values_list("account_id", flat=True))
        result = contract_line_upsert_bulk(organization=organization, actor=actor, rows=lines)
        if result.errors:
            first = result.errors[0]
            column = f" ({first.field})" if first.field else ""
            raise ImportBlocked(f"Row {chunk[first.row]['row']}{column}: {first.message} This changed since the file "
                                "was checked, so nothing was imported. Upload the file again to re-check it.")
        for key in summary:
            summary[key] += getattr(result, key)
        written = [pk for pk in result.line_ids if pk is not None]
        for ids in chunked(written, IN_CHUNK):
            touched.update(ContractLine.objects.filter(pk__in=ids).values_list("account_id", flat=True))
        done += len(chunk)
        if progress is not None:
            progress(done, len(rows))
    sync = renewals_sync(as_of=org_today(organization), account_ids=sorted(touched, key=str))
    summary.update(renewals_created=sync.created, renewals_updated=sync.updated,
                   renewals_removed=sync.removed + sync.orphaned, accounts=len(touched))
    return summary


def describe_contracts(summary: dict) -> str:
    return (
        f"{summary.get('created', 0):,} contract line(s) created, {summary.get('updated', 0):,} updated, "
        f"{summary.get('unchanged', 0):,} already up to date, on {summary.get('accounts', 0):,} account(s); "
        f"ARR re-derived from the lines changed on {summary.get('accounts_arr_changed', 0):,} account(s); "
        f"renewals: {summary.get('renewals_created', 0):,} created, {summary.get('renewals_updated', 0):,} "
        f"re-targeted, {summary.get('renewals_removed', 0):,} no longer due."
    )


def template_contracts(*, organization: Organization) -> tuple[list[str], list[list]]:
    """Two lines of one account: an annual subscription and a one-time onboarding fee."""
    currency = organization.reporting_currency
    return list(COLUMN_NAMES), [
        ["SUB-1001", "ACME-001", "", "Platform", "Business", "2026-01-01", "2027-01-01", "48000.00", "", "25",
         "annual", "yes", "60", "yes", currency],
        ["FEE-1001", "ACME-001", "", "Onboarding", "", "2026-01-01", "2026-02-01", "5000.00", "", "1", "annual",
         "no", "0", "no", currency],
    ]


def register() -> None:
    register_import_kind(ImportKind(
        key=KIND, label="Contract lines", title="Import contract lines", columns=COLUMNS,
        parse=parse_contracts, write=write_contracts, template=template_contracts, describe=describe_contracts,
        help_template="renewals/partials/_import_help_contracts.html",
    ))
