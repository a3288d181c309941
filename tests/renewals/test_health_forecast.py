"""The health band and the forecast feed each other (issue 4; METRICS.md "Renewals": at-risk ARR counts each
open renewal once whether its category or its account's health band says at risk). Worked by hand."""
import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import Account, HealthBand
from csops.tenancy.context import tenant_context
from csops.tenancy.models import Team
from csops.tenancy.services import Actor
from renewals.forecast import forecast_for_period
from renewals.models import Renewal
from renewals.services import renewal_close
from tests.factories import AccountFactory

D = dt.date
Q_START, Q_END = D(2026, 4, 1), D(2026, 7, 1)


@pytest.fixture
def book(world, tenant):
    """Open and closed renewals in Q2 2026 with the accounts' current health bands.

    name  target  state / call                     band now   at risk by          expected
    a     1000    open, at_risk, forecast 900       at_risk    both                900
    b     2000    open, probability 50              at_risk    health only         1000
    c     3000    open, at_risk (no call → 40 %)    stable     category only       1200
    d     4000    open, commit                      healthy    —                   4000
    e      500    open, nothing called              unknown    —                    375
    f     2000    closed upsell 2500                at_risk    (closed: never)      —   band at close healthy
    g     1000    closed downsell 600               healthy                         —   band at close at_risk
    h      500    closed churned 0                  unknown                         —   band at close at_risk
    """
    def renewal(name, target, band, **fields):
        account = AccountFactory(organization=world.org, name=name, owner=world.csm)
        Account.objects.filter(pk=account.pk).update(health_band=band)
        closed = {"stage": "closed", "closed_at": timezone.now()} if "outcome" in fields else {}
        return Renewal.objects.create(account=account, renewal_date=D(2026, 5, 15), target_arr=Decimal(target),
                                      **closed, **fields)

    return {
        "a": renewal("a", "1000.00", HealthBand.AT_RISK, forecast_arr=Decimal("900.00"), forecast_category="at_risk"),
        "b": renewal("b", "2000.00", HealthBand.AT_RISK, probability=50),
        "c": renewal("c", "3000.00", HealthBand.STABLE, forecast_category="at_risk"),
        "d": renewal("d", "4000.00", HealthBand.HEALTHY, forecast_category="commit"),
        "e": renewal("e", "500.00", HealthBand.UNKNOWN),
        "f": renewal("f", "2000.00", HealthBand.AT_RISK, outcome="upsell", final_arr=Decimal("2500.00"),
                     health_band_at_close="healthy"),
        "g": renewal("g", "1000.00", HealthBand.HEALTHY, outcome="downsell", final_arr=Decimal("600.00"),
                     health_band_at_close="at_risk"),
        "h": renewal("h", "500.00", HealthBand.UNKNOWN, outcome="churned", final_arr=Decimal("0.00"),
                     health_band_at_close="at_risk"),
    }


def test_at_risk_arr_counts_each_renewal_once_with_its_split(book):
    f = forecast_for_period(start=Q_START, end_exclusive=Q_END)
    # a (both) 1000 + b (health only) 2000 + c (category only) 3000 = 6000 over 3 renewals; f is closed.
    assert (f.at_risk_arr, f.at_risk_count) == (Decimal("6000.00"), 3)
    split = {b.key: (b.count, b.target_arr, b.expected_arr) for b in f.at_risk_split}
    assert split == {
        "category": (1, Decimal("3000.00"), Decimal("1200.00")),
        "health": (1, Decimal("2000.00"), Decimal("1000.00")),
        "both": (1, Decimal("1000.00"), Decimal("900.00")),
    }
    # The rest of the board is unchanged by the bands: due 14000; forecast 900+1000+1200+4000+375 + 3100.
    assert (f.renewals_due, f.forecast) == (Decimal("14000.00"), Decimal("10575.00"))
    # The category breakdown still shows what the CSMs called (a and c), not the health band.
    assert next(b for b in f.by_category if b.key == "at_risk").target_arr == Decimal("4000.00")


def test_explicit_at_risk_accounts_replace_the_current_band(book):
    f = forecast_for_period(start=Q_START, end_exclusive=Q_END, at_risk_account_ids=[book["d"].account_id])
    # category: a, c (their bands are ignored now); health: d → 1000 + 3000 + 4000.
    assert (f.at_risk_arr, f.at_risk_count) == (Decimal("8000.00"), 3)
    assert {b.key: b.count for b in f.at_risk_split} == {"category": 2, "health": 1, "both": 0}


