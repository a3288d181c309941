"""Reads for CSV imports. Run inside the tenant context (the managers scope every query)."""
from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import TypeVar

from django.db.models import CharField, QuerySet
from django.db.models.functions import Cast

from csops.tenancy.models import AuditEvent, Organization
from csops.tenancy.selectors import audit_events, organization_csms, organization_members

from ..models import Account, Contact, ImportBatch
from .columns import COLUMN_NAMES, REPORT_ERRORS_COLUMN, REPORT_ROW_COLUMN

# `__in` lists are sent in chunks: SQLite caps the number of SQL variables per statement (32,766 on any
# build since 3.32), and PostgreSQL plans huge literal lists badly. 10,000 ids keep a typical import to
# one query per lookup while a 50,000-row file stays at a handful.
IN_CHUNK = 10_000

T = TypeVar("T")


def chunked(items: Sequence[T], size: int = IN_CHUNK) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def import_batch_list() -> QuerySet[ImportBatch]:
    """Past imports for the history table, without their (possibly large) row payloads."""
    return ImportBatch.objects.select_related("created_by").defer("rows", "errors", "header")


def import_batch_get(*, batch_id, with_rows: bool = False) -> ImportBatch | None:
    qs = ImportBatch.objects.select_related("created_by")
    if not with_rows:
        qs = qs.defer("rows")
    return qs.filter(pk=batch_id).first()


def import_commit_event(*, batch: ImportBatch) -> AuditEvent | None:
    """The audit event of a committed batch: who confirmed it and its full summary."""
    return audit_events(object_type="importbatch", object_id=str(batch.pk)).filter(action="import.commit").first()


def import_owner_emails(*, organization: Organization) -> tuple[set[str], set[str]]:
    """(e-mails of people who may own accounts, e-mails of all active members): two queries."""
    owners = {e.lower() for e in organization_csms(organization=organization).values_list("email", flat=True)}
    members = {
        e.lower()
        for e in organization_members(organization=organization).filter(is_active=True)
        .values_list("user__email", flat=True)
    }
    return owners, members


def import_owner_ids(*, organization: Organization, emails: Iterable[str]) -> dict[str, int]:
    emails = sorted(set(emails))
    if not emails:
        return {}
    return {
        email.lower(): pk
        for email, pk in organization_csms(organization=organization).filter(email__in=emails)
        .values_list("email", "id")
    }


# What the upsert compares: plain values, not model instances (building 50,000 instances costs seconds).
# Ids come back as text (Cast), skipping the UUID conversion of every row: the import only hands them back
# to the database, whose fields accept the text form.
ACCOUNT_STATE_FIELDS = ("id", "external_id", "name", "domain", "industry", "tier", "lifecycle_stage", "region",
                        "owner_id", "arr", "renewal_date")
CONTACT_STATE_FIELDS = ("id", "account_id", "email", "name", "title", "role", "is_primary")


def _id_as_text(field: str) -> Cast:
    return Cast(field, CharField())


def account_states_by_external_id(*, external_ids: Sequence[str]) -> dict[str, dict]:
    """external_id → the account's current values (ACCOUNT_STATE_FIELDS), for the accounts that exist."""
    found: dict[str, dict] = {}
    for chunk in chunked(list(external_ids)):
        rows = (
            Account.objects.filter(external_id__in=chunk).order_by()
            .annotate(id_text=_id_as_text("id")).values_list("id_text", *ACCOUNT_STATE_FIELDS[1:])
        )
        for values in rows:
            state = dict(zip(ACCOUNT_STATE_FIELDS, values, strict=True))
            found[state["external_id"]] = state
    return found


def contact_states_of_accounts(*, account_ids: Sequence) -> list[dict]:
    """The current values (CONTACT_STATE_FIELDS) of every contact of these accounts."""
    contacts: list[dict] = []
    for chunk in chunked(list(account_ids)):
        rows = (
            Contact.objects.filter(account_id__in=chunk).order_by()
            .annotate(id_text=_id_as_text("id"), account_text=_id_as_text("account_id"))
            .values_list("id_text", "account_text", *CONTACT_STATE_FIELDS[2:])
        )
        contacts.extend(dict(zip(CONTACT_STATE_FIELDS, values, strict=True)) for values in rows)
    return contacts


def import_report_rows(*, batch: ImportBatch) -> tuple[list[str], list[list]]:
    """The report as a table: one line per problem (row, column, value, message, level)."""
    header = ["row", "column", "value", "message", "level"]
    rows = [[e["row"] if e["row"] is not None else "", e["column"], e["value"], e["message"], e.get("level", "error")]
            for e in batch.errors]
    return header, rows


def import_rejected_rows(*, batch: ImportBatch) -> tuple[list[str], list[list]]:
    """The rows that were not (or will not be) imported, with their original cells and what was wrong.

    The extra columns (import_row, import_errors) are ignored on upload, so the file can be fixed and
    uploaded again as it is."""
    source_header = list(batch.header) or list(COLUMN_NAMES)
    messages_by_row: dict[int, list[str]] = {}
    file_messages: list[str] = []
    for e in batch.errors:
        if e.get("level", "error") != "error":
            continue
        text = f"{e['column']}: {e['message']}" if e["column"] else e["message"]
        if e["row"] is None:
            file_messages.append(text)
        else:
            messages_by_row.setdefault(e["row"], []).append(text)
    width = len(source_header)
    out = []
    for row in batch.rows:
        if row.get("ok"):
            continue
        cells = list(row.get("raw", []))
        cells = cells + [""] * (width - len(cells)) if len(cells) < width else cells
        out.append([row["row"], *cells, "; ".join(file_messages + messages_by_row.get(row["row"], []))])
    return [REPORT_ROW_COLUMN, *source_header, REPORT_ERRORS_COLUMN], out
