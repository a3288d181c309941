"""Writes of the CSV import, in two phases.

1. `import_validate` parses and checks every row and stores the result as an ImportBatch (status
   VALIDATED): nothing else changes.
2. `import_commit` writes what was validated in ONE transaction: accounts upserted on external_id,
   contacts upserted on (account, e-mail), owner history and open tasks following owner changes, one
   audit event. Or `import_discard` drops it.

The write path uses a constant number of queries per few thousand rows (chunked lookups, bulk INSERT and
UPDATE statements, see bulk.py), never one per row.
"""
from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from collections.abc import Callable
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from csops.tenancy.context import tenant_context
from csops.tenancy.models import Organization
from csops.tenancy.services import Actor, audit_record

from ..models import Account, Contact, ContactRole, ImportBatch, ImportStatus, OwnerAssignment
from .bulk import insert_rows, large_write_cache, update_rows
from .columns import ERROR, stored_values
from .kinds import ACCOUNTS, import_kind
from .parsing import parse_import
from .selectors import (
    account_states_by_external_id,
    chunked,
    contact_states_of_accounts,
    import_owner_emails,
    import_owner_ids,
)

WRITE_BATCH = 5_000  # rows per write call (progress is reported between calls)
CONTACT_FIELDS = ("name", "title", "role", "is_primary")


class ImportBlocked(ValidationError):
    """The batch cannot be committed (or discarded) in its current state; the message says why."""


def _file_errors(batch: ImportBatch) -> list[dict]:
    return [e for e in batch.errors if e["row"] is None and e.get("level", ERROR) == ERROR]


def import_blocking_reason(batch: ImportBatch, *, only_valid_rows: bool = False) -> str | None:
    """Why `import_commit` would refuse this batch, or None. Views and the command ask it too."""
    if batch.status == ImportStatus.COMMITTED:
        when = timezone.localtime(batch.committed_at).strftime("%Y-%m-%d %H:%M") if batch.committed_at else ""
        return f"This file was already imported{' on ' + when if when else ''}. Upload it again to re-import it."
    if batch.status == ImportStatus.DISCARDED:
        return "This import was discarded. Upload the file again to import it."
    if _file_errors(batch):
        return "The file has problems that block the whole import (see the report). Fix them and upload it again."
    if batch.valid_rows == 0:
        return "There are no valid rows to import."
    if batch.error_rows and not only_valid_rows:
        return (f"{batch.error_rows} row(s) have errors, so nothing was imported. Fix them and upload the file "
                f"again, or choose to import only the {batch.valid_rows} valid row(s).")
    return None


def import_validate(
    *,
    organization: Organization,
    actor: Actor,
    file_name: str,
    data: bytes,
    progress: Callable[[int], object] | None = None,
    kind: str = ACCOUNTS,
) -> ImportBatch:
    """Phase 1: parse and validate every row of `data` into a VALIDATED ImportBatch with its report.

    `kind` names the file's format (kinds.py; default accounts + contacts). `progress(n)` is called as rows
    are parsed (n = rows since the last call)."""
    import_kind_ = import_kind(kind)
    if import_kind_ is None:
        raise ImportBlocked(f"Unknown kind of import: {kind!r}.")
    with tenant_context(organization):
        # Parsing happens outside the transaction: on SQLite a write transaction locks the database.
        if import_kind_.parse is not None:
            result = import_kind_.parse(data, organization=organization, progress=progress)
        else:
            owners, members = import_owner_emails(organization=organization)
            result = parse_import(data, owner_emails=owners, member_emails=members, progress=progress)
        importable = not result.file_errors
        with transaction.atomic():
            batch = ImportBatch.objects.create(
                kind=import_kind_.key,
                file_name=(file_name or "upload.csv")[:255],
                created_by=actor.user,
                status=ImportStatus.VALIDATED,
                total_rows=result.total_rows,
                valid_rows=result.valid_rows,
                error_rows=result.error_rows,
                header=result.header,
                rows=[r.as_dict(importable=importable) for r in result.rows],
                errors=[i.as_dict() for i in result.issues],
            )
            audit_record(actor=actor, action="import.validate", obj=batch, after={
                "kind": batch.kind, "file_name": batch.file_name, "encoding": result.encoding,
                "total_rows": batch.total_rows,
                "valid_rows": batch.valid_rows, "error_rows": batch.error_rows,
            })
    return batch


