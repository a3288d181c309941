"""Contract line bulk upsert (validation, set-wise writes, audit) and the account ARR it derives."""
import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext

from accounts.models import Account
from csops.tenancy.context import tenant_context
from csops.tenancy.models import AuditEvent
from csops.tenancy.services import Actor
from renewals.models import ContractLine
from renewals.services import MAX_UPSERT_ROWS, account_arr_sync, contract_line_upsert_bulk
from tests.factories import AccountFactory

D = dt.date
PAST, FUTURE = "2020-01-01", "2099-01-01"  # lines that run today whatever day the suite runs on


@pytest.fixture
def actor(world):
    return Actor(user=world.admin)


@pytest.fixture
def customer(world):
    return AccountFactory(organization=world.org, external_id="acct-1", arr=Decimal("777.00"))


def row(**fields) -> dict:
    base = {"account_external_id": "acct-1", "start_date": PAST, "end_date": FUTURE, "arr": "1200.00"}
    return {**base, **fields}


def upsert(world, actor, rows, **kwargs):
    return contract_line_upsert_bulk(organization=world.org, actor=actor, rows=rows, **kwargs)


def lines_of(world):
    with tenant_context(world.org):
        return {line.external_id: line for line in ContractLine.objects.all()}


def account_arr(world, account) -> Decimal:
    with tenant_context(world.org):
        return Account.objects.get(pk=account.pk).arr


def test_upsert_creates_lines_and_derives_the_accounts_arr(world, actor, customer):
    result = upsert(world, actor, [
        row(external_id="L1", arr="1200.00"),
        row(external_id="L2", arr=None, mrr="833.33"),  # ARR = 12 × 833.33 = 9999.96, exactly
        row(external_id="fee", arr="5000.00", is_recurring=False),  # one-time: not in ARR
        row(external_id="later", arr="300.00", start_date="2098-01-01"),  # not running yet
        row(external_id="done", arr="400.00", end_date="2021-01-01"),  # ended
    ])
    assert (result.created, result.updated, result.written, result.errors) == (5, 0, True, [])
    lines = lines_of(world)
    assert lines["L2"].arr == Decimal("9999.96") and lines["L2"].mrr == Decimal("833.33")
    assert lines["L1"].currency == "USD" and lines["L1"].billing_period == "annual"
    # ARR today = 1200.00 + 9999.96 = 11199.96 (the typed 777.00 is replaced).
    assert account_arr(world, customer) == Decimal("11199.96")
    assert result.accounts_arr_changed == 1
    assert result.line_ids == [lines[k].pk for k in ("L1", "L2", "fee", "later", "done")]


def test_upsert_on_external_id_updates_instead_of_duplicating(world, actor, customer):
    upsert(world, actor, [row(external_id="L1", arr="1200.00"), row(external_id="L2", arr="100.00")])
    first = lines_of(world)
    result = upsert(world, actor, [row(external_id="L1", arr="1500.00", plan="Pro"), row(external_id="L2", arr="100")])
    assert (result.created, result.updated, result.unchanged) == (0, 1, 1)
    lines = lines_of(world)
    assert len(lines) == 2 and lines["L1"].arr == Decimal("1500.00") and lines["L1"].plan == "Pro"
    assert lines["L1"].pk == first["L1"].pk and lines["L1"].created_at == first["L1"].created_at
    assert lines["L1"].updated_at > first["L1"].updated_at and lines["L2"].updated_at == first["L2"].updated_at
    assert account_arr(world, customer) == Decimal("1600.00")
    with tenant_context(world.org):  # only the ARR of the account was written
        refreshed = Account.objects.get(pk=customer.pk)
    assert (refreshed.name, refreshed.external_id, refreshed.tier) == (customer.name, "acct-1", customer.tier)


def test_a_row_describes_the_whole_line_so_an_omitted_end_date_makes_it_open_ended(world, actor, customer):
    upsert(world, actor, [row(external_id="L1")])
    upsert(world, actor, [{"external_id": "L1", "account_external_id": "acct-1", "start_date": PAST, "arr": "1200"}])
    assert lines_of(world)["L1"].end_date is None


