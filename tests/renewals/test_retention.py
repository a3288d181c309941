"""GRR, NRR, logo churn and gross MRR churn (METRICS.md, "Retention"): hand-worked examples with the
arithmetic in comments, then a property test against an independent SQL formulation on the database."""
import datetime as dt
import uuid
from decimal import Decimal

import pytest
from django.db import connection
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from accounts.models import Account
from csops.tenancy.context import tenant_context
from renewals import ledger
from renewals.models import ContractLine
from renewals.selectors import lines_frame, retention_for_period
from tests.factories import AccountFactory, OrganizationFactory

from .builders import D, frame

START, END = D(2024, 1, 1), D(2025, 1, 1)


def test_one_accounts_upsell_does_not_offset_anothers_downgrade_in_grr():
    lines = frame(
        ("upsell", D(2023, 1, 1), None, 100), ("upsell", D(2024, 6, 1), None, 50),  # 100 → 150
        ("downgrade", D(2023, 1, 1), D(2024, 6, 1), 100), ("downgrade", D(2024, 6, 1), None, 50),  # 100 → 50
    )
    result = ledger.retention(lines, START, END)
    # GRR = (min(150, 100) + min(50, 100)) / (100 + 100) = 150 / 200 = 0.75 — NOT (150 + 50) / 200 = 1.
    assert result.grr == Decimal("0.750000")
    # NRR = (150 + 50) / 200 = 1.00: here the upsell does offset the downgrade, by definition.
    assert result.nrr == Decimal("1.000000")
    assert result.gross_mrr_churn_rate == Decimal("0.250000")  # (0 churned + 50 contraction) / 200 = 1 − GRR
    assert (result.expansion, result.contraction, result.churned_r0) == (Decimal("50.00"), Decimal("50.00"), 0)


def test_accounts_new_during_the_period_are_not_in_the_cohort():
    lines = frame(
        ("kept", D(2023, 1, 1), None, 1000),
        ("new", D(2024, 3, 1), None, 5000),  # no revenue on 1 Jan 2024
    )
    result = ledger.retention(lines, START, END)
    # Cohort = {kept}: NRR = 1000 / 1000 = 1, not (1000 + 5000) / 1000 = 6.
    assert result.cohort_size == 1
    assert result.nrr == Decimal("1.000000") and result.r1_total == Decimal("1000.00")


def test_a_reactivated_account_is_not_churned_and_not_in_the_cohort_if_inactive_at_the_start():
    lines = frame(
        ("kept", D(2023, 1, 1), None, 1000),
        ("back", D(2022, 1, 1), D(2023, 6, 1), 400), ("back", D(2024, 6, 1), None, 400),  # gap over 1 Jan 2024
    )
    result = ledger.retention(lines, START, END)
    # Only "kept" is active on the start date; "back" adds nothing to R0, R1 or the churn count.
    assert (result.cohort_size, result.churned_logos, result.logo_churn_rate) == (1, 0, Decimal("0.000000"))
    assert result.r1_total == Decimal("1000.00")


def test_a_cohort_account_that_lapsed_and_came_back_before_the_end_is_retained():
    lines = frame(("a", D(2023, 1, 1), D(2024, 3, 1), 1000), ("a", D(2024, 9, 1), None, 800))
    result = ledger.retention(lines, START, END)
    # R0 = 1000 on 1 Jan 2024, R1 = 800 on 1 Jan 2025 → contraction of 200, not a churned logo.
    assert (result.churned_logos, result.contraction, result.grr) == (0, Decimal("200.00"), Decimal("0.800000"))