def _rejected_rows_only(batch: ImportBatch) -> list[dict]:
    """Once a batch is settled, only the rejected rows are worth keeping (for the download)."""
    return [r for r in batch.rows if not r.get("ok")]


def import_commit(
    *,
    batch: ImportBatch,
    actor: Actor,
    only_valid_rows: bool = False,
    progress: Callable[[int, int], object] | None = None,
) -> ImportBatch:
    """Phase 2: write the validated rows in one transaction and return the committed batch.

    Raises ImportBlocked (a ValidationError) when the batch has errors and `only_valid_rows` is False, when
    the file as a whole is invalid, or when the batch was already committed or discarded.
    `progress(done, total)` reports written objects."""
    organization = Organization.objects.get(pk=batch.organization_id)
    try:
        with tenant_context(organization), transaction.atomic():
            locked = ImportBatch.objects.select_for_update().filter(pk=batch.pk).first()
            if locked is None:
                raise ImportBlocked("This import no longer exists.")
            reason = import_blocking_reason(locked, only_valid_rows=only_valid_rows)
            if reason:
                raise ImportBlocked(reason)
            rows = [r for r in locked.rows if r.get("ok")]
            kind = import_kind(locked.kind)
            if kind is None:
                raise ImportBlocked(f"This kind of import ({locked.kind}) is not available any more.")
            if kind.write is not None:
                summary = kind.write(organization=organization, actor=actor, batch=locked, rows=rows,
                                     progress=progress)
                created, updated = summary["created"], summary["updated"]
            else:
                with large_write_cache():
                    summary = _write_rows(organization=organization, actor=actor, batch=locked, rows=rows,
                                          progress=progress)
                created, updated = summary["accounts_created"], summary["accounts_updated"]
            locked.status = ImportStatus.COMMITTED
            locked.committed_at = timezone.now()
            locked.only_valid_rows = bool(only_valid_rows and locked.error_rows)
            locked.created_count = created
            locked.updated_count = updated
            locked.contacts_created = summary.get("contacts_created", 0)
            locked.contacts_updated = summary.get("contacts_updated", 0)
            locked.rows = _rejected_rows_only(locked)
            locked.save(update_fields=[
                "status", "committed_at", "only_valid_rows", "created_count", "updated_count", "contacts_created",
                "contacts_updated", "rows",
            ])
            audit_record(actor=actor, action="import.commit", obj=locked, after={
                "kind": locked.kind, "file_name": locked.file_name, "imported_rows": len(rows),
                "rejected_rows": locked.error_rows,
                **summary,
            })
    except IntegrityError as exc:
        # Someone created one of these accounts or contacts while this import was writing (the database's
        # unique constraints caught it). The transaction rolled back as a whole.
        raise ImportBlocked("These accounts or contacts changed while the import was writing, so nothing was "
                            "imported. Upload the file again to re-check it.") from exc
    return locked


def import_discard(*, batch: ImportBatch, actor: Actor) -> ImportBatch:
    """Drop a validated batch: nothing is imported; its report (and rejected rows) stay readable."""
    organization = Organization.objects.get(pk=batch.organization_id)
    with tenant_context(organization), transaction.atomic():
        locked = ImportBatch.objects.select_for_update().filter(pk=batch.pk).first()
        if locked is None:
            raise ImportBlocked("This import no longer exists.")
        if locked.status == ImportStatus.COMMITTED:
            raise ImportBlocked("This file was already imported; there is nothing to discard.")
        if locked.status == ImportStatus.DISCARDED:
            return locked
        locked.status = ImportStatus.DISCARDED
        locked.rows = _rejected_rows_only(locked)
        locked.save(update_fields=["status", "rows"])
        audit_record(actor=actor, action="import.discard", obj=locked, after={"file_name": locked.file_name})
    return locked


# --- the write path --------------------------------------------------------------------------------------