def test_any_invalid_row_blocks_the_whole_request_with_per_row_errors(world, actor, customer):
    result = upsert(world, actor, [
        row(external_id="ok"),
        row(external_id="bad-dates", start_date="2024-05-01", end_date="2024-05-01"),
        row(external_id="bad-money", arr=12.5),
        row(external_id="bad-account", account_external_id="nope"),
        row(external_id="both", mrr="10.00"),
        row(external_id="zero", arr="0"),
        row(external_id="cents", arr="1.005"),
        row(external_id="typo", ned_date="2025-01-01"),
        row(external_id="period", billing_period="weekly"),
        "not a row",
    ])
    assert result.written is False and result.created == 0 and result.rejected == 9
    assert lines_of(world) == {}
    assert account_arr(world, customer) == Decimal("777.00")
    problems = {(e.row, e.field) for e in result.errors}
    assert problems == {
        (1, "end_date"), (2, "arr"), (3, "account_external_id"), (4, "arr"), (5, "arr"), (6, "arr"), (7, None),
        (8, "billing_period"), (9, None),
    }
    messages = {e.row: e.message for e in result.errors}
    assert "exclusive" in messages[1] and "floating-point" in messages[2] and "'nope'" in messages[3]
    assert "not both" in messages[4] and "non-recurring" in messages[5] and "2 decimal places" in messages[6]
    assert "ned_date" in messages[7]


def test_only_valid_writes_the_valid_rows_and_reports_the_rest(world, actor, customer):
    result = upsert(world, actor, [row(external_id="ok"), row(external_id="bad", start_date="someday")],
                    only_valid=True)
    assert (result.written, result.created, result.rejected) == (True, 1, 1)
    assert result.errors[0].as_dict() == {
        "row": 1, "field": "start_date", "message": "'someday' is not a date (YYYY-MM-DD).",
    }
    assert set(lines_of(world)) == {"ok"} and result.line_ids[1] is None


def test_other_currencies_are_refused_with_a_clear_message(world, actor, customer):
    result = upsert(world, actor, [row(external_id="eur", currency="EUR"), row(external_id="usd", currency="usd")])
    assert [(e.row, e.field) for e in result.errors] == [(0, "currency")]
    assert "reporting currency (USD)" in result.errors[0].message and "'EUR'" in result.errors[0].message


def test_an_external_id_sent_twice_in_one_request_is_refused(world, actor, customer):
    result = upsert(world, actor, [row(external_id="L1"), row(external_id="L1", arr="5")])
    assert [(e.row, e.field) for e in result.errors] == [(0, "external_id"), (1, "external_id")]
    assert "rows 0, 1" in result.errors[0].message


def test_lines_without_external_id_are_always_created(world, actor, customer):
    upsert(world, actor, [row(), row()])
    upsert(world, actor, [row()])
    with tenant_context(world.org):
        assert ContractLine.objects.count() == 3


def test_accounts_of_another_organization_are_unknown(world, other_world, actor, customer):
    with tenant_context(other_world.org):
        theirs = AccountFactory(organization=other_world.org, external_id="theirs")
    result = upsert(world, actor, [row(account_external_id="theirs"), row(account_id=str(theirs.pk), arr="1")])
    assert [(e.row, e.field) for e in result.errors] == [(0, "account_external_id"), (1, "account_id")]


def test_upsert_refuses_to_run_for_another_org_inside_a_tenant_context(world, other_world, actor):
    with tenant_context(other_world.org), pytest.raises(ValueError, match="context"):
        upsert(world, actor, [])


def test_more_than_5000_rows_are_refused(world, actor):
    with pytest.raises(ValidationError, match="5,000"):
        upsert(world, actor, [row()] * (MAX_UPSERT_ROWS + 1))


