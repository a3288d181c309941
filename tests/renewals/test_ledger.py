"""The revenue ledger on hand-built frames (no database): activity, revenue on a day, movements, waterfall.

Amounts are ARR in currency units; the ledger works in integer cents."""
from decimal import Decimal

import pandas as pd
import pytest

from renewals import ledger

from .builders import D, by_account, frame

START, END = D(2024, 1, 1), D(2025, 1, 1)  # calendar 2024 as [start, end_exclusive)


# --- revenue on a day -------------------------------------------------------------------------------------

def test_line_is_active_from_its_start_date_up_to_but_not_on_its_end_date():
    lines = frame(("a", D(2024, 3, 1), D(2024, 4, 1), 1200))
    assert ledger.recurring_revenue_on(lines, D(2024, 2, 29)).empty  # before the start
    assert ledger.recurring_revenue_on(lines, D(2024, 3, 1))["a"] == 120000  # first day, cents
    assert ledger.recurring_revenue_on(lines, D(2024, 3, 31))["a"] == 120000  # last day of service
    assert ledger.recurring_revenue_on(lines, D(2024, 4, 1)).empty  # end date is exclusive


def test_open_ended_line_is_active_forever_after_its_start():
    lines = frame(("a", D(2020, 1, 1), None, 500))
    assert ledger.recurring_revenue_on(lines, D(2099, 12, 31))["a"] == 50000


def test_revenue_on_a_day_sums_an_accounts_running_lines_and_ignores_one_time_fees():
    lines = frame(
        ("a", D(2024, 1, 1), None, 1000),
        ("a", D(2024, 6, 1), D(2025, 6, 1), 250.50),
        ("a", D(2024, 1, 1), None, 9999, False),  # onboarding services: not recurring revenue
        ("b", D(2023, 1, 1), D(2024, 1, 1), 300),  # ended before the day
        ("c", D(2024, 1, 1), None, 5000, False),  # only one-time revenue: not an active account
    )
    revenue = ledger.recurring_revenue_on(lines, D(2024, 7, 1))
    # a: 1000 + 250.50 = 1250.50 → 125050 cents; b ended; c has no recurring line.
    assert revenue.to_dict() == {"a": 125050}
    assert revenue.dtype == "int64"


def test_float_amounts_are_refused():
    lines = frame(("a", D(2024, 1, 1), None, 10))
    lines["arr_cents"] = lines["arr_cents"].astype(float)
    with pytest.raises(TypeError, match="integer cents"):
        ledger.recurring_revenue_on(lines, D(2024, 1, 1))


def test_amounts_stay_exact_where_floats_would_drift():
    # 0.10 + 0.20 as floats is 0.30000000000000004; in cents it is 10 + 20 = 30.
    lines = frame(*[("a", D(2024, 1, 1), None, "0.10")] * 3, ("a", D(2024, 1, 1), None, "0.20"))
    result = ledger.retention(lines, START, END)
    assert result.r0_total == Decimal("0.50") and str(result.r0_total) == "0.50"


# --- movements ------------------------------------------------------------------------------------------

def test_new_account_has_no_revenue_ever_before_the_period():
    lines = frame(("new", D(2024, 5, 1), None, 800))
    assert by_account(ledger.movements(lines, START, END)) == {"new": (0, 800, "new")}


def test_account_that_started_stopped_and_restarted_within_the_period_is_still_new():
    # No revenue before 1 Jan 2024: Feb–Mar, a gap, then again from October → a new logo of the period.
    lines = frame(("a", D(2024, 2, 1), D(2024, 4, 1), 100), ("a", D(2024, 10, 1), None, 150))
    assert by_account(ledger.movements(lines, START, END)) == {"a": (0, 150, "new")}


def test_reactivation_had_revenue_before_the_period_none_at_its_start_and_some_at_its_end():
    lines = frame(("back", D(2022, 1, 1), D(2023, 1, 1), 700), ("back", D(2024, 6, 1), None, 900))
    assert by_account(ledger.movements(lines, START, END)) == {"back": (0, 900, "reactivation")}


def test_expansion_and_contraction_compare_revenue_at_both_dates():
    lines = frame(
        ("up", D(2023, 1, 1), None, 1000), ("up", D(2024, 7, 1), None, 500),  # 1000 → 1500
        ("down", D(2023, 1, 1), D(2024, 7, 1), 1000), ("down", D(2024, 7, 1), None, 600),  # downgrade 1000 → 600
    )
    assert by_account(ledger.movements(lines, START, END)) == {
        "up": (1000, 1500, "expansion"), "down": (1000, 600, "contraction"),
    }


