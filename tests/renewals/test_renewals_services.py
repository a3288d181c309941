"""Renewals follow the contract lines (sync); the CSM's call (update_forecast); closing with an outcome and
its effect on the lines and the ledger."""
import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from accounts.models import Account
from csops.tenancy.models import AuditEvent
from csops.tenancy.services import Actor
from renewals import ledger
from renewals.models import (
    ContractLine,
    ForecastCategory,
    Renewal,
    RenewalOutcome,
    RenewalStage,
)
from renewals.selectors import lines_frame
from renewals.services import renewal_close, renewal_update_forecast, renewals_sync
from tests.factories import AccountFactory

D = dt.date
AS_OF = D(2026, 3, 1)


def line(account, start, end, arr, **extra) -> ContractLine:
    return ContractLine.objects.create(
        account=account, start_date=start, end_date=end, arr=Decimal(arr), currency="USD", **extra
    )


@pytest.fixture
def actor(world):
    return Actor(user=world.csm)


@pytest.fixture
def acct(world, tenant):
    return AccountFactory(organization=world.org, owner=world.csm, name="Initech")


def renewals_of(account) -> dict:
    return {r.renewal_date: r for r in Renewal.objects.filter(account=account)}


def test_sync_creates_one_renewal_per_contract_end_with_the_sum_of_the_lines_ending_that_day(acct):
    line(acct, D(2025, 6, 1), D(2026, 6, 1), "1000.00")
    line(acct, D(2025, 9, 1), D(2026, 6, 1), "500.00")  # co-termed: same renewal, target 1500
    line(acct, D(2025, 6, 1), D(2026, 9, 1), "300.00")  # a second contract end
    line(acct, D(2025, 6, 1), D(2026, 6, 1), "999.00", is_recurring=False)  # a fee: not ARR
    line(acct, D(2024, 1, 1), D(2026, 2, 1), "700.00")  # ended before as_of: no renewal
    line(acct, D(2025, 1, 1), D(2028, 1, 1), "800.00")  # ends beyond the 550-day horizon
    line(acct, D(2025, 1, 1), None, "50.00")  # open-ended: nothing to renew
    result = renewals_sync(as_of=AS_OF)
    assert result.created == 2
    renewals = renewals_of(acct)
    assert {d: r.target_arr for d, r in renewals.items()} == {
        D(2026, 6, 1): Decimal("1500.00"), D(2026, 9, 1): Decimal("300.00"),
    }
    assert all(r.stage == RenewalStage.UPCOMING and r.is_open for r in renewals.values())
    assert renewals[D(2026, 6, 1)].owner == acct.owner
    acct.refresh_from_db()
    assert acct.renewal_date == D(2026, 6, 1)  # the next open renewal


def test_sync_is_idempotent_and_updates_targets_of_open_renewals(acct):
    l1 = line(acct, D(2025, 6, 1), D(2026, 6, 1), "1000.00")
    renewals_sync(as_of=AS_OF)
    again = renewals_sync(as_of=AS_OF)
    assert (again.created, again.updated, again.removed, again.accounts_renewal_date_changed) == (0, 0, 0, 0)
    l1.arr = Decimal("1200.00")
    l1.save()
    result = renewals_sync(as_of=AS_OF)
    assert (result.created, result.updated) == (0, 1)
    assert renewals_of(acct)[D(2026, 6, 1)].target_arr == Decimal("1200.00")


def test_sync_never_touches_closed_renewals(acct, actor):
    l1 = line(acct, D(2025, 6, 1), D(2026, 6, 1), "1000.00")
    renewals_sync(as_of=AS_OF)
    renewal = renewals_of(acct)[D(2026, 6, 1)]
    renewal_close(renewal=renewal, actor=actor, outcome=RenewalOutcome.RENEWED, final_arr="1000.00",
                  create_contract_line=False)
    l1.arr = Decimal("5000.00")
    l1.save()
    result = renewals_sync(as_of=AS_OF)
    renewal.refresh_from_db()
    assert result.updated == 0
    assert (renewal.stage, renewal.target_arr, renewal.final_arr) == ("closed", Decimal("1000.00"), Decimal("1000.00"))
    l1.end_date = D(2026, 7, 1)  # even when no line ends on its date any more, a closed renewal stays
    l1.save()
    renewals_sync(as_of=AS_OF)
    assert Renewal.objects.filter(pk=renewal.pk).exists()


