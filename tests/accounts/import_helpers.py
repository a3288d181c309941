"""Helpers shared by the import tests: build CSV files and rows, validate, read the report."""
import codecs
import csv
import io

import pytest

from accounts.imports.columns import COLUMN_NAMES
from accounts.imports.services import ImportBlocked, import_commit, import_validate
from accounts.models import Account, Contact, ImportBatch, ImportStatus
from csops.tenancy.context import tenant_context
from csops.tenancy.services import Actor


def make_csv(rows, header=COLUMN_NAMES, *, bom=False, encoding="utf-8", delimiter=",") -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter)
    writer.writerow(header)
    for row in rows:
        writer.writerow([row.get(h, "") for h in header] if isinstance(row, dict) else row)
    data = out.getvalue().encode(encoding)
    return codecs.BOM_UTF8 + data if bom else data


def account_row(world, external_id="ACME-1", /, **overrides):
    row = {"external_id": external_id, "name": f"Customer {external_id}", "domain": "acme.example",
           "industry": "Software", "tier": "Mid-market", "lifecycle_stage": "adopting", "region": "EMEA",
           "owner_email": world.csm.email, "arr": "12000.00", "renewal_date": "2027-03-31"}
    row.update(overrides)
    return row


def with_contact(row, email="jane@acme.example", **overrides):
    contact = {"contact_name": "Jane Doe", "contact_email": email, "contact_title": "VP Ops",
               "contact_role": "champion", "contact_is_primary": "yes"}
    contact.update(overrides)
    return {**row, **contact}


def validate(world, data, file_name="accounts.csv", user=None):
    return import_validate(organization=world.org, actor=Actor(user=user or world.admin), file_name=file_name,
                           data=data)


def problems(batch):
    return [(e["row"], e["column"], e["value"]) for e in batch.errors if e["level"] == "error"]


def message_for(batch, row, column):
    return next(e["message"] for e in batch.errors if e["row"] == row and e["column"] == column)


def assert_nothing_imported(world, batch):
    with pytest.raises(ImportBlocked):
        import_commit(batch=batch, actor=Actor(user=world.admin))
    with tenant_context(world.org):
        assert Account.objects.count() == 0
        assert Contact.objects.count() == 0
        assert ImportBatch.objects.get(pk=batch.pk).status == ImportStatus.VALIDATED