def _group_by_account(rows: list[dict]) -> dict[str, dict]:
    """external_id → {"account": merged account cells, "contacts": [contact cells]} (the parser has checked
    that the rows of one account agree, so merging just fills in cells left empty on some rows)."""
    groups: dict[str, dict] = {}
    for row in rows:
        account, contact = stored_values(row)
        group = groups.get(account["external_id"])
        if group is None:
            group = groups[account["external_id"]] = {"account": account, "contacts": []}
        else:
            for key, value in account.items():
                group["account"].setdefault(key, value)
        if contact:
            group["contacts"].append(contact)
    return groups


def _account_values(cells: dict, owner_ids: dict[str, int]) -> dict:
    """Parsed cells → model attribute values (only the cells that were filled in)."""
    values = {}
    for key, value in cells.items():
        if key == "external_id":
            continue
        if key == "owner":
            values["owner_id"] = owner_ids[value]
        elif key == "arr":
            values["arr"] = Decimal(value)
        elif key == "renewal_date":
            values["renewal_date"] = dt.date.fromisoformat(value)
        else:
            values[key] = value
    return values


class _Progress:
    def __init__(self, callback, total: int):
        self.callback, self.total, self.done = callback, total, 0

    def advance(self, n: int) -> None:
        self.done += n
        if self.callback is not None and n:
            self.callback(self.done, self.total)


def _in_chunks(write, model, rows: list[dict], progress: _Progress | None, *args) -> None:
    for chunk in chunked(rows, WRITE_BATCH):
        write(model, chunk, *args)
        if progress is not None:
            progress.advance(len(chunk))


