"""The executive dashboard's aggregates on a small hand-built tenant, checked against METRICS.md by hand and
against the one place each number is computed (renewals ledger/forecast, health coverage/freshness)."""
import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from accounts.models import Account, SurveyResponse
from health.selectors import health_coverage
from playbooks.models import TaskStatus
from renewals.forecast import forecast_for_period
from renewals.models import ContractLine, Renewal
from renewals.periods import quarter_bounds, trailing_twelve_months
from renewals.selectors import retention_for_period, segment_account_ids
from reporting.aggregates import (
    dashboard_aggregates_backfill,
    dashboard_aggregates_refresh,
    last_working_day,
    month_ends,
    user_activity_record,
)
from reporting.models import DashboardAggregate
from tests.factories import (
    AccountFactory,
    ContactFactory,
    HealthSnapshotFactory,
    TaskFactory,
    TouchpointFactory,
)

D = dt.date


def _line(account, start, end, arr):
    return ContractLine(organization_id=account.organization_id, account=account, start_date=start, end_date=end,
                        arr=Decimal(arr), is_recurring=True, currency="USD")


@pytest.fixture
def book(world, tenant):
    """Five accounts (a5 unassigned, a3 churned 10 days ago, a4 new 30 days ago):

    acct owner tier  band     ARR now  lines (ARR)                                   R0 (−12m)  R1 (today)
    a1   csm   ent   healthy  10000    10000 from −400 d                              10000      10000
    a2   csm   smb   at risk   5000    8000 −400 d … −100 d, then 5000                 8000       5000
    a3   csm2  smb   (churned)    0    4000 −400 d … −10 d                             4000          0
    a4   csm2  smb   stable    3000    3000 from −30 d                                    —       3000
    a5   —     mm    no score  1000    none                                              —          —
    """
    org = tenant
    today = org.today()
    ago = lambda n: today - dt.timedelta(days=n)  # noqa: E731 -- a tiny local helper reads best inline

    def account(name, owner, tier, arr, band, **extra):
        return AccountFactory(organization=org, name=name, owner=owner, tier=tier, arr=Decimal(arr),
                              health_band=band, health_as_of=today if band != "unknown" else None, **extra)

    a1 = account("a1", world.csm, "enterprise", "10000", "healthy")
    a2 = account("a2", world.csm, "smb", "5000", "at_risk")
    a3 = account("a3", world.csm2, "smb", "0", "unknown", lifecycle_stage="churned")
    a4 = account("a4", world.csm2, "smb", "3000", "stable")
    a5 = account("a5", None, "mid_market", "1000", "unknown")
    ContractLine.objects.bulk_create([
        _line(a1, ago(400), None, "10000"), _line(a2, ago(400), ago(100), "8000"), _line(a2, ago(100), None, "5000"),
        _line(a3, ago(400), ago(10), "4000"), _line(a4, ago(30), None, "3000"),
    ])
    now = timezone.now()
    for acct, score in ((a1, "80.0"), (a2, "30.0"), (a4, "55.0")):
        HealthSnapshotFactory(account=acct, date=today, score=Decimal(score), computed_at=now - dt.timedelta(hours=2))
    HealthSnapshotFactory(account=a1, date=ago(40), score=Decimal("75.0"))
    # Renewals dated today (this quarter): a1 commit 10000, a2 uncalled 5000 (75 %; at risk by health),
    # a4 closed renewed at 3300.
    Renewal.objects.create(account=a1, renewal_date=today, target_arr=Decimal("10000"), forecast_category="commit")
    Renewal.objects.create(account=a2, renewal_date=today, target_arr=Decimal("5000"))
    Renewal.objects.create(account=a4, renewal_date=today, target_arr=Decimal("3000"), stage="closed",
                           outcome="upsell", final_arr=Decimal("3300"), closed_at=now)
    # NPS: c1 answered 3 then 10 (latest counts: promoter); c2 answered 8 and 3 the same day (the lower counts:
    # detractor); c3 a detractor; one anonymous promoter; c4 a promoter 200 days ago (previous window only).
    c1, c2 = ContactFactory(account=a1), ContactFactory(account=a1)
    c3, c4 = ContactFactory(account=a2), ContactFactory(account=a4)
    for n, (acct, contact, score, days) in enumerate([(a1, c1, 3, 20), (a1, c1, 10, 5), (a1, c2, 8, 1),
                                                      (a1, c2, 3, 1), (a2, c3, 2, 3), (a2, None, 9, 2),
                                                      (a4, c4, 10, 200)]):
        SurveyResponse.objects.create(account=acct, contact=contact, external_id=f"r{n}", kind="nps", score=score,
                                      responded_at=now - dt.timedelta(days=days))
    for acct, days in ((a1, 3), (a1, 29), (a1, 31), (a4, 1)):
        TouchpointFactory(account=acct, occurred_at=now - dt.timedelta(days=days))
    TaskFactory(account=a1, owner=world.csm, due_on=ago(2))
    TaskFactory(account=a1, owner=world.csm, due_on=today + dt.timedelta(days=2))
    TaskFactory(account=a2, owner=world.csm, due_on=ago(5), status=TaskStatus.DONE, completed_at=now)
    user_activity_record(organization=org, user_id=world.csm.pk, day=last_working_day(today))
    user_activity_record(organization=org, user_id=world.csm.pk, day=last_working_day(today))  # no-op repeat
    return {"today": today, "now": now, "a": [a1, a2, a3, a4, a5]}