def test_ending_one_of_two_lines_is_contraction_ending_the_last_is_logo_churn():
    lines = frame(
        ("two", D(2023, 1, 1), None, 600), ("two", D(2023, 1, 1), D(2024, 5, 1), 400),  # 1000 → 600
        ("one", D(2023, 1, 1), D(2024, 5, 1), 1000),  # 1000 → 0
    )
    result = ledger.retention(lines, START, END)
    # Logo churn = 1 of 2 = 0.5; churned R0 = 1000; contraction = 400.
    # GRR = (600 + 0) / 2000 = 0.3; gross MRR churn = (1000 + 400) / 2000 = 0.7.
    assert (result.logo_churn_rate, result.logo_retention) == (Decimal("0.500000"), Decimal("0.500000"))
    assert (result.churned_r0, result.contraction) == (Decimal("1000.00"), Decimal("400.00"))
    assert (result.grr, result.gross_mrr_churn_rate, result.nrr) == (
        Decimal("0.300000"), Decimal("0.700000"), Decimal("0.300000"),
    )


def test_a_contract_ending_on_the_quarters_last_day_is_churn_of_that_quarter():
    q1_start, q1_end = D(2024, 1, 1), D(2024, 4, 1)  # [1 Jan, 1 Apr): Q1 2024
    lines = frame(
        ("through_31_march", D(2023, 4, 1), D(2024, 4, 1), 1000),  # last day of service 31 Mar
        ("through_1_april", D(2023, 4, 2), D(2024, 4, 2), 1000),  # one day into Q2
    )
    result = ledger.retention(lines, q1_start, q1_end)
    # Revenue on 1 Apr: the first contract has none (end is exclusive), the second still runs.
    assert (result.cohort_size, result.churned_logos, result.grr) == (2, 1, Decimal("0.500000"))


def test_one_time_lines_are_ignored():
    lines = frame(
        ("a", D(2023, 1, 1), None, 1000),
        ("a", D(2024, 2, 1), D(2024, 3, 1), 20000, False),  # a one-time implementation fee
        ("fees", D(2023, 1, 1), D(2024, 3, 1), 3000, False),  # an account with fees only
    )
    result = ledger.retention(lines, START, END)
    assert (result.cohort_size, result.r0_total, result.nrr) == (1, Decimal("1000.00"), Decimal("1.000000"))


def test_empty_cohort_gives_none_rates_not_a_division_error():
    result = ledger.retention(frame(("later", D(2024, 6, 1), None, 100)), START, END)
    assert result.cohort_size == 0
    assert [result.grr, result.nrr, result.logo_churn_rate, result.logo_retention, result.gross_mrr_churn_rate] == [
        None, None, None, None, None,
    ]
    assert result.r0_total == Decimal("0.00")


def test_rates_round_half_even_to_six_places_and_complements_add_up_to_one():
    lines = frame(
        ("a", D(2023, 1, 1), None, 100), ("b", D(2023, 1, 1), None, 100),
        ("c", D(2023, 1, 1), D(2024, 6, 1), 100),
    )
    result = ledger.retention(lines, START, END)
    # 1 of 3 churned: 0.333333…; GRR = 200 / 300 = 0.666666… → 0.666667.
    assert result.logo_churn_rate == Decimal("0.333333") and result.logo_retention == Decimal("0.666667")
    assert result.grr == Decimal("0.666667") and result.gross_mrr_churn_rate == Decimal("0.333333")
    assert result.logo_churn_rate + result.logo_retention == 1


def test_full_cohort_example():
    lines = frame(
        ("A", D(2023, 1, 1), None, 10000), ("A", D(2024, 4, 1), None, 2500),  # 10000 → 12500 expansion
        ("B", D(2023, 7, 1), D(2024, 7, 1), 4000), ("B", D(2024, 7, 1), D(2025, 7, 1), 3000),  # 4000 → 3000
        ("C", D(2023, 3, 1), D(2024, 3, 1), 6000),  # 6000 → 0 churn
        ("D", D(2023, 9, 1), D(2024, 9, 1), 2000), ("D", D(2024, 9, 1), D(2025, 9, 1), 2000),  # flat renewal
        ("E", D(2024, 5, 1), None, 7000),  # new: outside the cohort
    )
    result = ledger.retention(lines, START, END)
    # Σ R0 = 10000 + 4000 + 6000 + 2000 = 22000; Σ R1 = 12500 + 3000 + 0 + 2000 = 17500
    # Σ min(R1, R0) = 10000 + 3000 + 0 + 2000 = 15000 → GRR = 15000 / 22000 = 0.681818…
    # NRR = 17500 / 22000 = 0.795454…; logo churn = 1 / 4 = 0.25
    # gross MRR churn = (6000 churned + 1000 contraction) / 22000 = 0.318181…
    assert result == ledger.RetentionResult(
        grr=Decimal("0.681818"), nrr=Decimal("0.795455"), logo_churn_rate=Decimal("0.250000"),
        logo_retention=Decimal("0.750000"), gross_mrr_churn_rate=Decimal("0.318182"), cohort_size=4,
        churned_logos=1, r0_total=Decimal("22000.00"), r1_total=Decimal("17500.00"),
        churned_r0=Decimal("6000.00"), contraction=Decimal("1000.00"), expansion=Decimal("2500.00"),
    )


