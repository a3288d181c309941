"""The weekly leader email: the executive numbers with week-over-week change, top risks, the team table —
read from precomputed aggregates (built here by hand), sent once per leader and week."""
import datetime as dt
from decimal import Decimal

import pytest

from accounts.models import Account
from csops.tenancy.context import tenant_context
from reporting.leader_digest import executive_week_numbers, headline_numbers, weekly_leader_digests
from reporting.models import DashboardAggregate, EmailKind, OutboxMessage
from reporting.services.weekly import weekly_leader_emails_enqueue
from tests.factories import AccountFactory

TODAY = dt.date(2026, 11, 23)


def _data(*, grr, nrr, nps, healthy, at_risk, accounts, forecast, at_risk_arr, name=None, team_id=None):
    data = {
        "accounts": accounts, "arr": "100000.00",
        "health": {"healthy": {"n": healthy, "arr": "0"}, "stable": {"n": accounts - healthy - at_risk, "arr": "0"},
                   "at_risk": {"n": at_risk, "arr": "0"}, "unknown": {"n": 0, "arr": "0"}},
        "retention": {"grr": grr, "nrr": nrr},
        "nps": {"score": nps, "n": 12},
        "quarter": {"label": "Q4 FY2026", "due": "50000.00", "count": 4, "forecast": forecast,
                    "forecast_pct": str(Decimal(forecast) / Decimal("50000")), "at_risk_arr": at_risk_arr,
                    "at_risk_count": 2},
        "touchpoints_30d": 9, "overdue_tasks": 3,
    }
    if name:
        data.update(name=name, team_id=team_id)
    return data


@pytest.fixture
def aggregates(world):
    team_id = str(world.manager.memberships.get(organization=world.org).team_id)
    with tenant_context(world.org):
        for day, grr, at_risk, forecast in ((TODAY - dt.timedelta(days=7), "0.880000", 2, "40000.00"),
                                            (TODAY, "0.895000", 3, "42500.00")):
            DashboardAggregate.objects.create(date=day, scope="org", scope_key="", data=_data(
                grr=grr, nrr="1.050000", nps=32.0, healthy=5, at_risk=at_risk, accounts=10, forecast=forecast,
                at_risk_arr="12000.00"))
            DashboardAggregate.objects.create(date=day, scope="team", scope_key=team_id, data=_data(
                grr=grr, nrr="1.020000", nps=10.0, healthy=2, at_risk=at_risk - 1, accounts=4, forecast=forecast,
                at_risk_arr="8000.00", name="Acme team"))
            DashboardAggregate.objects.create(date=day, scope="csm", scope_key=str(world.csm.pk), data=_data(
                grr=grr, nrr="1.020000", nps=10.0, healthy=2, at_risk=at_risk - 1, accounts=4, forecast=forecast,
                at_risk_arr="8000.00", name="Casey CSM", team_id=team_id))
        big = AccountFactory(organization=world.org, owner=world.csm, name="Big Risk", arr=Decimal("70000"))
        AccountFactory(organization=world.org, owner=world.csm2, name="Other Team Risk", arr=Decimal("90000"))
        Account.objects.filter(name__in=["Big Risk", "Other Team Risk"]).update(health_band="at_risk",
                                                                                 health_score=Decimal("22.5"))
    return world, big


def test_headline_numbers_show_week_over_week_change():
    before = _data(grr="0.880000", nrr="1.050000", nps=30.0, healthy=5, at_risk=2, accounts=10, forecast="40000.00",
                   at_risk_arr="10000.00")
    now = _data(grr="0.895000", nrr="1.050000", nps=32.0, healthy=5, at_risk=3, accounts=10, forecast="42500.00",
                at_risk_arr="12000.00")
    items = {i["label"]: i for i in headline_numbers(now, before, currency="USD")}
    assert items["GRR, trailing 12 months"] == {"label": "GRR, trailing 12 months", "value": "89.5%",
                                                "change": "▲ 1.5 pp", "good": True}
    assert items["NRR, trailing 12 months"]["change"] == "±0.0 pp"
    assert items["NPS (12 responses)"]["value"] == "+32" and items["NPS (12 responses)"]["change"] == "▲ 2"
    assert items["At-risk accounts (% of accounts)"]["value"] == "30.0%"
    assert (items["At-risk accounts (% of accounts)"]["change"], items["At-risk accounts (% of accounts)"]["good"]) \
        == ("▲ 10.0 pp", False)  # more accounts at risk is bad news
    assert items["Forecast (% of due)"]["value"] == "$42.5k (85.0%)"
    at_risk_arr = items["At-risk ARR (2 accounts)"]
    assert at_risk_arr["change"] == "▲ $2.0k" and at_risk_arr["good"] is False


def test_leaders_get_the_organization_and_managers_their_team(aggregates):
    world, big = aggregates
    with tenant_context(world.org):
        digests = weekly_leader_digests(organization=world.org, today=TODAY)
    assert set(digests) == {world.leader.pk, world.manager.pk}
    leader, manager = digests[world.leader.pk], digests[world.manager.pk]
    assert leader.scope_label == "Acme" and manager.scope_label == "acme team"
    assert [r["name"] for r in leader.table] == ["Acme team"]
    assert [r["name"] for r in manager.table] == ["Casey CSM"]
    assert manager.table[0]["at_risk_change"] == 1
    assert [a["name"] for a in leader.top_risks] == ["Other Team Risk", "Big Risk"]  # by ARR
    assert [a["name"] for a in manager.top_risks] == ["Big Risk"]  # only the team's accounts
    assert leader.as_of == TODAY


def test_leader_emails_are_queued_once_and_read_well(aggregates):
    world, _big = aggregates
    with tenant_context(world.org):
        assert weekly_leader_emails_enqueue(organization=world.org, today=TODAY) == 2
        assert weekly_leader_emails_enqueue(organization=world.org, today=TODAY) == 0
        message = OutboxMessage.objects.get(kind=EmailKind.WEEKLY_LEADER, to_email=world.leader.email)
    assert message.subject == "Acme this week: GRR 89.5%, at-risk ARR $12.0k"
    assert "GRR, trailing 12 months: 89.5%  [▲ 1.5 pp]" in message.body_text
    assert "Other Team Risk: $90.0k, score 22.5" in message.body_text
    assert "Acme team: 4 accounts" in message.body_text
    assert "Other Team Risk" in message.body_html


def test_exec_update_numbers_come_from_the_org_aggregate(aggregates):
    world, _big = aggregates
    with tenant_context(world.org):
        numbers = executive_week_numbers(organization=world.org, day=TODAY)
    assert numbers["as_of"] == TODAY.isoformat()
    assert numbers["items"][0]["value"] == "89.5%"


def test_without_aggregates_the_email_says_so(world):
    with tenant_context(world.org):
        digests = weekly_leader_digests(organization=world.org, today=TODAY)
        assert executive_week_numbers(organization=world.org, day=TODAY) == {}
    assert digests[world.leader.pk].numbers == [] and digests[world.leader.pk].as_of is None