def test_sync_removes_untouched_renewals_whose_end_date_moved_and_keeps_worked_ones(acct, actor):
    l1 = line(acct, D(2025, 6, 1), D(2026, 6, 1), "1000.00")
    other = AccountFactory(organization=acct.organization, owner=acct.owner)
    l2 = line(other, D(2025, 6, 1), D(2026, 6, 1), "400.00")
    renewals_sync(as_of=AS_OF)
    renewal_update_forecast(renewal=renewals_of(other)[D(2026, 6, 1)], actor=actor, notes="Budget call next week")
    l1.end_date = l2.end_date = D(2026, 8, 1)
    l1.save()
    l2.save()
    result = renewals_sync(as_of=AS_OF)
    assert (result.created, result.removed, result.orphaned) == (2, 1, 1)
    assert set(renewals_of(acct)) == {D(2026, 8, 1)}
    worked = renewals_of(other)
    assert worked[D(2026, 6, 1)].target_arr == Decimal("0.00") and worked[D(2026, 6, 1)].notes
    assert worked[D(2026, 8, 1)].target_arr == Decimal("400.00")


def test_account_renewal_date_follows_next_open_renewal_and_accounts_without_lines_keep_theirs(acct, world):
    typed = AccountFactory(organization=world.org, renewal_date=D(2026, 4, 4))
    line(acct, D(2025, 1, 1), D(2026, 2, 1), "100.00")  # ended: no renewal ahead
    renewals_sync(as_of=AS_OF)
    acct.refresh_from_db()
    typed.refresh_from_db()
    assert acct.renewal_date is None
    assert typed.renewal_date == D(2026, 4, 4)


def test_update_forecast_records_the_call_and_an_audit_event(acct, actor):
    line(acct, D(2025, 6, 1), D(2026, 6, 1), "1000.00")
    renewals_sync(as_of=AS_OF)
    renewal = renewals_of(acct)[D(2026, 6, 1)]
    updated = renewal_update_forecast(
        renewal=renewal, actor=actor, forecast_arr="900.50", forecast_category=ForecastCategory.AT_RISK,
        probability=60, risk_reason="budget", stage=RenewalStage.NEGOTIATING,
    )
    updated.refresh_from_db()
    assert (updated.forecast_arr, updated.forecast_category, updated.probability, updated.risk_reason,
            updated.stage) == (Decimal("900.50"), "at_risk", 60, "budget", "negotiating")
    event = AuditEvent.objects.get(action="renewal.update_forecast")
    assert event.after["forecast_arr"] == "900.50" and event.before["forecast_arr"] is None
    # Only what is given changes; None clears.
    renewal_update_forecast(renewal=updated, actor=actor, forecast_arr=None)
    updated.refresh_from_db()
    assert updated.forecast_arr is None and updated.probability == 60


@pytest.mark.parametrize("fields,field", [
    ({"probability": 101}, "probability"),
    ({"probability": -1}, "probability"),
    ({"forecast_arr": "-1.00"}, "forecast_arr"),
    ({"forecast_arr": "1.234"}, "forecast_arr"),
    ({"forecast_category": "maybe"}, "forecast_category"),
    ({"risk_reason": "vibes"}, "risk_reason"),
    ({"stage": "closed"}, "stage"),
])
def test_update_forecast_rejects_invalid_values(acct, actor, fields, field):
    line(acct, D(2025, 6, 1), D(2026, 6, 1), "1000.00")
    renewals_sync(as_of=AS_OF)
    with pytest.raises(ValidationError) as excinfo:
        renewal_update_forecast(renewal=renewals_of(acct)[D(2026, 6, 1)], actor=actor, **fields)
    assert field in excinfo.value.message_dict