# --- from the database ------------------------------------------------------------------------------------

def _line(account, start, end, arr, recurring=True, **extra) -> ContractLine:
    return ContractLine(
        organization_id=account.organization_id, account=account, start_date=start, end_date=end,
        arr=Decimal(str(arr)), is_recurring=recurring, currency="USD", **extra,
    )


def test_retention_for_period_reads_the_tenants_lines_and_filters_by_segment(world, other_world, tenant):
    mine = AccountFactory(organization=world.org, owner=world.csm, tier="enterprise")
    theirs_in_my_org = AccountFactory(organization=world.org, owner=world.csm2, tier="smb")
    ContractLine.objects.bulk_create([
        _line(mine, D(2023, 1, 1), None, 1000),
        _line(theirs_in_my_org, D(2023, 1, 1), D(2024, 6, 1), 1000),
    ])
    with tenant_context(other_world.org):
        other_org = AccountFactory(organization=other_world.org)
        ContractLine.objects.bulk_create([_line(other_org, D(2023, 1, 1), D(2024, 6, 1), 99999)])

    everyone = retention_for_period(start=START, end=END)
    # Other organization's line is invisible: cohort = {mine, theirs}, one churned → 0.5.
    assert (everyone.cohort_size, everyone.logo_churn_rate, everyone.r0_total) == (
        2, Decimal("0.500000"), Decimal("2000.00"),
    )
    assert retention_for_period(start=START, end=END, owner_ids=[world.csm.pk]).grr == Decimal("1.000000")
    assert retention_for_period(start=START, end=END, tiers=["smb"]).grr == Decimal("0.000000")


def test_lines_frame_reads_exact_cents_in_one_query(tenant, account, django_assert_num_queries):
    amounts = ["0.07", "1234.56", "0.29", "999999999999.99", "100.10"]
    ContractLine.objects.bulk_create([_line(account, D(2024, 1, 1), None, a) for a in amounts])
    with django_assert_num_queries(1):
        lines = lines_frame()
    assert sorted(lines["arr_cents"].tolist()) == sorted(int(Decimal(a) * 100) for a in amounts)
    assert lines["arr_cents"].dtype == "int64"
    assert lines["end_date"].isna().all()


# --- property: the ledger equals the classic SQL definitions --------------------------------------------

TABLE = ContractLine._meta.db_table
DAY0 = D(2024, 1, 1)
STEP = dt.timedelta(days=30)  # a coarse grid, so that line starts and ends often fall on the period's dates

line_strategy = st.tuples(
    st.integers(min_value=0, max_value=9),  # account index
    st.integers(min_value=-12, max_value=8),  # start, in steps from the period's start
    # duration in steps; None (open-ended) for 3 of 16 values
    st.integers(min_value=1, max_value=16).map(lambda n: None if n > 13 else n),
    st.integers(min_value=1, max_value=10_000_000),  # ARR in cents
    st.sampled_from([True, True, True, False]),  # recurring, or a one-time fee a quarter of the time
)


