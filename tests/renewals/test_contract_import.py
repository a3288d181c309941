"""CSV import of contract lines: the "contracts" kind of the two-phase import (renewals/imports.py)."""
import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse

from accounts.imports.services import ImportBlocked, import_commit, import_validate
from accounts.models import Account, ImportBatch, ImportStatus
from csops.tenancy.context import tenant_context
from csops.tenancy.services import Actor
from renewals.imports import COLUMN_NAMES, KIND
from renewals.models import ContractLine, Renewal
from renewals.periods import org_today
from tests.factories import AccountFactory


def make_csv(rows, header=COLUMN_NAMES) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    for row in rows:
        writer.writerow([row.get(h, "") for h in header])
    return out.getvalue().encode()


@pytest.fixture
def accounts(world):
    return {
        "A": AccountFactory(organization=world.org, external_id="ACME-1", owner=world.csm, arr=Decimal("0.00")),
        "B": AccountFactory(organization=world.org, external_id="BETA-2", owner=world.csm2, arr=Decimal("0.00")),
    }


@pytest.fixture
def today(world):
    return org_today(world.org)


def line(ext="L1", account="ACME-1", /, **overrides):
    row = {"external_id": ext, "account_external_id": account, "product": "Platform", "plan": "Business",
           "start_date": "2026-01-01", "end_date": "2027-01-01", "arr": "12000.00"}
    row.update(overrides)
    return row


def validate(world, data, user=None):
    return import_validate(organization=world.org, actor=Actor(user=user or world.admin), file_name="contracts.csv",
                           data=data, kind=KIND)


def commit(world, batch, **kwargs):
    return import_commit(batch=batch, actor=Actor(user=world.admin), **kwargs)


def problems(batch):
    return [(e["row"], e["column"]) for e in batch.errors if e["level"] == "error"]


def message(batch, row, column):
    return next(e["message"] for e in batch.errors if e["row"] == row and e["column"] == column)


# --- phase 1: checks, nothing written ------------------------------------------------------------------------

def test_a_valid_file_is_checked_and_nothing_is_written(world, accounts):
    batch = validate(world, make_csv([line("L1"), line("L2", "BETA-2", mrr="100.00", arr="")]))
    assert (batch.kind, batch.status, batch.total_rows, batch.valid_rows, batch.error_rows) == (
        KIND, ImportStatus.VALIDATED, 2, 2, 0)
    assert batch.errors == []
    assert batch.rows[1]["v"] == {"external_id": "L2", "account_external_id": "BETA-2", "product": "Platform",
                                  "plan": "Business", "start_date": "2026-01-01", "end_date": "2027-01-01",
                                  "mrr": "100.00"}
    with tenant_context(world.org):
        assert ContractLine.objects.count() == 0


@pytest.mark.parametrize(("overrides", "column", "words"), [
    ({"external_id": ""}, "external_id", "required"),
    ({"account_external_id": ""}, "account_external_id", "account is required"),
    ({"account_external_id": "NOPE-9"}, "account_external_id", "No account with the external_id NOPE-9"),
    ({"account_id": "not-a-uuid"}, "account_id", "Give the account once"),
    ({"start_date": ""}, "start_date", "required"),
    ({"start_date": "03/04/2026"}, "start_date", "YYYY-MM-DD"),
    ({"end_date": "2026-02-30"}, "end_date", "Not a real date"),
    ({"end_date": "2026-01-01"}, "end_date", "must be after the start date"),
    ({"arr": ""}, "arr", "amount is required"),
    ({"mrr": "10"}, "mrr", "arr or mrr, not both"),
    ({"arr": "-5"}, "arr", "can't be negative"),
    ({"arr": "12.345"}, "arr", "2 decimal places"),
    ({"arr": "0"}, "arr", "positive amount"),
    ({"arr": "1000000000000"}, "arr", "too large"),
    ({"quantity": "2.5"}, "quantity", "whole number"),
    ({"notice_days": "40000"}, "notice_days", "at most 32,767"),
    ({"billing_period": "weekly"}, "billing_period", "monthly, quarterly, annual"),
    ({"auto_renew": "maybe"}, "auto_renew", "yes or no"),
    ({"currency": "EUR"}, "currency", "reporting currency (USD)"),
    ({"product": "x" * 201}, "product", "limit is 200"),
])
def test_each_row_rule_names_the_cell(world, accounts, overrides, column, words):
    batch = validate(world, make_csv([line("OK-1"), line("L2", **overrides)]))
    assert (batch.valid_rows, batch.error_rows) == (1, 1)
    assert (3, column) in problems(batch)
    assert words in message(batch, 3, column)