def _open_renewal(acct, arr="1000.00"):
    """A contract running today and ending in 60 days, and its open renewal."""
    today = acct.organization.today()
    end = today + dt.timedelta(days=60)
    line(acct, today - dt.timedelta(days=300), end, arr)
    renewals_sync(as_of=today)
    return renewals_of(acct)[end]


def test_closed_renewal_is_read_only(acct, actor):
    renewal = _open_renewal(acct)
    renewal_close(renewal=renewal, actor=actor, outcome=RenewalOutcome.CHURNED)
    with pytest.raises(ValidationError, match="closed"):
        renewal_update_forecast(renewal=renewal, actor=actor, notes="late")
    with pytest.raises(ValidationError, match="closed"):
        renewal_close(renewal=renewal, actor=actor, outcome=RenewalOutcome.RENEWED, final_arr="1000.00")


@pytest.mark.parametrize("outcome,final", [
    ("renewed", "1000.01"), ("renewed", "999.99"), ("upsell", "1000.00"), ("downsell", "1000.00"),
    ("downsell", "0.00"), ("churned", "1.00"), ("upsell", None), ("won", "1000.00"), ("renewed", "-5"),
])
def test_close_validates_the_outcome_against_the_final_amount(acct, actor, outcome, final):
    renewal = _open_renewal(acct)
    with pytest.raises(ValidationError):
        renewal_close(renewal=renewal, actor=actor, outcome=outcome, final_arr=final)
    renewal.refresh_from_db()
    assert renewal.is_open


def test_close_with_upsell_books_the_next_term_and_the_ledger_sees_expansion(acct, actor):
    renewal = _open_renewal(acct, "1000.00")
    closed = renewal_close(renewal=renewal, actor=actor, outcome=RenewalOutcome.UPSELL, final_arr="1300.00")
    assert (closed.stage, closed.outcome, closed.final_arr, closed.closed_by) == (
        "closed", "upsell", Decimal("1300.00"), actor.user)
    new_line = ContractLine.objects.get(start_date=renewal.renewal_date)
    assert (new_line.arr, new_line.product, new_line.is_recurring) == (
        Decimal("1300.00"), f"Renewal {renewal.renewal_date.year}", True)
    assert new_line.end_date.year == renewal.renewal_date.year + 1
    before, after = renewal.renewal_date - dt.timedelta(days=1), renewal.renewal_date
    moves = ledger.movements(lines_frame(), before, after)
    assert list(moves["kind"]) == ["expansion"] and int(moves["r1_cents"][0]) == 130000
    # The next renewal (end of the new term) exists and is the account's renewal date now.
    acct.refresh_from_db()
    assert acct.renewal_date == new_line.end_date
    assert Renewal.objects.get(account=acct, renewal_date=new_line.end_date).target_arr == Decimal("1300.00")
    assert AuditEvent.objects.filter(action="renewal.close").count() == 1


def test_close_with_downsell_is_contraction_and_renewed_is_flat(acct, actor, world):
    renewal = _open_renewal(acct, "1000.00")
    renewal_close(renewal=renewal, actor=actor, outcome=RenewalOutcome.DOWNSELL, final_arr="600.00")
    flat = AccountFactory(organization=world.org)
    flat_renewal = _open_renewal(flat, "500.00")
    renewal_close(renewal=flat_renewal, actor=actor, outcome=RenewalOutcome.RENEWED, final_arr="500.00")
    day = renewal.renewal_date
    moves = ledger.movements(lines_frame(), day - dt.timedelta(days=1), day)
    assert dict(zip(moves["account_id"], moves["kind"], strict=True)) == {acct.pk: "contraction", flat.pk: "flat"}


def test_close_as_churned_books_nothing_and_the_ledger_sees_churn(acct, actor):
    renewal = _open_renewal(acct, "1000.00")
    closed = renewal_close(renewal=renewal, actor=actor, outcome=RenewalOutcome.CHURNED)
    assert closed.final_arr == Decimal("0.00")
    assert ContractLine.objects.filter(account=acct).count() == 1
    day = renewal.renewal_date
    moves = ledger.movements(lines_frame(), day - dt.timedelta(days=1), day)
    assert list(moves["kind"]) == ["churn"]
    assert Account.objects.get(pk=acct.pk).renewal_date is None
