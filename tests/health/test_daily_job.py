"""The daily health job: who is due when (local run hour, catch-up), the tasks, the beat entry, the command."""
import datetime as dt
import io

import pytest
from django.core.management import CommandError, call_command

from csops.celery import app
from csops.embedded import EmbeddedScheduler
from csops.tenancy.context import tenant_context
from health import tasks
from health.models import HealthSnapshot
from tests.factories import AccountFactory, OrganizationFactory

from .signal_data import DAY, now_at, populate

pytestmark = pytest.mark.django_db


@pytest.fixture
def eager(monkeypatch):
    monkeypatch.setitem(app.conf, "task_always_eager", True)


def _org(slug, tz="UTC", hour=6, accounts=3):
    org = OrganizationFactory(slug=slug, timezone=tz, health_run_hour=hour)
    with tenant_context(org):
        populate(org, accounts=accounts, seed=len(slug), days=10)
    return org


def test_an_organization_is_due_from_its_local_run_hour():
    utc = _org("utc-six")
    tokyo = _org("tokyo-seven", tz="Asia/Tokyo", hour=7)
    # 05:00 UTC: before the UTC org's 06:00; 14:00 on 30 June in Tokyo (UTC+9), past its 07:00
    assert tasks.organizations_due(now_at(DAY, 5)) == [(tokyo.pk, DAY)]
    due = dict(tasks.organizations_due(now_at(DAY, 6)))
    assert due[utc.pk] == DAY and due[tokyo.pk] == DAY
    # 22:30 UTC on 30 June is 07:30 on 1 July in Tokyo: Tokyo's new day is due, UTC's 30 June still is
    late = dict(tasks.organizations_due(dt.datetime(2025, 6, 30, 22, 30, tzinfo=dt.UTC)))
    assert late == {utc.pk: DAY, tokyo.pk: DAY + dt.timedelta(days=1)}


def test_before_the_run_hour_nothing_is_due():
    _org("early", hour=9)
    assert tasks.organizations_due(now_at(DAY, 8)) == []


def test_a_complete_day_is_not_due_again_and_a_partial_one_catches_up(eager, django_capture_on_commit_callbacks,
                                                                       monkeypatch):
    org = _org("catchup", accounts=4)
    monkeypatch.setattr("django.utils.timezone.now", lambda: now_at(DAY, 7))
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.health_daily_all_orgs() == 1
    with tenant_context(org):
        assert HealthSnapshot.objects.filter(date=DAY).count() == 4
        assert tasks.organizations_due() == []
        AccountFactory(organization=org)  # a new account: today is incomplete again
    assert tasks.organizations_due() == [(org.pk, DAY)]
    with tenant_context(org):
        AccountFactory(organization=org, lifecycle_stage="churned")  # churned accounts are not awaited
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.health_daily_all_orgs() == 1
    with tenant_context(org):
        assert HealthSnapshot.objects.filter(date=DAY).count() == 5
    assert tasks.health_daily_all_orgs() == 0


def test_health_daily_task_scores_the_organizations_today(monkeypatch):
    org = _org("daily", accounts=2)
    monkeypatch.setattr("django.utils.timezone.now", lambda: now_at(DAY, 7))
    result = tasks.health_daily(org.pk)
    assert result["day"] == DAY.isoformat() and result["accounts"] == 2
    assert tasks.health_daily(org.pk, "2025-06-01")["day"] == "2025-06-01"


def test_recompute_accounts_task_rescores_only_those(monkeypatch):
    org = _org("few", accounts=3)
    monkeypatch.setattr("django.utils.timezone.now", lambda: now_at(DAY, 7))
    with tenant_context(org):
        account = org_accounts(org)[0]
    assert tasks.health_recompute_accounts(org.pk, [str(account.pk), str(account.pk)]) == 1
    assert tasks.health_recompute_accounts(org.pk, []) == 0
    with tenant_context(org):
        assert list(HealthSnapshot.objects.values_list("account_id", flat=True)) == [account.pk]


def org_accounts(org):
    from accounts.models import Account

    return list(Account.objects.order_by("name"))


def test_recompute_accounts_can_be_enqueued_after_commit(eager, django_capture_on_commit_callbacks, monkeypatch):
    org = _org("oncommit", accounts=1)
    monkeypatch.setattr("django.utils.timezone.now", lambda: now_at(DAY, 7))
    with tenant_context(org):
        account = org_accounts(org)[0]
    with django_capture_on_commit_callbacks(execute=True):
        tasks.health_recompute_accounts.delay_on_commit(org.pk, [str(account.pk)])
    with tenant_context(org):
        assert HealthSnapshot.objects.filter(account=account, date=DAY).exists()


def test_the_beat_schedule_runs_health_hourly_and_the_embedded_scheduler_too(
    eager, django_capture_on_commit_callbacks, monkeypatch
):
    entry = app.conf.beat_schedule["health-daily"]
    assert entry["task"] == "health.daily_all_orgs"
    org = _org("embedded", accounts=2)
    scheduler = EmbeddedScheduler(app)
    scheduler.last_run["health-daily"] -= dt.timedelta(days=1)  # only this entry is due (others just ran)
    monkeypatch.setattr(tasks, "organizations_due", lambda: [(org.pk, DAY)])
    with django_capture_on_commit_callbacks(execute=True):
        ran = scheduler.run_due()
    assert ran == ["health-daily"]
    with tenant_context(org):
        assert HealthSnapshot.objects.filter(date=DAY).count() == 2


def test_recompute_command_fills_history_with_a_progress_bar(monkeypatch):
    org = _org("cmd", accounts=2)
    monkeypatch.setattr("django.utils.timezone.now", lambda: now_at(DAY, 7))
    detected = []
    monkeypatch.setattr("health.services.alerts.alerts_detect",
                        lambda *, organization, day, account_ids=None: detected.append(day) or 0)
    out, err = io.StringIO(), io.StringIO()
    call_command("recompute_health", "--org", "cmd", "--days", "3", stdout=out, stderr=err)
    assert "Recomputed 3 day(s) of cmd (2025-06-28 → 2025-06-30): 6 snapshot(s) written" in out.getvalue()
    assert detected == [DAY]  # history does not page anyone
    with tenant_context(org):
        assert sorted(set(HealthSnapshot.objects.values_list("date", flat=True))) == [
            DAY - dt.timedelta(days=2), DAY - dt.timedelta(days=1), DAY]
    call_command("recompute_health", "--org", "cmd", "--date", "2025-06-01", stdout=out, stderr=err)
    with tenant_context(org):
        assert HealthSnapshot.objects.filter(date=dt.date(2025, 6, 1)).count() == 2


@pytest.mark.parametrize(("args", "message"), [
    (["--org", "nope"], "No organization"),
    (["--org", "cmdbad", "--date", "30/06/2025"], "YYYY-MM-DD"),
    (["--org", "cmdbad", "--date", "2099-01-01"], "after the organization's today"),
    (["--org", "cmdbad", "--days", "0"], "between 1 and"),
])
def test_recompute_command_refuses_bad_arguments(args, message):
    OrganizationFactory(slug="cmdbad")
    with pytest.raises(CommandError, match=message):
        call_command("recompute_health", *args, stdout=io.StringIO(), stderr=io.StringIO())