def test_a_free_line_is_fine_as_non_recurring_and_amounts_accept_thousands_separators(world, accounts):
    batch = validate(world, make_csv([line("FEE", arr="0", is_recurring="no"), line("BIG", arr="$1,250,000.50")]))
    assert (batch.valid_rows, batch.errors) == (2, [])
    assert batch.rows[1]["v"]["arr"] == "1250000.50"


def test_a_line_given_twice_is_rejected_on_every_row(world, accounts):
    batch = validate(world, make_csv([line("L1"), line("L1", arr="5000"), line("L2")]))
    assert problems(batch) == [(2, "external_id"), (3, "external_id")]
    assert "rows 2, 3" in message(batch, 2, "external_id")


def test_accounts_by_id_in_this_organization_only(world, other_world, accounts):
    elsewhere = AccountFactory(organization=other_world.org, external_id="OTHER-1")
    rows = [line("L1", "", account_id=str(accounts["A"].pk)), line("L2", "", account_id=str(elsewhere.pk)),
            line("L3", "OTHER-1")]
    batch = validate(world, make_csv(rows))
    assert problems(batch) == [(3, "account_id"), (4, "account_external_id")]


def test_file_level_problems_block_the_whole_file(world, accounts):
    header = ["external_id", "acount_external_id", "start_date", "arr"]
    batch = validate(world, make_csv([{"external_id": "L1", "start_date": "2026-01-01", "arr": "1"}], header=header))
    messages = [e["message"] for e in batch.errors if e["row"] is None]
    assert any("Unknown column 'acount_external_id'" in m and "Did you mean 'account_external_id'" in m
               for m in messages)
    assert any("Missing the account" in m for m in messages)
    assert batch.valid_rows == 0
    assert validate(world, b"").errors[0]["message"].startswith("The file is empty")


# --- phase 2: the atomic commit ---------------------------------------------------------------------------------

def test_commit_writes_lines_derives_arr_and_syncs_renewals(world, accounts, today):
    start, end = today - dt.timedelta(days=100), today + dt.timedelta(days=265)
    rows = [
        line("L1", start_date=start.isoformat(), end_date=end.isoformat(), arr="12000", quantity="25",
             billing_period="Annual", auto_renew="yes", notice_days="60"),
        line("L2", start_date=start.isoformat(), end_date=end.isoformat(), arr="", mrr="250.50"),
        line("FEE", start_date=start.isoformat(), end_date=(start + dt.timedelta(days=30)).isoformat(), arr="999",
             is_recurring="no"),
        line("B1", "BETA-2", start_date=start.isoformat(), end_date="", arr="5000"),
    ]
    batch = commit(world, validate(world, make_csv(rows)))
    assert (batch.status, batch.created_count, batch.updated_count) == (ImportStatus.COMMITTED, 4, 0)
    with tenant_context(world.org):
        l1 = ContractLine.objects.get(external_id="L1")
        assert (l1.quantity, l1.billing_period, l1.auto_renew, l1.notice_days, l1.currency) == (
            25, "annual", True, 60, "USD")
        assert ContractLine.objects.get(external_id="L2").arr == Decimal("3006.00")  # 12 × 250.50
        assert ContractLine.objects.get(external_id="B1").end_date is None
        # ARR = the recurring lines running today: 12,000 + 3,006 (the one-time fee is not recurring revenue).
        assert Account.objects.get(pk=accounts["A"].pk).arr == Decimal("15006.00")
        assert Account.objects.get(pk=accounts["B"].pk).arr == Decimal("5000.00")
        renewal = Renewal.objects.get(account=accounts["A"])
        assert (renewal.renewal_date, renewal.target_arr) == (end, Decimal("15006.00"))
        assert not Renewal.objects.filter(account=accounts["B"]).exists()  # open-ended: nothing to renew
    client = Client()
    client.force_login(world.admin)
    html = client.get(reverse("accounts:import_detail", args=[world.org.slug, batch.pk])).content.decode()
    assert "4 contract line(s) created, 0 updated" in html and "renewals: 1 created" in html


def test_importing_again_updates_changed_lines_only_and_retargets_the_renewal(world, accounts, today):
    end = (today + dt.timedelta(days=200)).isoformat()
    first = [line("L1", start_date="2026-01-01", end_date=end), line("L2", start_date="2026-01-01", end_date=end)]
    commit(world, validate(world, make_csv(first)))
    again = [line("L1", start_date="2026-01-01", end_date=end, arr="20000"),
             line("L2", start_date="2026-01-01", end_date=end)]
    batch = commit(world, validate(world, make_csv(again)))
    assert (batch.created_count, batch.updated_count) == (0, 1)
    with tenant_context(world.org):
        assert ContractLine.objects.count() == 2
        assert Renewal.objects.get(account=accounts["A"]).target_arr == Decimal("32000.00")
        assert Account.objects.get(pk=accounts["A"].pk).arr == Decimal("32000.00")