def test_ending_one_of_two_lines_is_contraction_and_ending_the_last_is_churn():
    lines = frame(
        ("two", D(2023, 1, 1), None, 1000), ("two", D(2023, 1, 1), D(2024, 6, 1), 400),  # 1400 → 1000
        ("last", D(2023, 1, 1), D(2024, 6, 1), 1000),  # 1000 → 0
    )
    assert by_account(ledger.movements(lines, START, END)) == {
        "two": (1400, 1000, "contraction"), "last": (1000, 0, "churn"),
    }


def test_contract_ending_on_the_periods_last_day_churns_in_that_period():
    # The contract runs through 31 Dec 2024 (end_date 2025-01-01, exclusive): no revenue on the period's end.
    through_last_day = frame(("a", D(2023, 1, 1), D(2025, 1, 1), 1000))
    assert by_account(ledger.movements(through_last_day, START, END)) == {"a": (1000, 0, "churn")}
    # One more day of service (end_date 2025-01-02) and it is still a customer when the period closes.
    one_day_more = frame(("a", D(2023, 1, 1), D(2025, 1, 2), 1000))
    assert by_account(ledger.movements(one_day_more, START, END)) == {"a": (1000, 1000, "flat")}


def test_back_to_back_renewal_is_flat_not_churn_and_new():
    lines = frame(("a", D(2023, 1, 1), D(2024, 7, 1), 1000), ("a", D(2024, 7, 1), D(2025, 7, 1), 1000))
    assert by_account(ledger.movements(lines, START, END)) == {"a": (1000, 1000, "flat")}


def test_account_active_only_inside_the_period_has_no_movement():
    lines = frame(("blip", D(2024, 2, 1), D(2024, 5, 1), 100))
    assert ledger.movements(lines, START, END).empty


def test_one_time_lines_make_no_movement():
    lines = frame(
        ("a", D(2023, 1, 1), None, 1000),
        ("a", D(2024, 6, 1), None, 5000, False),  # a services fee is not expansion
        ("fees_only", D(2024, 6, 1), None, 5000, False),  # nor a new account
    )
    assert by_account(ledger.movements(lines, START, END)) == {"a": (1000, 1000, "flat")}


def test_movements_refuse_an_end_before_the_start():
    with pytest.raises(ValueError, match="before start"):
        ledger.movements(frame(), END, START)


def test_empty_frame_gives_empty_typed_results():
    moves = ledger.movements(frame(), START, END)
    assert moves.empty and list(moves.columns) == ["account_id", "r0_cents", "r1_cents", "kind"]
    assert ledger.recurring_revenue_on(frame(), START).empty


def test_waterfall_bridges_start_to_end_arr():
    lines = frame(
        ("flat", D(2023, 1, 1), None, 1000),  # 1000 → 1000
        ("up", D(2023, 1, 1), None, 2000), ("up", D(2024, 3, 1), None, 500),  # +500 expansion
        ("down", D(2023, 1, 1), D(2024, 3, 1), 800), ("down", D(2024, 3, 1), None, 300),  # −500 contraction
        ("gone", D(2023, 1, 1), D(2024, 9, 1), 1200),  # −1200 churn
        ("new", D(2024, 4, 1), None, 600),  # +600 new
        ("back", D(2021, 1, 1), D(2022, 1, 1), 50), ("back", D(2024, 8, 1), None, 400),  # +400 reactivation
    )
    bridge = ledger.waterfall(lines, START, END)
    # start = 1000 + 2000 + 800 + 1200 = 5000
    # end   = 5000 + 600 (new) + 500 (expansion) − 500 (contraction) − 1200 (churn) + 400 (reactivation) = 4800
    assert bridge == ledger.Waterfall(
        start_arr=Decimal("5000.00"), new=Decimal("600.00"), expansion=Decimal("500.00"),
        contraction=Decimal("500.00"), churn=Decimal("1200.00"), reactivation=Decimal("400.00"),
        end_arr=Decimal("4800.00"),
    )
    assert bridge.end_arr == (bridge.start_arr + bridge.new + bridge.expansion - bridge.contraction - bridge.churn
                              + bridge.reactivation)


def test_extra_columns_and_datetime64_dates_are_accepted():
    lines = frame(("a", D(2023, 1, 1), None, 100))
    lines["start_date"] = pd.to_datetime(lines["start_date"])
    lines["product"] = "Platform"
    assert ledger.recurring_revenue_on(lines, D(2024, 1, 1)).to_dict() == {"a": 10000}
