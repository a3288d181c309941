"""Health pages: the account page's health panel, health columns/filters/sorting on the account lists, and the
health overview (distribution, movers, coverage, freshness) — with query budgets that do not grow with the
portfolio."""
import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import Account, LifecycleStage
from csops.tenancy.context import tenant_context
from health.page_selectors import account_health_panel, health_overview
from tests.budgets import budget
from tests.factories import AccountFactory, HealthSnapshotFactory, PulseFactory, snapshot_components


def set_health(account, score, band, as_of):
    """What the daily recompute denormalises onto the account (health app, helper A's service)."""
    with tenant_context(account.organization):
        Account.objects.filter(pk=account.pk).update(
            health_score=None if score is None else Decimal(score), health_band=band, health_as_of=as_of)


def scored(org, *, name, score, owner=None, arr="10000.00", days_ago=0, **snapshot):
    account = AccountFactory(organization=org, name=name, owner=owner, arr=Decimal(arr))
    today = org.today()
    snap = HealthSnapshotFactory(account=account, date=today - dt.timedelta(days=days_ago),
                                 score=None if score is None else Decimal(score), **snapshot)
    set_health(account, score, snap.band, snap.date)
    return account, snap


def detail_url(org, account):
    return reverse("accounts:detail", kwargs={"org_slug": org.slug, "account_id": account.pk})


# ------------------------------------------------------------------ account page panel


def test_account_page_shows_score_band_components_and_why(world, login):
    account, _ = scored(world.org, name="Initech", score="34.5", owner=world.csm,
                        components=snapshot_components(34.5, missing=("nps",)))
    html = login(world.csm).get(detail_url(world.org, account)).content.decode()
    assert 'id="account-health"' in html
    assert "34.5" in html and "band-at_risk" in html and "At risk" in html
    assert "Usage trend fell from 72 to 31" in html  # why it changed since last week
    assert "top detractor" in html and 'class="comp-top"' in html
    assert "no data — weight redistributed" in html  # NPS missing, greyed
    assert "comp-missing" in html
    assert 'id="account-health-data"' in html and "account-health-chart" in html


def test_components_sorted_by_contribution_missing_last(world, tenant):
    account, _ = scored(world.org, name="Initech", score="60", components=snapshot_components(60, missing=("nps",)))
    panel = account_health_panel(account=account, organization=world.org)
    present = [c.contribution for c in panel.present_components]
    assert present == sorted(present, reverse=True)
    assert [c.key for c in panel.components][-1] == "nps" and panel.components[-1].missing
    top = [c for c in panel.components if c.is_top_detractor]
    assert [c.key for c in top] == ["usage_trend"] and top[0].points_lost > 0
    assert "of the prior period" in next(c.raw_text for c in panel.components if c.key == "usage_trend")


def test_trend_is_90_days_with_gaps_and_band_edges(world, tenant):
    account, _ = scored(world.org, name="Initech", score="72")
    today = world.org.today()
    HealthSnapshotFactory(account=account, date=today - dt.timedelta(days=10), score=Decimal("41.0"))
    HealthSnapshotFactory(account=account, date=today - dt.timedelta(days=120), score=Decimal("10.0"))  # too old
    chart = account_health_panel(account=account, organization=world.org).chart
    assert len(chart["labels"]) == 90 and chart["labels"][-1] == today.isoformat()
    assert chart["scores"][-1] == 72.0 and chart["scores"][-11] == 41.0
    assert sum(s is not None for s in chart["scores"]) == 2
    assert (chart["healthy_min"], chart["at_risk_below"]) == (70.0, 40.0)


def test_account_without_snapshot_says_not_scored(world, login, account):
    html = login(world.csm).get(detail_url(world.org, account)).content.decode()
    assert "No health score yet" in html and "No pulse recorded yet" in html


def test_stale_pulse_says_since_when(world, login, account):
    recorded = dt.datetime(2026, 9, 1, 15, tzinfo=dt.UTC)
    PulseFactory(account=account, value="concerned", reason="Champion left", valid_days=30, recorded_at=recorded,
                 recorded_by=world.csm)
    html = login(world.csm).get(detail_url(world.org, account)).content.decode()
    assert "Champion left" in html and "Concerned" in html
    assert "Stale since Oct 1, 2026" in html  # recorded Sep 1 with 30 days: counts through Sep 30


def test_fresh_pulse_says_until_when(world, login, account):
    PulseFactory(account=account, value="good", reason="Great QBR", valid_days=30)
    html = login(world.csm).get(detail_url(world.org, account)).content.decode()
    until = world.org.today() + dt.timedelta(days=29)
    assert f"Counts in the score until {until:%b} {until.day}, {until.year}" in html
    assert "Stale since" not in html