def _rows(day):
    return {(r.scope, r.scope_key): r.data for r in DashboardAggregate.objects.filter(date=day)}


def test_portfolio_and_health_mix_of_today_follow_the_accounts_pages(world, book):
    dashboard_aggregates_refresh(organization=world.org, day=book["today"], now=book["now"])
    org = _rows(book["today"])[("org", "")]
    assert org["accounts"] == 4 and org["arr"] == "19000.00"  # a3 churned: not counted
    assert org["health"]["healthy"] == {"n": 1, "arr": "10000.00"}
    assert org["health"]["stable"] == {"n": 1, "arr": "3000.00"}
    assert org["health"]["at_risk"] == {"n": 1, "arr": "5000.00"}
    assert org["health"]["unknown"] == {"n": 1, "arr": "1000.00"}
    csm = _rows(book["today"])[("csm", str(world.csm.pk))]
    assert csm["accounts"] == 2 and csm["arr"] == "15000.00" and csm["name"] == world.csm.display_name
    assert _rows(book["today"])[("tier", "smb")]["accounts"] == 2


def test_retention_by_hand_and_equal_to_the_renewals_selector_for_every_scope(world, book):
    today = book["today"]
    dashboard_aggregates_refresh(organization=world.org, day=today, now=book["now"])
    rows = _rows(today)
    # Org cohort a1, a2, a3: R0 = 22000, R1 = 15000, Σ min = 15000 → GRR = NRR = 68.1818 %; 1 of 3 logos lost.
    org = rows[("org", "")]["retention"]
    assert (org["grr"], org["nrr"], org["logo_churn"], org["cohort"]) == ("0.681818", "0.681818", "0.333333", 3)
    assert rows[("csm", str(world.csm.pk))]["retention"]["grr"] == "0.833333"  # 15000 / 18000
    assert rows[("csm", str(world.csm2.pk))]["retention"]["grr"] == "0.000000"
    period = trailing_twelve_months(today)
    for owner in (world.csm, world.csm2):
        expected = retention_for_period(start=period.start, end=period.end, owner_ids=[owner.pk])
        got = rows[("csm", str(owner.pk))]["retention"]
        assert (got["grr"], got["nrr"]) == (str(expected.grr), str(expected.nrr))
    team = rows[("team", str(world.csm.memberships.get().team_id))]["retention"]
    team_expected = retention_for_period(start=period.start, end=period.end,
                                         owner_ids=[world.csm.pk, world.manager.pk])
    assert team["nrr"] == str(team_expected.nrr)
    tier = rows[("tier", "smb")]["retention"]
    assert tier["nrr"] == str(retention_for_period(start=period.start, end=period.end, tiers=["smb"]).nrr)
    assert org["prev_grr"] is None  # nobody was active 24 months ago