def _write_rows(*, organization: Organization, actor: Actor, batch: ImportBatch, rows: list[dict],
                progress) -> dict:
    now = timezone.now()
    reason = f"CSV import {batch.file_name}"[:200]
    org_id = organization.pk
    groups = _group_by_account(rows)
    wanted_owners = {g["account"]["owner"] for g in groups.values() if "owner" in g["account"]}
    owner_ids = import_owner_ids(organization=organization, emails=wanted_owners)
    gone = sorted(wanted_owners - owner_ids.keys())
    if gone:
        raise ImportBlocked(
            f"Since the file was checked, these people stopped being active CSMs or managers: {', '.join(gone)}. "
            "Upload the file again to re-check it.")
    existing = account_states_by_external_id(external_ids=list(groups))

    # Accounts: new ones are created, known ones get the filled-in cells that differ.
    new_accounts: list[dict] = []
    changed_accounts: list[dict] = []
    account_fields: set[str] = set()
    owner_changes: list[tuple] = []  # (account id, previous owner id, new owner id, existed before)
    unchanged = 0
    for external_id, group in groups.items():
        values = _account_values(group["account"], owner_ids)
        current = existing.get(external_id)
        if current is None:
            account_id = uuid.uuid4()
            new_accounts.append({"id": account_id, "organization_id": org_id, "external_id": external_id,
                                 "created_at": now, "updated_at": now, **values})
            if values.get("owner_id"):
                owner_changes.append((account_id, None, values["owner_id"], False))
        else:
            account_id = current["id"]
            changed = [attname for attname, value in values.items() if current[attname] != value]
            if changed:
                if "owner_id" in changed:
                    owner_changes.append((account_id, current["owner_id"], values["owner_id"], True))
                current.update(values)
                changed_accounts.append(current)
                account_fields.update(changed)
            else:
                unchanged += 1
        group["account_id"] = account_id

    # Contacts: matched on (account, e-mail) among the contacts of the accounts that already existed.
    by_key: dict[tuple, dict] = {}
    primaries: dict = defaultdict(list)
    for contact in contact_states_of_accounts(account_ids=[a["id"] for a in existing.values()]):
        if contact["email"]:
            by_key.setdefault((contact["account_id"], contact["email"].lower()), contact)
        if contact["is_primary"]:
            primaries[contact["account_id"]].append(contact)
    new_contacts: list[dict] = []
    changed_contacts: list[dict] = []
    demoted: list[dict] = []
    demoted_ids: set = set()
    contact_fields: set[str] = set()
    contacts_unchanged = 0
    for group in groups.values():
        account_id = group["account_id"]
        new_primary = next((c["email"] for c in group["contacts"] if c.get("is_primary")), None)
        if new_primary is not None:
            stepping_down = [c for c in primaries.get(account_id, ()) if c["email"].lower() != new_primary]
            demoted.extend(stepping_down)
            demoted_ids.update(c["id"] for c in stepping_down)
        for cells in group["contacts"]:
            contact = by_key.get((account_id, cells["email"]))
            if contact is None:
                new_contacts.append({
                    "organization_id": org_id, "account_id": account_id, "name": cells["name"],
                    "email": cells["email"], "title": cells.get("title", ""),
                    "role": cells.get("role", ContactRole.USER), "is_primary": cells.get("is_primary", False),
                    "created_at": now, "updated_at": now,
                })
                continue
            if contact["id"] in demoted_ids:
                contact["is_primary"] = False
            changed = [f for f in CONTACT_FIELDS if f in cells and contact[f] != cells[f]]
            if changed:
                for f in changed:
                    contact[f] = cells[f]
                changed_contacts.append(contact)
                contact_fields.update(changed)
            else:
                contacts_unchanged += 1

    progress_counter = _Progress(
        progress, len(new_accounts) + len(changed_accounts) + len(new_contacts) + len(changed_contacts))
    _in_chunks(insert_rows, Account, new_accounts, progress_counter)
    account_update_fields = sorted(account_fields) + ["updated_at"]
    _in_chunks(update_rows, Account, [_values_of(a, account_update_fields, now) for a in changed_accounts],
               progress_counter, account_update_fields)
    changed_by_id = actor.user.pk if actor.user else None
    insert_rows(OwnerAssignment, [
        {"organization_id": org_id, "account_id": account_id, "previous_owner_id": previous,
         "new_owner_id": new_owner, "changed_by_id": changed_by_id, "reason": reason, "created_at": now}
        for account_id, previous, new_owner, _ in owner_changes
    ])
    tasks_moved = _move_open_tasks([(a, p, n) for a, p, n, existed in owner_changes if existed])
    # The old primary steps down before the new one is written (one primary per account, enforced by an index).
    update_rows(Contact, [{"id": c["id"], "is_primary": False, "updated_at": now} for c in demoted],
                ["is_primary", "updated_at"])
    contact_update_fields = sorted(contact_fields) + ["updated_at"]
    _in_chunks(update_rows, Contact, [_values_of(c, contact_update_fields, now) for c in changed_contacts],
               progress_counter, contact_update_fields)
    _in_chunks(insert_rows, Contact, new_contacts, progress_counter)
    return {
        "accounts_created": len(new_accounts),
        "accounts_updated": len(changed_accounts),
        "accounts_unchanged": unchanged,
        "contacts_created": len(new_contacts),
        "contacts_updated": len(changed_contacts),
        "contacts_unchanged": contacts_unchanged,
        "primary_contacts_replaced": len(demoted),
        "owners_assigned": sum(1 for *_, existed in owner_changes if not existed),
        "owner_changes": sum(1 for *_, existed in owner_changes if existed),
        "open_tasks_moved": tasks_moved,
    }


def _values_of(current: dict, attnames: list[str], now) -> dict:
    return {"id": current["id"], **{a: current[a] for a in attnames if a != "updated_at"}, "updated_at": now}


def _move_open_tasks(owner_changes: list[tuple]) -> int:
    """Open work follows the account: the previous owner's open tasks go to the new owner. One query per
    (previous owner, new owner) pair, not per account."""
    from playbooks.services import tasks_reassign_for_accounts

    by_pair: dict[tuple, list] = defaultdict(list)
    for account_id, previous, new_owner_id in owner_changes:
        if previous is not None:
            by_pair[(previous, new_owner_id)].append(account_id)
    moved = 0
    for (previous, new_owner_id), account_ids in by_pair.items():
        for chunk in chunked(account_ids):
            moved += tasks_reassign_for_accounts(account_ids=list(chunk), from_owner_ids={previous},
                                                 to_owner_id=new_owner_id)
    return moved