def test_viewer_sees_panel_without_pulse_form(world, login, account):
    html = login(world.viewer).get(detail_url(world.org, account)).content.decode()
    assert 'id="account-health"' in html and "Record pulse" not in html


def test_health_panel_reads_in_three_queries_whatever_the_history(world, tenant, django_assert_num_queries):
    account, _ = scored(world.org, name="Initech", score="50")
    with django_assert_num_queries(3):
        account_health_panel(account=account, organization=world.org)
    today = world.org.today()
    for i in range(1, 60):
        HealthSnapshotFactory(account=account, date=today - dt.timedelta(days=i), score=Decimal(30 + i % 40))
    PulseFactory(account=account)
    with django_assert_num_queries(3):
        panel = account_health_panel(account=account, organization=world.org)
    assert sum(s is not None for s in panel.chart["scores"]) == 60


# ------------------------------------------------------------------ lists: column, filter, sort


def test_account_list_has_health_column_band_filter_and_sort(world, login):
    scored(world.org, name="Alpha", score="80", owner=world.csm)
    scored(world.org, name="Bravo", score="35", owner=world.csm)
    scored(world.org, name="Charlie", score="55", owner=world.csm)
    AccountFactory(organization=world.org, name="Delta", owner=world.csm)  # never scored
    client = login(world.manager)
    url = reverse("accounts:list", kwargs={"org_slug": world.org.slug})
    html = client.get(url, {"scope": "all"}).content.decode()
    assert "Health</a>" in html and "band band-healthy" in html and 'name="band"' in html

    at_risk = client.get(url, {"scope": "all", "band": "at_risk"}).content.decode()
    assert "Bravo" in at_risk and "Alpha" not in at_risk and "Charlie" not in at_risk

    rows = client.get(url, {"scope": "all", "sort": "health"}).context["page"].rows
    assert [a.name for a in rows] == ["Bravo", "Charlie", "Alpha", "Delta"]  # worst first, unscored last
    rows = client.get(url, {"scope": "all", "sort": "health", "desc": "1"}).context["page"].rows
    assert [a.name for a in rows] == ["Alpha", "Charlie", "Bravo", "Delta"]

    unknown = client.get(url, {"scope": "all", "band": "unknown"}).context["page"].rows
    assert [a.name for a in unknown] == ["Delta"]


def test_portfolio_band_filter_and_health_column(world, login):
    scored(world.org, name="Alpha", score="80", owner=world.csm)
    scored(world.org, name="Bravo", score="35", owner=world.csm)
    client = login(world.csm)
    url = reverse("accounts:portfolio", kwargs={"org_slug": world.org.slug})
    html = client.get(url, {"band": "healthy"}).content.decode()
    assert "Alpha" in html and "Bravo" not in html and "band band-healthy" in html
    partial = client.get(url, {"band": "at_risk"}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="account-table")
    assert "Bravo" in partial.content.decode() and "<html" not in partial.content.decode()


def test_bad_band_filter_is_ignored_not_an_error(world, login):
    scored(world.org, name="Alpha", score="80", owner=world.csm)
    response = login(world.csm).get(reverse("accounts:list", kwargs={"org_slug": world.org.slug}), {"band": "nope"})
    assert response.status_code == 200


# ------------------------------------------------------------------ overview


def overview_url(org, **query):
    return reverse("health:overview", kwargs={"org_slug": org.slug})


@pytest.fixture
def week(world):
    """Four accounts scored today and a week ago: Up Co +20, Down Inc −30, Flat Ltd 0, New Co only today;
    plus a churned account (not active: out of the distribution)."""
    org, today = world.org, world.org.today()
    up, _ = scored(org, name="Up Co", score="75", owner=world.csm, arr="50000.00")
    HealthSnapshotFactory(account=up, date=today - dt.timedelta(days=7), score=Decimal("55.0"))
    down, _ = scored(org, name="Down Inc", score="30", owner=world.csm2, arr="30000.00",
                     why_changed="NPS fell from 75 to 25")
    HealthSnapshotFactory(account=down, date=today - dt.timedelta(days=7), score=Decimal("60.0"))
    flat, _ = scored(org, name="Flat Ltd", score="50", owner=world.csm, arr="20000.00")
    HealthSnapshotFactory(account=flat, date=today - dt.timedelta(days=7), score=Decimal("50.0"))
    scored(org, name="New Co", score="65", owner=world.csm2, arr="0.00")
    churned = AccountFactory(organization=org, name="Gone", lifecycle_stage=LifecycleStage.CHURNED, arr=0)
    set_health(churned, "10", "at_risk", today)
    return up, down, flat