def test_this_quarter_by_hand_and_equal_to_the_forecast_for_every_scope(world, book):
    today = book["today"]
    dashboard_aggregates_refresh(organization=world.org, day=today, now=book["now"])
    rows = _rows(today)
    q = rows[("org", "")]["quarter"]
    # Due 10000 + 5000 + 3000; forecast 10000 (commit) + 3750 (75 %) + 3300 (closed final); a2 at risk by health.
    assert (q["due"], q["forecast"], q["at_risk_arr"], q["at_risk_count"], q["count"]) == (
        "18000.00", "17050.00", "5000.00", 1, 3)
    assert q["forecast_pct"] == "0.947222"
    quarter = quarter_bounds(today, world.org.fiscal_year_start_month)
    at_risk_ids = Account.objects.filter(health_band="at_risk").values("pk")
    for owner in (world.csm, world.csm2):
        expected = forecast_for_period(start=quarter.start, end_exclusive=quarter.end,
                                       account_filter=segment_account_ids(owner_ids=[owner.pk]),
                                       at_risk_account_ids=at_risk_ids)
        got = rows[("csm", str(owner.pk))]["quarter"]
        assert (got["due"], got["forecast"], got["at_risk_arr"], got["at_risk_count"]) == (
            str(expected.renewals_due), str(expected.forecast), str(expected.at_risk_arr), expected.at_risk_count)
    month = next(m for m in rows[("org", "")]["by_month"] if m["month"] == today.replace(day=1).isoformat())
    assert month["due"] == "18000.00" and month["forecast"] == "17050.00"


def test_nps_latest_answer_per_contact_in_180_days(world, book):
    dashboard_aggregates_refresh(organization=world.org, day=book["today"], now=book["now"])
    rows = _rows(book["today"])
    nps = rows[("org", "")]["nps"]
    # Respondents: c1 → 10, c2 → 3 (same-day tie: lower), c3 → 2, anonymous → 9: (2 − 2) / 4 = 0.
    assert (nps["score"], nps["n"], nps["promoters"], nps["detractors"]) == (0.0, 4, 2, 2)
    assert (nps["prev_score"], nps["prev_n"]) == (100.0, 1)  # c4's 10, 200 days ago
    csm2 = rows[("csm", str(world.csm2.pk))]["nps"]
    assert csm2["score"] is None and csm2["n"] == 0 and csm2["prev_score"] == 100.0


def test_activity_tasks_touchpoints_coverage_freshness_adoption(world, book):
    dashboard_aggregates_refresh(organization=world.org, day=book["today"], now=book["now"])
    rows = _rows(book["today"])
    org = rows[("org", "")]
    assert org["overdue_tasks"] == 1  # the done one and the future one do not count
    assert org["touchpoints_30d"] == 3 and rows[("csm", str(world.csm2.pk))]["touchpoints_30d"] == 1
    coverage = health_coverage(organization=world.org, day=book["today"])
    assert org["coverage"] == {"active": coverage.active_accounts, "covered": coverage.with_snapshot,
                               "ratio": 0.75}
    assert org["freshness_hours"] == 2.0
    assert org["adoption"]["csms"] == 2 and org["adoption"]["active"] == 1 and org["adoption"]["ratio"] == "0.500000"
    team = rows[("team", str(world.csm.memberships.get().team_id))]
    assert team["adoption"]["ratio"] == "1.000000" and team["name"] == "acme team"
    assert rows[("csm", str(world.csm.pk))]["active_last_working_day"] is True


