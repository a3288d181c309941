"""Writes of the customer signals: usage, survey responses, support tickets.

Two steps, set-wise:
1. `signals_prepare` checks every row (formats, scales, dates, the account and contact each row names, keys
   repeated within the batch): the accounts of 5,000 rows are resolved in one query. It returns the rows
   ready to write, or every problem found.
2. `usage_ingest`, `surveys_ingest`, `tickets_ingest` write prepared rows in one transaction with one
   INSERT … ON CONFLICT per 5,000 rows (upsert.py), and return how many rows were created, updated and
   unchanged. Idempotent: sending the same rows again changes nothing.
   - usage: the key is (account, metric, date); a new value corrects the day, the same value is ignored;
   - surveys: the key is external_id; a response already received is ignored (answers don't change);
   - tickets: the key is external_id; a ticket sent again with changes is updated, unchanged is ignored
     (a row is the ticket's whole state: optional fields left out take their defaults).
   After the commit, one health recompute task is enqueued for the accounts whose signals changed.

`signals_ingest` does both for one API request: all rows are written, or (any invalid row) none.
`signals_ingest_chunks` does both for a file too big for memory, chunk by chunk, in one transaction.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from csops.tenancy.context import tenant_context
from csops.tenancy.models import Organization
from csops.tenancy.services import Actor, audit_record

from ..models import SupportTicket, SurveyResponse, UsageRecord
from .rows import SURVEYS, TICKET_DEFAULTS, TICKETS, USAGE, RowError, validate_rows
from .selectors import signal_accounts_resolve, signal_contacts_resolve
from .upsert import upsert

RECOMPUTE_ACCOUNTS_PER_TASK = 5_000


class SignalRowsInvalid(ValidationError):
    """Some rows are invalid, so nothing was written. `row_errors` lists every problem."""

    def __init__(self, row_errors: list[RowError]):
        self.row_errors = row_errors
        rows = len({e.row for e in row_errors})
        super().__init__(f"{rows} row(s) have errors, so nothing was written. Fix them and send the rows again.")


@dataclass
class IngestResult:
    kind: str
    received: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    account_ids: set = field(default_factory=set)  # accounts whose signals changed

    def add(self, other: IngestResult) -> None:
        self.received += other.received
        self.created += other.created
        self.updated += other.updated
        self.unchanged += other.unchanged
        self.account_ids |= other.account_ids

    def as_dict(self) -> dict:
        return {"received": self.received, "created": self.created, "updated": self.updated,
                "unchanged": self.unchanged, "accounts_changed": len(self.account_ids)}


# --- 1. checks -----------------------------------------------------------------------------------------------

def signals_prepare(
    *,
    kind: str,
    organization: Organization,
    rows: Sequence,
    numbers: Sequence[int] | None = None,
    now: dt.datetime | None = None,
    unknown_fields_are_errors: bool = True,
) -> tuple[list[dict | None], list[RowError]]:
    """(prepared rows — None for an invalid one —, every problem) for `rows` (dicts of field → value, as the
    API receives them or a CSV row reads). Reads only: one query for the accounts, two more for surveys'
    contacts. Runs in the organization's tenant context."""
    numbers = list(range(len(rows))) if numbers is None else list(numbers)
    with tenant_context(organization):
        cleaned, errors = validate_rows(kind, rows, numbers=numbers, tz=organization.tzinfo, now=now,
                                        unknown_fields_are_errors=unknown_fields_are_errors)
        _resolve_accounts(cleaned, numbers, errors)
        if kind == SURVEYS:
            _resolve_contacts(cleaned, numbers, errors)
        _reject_repeated_keys(kind, cleaned, numbers, errors)
    if errors:
        errors.sort(key=lambda e: e.row)
    return cleaned, errors


def _resolve_accounts(cleaned: list, numbers: Sequence[int], errors: list[RowError]) -> None:
    refs = [row["account"] for row in cleaned if row is not None]
    by_id, by_external = signal_accounts_resolve(
        ids=[value for how, value in refs if how == "id"],
        external_ids=[value for how, value in refs if how == "external_id"],
    )
    for index, row in enumerate(cleaned):
        if row is None:
            continue
        how, value = row.pop("account")
        account_id = (by_id if how == "id" else by_external).get(value)
        if account_id is None:
            name = "account_id" if how == "id" else "account_external_id"
            errors.append(RowError(numbers[index], name, f"No account with {name} {value} in this organization.",
                                   str(value)))
            cleaned[index] = None
        else:
            row["account_id"] = account_id