def _sql_retention(organization_id, start, end) -> dict:
    """Start accounts vs end accounts (Fighting Churn With Data, ch. 2), straight from the table.

    Raw SQL on a tenant table on purpose: it is the independent formulation, scoped by organization_id."""
    active = "is_recurring = %s AND start_date <= %s AND (end_date IS NULL OR end_date > %s)"
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            WITH start_accounts AS (
                SELECT DISTINCT account_id FROM {TABLE} WHERE organization_id = %s AND {active}
            ), end_accounts AS (
                SELECT DISTINCT account_id FROM {TABLE} WHERE organization_id = %s AND {active}
            )
            SELECT (SELECT COUNT(*) FROM start_accounts),
                   (SELECT COUNT(*) FROM start_accounts s
                      LEFT JOIN end_accounts e ON e.account_id = s.account_id WHERE e.account_id IS NULL)
            """,  # noqa: S608 -- the table name is our model's; values are parameters
            [organization_id, True, start, start, organization_id, True, end, end],
        )
        start_count, churned_count = cursor.fetchone()
        cursor.execute(
            f"""
            SELECT SUM(r0), SUM(r1), SUM(CASE WHEN r1 < r0 THEN r1 ELSE r0 END) FROM (
                SELECT account_id,
                       SUM(CASE WHEN start_date <= %s AND (end_date IS NULL OR end_date > %s) THEN arr ELSE 0 END)
                           AS r0,
                       SUM(CASE WHEN start_date <= %s AND (end_date IS NULL OR end_date > %s) THEN arr ELSE 0 END)
                           AS r1
                FROM {TABLE} WHERE organization_id = %s AND is_recurring = %s GROUP BY account_id
            ) per_account WHERE r0 > 0
            """,  # noqa: S608 -- as above
            [start, start, end, end, organization_id, True],
        )
        r0, r1, retained = cursor.fetchone()
    return {
        "cohort": start_count, "churned": churned_count,
        # SQLite keeps decimals as binary floats: back to cents before dividing.
        "r0": Decimal(str(r0 or 0)).quantize(Decimal("0.01")), "r1": Decimal(str(r1 or 0)).quantize(Decimal("0.01")),
        "retained": Decimal(str(retained or 0)).quantize(Decimal("0.01")),
    }


def _close(rate: Decimal | None, numerator: Decimal, denominator: Decimal) -> bool:
    if denominator == 0:
        return rate is None
    return abs(rate - numerator / denominator) <= Decimal("0.0000005")  # half a unit of the 6th place


@pytest.mark.django_db
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    lines=st.lists(line_strategy, min_size=1, max_size=16),
    length=st.integers(min_value=0, max_value=12),
)
def test_ledger_retention_equals_the_classic_sql_definitions(lines, length):
    start = DAY0
    end = start + STEP * length
    org = OrganizationFactory(slug=f"prop-{uuid.uuid4().hex[:12]}")  # a fresh tenant per example
    with tenant_context(org):
        accounts = [Account(organization=org, name=f"Customer {i}") for i in range(10)]
        Account.objects.bulk_create(accounts)
        ContractLine.objects.bulk_create([
            ContractLine(
                organization=org, account=accounts[index], start_date=start + STEP * offset,
                end_date=None if steps is None else start + STEP * (offset + steps),
                arr=Decimal(arr_cents).scaleb(-2), is_recurring=recurring, currency="USD",
            )
            for index, offset, steps, arr_cents, recurring in lines
        ])
        result = retention_for_period(start=start, end=end)
    sql = _sql_retention(org.pk, start, end)
    event("empty cohort" if not result.cohort_size else "cohort with churn" if result.churned_logos else "cohort")

    assert result.cohort_size == sql["cohort"]
    assert result.churned_logos == sql["churned"]
    assert (result.r0_total, result.r1_total) == (sql["r0"], sql["r1"])
    assert _close(result.grr, sql["retained"], sql["r0"])
    assert _close(result.nrr, sql["r1"], sql["r0"])
    assert _close(result.logo_churn_rate, Decimal(sql["churned"]), Decimal(sql["cohort"]))
    if result.grr is not None:
        assert result.grr <= 1
        assert result.gross_mrr_churn_rate == 1 - result.grr
        assert result.churned_r0 + result.contraction == result.r0_total - sql["retained"]
