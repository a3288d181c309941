"""The three signal row formats and their checks. Pure: no database, no request.

One format serves the API (a JSON object per row) and the CSV import (a column per field): a value may be a
JSON number/boolean or the text a spreadsheet cell holds. `validate_rows` checks every field of every row,
column by column with cached checks for repetitive values (5,000 usage rows take a few milliseconds), and
returns the cleaned rows plus every problem found. What needs the database (does the account exist? is a
key repeated once accounts are resolved?) is checked by `accounts.signals.services.signals_prepare`.
"""
from __future__ import annotations

import datetime as dt
import math
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple

from accounts.imports.parsing import parse_email
from accounts.models import SURVEY_SCALES, SurveyKind, TicketPriority, TicketStatus

MAX_ROWS_PER_REQUEST = 5_000
USAGE, SURVEYS, TICKETS = "usage", "surveys", "tickets"
SIGNAL_KINDS = (USAGE, SURVEYS, TICKETS)

# How far in the future a date may be: a day of slack for time zones and clock skew, no more (usage "next
# week" or a survey answered tomorrow is a mistake in the feed).
FUTURE_SLACK = dt.timedelta(days=1)
COMMENT_MAX_LENGTH = 10_000

TRUE_WORDS = frozenset({"yes", "y", "true", "t", "1"})
FALSE_WORDS = frozenset({"no", "n", "false", "f", "0"})


@dataclass(frozen=True)
class Field:
    name: str
    kind: str  # uuid, text, date, datetime, number, integer, choice, bool, email
    required: bool = False
    max_length: int | None = None
    choices: tuple[tuple[str, str], ...] = ()
    help: str = ""


ACCOUNT_FIELDS = (
    Field("account_id", "uuid", help="The account's UUID in CS Ops. Give this or account_external_id."),
    Field("account_external_id", "text", max_length=100,
          help="The account's id in your CRM (its external_id). Give this or account_id."),
)
FIELDS: dict[str, tuple[Field, ...]] = {
    USAGE: (
        *ACCOUNT_FIELDS,
        Field("metric", "text", required=True, max_length=64,
              help="What was measured, e.g. active_users, licensed_seats, logins, or a key feature's events."),
        Field("date", "date", required=True, help="The day, YYYY-MM-DD (the organization's time zone)."),
        Field("value", "number", required=True, help="A number ≥ 0. Sent again for the same day, it corrects it."),
    ),
    SURVEYS: (
        Field("external_id", "text", required=True, max_length=100,
              help="The response's id in your survey tool. A response already received is ignored."),
        *ACCOUNT_FIELDS,
        Field("contact_id", "uuid", help="Optional: the contact's UUID (a contact of that account)."),
        Field("contact_email", "email", max_length=254,
              help="Optional: the contact's e-mail; matched to a contact of that account if there is one."),
        Field("kind", "choice", required=True, choices=tuple(SurveyKind.choices), help="nps, csat or ces."),
        Field("score", "integer", required=True, help="NPS 0–10, CSAT 1–5, CES 1–7."),
        Field("responded_at", "datetime", required=True,
              help="When the answer was given: ISO 8601 (2026-11-20T14:30:00Z) or a date."),
        Field("comment", "text", max_length=COMMENT_MAX_LENGTH, help="Optional free text."),
    ),
    TICKETS: (
        Field("external_id", "text", required=True, max_length=100,
              help="The ticket's id in your help desk. Sent again with changes it is updated."),
        *ACCOUNT_FIELDS,
        Field("subject", "text", max_length=300),
        Field("priority", "choice", choices=tuple(TicketPriority.choices), help="Default normal."),
        Field("status", "choice", choices=tuple(TicketStatus.choices), help="Default open."),
        Field("escalated", "bool", help="true/false (yes/no, 1/0). Default false."),
        Field("opened_at", "datetime", required=True, help="ISO 8601 (2026-11-20T14:30:00Z) or a date."),
        Field("closed_at", "datetime", help="Optional; not before opened_at."),
    ),
}
FIELD_NAMES = {kind: frozenset(f.name for f in fields) for kind, fields in FIELDS.items()}
# Optional fields a ticket row leaves out take these values: a row is the ticket's whole current state.
TICKET_DEFAULTS = {"subject": "", "priority": TicketPriority.NORMAL, "status": TicketStatus.OPEN,
                   "escalated": False, "closed_at": None}


class RowError(NamedTuple):
    row: int
    field: str | None  # None: the row as a whole
    message: str
    value: str = ""

    def as_dict(self) -> dict:
        return {"row": self.row, "field": self.field, "message": self.message}


# --- cell checks: value → (cleaned, None) or (None, message); None or "" never reaches them ----------------

def _text(value) -> str | None:
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)  # numeric ids in JSON
    return None