def _resolve_contacts(cleaned: list, numbers: Sequence[int], errors: list[RowError]) -> None:
    rows = [r for r in cleaned if r is not None]
    by_id, by_email = signal_contacts_resolve(
        ids=[r["contact_id"] for r in rows if r.get("contact_id")],
        account_emails=[(r["account_id"], r["contact_email"]) for r in rows if r.get("contact_email")],
    )
    for index, row in enumerate(cleaned):
        if row is None:
            continue
        contact_id, email = row.get("contact_id"), row.pop("contact_email", None)
        if contact_id is not None:
            owner = by_id.get(contact_id)
            if owner is None:
                errors.append(RowError(numbers[index], "contact_id",
                                       f"No contact with id {contact_id} in this organization.", str(contact_id)))
                cleaned[index] = None
            elif owner != row["account_id"]:
                errors.append(RowError(numbers[index], "contact_id",
                                       f"Contact {contact_id} belongs to another account.", str(contact_id)))
                cleaned[index] = None
        else:
            # An e-mail that matches no contact of the account is fine: the answer is kept without a contact.
            row["contact_id"] = by_email.get((row["account_id"], email)) if email else None


def _reject_repeated_keys(kind: str, cleaned: list, numbers: Sequence[int], errors: list[RowError]) -> None:
    """A key twice in one batch is ambiguous (which value wins?) and would make one statement touch a row
    twice: both rows are reported."""
    first: dict = {}
    usage = kind == USAGE
    name = "metric" if usage else "external_id"
    for index, row in enumerate(cleaned):
        if row is None:
            continue
        # The account's id as an int: hashing a UUID object calls Python code, 5,000 times per request.
        key = (row["account_id"].int, row["metric"], row["date"]) if usage else row["external_id"]
        earlier = first.setdefault(key, index)
        if earlier != index:
            what = (f"{row['metric']} on {row['date'].isoformat()} for this account" if usage
                    else f"external_id {row['external_id']}")
            errors.append(RowError(numbers[index], name, f"Duplicate: {what} is already on row {numbers[earlier]}.",
                                   str(row[name])))
            cleaned[index] = None


# --- 2. writes ----------------------------------------------------------------------------------------------

def _finish(result: IngestResult, touched: dict, *, organization: Organization, actor: Actor | None,
            recompute: bool) -> IngestResult:
    result.created = sum(created for created, _ in touched.values())
    result.updated = sum(changed for _, changed in touched.values())
    result.unchanged = result.received - result.created - result.updated
    result.account_ids = set(touched)
    if actor is not None:
        audit_record(actor=actor, action=f"signals.{result.kind}_ingest", obj=organization, after=result.as_dict())
    if recompute:
        signals_recompute_enqueue(organization=organization, account_ids=result.account_ids)
    return result


def signals_recompute_enqueue(*, organization: Organization, account_ids: Iterable) -> None:
    """After the commit, recompute the health of these accounts: one task per request (per 5,000 accounts)."""
    from health.tasks import health_recompute_accounts

    ids = sorted(str(pk) for pk in account_ids)
    for start in range(0, len(ids), RECOMPUTE_ACCOUNTS_PER_TASK):
        health_recompute_accounts.delay_on_commit(organization.id, ids[start:start + RECOMPUTE_ACCOUNTS_PER_TASK])


def usage_ingest(*, organization: Organization, actor: Actor | None, rows: list[dict],
                 recompute: bool = True) -> IngestResult:
    """Upsert prepared usage rows on (account, metric, date): a changed value corrects the day."""
    now = timezone.now()
    with tenant_context(organization), transaction.atomic():
        touched = upsert(UsageRecord, {
            "account_id": [r["account_id"] for r in rows],
            "metric": [r["metric"] for r in rows],
            "date": [r["date"] for r in rows],
            "value": [r["value"] for r in rows],
            "received_at": [now] * len(rows),
        }, conflict=("account_id", "metric", "date"), update=("value",), compare=("value",), touch=("received_at",))
        return _finish(IngestResult(USAGE, received=len(rows)), touched, organization=organization, actor=actor,
                       recompute=recompute)


