"""Renewals pages: revenue retention (numbers by hand on a two-account tenant, drill-downs, filters, query
budgets), the pipeline and the forecast board."""
import datetime as dt
from decimal import Decimal

import pandas as pd
import pytest
from django.urls import reverse

from accounts.models import Tier
from csops.tenancy.context import tenant_context
from csops.tenancy.models import Team
from renewals.models import ContractLine, ForecastCategory, Renewal, RenewalOutcome, RenewalStage, RiskReason
from renewals.periods import add_months
from tests.budgets import budget
from tests.factories import AccountFactory


def add_line(org, account, start, end, arr):
    with tenant_context(org):
        return ContractLine.objects.create(organization=org, account=account, start_date=start, end_date=end,
                                           arr=Decimal(arr), currency=org.reporting_currency)


@pytest.fixture
def today(world):
    return world.org.today()


@pytest.fixture
def two_accounts(world, today):
    """Over the trailing 12 months: Upsell Co expands 100 → 150 (a second line), Gone Inc churns 100 → 0."""
    long_ago = add_months(today, -24)
    upsell = AccountFactory(organization=world.org, name="Upsell Co", owner=world.csm, tier=Tier.ENTERPRISE,
                            region="EMEA")
    gone = AccountFactory(organization=world.org, name="Gone Inc", owner=world.csm2, tier=Tier.SMB, region="NA")
    add_line(world.org, upsell, long_ago, None, "100.00")
    add_line(world.org, upsell, add_months(today, -6), None, "50.00")
    add_line(world.org, gone, long_ago, add_months(today, -3), "100.00")
    return upsell, gone


def retention_url(world, **params):
    from urllib.parse import urlencode
    url = reverse("renewals:retention", args=[world.org.slug])
    return url + ("?" + urlencode(params) if params else "")


@pytest.mark.parametrize("role", ["leader", "manager", "csm", "viewer"])
def test_retention_page_shows_hand_checked_grr_nrr_and_logo_churn(role, world, two_accounts, login):
    response = login(getattr(world, role)).get(retention_url(world))
    assert response.status_code == 200
    page = response.context["page"]
    # GRR = (min(150, 100) + min(0, 100)) / 200 = 50 %; NRR = (150 + 0) / 200 = 75 %; 1 of 2 logos churned.
    assert page.current.grr == Decimal("0.5") and page.current.nrr == Decimal("0.75")
    assert page.current.logo_churn_rate == Decimal("0.5") and page.current.logo_retention == Decimal("0.5")
    html = response.content.decode()
    assert "50.0%" in html and "75.0%" in html
    # The waterfall of the period: start 200 + 50 expansion − 100 churn = end 150.
    w = page.waterfall
    assert (w.start_arr, w.expansion, w.churn, w.end_arr) == (Decimal("200.00"), Decimal("50.00"),
                                                               Decimal("100.00"), Decimal("150.00"))


def drill(client, world, **params):
    from urllib.parse import urlencode
    url = reverse("renewals:retention_drilldown", args=[world.org.slug]) + "?" + urlencode(params)
    return client.get(url, HTTP_HX_REQUEST="true")


def test_churn_drilldown_lists_the_churned_account_with_its_r0_and_r1(world, two_accounts, login, today):
    client = login(world.leader)
    page = client.get(retention_url(world)).context["page"]
    response = drill(client, world, kind="churn", period_start=page.period.start, period_end=page.period.end)
    assert response.status_code == 200
    assert [r.account.name for r in response.context["rows"]] == ["Gone Inc"]
    row = response.context["rows"][0]
    assert (row.r0, row.r1) == (Decimal("100.00"), Decimal("0.00"))
    assert "Upsell Co" not in response.content.decode()
    assert "<html" not in response.content.decode()  # an htmx fragment for the panel


def test_cohort_drilldown_lists_both_accounts_and_expansion_only_the_upsell(world, two_accounts, login):
    client = login(world.csm)
    page = client.get(retention_url(world)).context["page"]
    bounds = {"period_start": page.period.start, "period_end": page.period.end}
    cohort = drill(client, world, kind="cohort", **bounds).context["rows"]
    assert {r.account.name for r in cohort} == {"Upsell Co", "Gone Inc"}
    expansion = drill(client, world, kind="expansion", **bounds).context["rows"]
    assert [(r.account.name, r.r0, r.r1) for r in expansion] == [("Upsell Co", Decimal("100.00"), Decimal("150.00"))]


