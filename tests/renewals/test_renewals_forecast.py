"""The forecast board's numbers, worked by hand (METRICS.md, "Renewals"; renewals/forecast.py)."""
import datetime as dt
from decimal import Decimal

import pandas as pd
import pytest
from django.utils import timezone

from accounts.models import Account
from renewals.forecast import DEFAULT_PROBABILITY, forecast_for_period
from renewals.models import Renewal
from tests.factories import AccountFactory

D = dt.date
Q_START, Q_END = D(2026, 4, 1), D(2026, 7, 1)
MID_QUARTER = D(2026, 5, 15)


@pytest.fixture
def book(world, tenant):
    """Eight renewals in Q2 2026 and one outside it.

    name  target  state / call                                  expected (forecast contribution)
    a     1000    open, forecast_arr 900, category at_risk       900
    b     2000    open, probability 50                           1000
    c     3000    open, category commit                          3000
    d      400    open, category lost                               0
    e     1000    open, nothing called (default 75 %)             750
    f     2000    closed upsell, final 2500                      2500
    g     1000    closed downsell, final 600                      600
    h      500    closed churned, final 0                           0
    x     9999    open, dated 2026-07-01 (next quarter)           —
    """
    def renewal(name, target, day=MID_QUARTER, **fields):
        account = AccountFactory(organization=world.org, name=name, owner=world.csm)
        closed = {"stage": "closed", "closed_at": timezone.now()} if "outcome" in fields else {}
        return Renewal.objects.create(account=account, renewal_date=day, target_arr=Decimal(target),
                                      **closed, **fields)

    return {
        "a": renewal("a", "1000.00", D(2026, 4, 1), forecast_arr=Decimal("900.00"), forecast_category="at_risk",
                     risk_reason="budget"),
        "b": renewal("b", "2000.00", probability=50, risk_reason="budget"),
        "c": renewal("c", "3000.00", forecast_category="commit"),
        "d": renewal("d", "400.00", D(2026, 6, 30), forecast_category="lost", risk_reason="competitor"),
        "e": renewal("e", "1000.00"),
        "f": renewal("f", "2000.00", outcome="upsell", final_arr=Decimal("2500.00")),
        "g": renewal("g", "1000.00", outcome="downsell", final_arr=Decimal("600.00")),
        "h": renewal("h", "500.00", outcome="churned", final_arr=Decimal("0.00")),
        "x": renewal("x", "9999.00", D(2026, 7, 1)),
    }


def test_default_probabilities_are_documented_values():
    assert DEFAULT_PROBABILITY == {"commit": 100, "likely": 75, "at_risk": 40, "lost": 0, None: 75}


def test_forecast_board_numbers_by_hand(book):
    f = forecast_for_period(start=Q_START, end_exclusive=Q_END)
    # Due = 1000 + 2000 + 3000 + 400 + 1000 + 2000 + 1000 + 500 = 10900 (x is next quarter).
    assert (f.renewals_count, f.renewals_due) == (8, Decimal("10900.00"))
    # Open expected = 900 + 1000 + 3000 + 0 + 750 = 5650; closed final = 2500 + 600 + 0 = 3100.
    assert (f.open_count, f.open_target, f.open_expected) == (5, Decimal("7400.00"), Decimal("5650.00"))
    assert (f.closed_count, f.closed_target, f.closed_final) == (3, Decimal("3500.00"), Decimal("3100.00"))
    assert f.forecast == Decimal("8750.00")
    assert f.forecast_pct_of_due == Decimal("0.802752")  # 8750 / 10900 = 0.8027522…
    # At risk: only a (category at_risk) → 1000 target, 1 renewal.
    assert (f.at_risk_arr, f.at_risk_count) == (Decimal("1000.00"), 1)
    # Closed to date: GRR = (min(2500,2000) + min(600,1000) + 0) / 3500 = 2600/3500 = 0.742857…
    assert f.gross_renewal_rate == Decimal("0.742857")
    # NRR = 3100 / 3500 = 0.885714…; logo = 2 renewed of 3 closed.
    assert f.net_renewal_rate == Decimal("0.885714")
    assert f.logo_renewal_rate == Decimal("0.666667")
    assert (f.renewed_count, f.churned_count) == (2, 1)


def test_breakdowns_cover_open_renewals_by_category_and_risk_reason(book):
    f = forecast_for_period(start=Q_START, end_exclusive=Q_END)
    cats = {b.key: (b.count, b.target_arr, b.expected_arr) for b in f.by_category}
    assert cats == {
        "commit": (1, Decimal("3000.00"), Decimal("3000.00")),
        "likely": (0, Decimal("0.00"), Decimal("0.00")),
        "at_risk": (1, Decimal("1000.00"), Decimal("900.00")),
        "lost": (1, Decimal("400.00"), Decimal("0.00")),
        "none": (2, Decimal("3000.00"), Decimal("1750.00")),  # b (probability 50 → 1000) + e (75 % → 750)
    }
    reasons = {b.key: (b.count, b.target_arr) for b in f.by_risk_reason}
    assert reasons["budget"] == (2, Decimal("3000.00"))
    assert reasons["competitor"] == (1, Decimal("400.00"))
    assert reasons[""] == (2, Decimal("4000.00"))  # c and e
    assert reasons["low_usage"] == (0, Decimal("0.00"))
    assert sum(b.count for b in f.by_category) == f.open_count


def test_at_risk_is_counted_once_when_category_and_health_band_both_say_so(book):
    # a is at risk by category AND by health; b only by health; f is closed (never at risk).
    at_risk_health = [book["a"].account_id, book["b"].account_id, book["f"].account_id]
    f = forecast_for_period(start=Q_START, end_exclusive=Q_END, at_risk_account_ids=at_risk_health)
    assert (f.at_risk_arr, f.at_risk_count) == (Decimal("3000.00"), 2)  # 1000 (a) + 2000 (b), a once
    as_series = forecast_for_period(start=Q_START, end_exclusive=Q_END, at_risk_account_ids=pd.Series(at_risk_health))
    as_queryset = forecast_for_period(
        start=Q_START, end_exclusive=Q_END,
        at_risk_account_ids=Account.objects.filter(pk__in=at_risk_health).values("pk"),
    )
    assert as_series == f == as_queryset


def test_account_filter_narrows_every_number(book):
    mine = Account.objects.filter(name__in=["c", "f"]).values("pk")
    f = forecast_for_period(start=Q_START, end_exclusive=Q_END, account_filter=mine)
    assert (f.renewals_due, f.forecast, f.gross_renewal_rate, f.net_renewal_rate) == (
        Decimal("5000.00"), Decimal("5500.00"), Decimal("1.000000"), Decimal("1.250000"))


def test_probability_weighting_rounds_once_on_the_total(world, tenant):
    # 333.33 × 33 % = 109.9989 each; three of them = 329.9967 → 330.00 (rounded once, not 3 × 110.00).
    for name in "pqr":
        account = AccountFactory(organization=world.org, name=name)
        Renewal.objects.create(account=account, renewal_date=D(2026, 5, 1), target_arr=Decimal("333.33"),
                               probability=33)
    assert forecast_for_period(start=Q_START, end_exclusive=Q_END).forecast == Decimal("330.00")


def test_empty_period_has_no_rates(tenant):
    f = forecast_for_period(start=Q_START, end_exclusive=Q_END)
    assert (f.renewals_due, f.forecast, f.forecast_pct_of_due, f.gross_renewal_rate, f.logo_renewal_rate) == (
        Decimal("0.00"), Decimal("0.00"), None, None, None)
