"""The executive dashboard page: who may open it, filters, "as of", drill-downs, exports, the query budget; the
activity middleware, the daily job and the command that feed it."""
import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.urls import reverse
from openpyxl import load_workbook

from csops.tenancy.context import tenant_context
from reporting import dashboard_tasks
from reporting.aggregates import dashboard_aggregates_refresh, last_working_day
from reporting.models import DashboardAggregate, UserActivityDay
from tests.budgets import budget
from tests.factories import AccountFactory, HealthSnapshotFactory, MembershipFactory, UserFactory
from tests.reporting.test_dashboard_aggregates import book  # noqa: F401 -- the shared hand-built tenant


def url(world, **params):
    base = reverse("dashboards:dashboard", args=[world.org.slug])
    return base + ("?" + "&".join(f"{k}={v}" for k, v in params.items()) if params else "")


def drill_url(world, **params):
    return reverse("dashboards:drill", args=[world.org.slug]) + "?" + "&".join(f"{k}={v}" for k, v in params.items())


@pytest.fixture
def refreshed(world, book):  # noqa: F811 -- the fixture imported above
    dashboard_aggregates_refresh(organization=world.org, day=book["today"], now=book["now"])
    return book


@pytest.mark.parametrize("role", ["csm", "viewer"])
def test_csms_and_viewers_cannot_open_the_dashboard(role, world, login, refreshed):
    client = login(getattr(world, role))
    assert client.get(url(world)).status_code == 403
    assert client.get(drill_url(world, scope="org", kind="accounts")).status_code == 403


def test_leader_sees_the_whole_organization_with_retention_health_quarter_and_team(world, login, refreshed):
    html = login(world.leader).get(url(world)).content.decode()
    assert "Executive dashboard" in html and world.org.name in html
    assert "68.2%" in html  # GRR and NRR, T12M
    assert "Healthy" in html and "25%" in html  # 1 of 4 accounts
    assert "$18.0k" in html and "$17.0k" in html and "94.7% of due" in html  # due, forecast, % of due
    assert world.csm.display_name in html and world.csm2.display_name in html  # team table
    assert "Health coverage" in html and "75.0%" in html and "Tool adoption" in html and "50%" in html
    assert "as of" not in html
    assert 'id="dashboard-chart-data"' in html


def test_manager_starts_from_their_team_and_can_pick_a_csm(world, login, refreshed):
    client = login(world.manager)
    html = client.get(url(world)).content.decode()
    assert "acme team" in html and world.csm.display_name in html
    assert world.csm2.display_name not in html.split("Team performance")[1]  # csm2 is in no team
    html = client.get(url(world, csm=world.csm2.pk)).content.decode()
    assert world.csm2.display_name in html and "0.0%" in html  # csm2's GRR: a3 churned
    assert "68.2%" in client.get(url(world, all=1)).content.decode()  # "all" shows the whole organization


def test_segment_filter_and_its_note_with_a_team(world, login, refreshed):
    client = login(world.admin)
    html = client.get(url(world, tier="smb")).content.decode()
    assert "SMB" in html and "Team performance" in html
    team_id = world.csm.memberships.get().team_id
    html = client.get(url(world, tier="smb", team=team_id)).content.decode()
    assert "segment filter applies to the whole organization" in html


def test_without_todays_numbers_the_page_shows_the_latest_day_as_of(world, login, refreshed):
    yesterday = refreshed["today"] - dt.timedelta(days=1)
    DashboardAggregate.objects.filter(date=refreshed["today"]).update(date=yesterday)
    html = login(world.leader).get(url(world)).content.decode()
    assert "as of" in html and yesterday.strftime("%b") in html


def test_before_any_refresh_the_page_says_how_to_fill_it(world, login):
    html = login(world.leader).get(url(world)).content.decode()
    assert "No dashboard numbers yet" in html and "refresh_dashboards" in html


def test_every_number_drills_down_to_its_accounts(world, login, refreshed):
    client = login(world.leader)  # account names are link texts: ">a1</a>" (a CSRF token may contain "a1")
    html = client.get(drill_url(world, scope="org", kind="accounts", band="at_risk")).content.decode()
    assert ">a2</a>" in html and ">a1</a>" not in html
    html = client.get(drill_url(world, scope="csm", key=world.csm.pk, kind="accounts")).content.decode()
    assert ">a1</a>" in html and ">a2</a>" in html and ">a4</a>" not in html
    html = client.get(drill_url(world, scope="org", kind="at_risk")).content.decode()
    assert ">a2</a>" in html and ">a1</a>" not in html
    html = client.get(drill_url(world, scope="org", kind="renewals")).content.decode()
    assert "3 rows" in html
    html = client.get(drill_url(world, scope="org", kind="overdue")).content.decode()
    assert "1 row" in html
    html = client.get(drill_url(world, scope="tier", key="smb", kind="accounts")).content.decode()
    assert ">a2</a>" in html and ">a4</a>" in html and ">a1</a>" not in html
    assert client.get(drill_url(world, scope="bogus", kind="accounts")).status_code == 400