def test_drilldown_without_htmx_is_a_full_page(world, two_accounts, login):
    url = reverse("renewals:retention_drilldown", args=[world.org.slug]) + "?kind=churn"
    response = login(world.leader).get(url)
    assert response.status_code == 200 and b"<html" in response.content and b"Gone Inc" in response.content


def test_unknown_drilldown_kind_is_404(world, login):
    url = reverse("renewals:retention_drilldown", args=[world.org.slug]) + "?kind=everything"
    assert login(world.leader).get(url).status_code == 404


@pytest.mark.parametrize("params,expected", [
    ({"tier": Tier.ENTERPRISE}, (Decimal("1"), Decimal("1.5"))),  # only Upsell Co: 100 → 150
    ({"region": "NA"}, (Decimal("0"), Decimal("0"))),  # only Gone Inc: 100 → 0
])
def test_segment_filters_narrow_the_cohort(params, expected, world, two_accounts, login):
    page = login(world.leader).get(retention_url(world, **params)).context["page"]
    assert (page.current.grr, page.current.nrr) == expected
    assert page.current.cohort_size == 1


def test_owner_filter_narrows_to_one_csms_book(world, two_accounts, login):
    page = login(world.leader).get(retention_url(world, owner=world.csm2.pk)).context["page"]
    assert page.current.cohort_size == 1 and page.current.logo_churn_rate == Decimal("1")