def check_uuid(value):
    text = _text(value)
    try:
        return uuid.UUID(text), None
    except (TypeError, ValueError, AttributeError):
        return None, "Not a valid UUID."


def check_date(value):
    text = _text(value)
    if text is None or len(text) != 10:
        return None, "Not a date. Write dates as YYYY-MM-DD, e.g. 2026-11-20."
    try:
        return dt.date.fromisoformat(text), None
    except ValueError:
        return None, "Not a real date: write YYYY-MM-DD and check the month and the day."


def check_number(value):
    kind = type(value)
    if (kind is float or kind is int) and 0 <= value < math.inf:
        return float(value), None  # the common case first
    if isinstance(value, bool):
        return None, "Must be a number ≥ 0, not true/false."
    if isinstance(value, int | float):
        number = float(value)
    else:
        text = _text(value)
        try:
            number = float(text) if text else math.nan
        except ValueError:
            number = math.nan
        if math.isnan(number):
            return None, "Not a number. Write it like 42 or 1234.5 (a dot for decimals, no thousands separator)."
    if not math.isfinite(number):
        return None, "Must be a finite number."
    if number < 0:
        return None, "Can't be negative."
    return number, None


def check_integer(value):
    if isinstance(value, bool):
        return None, "Must be a whole number, not true/false."
    if isinstance(value, float) and value.is_integer():
        return int(value), None
    if isinstance(value, int):
        return value, None
    text = _text(value)
    if text is not None and (text.isdigit() or (text[:1] == "-" and text[1:].isdigit())):
        return int(text), None
    return None, "Must be a whole number."


def check_bool(value):
    if isinstance(value, bool):
        return value, None
    if value in (0, 1):
        return bool(value), None
    word = _text(value)
    word = word.lower() if word else word
    if word in TRUE_WORDS:
        return True, None
    if word in FALSE_WORDS:
        return False, None
    return None, "Write true or false (yes/no and 1/0 work too)."


def check_email(value):
    text = _text(value)
    if text is None:
        return None, "Not a valid e-mail address."
    return parse_email(text)


def _choice_checker(field: Field):
    lookup = {}
    for value, label in field.choices:
        lookup[value] = lookup[value.lower()] = lookup[label.lower()] = value
    allowed = ", ".join(v for v, _ in field.choices)

    def check_choice(value):
        text = _text(value)
        found = lookup.get(text.lower()) if text is not None else None
        if found is None:
            return None, f"'{value}' is not a valid {field.name}. Use one of: {allowed}."
        return found, None

    return check_choice


def _datetime_checker(tz: dt.tzinfo):
    def check_datetime(value):
        text = _text(value)
        if not text:
            return None, "Not a date and time. Write ISO 8601, e.g. 2026-11-20T14:30:00Z, or a date."
        try:
            moment = dt.datetime.fromisoformat(text)
        except ValueError:
            return None, "Not a date and time. Write ISO 8601, e.g. 2026-11-20T14:30:00Z, or a date."
        if moment.tzinfo is None:  # a date, or a local time: the organization's time zone
            moment = moment.replace(tzinfo=tz)
        return moment, None

    return check_datetime


def _text_checker(field: Field):
    limit = field.max_length

    def check_text(value):
        text = _text(value)
        if text is None:
            return None, "Must be text."
        if "\x00" in text:
            return None, "Contains a NUL character (\\u0000), which can't be stored."
        if limit is not None and len(text) > limit:
            return None, f"Too long: {len(text)} characters, the limit is {limit}."
        return text, None

    return check_text


CACHED_KINDS = frozenset({"date", "datetime", "choice", "bool", "text", "uuid"})
CACHEABLE_TYPES = frozenset({str, int})  # (bool is not: True == 1 would share 1's cache entry)


def _checker(field: Field, tz: dt.tzinfo):
    if field.kind == "text":
        return _text_checker(field)
    if field.kind == "choice":
        return _choice_checker(field)
    if field.kind == "datetime":
        return _datetime_checker(tz)
    return {"uuid": check_uuid, "date": check_date, "number": check_number, "integer": check_integer,
            "bool": check_bool, "email": check_email}[field.kind]


def _shown(value) -> str:
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= 200 else text[:200] + "…"