def test_tables_export_as_csv_and_xlsx_with_formula_safe_cells(world, login, refreshed):
    world.csm.full_name = "=HYPERLINK(1)"
    world.csm.save()
    dashboard_aggregates_refresh(organization=world.org, day=refreshed["today"])
    client = login(world.leader)
    response = client.get(url(world, format="csv", table="team"))
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0][0] == "CSM" and any(r[0] == "'=HYPERLINK(1)" for r in rows[1:])
    for table in ("summary", "trend", "renewals", "team"):
        response = client.get(url(world, format="xlsx", table=table))
        sheet = load_workbook(io.BytesIO(response.content)).active
        assert sheet.max_row >= 2, table
    summary = load_workbook(io.BytesIO(client.get(url(world, format="xlsx", table="summary")).content)).active
    values = {r[0]: r[1] for r in summary.iter_rows(values_only=True)}
    assert values["ARR"] == 19000 and values["Accounts"] == 4


def _grow(world, n: int):
    with tenant_context(world.org):
        for i in range(n):
            user = UserFactory(email=f"bulk{n}-{i}@acme.example")
            MembershipFactory(organization=world.org, user=user, role="csm")
            account = AccountFactory(organization=world.org, owner=user, arr=Decimal("1000"), health_band="stable")
            HealthSnapshotFactory(account=account, score=Decimal("50"))
        dashboard_aggregates_refresh(organization=world.org)


@pytest.mark.parametrize("n", [3, 40])
def test_the_dashboard_runs_a_constant_number_of_queries(n, world, login, django_assert_max_num_queries):
    _grow(world, n)
    client = login(world.leader)
    with django_assert_max_num_queries(budget(12)):
        assert client.get(url(world)).status_code == 200
    with django_assert_max_num_queries(budget(12)):
        assert client.get(url(world, csm=world.csm.pk, format="xlsx", table="team")).status_code == 200


def test_activity_is_noted_once_a_day_and_stored_by_the_refresh(world, login, refreshed, django_assert_num_queries):
    cache.clear()
    client = login(world.csm2)
    client.get(reverse("accounts:portfolio", args=[world.org.slug]))
    today = world.org.today()
    assert client.session["activity_seen"] == {str(world.org.pk): today.isoformat()}
    with tenant_context(world.org):
        assert not UserActivityDay.objects.filter(user=world.csm2).exists()  # no query in the request
        # Tomorrow's refresh stores today's note and counts it when today is the last working day.
        from reporting.aggregates import user_activity_flush
        assert user_activity_flush(organization=world.org, user_ids=[world.csm2.pk], days=[today]) == 1
        assert UserActivityDay.objects.filter(user=world.csm2, date=today).count() == 1


def test_daily_job_refreshes_each_due_organization_once(world, django_capture_on_commit_callbacks):
    today = world.org.today()
    early = dt.datetime.combine(today, dt.time(3), tzinfo=world.org.tzinfo)  # before health run hour (6) + 1
    late = dt.datetime.combine(today, dt.time(10), tzinfo=world.org.tzinfo)
    assert (world.org.pk, today) not in dashboard_tasks.organizations_due(early)
    assert (world.org.pk, today) in dashboard_tasks.organizations_due(late)
    with django_capture_on_commit_callbacks(execute=True):
        dashboard_tasks.dashboard_refresh.delay(world.org.pk, today.isoformat())
    with tenant_context(world.org):
        assert DashboardAggregate.objects.filter(scope="org", date=today).count() == 1
    assert (world.org.pk, today) not in dashboard_tasks.organizations_due(late)
    dashboard_tasks.dashboard_refresh(world.org.pk, today.isoformat())  # idempotent
    with tenant_context(world.org):
        assert DashboardAggregate.objects.filter(scope="org", date=today).count() == 1


def test_refresh_command_backfills_month_ends(world):
    out = io.StringIO()
    call_command("refresh_dashboards", "--org", world.org.slug, "--days", "70", stdout=out)
    assert "Dashboard aggregates of acme" in out.getvalue()
    with tenant_context(world.org):
        assert DashboardAggregate.objects.filter(scope="org").count() in (3, 4)
    with pytest.raises(Exception, match="No organization"):
        call_command("refresh_dashboards", "--org", "nope")


def test_last_working_day_is_what_adoption_counts(world, refreshed):
    with tenant_context(world.org):
        row = DashboardAggregate.objects.get(scope="org", date=refreshed["today"])
    assert row.data["adoption"]["day"] == last_working_day(refreshed["today"]).isoformat()


def test_the_beat_schedule_refreshes_dashboards_hourly_with_a_registered_task():
    from csops.celery import app

    entry = app.conf.beat_schedule["dashboard-refresh"]
    app.loader.import_default_modules()
    assert entry["task"] == "reporting.dashboard_refresh_all_orgs" and entry["task"] in app.tasks