def test_overview_distribution_by_count_and_arr(world, tenant, week):
    page = health_overview(organization=world.org)
    by_band = {b.band: b for b in page.bands}
    assert page.total_accounts == 4 and page.total_arr == Decimal("100000.00")
    assert (by_band["healthy"].accounts, by_band["healthy"].arr) == (1, Decimal("50000.00"))
    assert (by_band["stable"].accounts, by_band["stable"].arr) == (2, Decimal("20000.00"))
    assert (by_band["at_risk"].accounts, by_band["at_risk"].arr) == (1, Decimal("30000.00"))
    assert by_band["at_risk"].arr_share == pytest.approx(0.3) and by_band["stable"].account_share == 0.5
    assert page.chart["accounts"] == [1, 2, 1, 0]


def test_overview_movers_up_and_down_this_week(world, tenant, week):
    up, down, _flat = week
    page = health_overview(organization=world.org)
    assert [(s.account_id, s.delta) for s in page.movers_up] == [(up.pk, Decimal("20.0"))]
    assert [(s.account_id, s.delta) for s in page.movers_down] == [(down.pk, Decimal("-30.0"))]
    assert page.movers_down[0].previous_band == "stable"
    assert page.compared_day == world.org.today() - dt.timedelta(days=7)


def test_movers_keep_the_five_largest_each_way(world, tenant):
    today = world.org.today()
    for i in range(1, 8):
        for sign in (1, -1):
            account, _ = scored(world.org, name=f"M{sign}{i}", score=str(50 + sign * i))
            HealthSnapshotFactory(account=account, date=today - dt.timedelta(days=7), score=Decimal("50.0"))
    page = health_overview(organization=world.org)
    assert [s.delta for s in page.movers_up] == [Decimal(d) for d in ("7.0", "6.0", "5.0", "4.0", "3.0")]
    assert [s.delta for s in page.movers_down] == [Decimal(d) for d in ("-7.0", "-6.0", "-5.0", "-4.0", "-3.0")]
    assert [s.account.name for s in page.movers_up][:2] == ["M17", "M16"]


def test_overview_coverage_and_freshness(world, tenant, week):
    page = health_overview(organization=world.org)
    assert (page.coverage.with_snapshot, page.coverage.active_accounts) == (4, 4)
    assert page.coverage.ratio == 1.0
    assert page.freshness.age is not None and page.freshness.within_target


def test_overview_page_renders_for_a_leader(world, login, week):
    html = login(world.leader).get(overview_url(world.org)).content.decode()
    assert "Health overview" in html and "Biggest movers up" in html and "Biggest movers down" in html
    assert "Up Co" in html and "Down Inc" in html and "+20.0" in html and "-30.0" in html
    assert "NPS fell from 75 to 25" in html
    assert 'id="health-overview-data"' in html and "band-count-chart" in html and "band-arr-chart" in html
    assert "4 of 4 scored" in html and "target 100%" in html and "target &lt; 24 h" in html


def test_overview_scopes_a_csm_to_their_book(world, login, week):
    response = login(world.csm).get(overview_url(world.org))
    assert response.context["scope"] == "mine"
    page = response.context["page"]
    assert page.total_accounts == 2  # Up Co and Flat Ltd
    assert page.movers_down == [] and [s.account.name for s in page.movers_up] == ["Up Co"]
    everything = login(world.csm).get(overview_url(world.org), {"scope": "all"}).context["page"]
    assert everything.total_accounts == 4


def test_overview_empty_organization(world, login):
    html = login(world.leader).get(overview_url(world.org)).content.decode()
    assert "No active accounts here" in html and "Movers appear after a week of daily scores" in html


def test_overview_query_count_does_not_grow_with_the_portfolio(world, login, week):
    client = login(world.leader)
    url = overview_url(world.org)
    client.get(url)  # warm caches (session, content types)
    with CaptureQueriesContext(connection) as small:
        assert client.get(url).status_code == 200
    today = world.org.today()
    for i in range(25):
        account, _ = scored(world.org, name=f"More {i}", score=str(20 + i * 3), owner=world.csm2)
        HealthSnapshotFactory(account=account, date=today - dt.timedelta(days=7), score=Decimal(50))
    with CaptureQueriesContext(connection) as large:
        assert client.get(url).status_code == 200
    # 7 for the page (distribution, latest day, movers ranked, movers shown, coverage ×2, freshness) + the request's
    # own (organization, session, user, memberships, notifications, session save).
    assert len(large) == len(small) <= budget(17)


def test_health_nav_link_for_managers_leaders_and_admins_only(world, login):
    portfolio = reverse("accounts:portfolio", kwargs={"org_slug": world.org.slug})
    link = f'href="{overview_url(world.org)}"'
    for user, shown in ((world.manager, True), (world.leader, True), (world.admin, True), (world.csm, False),
                        (world.viewer, False)):
        assert (link in login(user).get(portfolio).content.decode()) is shown, user.email


def test_overview_is_not_visible_to_outsiders(world, other_world, login):
    assert login(other_world.leader).get(overview_url(world.org)).status_code == 404