def validate_rows(
    kind: str,
    rows: Sequence,
    *,
    numbers: Sequence[int] | None = None,
    tz: dt.tzinfo = dt.UTC,
    now: dt.datetime | None = None,
    unknown_fields_are_errors: bool = True,
) -> tuple[list[dict | None], list[RowError]]:
    """Check every field of every row. Returns (cleaned rows, errors): a cleaned row is a dict of field →
    Python value (the account as `account` = ("id", UUID) or ("external_id", str)), or None when the row
    has an error. `numbers` names the rows in errors (default: the index from 0)."""
    fields = FIELDS[kind]
    known = FIELD_NAMES[kind]
    numbers = range(len(rows)) if numbers is None else numbers
    now = now or dt.datetime.now(dt.UTC)
    errors: list[RowError] = []
    bad: set[int] = set()
    is_row = [type(row) is dict or isinstance(row, Mapping) for row in rows]
    mappings: list[Mapping] = [row if ok else {} for row, ok in zip(rows, is_row, strict=True)]
    for index, row in enumerate(rows):
        if not is_row[index]:
            errors.append(RowError(numbers[index], None, "Each row must be an object of field → value."))
            bad.add(index)
        elif unknown_fields_are_errors and not known.issuperset(row.keys()):
            for name in sorted(set(row.keys()) - known, key=str):
                errors.append(RowError(numbers[index], str(name), f"Unknown field '{name}'. Accepted: "
                                       f"{', '.join(f.name for f in fields)}."))
            bad.add(index)
    cleaned: list[dict] = [{} for _ in rows]
    for field in fields:
        name = field.name
        check = _checker(field, tz)
        cache: dict | None = {} if field.kind in CACHED_KINDS else None
        required = field.required
        for index, row in enumerate(mappings):
            value = row.get(name)
            if value is None or value == "":
                if required and is_row[index]:
                    errors.append(RowError(numbers[index], name, f"{name} is required."))
                    bad.add(index)
                continue
            if cache is not None and type(value) in CACHEABLE_TYPES:
                result = cache.get(value)
                if result is None:
                    result = cache[value] = check(value)
            else:
                result = check(value)
            if result[1] is None:
                cleaned[index][name] = result[0]
            else:
                errors.append(RowError(numbers[index], name, result[1], _shown(value)))
                bad.add(index)
    latest = now + FUTURE_SLACK
    limits = (latest, latest.date())
    for index, row in enumerate(cleaned):
        if not is_row[index]:
            continue
        failures = _check_row(kind, row, limits)
        if failures:
            raw = mappings[index]
            given = raw.get("account_id") not in (None, "") or raw.get("account_external_id") not in (None, "")
            for field_name, message, value in failures:
                if field_name == ACCOUNT_MISSING and given:
                    continue  # the reference given was invalid, and was reported with its field
                errors.append(RowError(numbers[index], field_name if field_name != ACCOUNT_MISSING else "account_id",
                                       message, value))
                bad.add(index)
    out: list[dict | None] = [None if i in bad else row for i, row in enumerate(cleaned)]
    if errors:
        order = {f.name: i for i, f in enumerate(fields)}
        errors.sort(key=lambda e: (e.row, order.get(e.field, -1)))
    return out, errors


ACCOUNT_MISSING = "(account)"


def _check_row(kind: str, row: dict, limits: tuple[dt.datetime, dt.date]) -> list[tuple[str, str, str]]:
    """Rules across fields of one row (the account reference, scales, dates in order, not in the future):
    the (field, message, value) failures, none in the common case. Moves the account to row["account"]."""
    failures = []
    account_id, external_id = row.pop("account_id", None), row.pop("account_external_id", None)
    if account_id is not None and external_id is not None:
        failures.append(("account_id", "Give the account as account_id or account_external_id, not both.", ""))
    elif account_id is not None:
        row["account"] = ("id", account_id)
    elif external_id is not None:
        row["account"] = ("external_id", external_id)
    else:
        failures.append((ACCOUNT_MISSING, "The account is required: give account_id (UUID) or "
                                          "account_external_id (CRM id).", ""))
    latest, latest_day = limits
    if kind == USAGE:
        day = row.get("date")
        if day is not None and day > latest_day:
            failures.append(("date", f"{day.isoformat()} is in the future.", day.isoformat()))
    elif kind == SURVEYS:
        survey_kind, score = row.get("kind"), row.get("score")
        if survey_kind is not None and score is not None:
            low, high = SURVEY_SCALES[survey_kind]
            if not low <= score <= high:
                failures.append(("score", f"{score} is outside the {survey_kind.upper()} scale ({low}–{high}).",
                                 str(score)))
        if row.get("contact_id") is not None and row.get("contact_email") is not None:
            failures.append(("contact_id", "Give the contact as contact_id or contact_email, not both.", ""))
        responded = row.get("responded_at")
        if responded is not None and responded > latest:
            failures.append(("responded_at", "The answer is dated in the future.", responded.isoformat()))
    elif kind == TICKETS:
        opened, closed = row.get("opened_at"), row.get("closed_at")
        if opened is not None and opened > latest:
            failures.append(("opened_at", "The ticket is dated in the future.", opened.isoformat()))
        if opened is not None and closed is not None and closed < opened:
            failures.append(("closed_at", "closed_at is before opened_at.", closed.isoformat()))
    return failures