def surveys_ingest(*, organization: Organization, actor: Actor | None, rows: list[dict],
                   recompute: bool = True) -> IngestResult:
    """Insert prepared survey responses; one whose external_id was already received is ignored."""
    now = timezone.now()
    with tenant_context(organization), transaction.atomic():
        touched = upsert(SurveyResponse, {
            "external_id": [r["external_id"] for r in rows],
            "account_id": [r["account_id"] for r in rows],
            "contact_id": [r.get("contact_id") for r in rows],
            "kind": [r["kind"] for r in rows],
            "score": [r["score"] for r in rows],
            "responded_at": [r["responded_at"] for r in rows],
            "comment": [r.get("comment") or "" for r in rows],
            "received_at": [now] * len(rows),
        }, conflict=("external_id",))
        return _finish(IngestResult(SURVEYS, received=len(rows)), touched, organization=organization, actor=actor,
                       recompute=recompute)


TICKET_FIELDS = ("account_id", "subject", "priority", "status", "escalated", "opened_at", "closed_at")


def tickets_ingest(*, organization: Organization, actor: Actor | None, rows: list[dict],
                   recompute: bool = True) -> IngestResult:
    """Upsert prepared tickets on external_id: changed ones are updated, unchanged ones ignored."""
    now = timezone.now()
    columns = {"external_id": [r["external_id"] for r in rows]}
    for name in TICKET_FIELDS:
        default = TICKET_DEFAULTS.get(name)
        columns[name] = [r.get(name, default) if r.get(name) is not None else default for r in rows]
    columns["received_at"] = [now] * len(rows)
    columns["updated_at"] = [now] * len(rows)
    with tenant_context(organization), transaction.atomic():
        touched = upsert(SupportTicket, columns, conflict=("external_id",), update=TICKET_FIELDS,
                         compare=TICKET_FIELDS, touch=("updated_at",))
        return _finish(IngestResult(TICKETS, received=len(rows)), touched, organization=organization, actor=actor,
                       recompute=recompute)


INGESTERS: dict[str, Callable[..., IngestResult]] = {
    USAGE: usage_ingest, SURVEYS: surveys_ingest, TICKETS: tickets_ingest,
}


def signals_ingest(*, kind: str, organization: Organization, actor: Actor, rows: Sequence) -> IngestResult:
    """Check every row, then write them all in one transaction; with any invalid row raise SignalRowsInvalid
    (every problem, nothing written)."""
    prepared, errors = signals_prepare(kind=kind, organization=organization, rows=rows)
    if errors:
        raise SignalRowsInvalid(errors)
    return INGESTERS[kind](organization=organization, actor=actor, rows=prepared)


def signals_ingest_chunks(
    *,
    kind: str,
    organization: Organization,
    actor: Actor,
    chunks: Iterable[tuple[Sequence[int], Sequence]],
    only_valid: bool = False,
    progress: Callable[[int], object] | None = None,
) -> IngestResult:
    """Check and write (row numbers, rows) chunks in ONE transaction: a file of millions of rows is written
    whole or not at all, without holding it in memory. An invalid row rolls everything back with
    SignalRowsInvalid, unless `only_valid` (invalid rows are then left out). Repeated keys are caught within
    a chunk; across chunks the later row is an ordinary re-send. One audit event; recompute after commit."""
    total = IngestResult(kind)
    write = INGESTERS[kind]
    with tenant_context(organization), transaction.atomic():
        for numbers, rows in chunks:
            prepared, errors = signals_prepare(kind=kind, organization=organization, rows=rows, numbers=numbers,
                                               unknown_fields_are_errors=False)
            if errors and not only_valid:
                raise SignalRowsInvalid(errors)
            valid = [r for r in prepared if r is not None]
            if valid:
                total.add(write(organization=organization, actor=None, rows=valid, recompute=False))
            if progress is not None:
                progress(len(rows))
        audit_record(actor=actor, action=f"signals.{kind}_import", obj=organization, after=total.as_dict())
        signals_recompute_enqueue(organization=organization, account_ids=total.account_ids)
    return total