def test_a_past_day_uses_that_days_revenue_and_snapshots(world, book):
    day = book["today"] - dt.timedelta(days=40)
    dashboard_aggregates_refresh(organization=world.org, day=day)
    org = _rows(day)[("org", "")]
    # a1 10000 (healthy that day), a2 5000 (since −100 d), a3 4000 (until −10 d); a4 had not started.
    assert org["accounts"] == 3 and org["arr"] == "19000.00"
    assert org["health"]["healthy"] == {"n": 1, "arr": "10000.00"} and org["health"]["unknown"]["n"] == 2
    assert org["overdue_tasks"] is None and org["freshness_hours"] is None  # not known for the past


def test_refresh_is_idempotent_and_backfill_writes_month_ends(world, book):
    first = dashboard_aggregates_refresh(organization=world.org, day=book["today"])
    assert dashboard_aggregates_refresh(organization=world.org, day=book["today"]) == first
    assert DashboardAggregate.objects.filter(date=book["today"]).count() == first
    dates = dashboard_aggregates_backfill(organization=world.org, days=95, today=book["today"])
    assert dates[-1] == book["today"] and len(dates) in (4, 5)
    assert all((d + dt.timedelta(days=1)).day == 1 for d in dates[:-1])  # month-ends
    assert DashboardAggregate.objects.filter(scope="org").count() == len(dates)


def test_month_ends_and_last_working_day():
    assert month_ends(today=D(2026, 11, 23), days=62) == [D(2026, 9, 30), D(2026, 10, 31)]
    assert last_working_day(D(2026, 11, 23)) == D(2026, 11, 20)  # Monday → Friday
    assert last_working_day(D(2026, 11, 25)) == D(2026, 11, 24)


def test_aggregates_never_mix_organizations(world, other_world, book):
    from csops.tenancy.context import tenant_context

    with tenant_context(other_world.org):
        AccountFactory(organization=other_world.org, owner=other_world.csm, arr=Decimal("777"))
        dashboard_aggregates_refresh(organization=other_world.org, day=other_world.org.today())
        other = DashboardAggregate.objects.get(scope="org", date=other_world.org.today())
    assert other.data["accounts"] == 1 and other.data["arr"] == "777.00"
    dashboard_aggregates_refresh(organization=world.org, day=book["today"])
    rows = _rows(book["today"])
    assert rows[("org", "")]["accounts"] == 4
    assert rows[("org", "")]["adoption"]["csms"] == 2  # world's two CSMs, not globex's
    outsiders = {str(u.pk) for u in (other_world.csm, other_world.csm2, other_world.manager)}
    assert not outsiders & {key for scope, key in rows if scope == "csm"}


def test_ledger_retention_by_group_equals_retention_of_each_group():
    import pandas as pd

    from renewals import ledger
    from tests.renewals.builders import frame

    lines = frame(("a", D(2025, 1, 1), None, 1000), ("b", D(2025, 1, 1), D(2025, 9, 1), 500),
                  ("c", D(2025, 1, 1), D(2025, 6, 1), 800), ("c", D(2025, 6, 1), None, 1200),
                  ("d", D(2025, 8, 1), None, 300), ("e", D(2025, 1, 1), None, 50, False))
    groups = pd.Series({"a": "x", "b": "x", "c": "y", "d": "y"})
    start, end = D(2025, 3, 1), D(2026, 3, 1)
    by_group = ledger.retention_by_group(lines, start, end, groups)
    assert set(by_group) == {"x", "y"}
    for key, accounts in (("x", ["a", "b"]), ("y", ["c", "d"])):
        assert by_group[key] == ledger.retention(lines[lines["account_id"].isin(accounts)], start, end)
    assert by_group["x"].grr == Decimal("0.666667")
    assert by_group["y"].nrr == Decimal("1.500000")  # d is new: not in the cohort