def test_moving_a_line_to_another_account_resyncs_both_accounts(world, actor, customer):
    other = AccountFactory(organization=world.org, external_id="acct-2", arr=Decimal("0"))
    upsert(world, actor, [row(external_id="L1", arr="1000")])
    upsert(world, actor, [row(external_id="L1", arr="1000", account_id=str(other.pk), account_external_id=None)])
    assert account_arr(world, customer) == Decimal("0.00")
    assert account_arr(world, other) == Decimal("1000.00")


def test_upsert_leaves_one_audit_event_summarising_the_request(world, actor, customer):
    upsert(world, actor, [row(external_id="L1"), row(external_id="L2")])
    upsert(world, actor, [row(external_id="L1"), row(external_id="L2")])  # no change: no event
    with tenant_context(world.org):
        events = list(AuditEvent.objects.filter(action="contract_line.upsert_bulk"))
    assert len(events) == 1
    assert events[0].actor_user == world.admin
    assert events[0].after == {"created": 2, "updated": 0, "unchanged": 0, "rejected": 0, "accounts_arr_changed": 1}


def test_upsert_runs_a_constant_number_of_queries_whatever_the_row_count(world, actor):
    def queries_for(n: int, prefix: str) -> int:
        with tenant_context(world.org):
            Account.objects.bulk_create([
                Account(organization=world.org, name=f"{prefix}{i}", external_id=f"{prefix}{i}") for i in range(n)
            ])
        rows = [row(external_id=f"{prefix}-line-{i}", account_external_id=f"{prefix}{i}") for i in range(n)]
        with CaptureQueriesContext(connection) as captured:
            assert upsert(world, actor, rows).created == n
        return len(captured)

    # 50 rows stay within one SQLite insert batch (999 parameters); beyond that it is one query per batch.
    assert queries_for(3, "small") == queries_for(50, "large")


def test_account_arr_sync_without_ids_covers_accounts_with_lines_and_leaves_the_others(world, actor, customer, tenant):
    without_contracts = AccountFactory(organization=world.org, external_id="typed", arr=Decimal("5000.00"))
    ContractLine.objects.bulk_create([
        ContractLine(account=customer, start_date=D(2020, 1, 1), end_date=D(2024, 1, 1), arr=Decimal("900"),
                     currency="USD"),
        ContractLine(account=customer, start_date=D(2023, 1, 1), end_date=None, arr=Decimal("100"), currency="USD"),
    ])
    # On 1 Jan 2023 both lines run: 900 + 100 = 1000; on 1 Jan 2024 the first has ended: 100.
    assert account_arr_sync(as_of=D(2023, 1, 1)) == 1
    assert Account.objects.get(pk=customer.pk).arr == Decimal("1000.00")
    assert account_arr_sync(as_of=D(2024, 1, 1)) == 1
    assert Account.objects.get(pk=customer.pk).arr == Decimal("100.00")
    assert account_arr_sync(as_of=D(2024, 1, 1)) == 0  # already in sync: nothing written
    assert Account.objects.get(pk=without_contracts.pk).arr == Decimal("5000.00")
    # Named explicitly, an account without any running line gets 0.
    assert account_arr_sync(account_ids=[without_contracts.pk], as_of=D(2024, 1, 1)) == 1
    assert Account.objects.get(pk=without_contracts.pk).arr == Decimal("0.00")


def test_database_refuses_a_line_ending_before_it_starts(tenant, customer):
    with transaction.atomic(), pytest.raises(IntegrityError):
        ContractLine.objects.create(account=customer, start_date=D(2024, 5, 1), end_date=D(2024, 4, 1),
                                    arr=Decimal("10"), currency="USD")


def test_database_refuses_a_recurring_line_without_revenue(tenant, customer):
    with transaction.atomic(), pytest.raises(IntegrityError):
        ContractLine.objects.create(account=customer, start_date=D(2024, 5, 1), arr=Decimal("0"), currency="USD")
    ContractLine.objects.create(account=customer, start_date=D(2024, 5, 1), arr=Decimal("0"), currency="USD",
                                is_recurring=False)