def test_closed_renewals_by_the_band_they_closed_in(book):
    rows = {b.key: b for b in forecast_for_period(start=Q_START, end_exclusive=Q_END).closed_by_health_band}
    assert list(rows) == ["healthy", "stable", "at_risk"]  # "no score" and "not recorded" only when present
    assert (rows["healthy"].closed_count, rows["healthy"].renewed_count, rows["healthy"].logo_renewal_rate) == (
        1, 1, Decimal("1.000000"))
    # g renewed (downsell), h churned: 1 of 2; target 1500, final 600.
    at_risk = rows["at_risk"]
    assert (at_risk.closed_count, at_risk.renewed_count, at_risk.logo_renewal_rate, at_risk.target_arr,
            at_risk.final_arr) == (2, 1, Decimal("0.500000"), Decimal("1500.00"), Decimal("600.00"))
    assert (rows["stable"].closed_count, rows["stable"].logo_renewal_rate) == (0, None)


def test_the_forecast_is_one_query(book, django_assert_num_queries):
    with django_assert_num_queries(1):
        forecast_for_period(start=Q_START, end_exclusive=Q_END)


def test_closing_a_renewal_records_the_band_of_that_moment(world, book):
    renewal = renewal_close(renewal=book["b"], actor=Actor(user=world.csm), outcome="churned")
    assert renewal.health_band_at_close == HealthBand.AT_RISK
    Account.objects.filter(pk=renewal.account_id).update(health_band=HealthBand.HEALTHY)  # later recovery
    assert Renewal.objects.get(pk=renewal.pk).health_band_at_close == HealthBand.AT_RISK


# --- pages ------------------------------------------------------------------------------------------------------

@pytest.fixture
def upcoming(world):
    today = world.org.today()
    with tenant_context(world.org):
        risky = AccountFactory(organization=world.org, name="Risky Health", owner=world.csm)
        calm = AccountFactory(organization=world.org, name="Calm Co", owner=world.csm2)
        other = AccountFactory(organization=world.org, name="Outside Team", owner=world.leader)
        Account.objects.filter(pk=risky.pk).update(health_band=HealthBand.AT_RISK)
        Account.objects.filter(pk=calm.pk).update(health_band=HealthBand.HEALTHY)
        for account in (risky, calm, other):
            Renewal.objects.create(account=account, renewal_date=today + dt.timedelta(days=20),
                                   target_arr=Decimal("1000.00"))
    return today


def pipeline_url(world, query=""):
    return reverse("renewals:pipeline", args=[world.org.slug]) + query


def test_pipeline_rows_show_the_band_and_filter_at_risk_by_category_or_health(world, upcoming, login):
    client = login(world.leader)
    response = client.get(pipeline_url(world, "?window=30"))
    html = response.content.decode()
    assert 'class="band band-at_risk"' in html and 'class="band band-healthy"' in html
    at_risk = client.get(pipeline_url(world, "?window=30&category=at_risk_any")).context
    assert [r.account.name for r in at_risk["page"]] == ["Risky Health"]
    assert (at_risk["totals"].count, at_risk["totals"].target) == (1, Decimal("1000.00"))


def test_forecast_board_shows_the_at_risk_split(world, upcoming, login):
    response = login(world.leader).get(reverse("renewals:forecast", args=[world.org.slug]))
    html = response.content.decode()
    assert "Health band only (not called at risk)" in html and "category=at_risk_any" in html
    assert response.context["summary"].at_risk_count == 1


def test_a_manager_lands_on_their_team_and_can_widen_it(world, upcoming, login):
    client = login(world.manager)
    with tenant_context(world.org):
        team = Team.objects.get(manager=world.manager)
    response = client.get(pipeline_url(world))
    assert response.status_code == 302 and response["Location"].endswith(f"?team={team.pk}")
    mine = client.get(response["Location"] + "&window=30").context["page"]
    # The team is csm + manager (conftest): csm2's and the leader's renewals are outside it.
    assert [r.account.name for r in mine] == ["Risky Health"]
    everyone = client.get(pipeline_url(world, "?window=30&team=")).context["page"]
    assert len(everyone.object_list) == 3


def test_leaders_and_csms_keep_their_default(world, upcoming, login):
    assert login(world.leader).get(pipeline_url(world)).status_code == 200
    assert login(world.csm).get(pipeline_url(world))["Location"].endswith(f"?owner={world.csm.pk}")
