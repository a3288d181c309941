"""The health model validation page: who may open it, what it shows (band rates, AUC and its verdict, n and greying),
the empty state, and a query count that does not grow with the history."""
import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from csops.tenancy.context import tenant_context
from health.validation_selectors import validation_page
from renewals.models import ContractLine
from tests.budgets import budget
from tests.factories import AccountFactory, HealthSnapshotFactory

pytestmark = pytest.mark.django_db


def url(org):
    return reverse("health:validation", kwargs={"org_slug": org.slug})


def customer(org, *, name, score, churn_days_ago=None, weeks=4):
    """An account with a contract since two years ago (ending `churn_days_ago` days ago, else open) and weekly
    snapshots of `score` from 200 days ago on."""
    today = org.today()
    account = AccountFactory(organization=org, name=name)
    with tenant_context(org):
        ContractLine.objects.create(
            organization=org, account=account, start_date=today - dt.timedelta(days=730),
            end_date=None if churn_days_ago is None else today - dt.timedelta(days=churn_days_ago),
            arr=Decimal("12000.00"), currency=org.reporting_currency, is_recurring=True,
        )
    for week in range(weeks):
        HealthSnapshotFactory(account=account, date=today - dt.timedelta(days=200 + 7 * week),
                              score=Decimal(score))
    return account


def history(org, *, churners=6, stayers=6):
    for i in range(churners):
        customer(org, name=f"Leaving {i}", score="25.0", churn_days_ago=150)  # churned 50–71 days after scoring
    for i in range(stayers):
        customer(org, name=f"Staying {i}", score="85.0")


@pytest.mark.parametrize("role", ["admin", "manager", "leader"])
def test_ops_admins_managers_and_leaders_open_the_page(world, login, role):
    history(world.org)
    response = login(getattr(world, role)).get(url(world.org))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Health model validation" in html and "Default · v1" in html
    assert "AUC, churn within 90 days" in html and "AUC, churn within 180 days" in html
    assert "1.00" in html and "Separates churners well" in html
    assert 'id="validation-chart-data"' in html


@pytest.mark.parametrize("role", ["csm", "viewer"])
def test_csms_and_viewers_may_not(world, login, role):
    assert login(getattr(world, role)).get(url(world.org)).status_code == 403


def test_band_rates_and_auc_come_from_the_history(world, tenant):
    history(world.org)
    page = validation_page(today=world.org.today())
    [(version, result)] = page.versions
    assert version.number == 1 and page.churn_events == 6
    bands = {row.band: row for row in result.bands}
    assert bands["at_risk"].churn[180].percent == 100.0 and bands["at_risk"].accounts == 6
    assert bands["healthy"].churn[180].percent == 0.0
    # Snapshots 200–221 days old, churn 150 days ago: 50–71 days later, inside both horizons.
    assert bands["at_risk"].churn[90].percent == 100.0
    assert result.auc_churn[180].value == 1.0 and not result.auc_churn[180].thin


def test_few_churners_are_greyed_with_their_n(world, login):
    history(world.org, churners=2, stayers=3)
    html = login(world.admin).get(url(world.org)).content.decode()
    assert "Too few accounts to judge" in html
    assert 'class="num muted"' in html and "n=8" in html  # 2 at-risk accounts × 4 weekly snapshots


def test_no_history_shows_the_empty_state(world, login):
    html = login(world.admin).get(url(world.org)).content.decode()
    assert "No health history yet" in html


def test_query_count_does_not_grow_with_accounts_or_history(world, login):
    client = login(world.admin)
    history(world.org, churners=2, stayers=2)
    with CaptureQueriesContext(connection) as small:
        assert client.get(url(world.org)).status_code == 200
    history(world.org, churners=8, stayers=8)
    with CaptureQueriesContext(connection) as large:
        assert client.get(url(world.org)).status_code == 200
    assert len(large) == len(small) <= budget(14)  # the layout (session, user, membership, bell) + 4 reads