def test_errors_block_the_commit_unless_only_valid_rows(world, accounts):
    batch = validate(world, make_csv([line("L1"), line("L2", arr="oops")]))
    with pytest.raises(ImportBlocked, match="1 row"):
        commit(world, batch)
    with tenant_context(world.org):
        assert ContractLine.objects.count() == 0
    batch = commit(world, batch, only_valid_rows=True)
    assert (batch.status, batch.created_count, batch.only_valid_rows) == (ImportStatus.COMMITTED, 1, True)
    with tenant_context(world.org):
        assert list(ContractLine.objects.values_list("external_id", flat=True)) == ["L1"]
    assert [r["row"] for r in batch.rows] == [3]  # the rejected row stays downloadable


def test_an_account_gone_since_the_check_rolls_the_whole_import_back(world, accounts):
    batch = validate(world, make_csv([line("L1"), line("B1", "BETA-2")]))
    with tenant_context(world.org):
        Account.objects.filter(pk=accounts["B"].pk).delete()
    with pytest.raises(ImportBlocked, match="Row 3"):
        commit(world, batch)
    with tenant_context(world.org):
        assert ContractLine.objects.count() == 0
        assert ImportBatch.objects.get(pk=batch.pk).status == ImportStatus.VALIDATED


# --- pages and command ----------------------------------------------------------------------------------------

def test_upload_page_switches_to_contracts_and_the_template_is_a_valid_file(world, login):
    AccountFactory(organization=world.org, external_id="ACME-001")
    client = login(world.admin)
    page = client.get(reverse("accounts:import", args=[world.org.slug]) + "?type=contracts")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Import contract lines" in html and "account_external_id" in html and "Lines are matched on" in html
    template = client.get(reverse("accounts:import_template", args=[world.org.slug]) + "?type=contracts")
    rows = list(csv.reader(io.StringIO(template.content.decode("utf-8-sig"))))
    assert rows[0] == list(COLUMN_NAMES) and len(rows) == 3
    batch = validate(world, template.content)
    assert (batch.valid_rows, batch.errors) == (2, [])


def test_upload_commit_and_rejected_rows_download_through_the_shared_pages(world, accounts, login):
    client = login(world.admin)
    upload = io.BytesIO(make_csv([line("L1"), line("L2", arr="bad")]))
    upload.name = "contracts.csv"
    response = client.post(reverse("accounts:import", args=[world.org.slug]) + "?type=contracts",
                           {"kind": KIND, "file": upload})
    with tenant_context(world.org):
        batch = ImportBatch.objects.get()
    assert response.status_code == 302 and batch.kind == KIND and batch.error_rows == 1
    rejected = client.get(reverse("accounts:import_errors", args=[world.org.slug, batch.pk]))
    rows = list(csv.reader(io.StringIO(rejected.content.decode("utf-8-sig"))))
    assert rows[0][0] == "import_row" and rows[1][0] == "3" and "arr" in rows[1][-1]
    client.post(reverse("accounts:import_commit", args=[world.org.slug, batch.pk]), {"only_valid": "1"})
    with tenant_context(world.org):
        batch.refresh_from_db()
    assert (batch.status, batch.created_count) == (ImportStatus.COMMITTED, 1)
    history = client.get(reverse("accounts:import", args=[world.org.slug])).content.decode()
    assert "Contract lines" in history


def test_a_csm_cannot_reach_the_import(world, login):
    response = login(world.csm).get(reverse("accounts:import", args=[world.org.slug]) + "?type=contracts")
    assert response.status_code in (403, 404)


def test_import_contracts_command(world, accounts, tmp_path):
    path = tmp_path / "contracts.csv"
    path.write_bytes(make_csv([line("L1"), line("L2", "BETA-2", arr="", mrr="100")]))
    out, err = io.StringIO(), io.StringIO()
    call_command("import_contracts", str(path), "--org", world.org.slug, stdout=out, stderr=err)
    assert "2 contract line(s) created" in out.getvalue()
    with tenant_context(world.org):
        assert ContractLine.objects.count() == 2
    bad = tmp_path / "bad.csv"
    bad.write_bytes(make_csv([line("L3", start_date="")]))
    with pytest.raises(CommandError, match="no valid rows"):
        call_command("import_contracts", str(bad), "--org", world.org.slug, stdout=io.StringIO(),
                     stderr=io.StringIO())
    assert (tmp_path / "bad.errors.csv").exists()