def test_htmx_filter_refresh_returns_the_page_with_the_new_numbers(world, two_accounts, login):
    response = login(world.leader).get(retention_url(world, tier=Tier.ENTERPRISE), HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and 'id="retention-body"' in response.content.decode()
    assert response.context["page"].current.nrr == Decimal("1.5")


def test_last_fiscal_quarter_preset_uses_the_orgs_fiscal_year(world, login, today):
    world.org.fiscal_year_start_month = 2
    world.org.save()
    period = login(world.leader).get(retention_url(world, preset="last_quarter")).context["period"]
    # Fiscal quarters start in Feb, May, Aug, Nov; the last complete one ends on the current one's first day.
    assert period.start.month in (2, 5, 8, 11) and period.start.day == 1
    assert period.end <= today and (period.end - period.start).days in range(89, 93)
    assert period.label.startswith("FY")


def test_custom_period_compares_with_the_previous_equal_period(world, two_accounts, login, today):
    start = add_months(today, -3)
    response = login(world.leader).get(retention_url(world, start=start, end=today - dt.timedelta(days=1)))
    page = response.context["page"]
    assert (page.period.start, page.period.end) == (start, today)
    assert page.previous_period == (add_months(start, -3), start)
    # Gone Inc's contract ended exactly 3 months ago, on the start day: it is not in this period's cohort; Upsell
    # Co expanded 6 months ago, so it is flat at 150 over these 3 months.
    assert page.current.cohort_size == 1 and page.current.nrr == Decimal("1")
    assert page.current.r0_total == Decimal("150.00")


def test_cohort_table_starts_at_100_percent_and_tracks_the_cohort(world, login, today):
    from renewals.periods import quarter_bounds
    start_q = quarter_bounds(add_months(quarter_bounds(today, 1).start, -6), 1)  # two quarters ago
    account = AccountFactory(organization=world.org, name="Cohort Co")
    add_line(world.org, account, start_q.start, None, "100.00")
    add_line(world.org, account, start_q.end, None, "100.00")  # doubles the day its start quarter ends
    page = login(world.leader).get(retention_url(world)).context["page"]
    row = next(c for c in page.cohorts if c.quarter.start == start_q.start)
    # At the end of the start quarter it already has 200 (both lines run that day): Q+0 = 100 %, Q+1 = 100 %.
    assert row.accounts == 1 and row.start_arr == Decimal("200.00")
    assert [c.rate for c in row.cells] == [Decimal("1"), Decimal("1")]


def _tenant_with(world, n):
    today = world.org.today()
    for i in range(n):
        account = AccountFactory(organization=world.org, owner=world.csm, tier=Tier.SMB)
        add_line(world.org, account, add_months(today, -20), None if i % 3 else add_months(today, -2), "1000.00")


@pytest.mark.parametrize("n", [5, 50])
def test_retention_page_and_drilldown_run_a_constant_number_of_queries(n, world, login,
                                                                       django_assert_max_num_queries):
    _tenant_with(world, n)
    client = login(world.leader)
    with django_assert_max_num_queries(budget(12)):
        assert client.get(retention_url(world, tier=Tier.SMB, owner=world.csm.pk)).status_code == 200
    with django_assert_max_num_queries(budget(12)):
        assert drill(client, world, kind="churn").status_code == 200


# ---------------------------------------------------------------- pipeline and forecast board



def add_renewal(world, account, day, target, **fields):
    with tenant_context(world.org):
        return Renewal.objects.create(organization=world.org, account=account, renewal_date=day,
                                      target_arr=Decimal(target), **fields)


@pytest.fixture
def pipeline(world, today):
    """Three renewals: in 10 days (commit, CSM's own), in 60 days (at risk, csm2), in 150 days (no call)."""
    a = AccountFactory(organization=world.org, name="Alpha Soon", owner=world.csm, tier=Tier.ENTERPRISE)
    b = AccountFactory(organization=world.org, name="Beta Risky", owner=world.csm2, tier=Tier.SMB)
    c = AccountFactory(organization=world.org, name="Gamma Later", owner=world.csm, tier=Tier.SMB)
    return {
        "soon": add_renewal(world, a, today + dt.timedelta(days=10), "1000.00", forecast_arr=Decimal("900.00"),
                            forecast_category=ForecastCategory.COMMIT),
        "risky": add_renewal(world, b, today + dt.timedelta(days=60), "2000.00",
                             forecast_category=ForecastCategory.AT_RISK, risk_reason=RiskReason.BUDGET),
        "later": add_renewal(world, c, today + dt.timedelta(days=150), "4000.00"),
    }


def pipeline_url(world, **params):
    from urllib.parse import urlencode
    return reverse("renewals:pipeline", args=[world.org.slug]) + ("?" + urlencode(params) if params else "")


@pytest.mark.parametrize("role", ["leader", "manager", "csm"])
@pytest.mark.parametrize("window,names,target,forecast", [
    ("30", ["Alpha Soon"], Decimal("1000.00"), Decimal("900.00")),
    # 900 (the call) + 2000 × 40 % (at risk, no call) = 1700
    ("90", ["Alpha Soon", "Beta Risky"], Decimal("3000.00"), Decimal("1700.00")),
    # + 4000 × 75 % (not called) = 4700
    ("180", ["Alpha Soon", "Beta Risky", "Gamma Later"], Decimal("7000.00"), Decimal("4700.00")),
])
def test_pipeline_windows_list_the_renewals_with_totals(role, window, names, target, forecast, world, pipeline, login):
    response = login(getattr(world, role)).get(pipeline_url(world, window=window, owner=""))
    assert response.status_code == 200
    assert [r.account.name for r in response.context["page"].object_list] == names
    totals = response.context["totals"]
    assert (totals.count, totals.target, totals.forecast) == (len(names), target, forecast)


def test_pipeline_filters_by_category_owner_tier_and_team(world, pipeline, login):
    client = login(world.leader)

    def names(**params):
        return [r.account.name for r in client.get(pipeline_url(world, window="180", **params)).context["page"]]

    assert names(category=ForecastCategory.AT_RISK) == ["Beta Risky"]
    assert names(category="none") == ["Gamma Later"]
    assert names(owner=world.csm.pk) == ["Alpha Soon", "Gamma Later"]
    assert names(tier=Tier.SMB) == ["Beta Risky", "Gamma Later"]
    with tenant_context(world.org):
        team_id = Team.objects.get().pk  # the world's team holds csm and manager, not csm2
    assert names(team=team_id) == ["Alpha Soon", "Gamma Later"]


def test_pipeline_by_fiscal_quarter_and_sorting(world, pipeline, login, today):
    from renewals.periods import quarter_bounds
    client = login(world.leader)
    quarter = quarter_bounds(today + dt.timedelta(days=150), world.org.fiscal_year_start_month)
    response = client.get(pipeline_url(world, quarter=quarter.start))
    assert "Gamma Later" in [r.account.name for r in response.context["page"]]
    by_target = client.get(pipeline_url(world, window="180", sort="target", desc="1")).context["page"]
    assert [r.account.name for r in by_target] == ["Gamma Later", "Beta Risky", "Alpha Soon"]


def test_a_csm_lands_on_their_own_book_and_can_widen_it(world, pipeline, login):
    client = login(world.csm)
    response = client.get(pipeline_url(world))
    assert response.status_code == 302 and response["Location"].endswith(f"?owner={world.csm.pk}")
    mine = client.get(response["Location"] + "&window=180").context["page"]
    assert [r.account.name for r in mine] == ["Alpha Soon", "Gamma Later"]
    everyone = client.get(pipeline_url(world, window="180", owner="")).context["page"]
    assert len(everyone.object_list) == 3


def test_pipeline_empty_state(world, login):
    response = login(world.leader).get(pipeline_url(world))
    assert response.status_code == 200 and b"No renewals in this window" in response.content


def test_forecast_edit_in_place_updates_and_rerenders_the_row(world, pipeline, login):
    renewal = pipeline["later"]
    url = reverse("renewals:forecast_edit", args=[world.org.slug, renewal.pk])
    response = login(world.csm).post(url, {
        "forecast_arr": "3500.00", "forecast_category": ForecastCategory.LIKELY, "probability": "80",
        "risk_reason": RiskReason.COMPETITOR, "stage": RenewalStage.ENGAGED,
    }, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    html = response.content.decode()
    assert html.strip().startswith("<tr") and f'id="renewal-{renewal.pk}"' in html and "Saved." in html
    assert 'value="3500.00"' in html
    with tenant_context(world.org):
        renewal.refresh_from_db()
    assert (renewal.forecast_arr, renewal.forecast_category, renewal.probability, renewal.risk_reason,
            renewal.stage) == (Decimal("3500.00"), "likely", 80, "competitor", "engaged")


def test_forecast_edit_with_a_bad_probability_shows_the_error_in_the_row(world, pipeline, login):
    renewal = pipeline["later"]
    url = reverse("renewals:forecast_edit", args=[world.org.slug, renewal.pk])
    response = login(world.csm).post(url, {"probability": "150"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and b"Probability" in response.content and b"Saved." not in response.content
    with tenant_context(world.org):
        renewal.refresh_from_db()
    assert renewal.probability is None


def test_viewer_sees_read_only_rows_and_gets_403_on_edits(world, pipeline, login):
    client = login(world.viewer)
    html = client.get(pipeline_url(world, window="180")).content.decode()
    assert "Beta Risky" in html and 'name="forecast_arr"' not in html and "Close…" not in html
    renewal = pipeline["later"]
    for name, data in (("renewals:forecast_edit", {"forecast_arr": "1"}), ("renewals:close", {"outcome": "churned"})):
        assert client.post(reverse(name, args=[world.org.slug, renewal.pk]), data).status_code == 403


def test_close_records_the_outcome_and_rerenders_a_closed_row(world, pipeline, login):
    renewal = pipeline["soon"]
    url = reverse("renewals:close", args=[world.org.slug, renewal.pk])
    response = login(world.manager).post(url, {"outcome": RenewalOutcome.CHURNED, "final_arr": ""},
                                         HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and b"Churned" in response.content
    assert b'name="forecast_arr"' not in response.content  # closed renewals are read-only
    with tenant_context(world.org):
        renewal.refresh_from_db()
    assert (renewal.stage, renewal.outcome, renewal.final_arr) == ("closed", "churned", Decimal("0.00"))


def test_forecast_board_numbers_come_from_the_quarters_forecast(world, login, today):
    from renewals.periods import quarter_bounds
    quarter = quarter_bounds(today, world.org.fiscal_year_start_month)
    day = quarter.start
    a = AccountFactory(organization=world.org, name="Kept", owner=world.csm)
    b = AccountFactory(organization=world.org, name="Lost", owner=world.csm)
    c = AccountFactory(organization=world.org, name="Open", owner=world.csm2)
    add_renewal(world, a, day, "1000.00", stage=RenewalStage.CLOSED, outcome=RenewalOutcome.UPSELL,
                final_arr=Decimal("1200.00"))
    add_renewal(world, b, day, "1000.00", stage=RenewalStage.CLOSED, outcome=RenewalOutcome.CHURNED,
                final_arr=Decimal("0.00"))
    add_renewal(world, c, day, "2000.00", forecast_category=ForecastCategory.AT_RISK, risk_reason=RiskReason.BUDGET)
    response = login(world.leader).get(reverse("renewals:forecast", args=[world.org.slug]))
    assert response.status_code == 200
    s = response.context["summary"]
    # Due 4000; forecast = 1200 + 0 (closed) + 2000 × 40 % = 2000 = 50 % of due; at risk 2000 (1 renewal).
    assert (s.renewals_due, s.forecast, s.forecast_pct_of_due) == (Decimal("4000.00"), Decimal("2000.00"),
                                                                   Decimal("0.5"))
    assert (s.at_risk_arr, s.at_risk_count) == (Decimal("2000.00"), 1)
    # Closed: gross = (min(1200, 1000) + 0) / 2000 = 50 %, net = 1200 / 2000 = 60 %, logos 1 of 2.
    assert (s.gross_renewal_rate, s.net_renewal_rate, s.logo_renewal_rate) == (Decimal("0.5"), Decimal("0.6"),
                                                                               Decimal("0.5"))
    html = response.content.decode()
    assert "50.0%" in html and "60.0%" in html and "$4,000" in html
    # Filtered to csm2's book: only the open renewal.
    filtered = login(world.leader).get(reverse("renewals:forecast", args=[world.org.slug]),
                                       {"owner": world.csm2.pk}).context["summary"]
    assert (filtered.renewals_due, filtered.closed_count) == (Decimal("2000.00"), 0)


def test_forecast_board_quarter_selector_moves_by_a_quarter(world, login, today):
    from renewals.periods import quarter_bounds
    client = login(world.leader)
    current = client.get(reverse("renewals:forecast", args=[world.org.slug])).context
    nxt = client.get(reverse("renewals:forecast", args=[world.org.slug]),
                     {"quarter": current["next_quarter"].start}).context["quarter"]
    assert nxt.start == current["quarter"].end
    assert current["quarter"] == quarter_bounds(today, world.org.fiscal_year_start_month)


def _renewals_for(world, n, today):
    for i in range(n):
        account = AccountFactory(organization=world.org, owner=world.csm if i % 2 else world.csm2)
        add_renewal(world, account, today + dt.timedelta(days=5 + i), "1000.00")


@pytest.mark.parametrize("n", [5, 50])
def test_pipeline_and_forecast_board_run_a_constant_number_of_queries(n, world, login, today,
                                                                      django_assert_max_num_queries):
    _renewals_for(world, n, today)
    client = login(world.leader)
    with django_assert_max_num_queries(budget(16)):
        assert client.get(pipeline_url(world, window="180", tier=Tier.MID_MARKET)).status_code == 200
    with django_assert_max_num_queries(budget(14)):
        assert client.get(reverse("renewals:forecast", args=[world.org.slug])).status_code == 200


def test_pipeline_filters_refresh_only_on_their_own_controls(world, pipeline, login):
    # "change from:select" would listen to every select of the page: editing a row's category would then
    # also reload the table and wipe the row's "Saved." confirmation.
    html = login(world.csm).get(pipeline_url(world, window="180")).content.decode()
    assert 'hx-trigger="change, submit"' in html and "from:select" not in html


def test_cohort_cells_equal_the_ledgers_nrr_of_the_cohort(world, today):
    """The cohort table sums revenue per quarter end; each cell must be exactly ledger.retention's NRR."""
    import random

    from renewals import ledger
    from renewals.page_selectors import account_first_revenue, cohort_table
    from renewals.periods import quarter_bounds
    from renewals.selectors import lines_frame

    rng = random.Random(4)
    for _ in range(30):
        account = AccountFactory(organization=world.org)
        start = today - dt.timedelta(days=rng.randint(20, 800))
        end = None if rng.random() < 0.5 else start + dt.timedelta(days=rng.randint(30, 600))
        add_line(world.org, account, start, end, f"{rng.randint(1, 50) * 100}.00")
        if rng.random() < 0.4:
            add_line(world.org, account, start + dt.timedelta(days=rng.randint(1, 300)), None, "700.00")
    with tenant_context(world.org):
        frame = lines_frame()
    rows, _ = cohort_table(frame, today=today, fiscal_start_month=1)
    first = pd.to_datetime(account_first_revenue(frame))
    checked = 0
    for row in rows:
        members = first.index[((first >= pd.Timestamp(row.quarter.start))
                               & (first < pd.Timestamp(row.quarter.end))).to_numpy()]
        cohort_lines = frame[frame["account_id"].isin(members)]
        for cell in row.cells:
            expected = ledger.retention(cohort_lines, row.quarter.end, cell.as_of)
            assert cell.rate == expected.nrr, (row.quarter.label, cell.as_of)
            checked += 1
        if row.cells:
            assert row.start_arr == ledger.retention(cohort_lines, row.quarter.end, row.quarter.end).r0_total
    assert checked and quarter_bounds(today, 1)


def test_an_unknown_filter_value_is_named_not_silently_widened(world, two_accounts, login):
    response = login(world.leader).get(retention_url(world, region="Nowhere", tier=Tier.ENTERPRISE))
    assert response.status_code == 200
    # The valid filter still applies (only Upsell Co); the unknown region is reported on the page.
    assert response.context["page"].current.cohort_size == 1
    assert "Some filters were not applied" in response.content.decode() and "Nowhere" in response.content.decode()
