"""Alert detection and raising: the two rules, no storm, idempotency and de-duplication (health.services.alerts)."""
import datetime as dt
from decimal import Decimal

import pytest

from csops.tenancy.context import tenant_context
from csops.tenancy.models import Notification
from csops.tenancy.services import SYSTEM
from health.models import AlertKind, DeliveryStatus, HealthAlert, SlackDelivery
from health.services.alerts import HEALTH_TASK_REASON, alerts_detect
from playbooks.models import Task, TaskStatus, TaskType
from playbooks.services import task_create
from tests.budgets import budget
from tests.factories import AccountFactory

from .alert_helpers import DAY, new_version, snap

YESTERDAY = DAY - dt.timedelta(days=1)
WEEK_AGO = DAY - dt.timedelta(days=7)


@pytest.fixture
def acct(world):
    return AccountFactory(organization=world.org, owner=world.csm, name="Initech & Co")


def detect(org, day=DAY, **kwargs) -> int:
    return alerts_detect(organization=org, day=day, **kwargs)


def rows(model, org, **filters):
    with tenant_context(org):
        return list(model.objects.filter(**filters))


def test_entering_at_risk_raises_alert_risk_task_notification_and_recorded_delivery(world, acct):
    snap(acct, YESTERDAY, 55)
    snap(acct, DAY, 35)

    assert detect(world.org) == 1

    [alert] = rows(HealthAlert, world.org)
    assert (alert.kind, alert.date, alert.score_before, alert.score_after) == (
        AlertKind.ENTERED_AT_RISK, DAY, Decimal("55.0"), Decimal("35.0"))
    assert (alert.band_before, alert.band_after) == ("stable", "at_risk")
    [task] = rows(Task, world.org)
    assert alert.task_id == task.pk
    assert (task.type, task.reason, task.owner_id, task.status) == (TaskType.RISK, HEALTH_TASK_REASON, world.csm.pk,
                                                                    TaskStatus.OPEN)
    [note] = rows(Notification, world.org)
    assert note.user_id == world.csm.pk and note.read_at is None
    assert note.url == f"/o/{world.org.slug}/accounts/a/{acct.pk}/"
    [delivery] = rows(SlackDelivery, world.org)
    # No webhook configured: the delivery log is the outbox.
    assert delivery.status == DeliveryStatus.RECORDED and delivery.alert_id == alert.pk
    text = delivery.payload["blocks"][0]["text"]["text"]
    assert "Initech &amp; Co" in text and "55.0 → 35.0" in text
    assert "Top detractor: Usage trend" in text and "Usage trend fell from 72 to 31" in text
    assert f"/accounts/a/{acct.pk}/" in text


def test_running_a_day_twice_raises_each_alert_once(world, acct):
    snap(acct, YESTERDAY, 55)
    snap(acct, DAY, 35)
    assert detect(world.org) == 1
    assert detect(world.org) == 0
    assert detect(world.org, account_ids=[acct.pk]) == 0
    assert len(rows(HealthAlert, world.org)) == 1
    assert len(rows(Task, world.org)) == 1
    assert len(rows(Notification, world.org)) == 1
    assert len(rows(SlackDelivery, world.org)) == 1


def test_alert_inserted_by_a_concurrent_run_is_left_to_it(world, acct):
    """The unique (account, kind, day) row decides: a run that finds it inserted creates nothing else."""
    snap(acct, YESTERDAY, 55)
    snap(acct, DAY, 35)
    with tenant_context(world.org):
        HealthAlert.objects.create(account=acct, kind=AlertKind.ENTERED_AT_RISK, date=DAY, message="other run")
    assert detect(world.org) == 0
    assert rows(Task, world.org) == [] and rows(SlackDelivery, world.org) == []


def test_first_snapshot_ever_raises_nothing(world, acct):
    snap(acct, DAY, 20)
    assert detect(world.org) == 0


def test_previous_snapshot_without_score_raises_nothing(world, acct):
    snap(acct, YESTERDAY, None)
    snap(acct, DAY, 20)
    assert detect(world.org) == 0


def test_new_model_version_does_not_storm(world, acct):
    """The band moved because the model changed, not the customer: no alert, for either rule."""
    v2 = new_version(world.org)
    snap(acct, WEEK_AGO, 80)
    snap(acct, YESTERDAY, 60)
    snap(acct, DAY, 30, version=v2)
    assert detect(world.org) == 0
    assert rows(HealthAlert, world.org) == []


def test_already_at_risk_is_not_a_new_event(world, acct):
    snap(acct, YESTERDAY, 35)
    snap(acct, DAY, 33)
    assert detect(world.org) == 0


def test_score_drop_alert_only_beyond_the_threshold(world):
    """The issue: "drops MORE than a configurable number of points in 7 days" — 15.1 points alerts, 15 does not."""
    world.org.health_drop_alert_points = 15
    world.org.save()
    dropped = AccountFactory(organization=world.org, owner=world.csm2)
    exactly = AccountFactory(organization=world.org, owner=world.csm2)
    for account, today in ((dropped, 64.9), (exactly, 65)):
        snap(account, WEEK_AGO, 80)
        snap(account, YESTERDAY, 70)
        snap(account, DAY, today)

    assert detect(world.org) == 1

    [alert] = rows(HealthAlert, world.org)
    assert (alert.account_id, alert.kind, alert.score_before, alert.score_after) == (
        dropped.pk, AlertKind.SCORE_DROP, Decimal("80.0"), Decimal("64.9"))
    [task] = rows(Task, world.org)
    assert task.owner_id == world.csm2.pk and "dropped 15.1 points" in task.title


def test_score_drop_compares_with_latest_snapshot_on_or_before_a_week_ago(world, acct):
    snap(acct, WEEK_AGO - dt.timedelta(days=3), 90)  # the latest on/before day − 7 (no snapshot on day − 7)
    snap(acct, WEEK_AGO + dt.timedelta(days=1), 60)  # inside the week: not the comparison point
    snap(acct, DAY, 70)
    assert detect(world.org) == 1
    [alert] = rows(HealthAlert, world.org)
    assert alert.score_before == Decimal("90.0")


def test_score_drop_alerts_once_a_week_during_a_slide(world, acct):
    for offset, score in ((14, 90), (8, 88), (7, 86), (1, 80), (0, 70)):
        snap(acct, DAY - dt.timedelta(days=offset), score)
    snap(acct, DAY + dt.timedelta(days=1), 65)

    assert detect(world.org, day=DAY) == 1  # 86 → 70
    assert detect(world.org, day=DAY + dt.timedelta(days=1)) == 0  # 80 → 65 is a drop too, but within the week
    assert [a.date for a in rows(HealthAlert, world.org)] == [DAY]


def test_both_rules_on_one_day_give_one_task_one_notification_one_message(world, acct):
    snap(acct, WEEK_AGO, 75)
    snap(acct, YESTERDAY, 50)
    snap(acct, DAY, 30)

    assert detect(world.org) == 2

    alerts = rows(HealthAlert, world.org)
    assert {a.kind for a in alerts} == {AlertKind.ENTERED_AT_RISK, AlertKind.SCORE_DROP}
    [task] = rows(Task, world.org)
    assert {a.task_id for a in alerts} == {task.pk}
    assert len(rows(Notification, world.org)) == 1
    [delivery] = rows(SlackDelivery, world.org)
    assert delivery.alert.kind == AlertKind.ENTERED_AT_RISK
    assert "Score dropped: score 75.0 → 30.0" in delivery.payload["blocks"][0]["text"]["text"]


def test_risk_task_is_deduplicated_with_the_open_one(world, acct):
    """The foundation's rule: one active task per (account, type, reason) — a later alert reuses it."""
    with tenant_context(world.org):
        existing, _ = task_create(account=acct, title="Earlier alert", actor=SYSTEM, type=TaskType.RISK,
                                  reason=HEALTH_TASK_REASON)
    snap(acct, YESTERDAY, 55)
    snap(acct, DAY, 35)

    assert detect(world.org) == 1

    [task] = rows(Task, world.org)
    assert task.pk == existing.pk
    [alert] = rows(HealthAlert, world.org)
    assert alert.task_id == existing.pk
    assert len(rows(Notification, world.org)) == 1  # the owner still hears about the new event


def test_new_risk_task_once_the_previous_one_is_done(world, acct):
    with tenant_context(world.org):
        done, _ = task_create(account=acct, title="Earlier", actor=SYSTEM, type=TaskType.RISK,
                              reason=HEALTH_TASK_REASON)
        Task.objects.filter(pk=done.pk).update(status=TaskStatus.DONE)
    snap(acct, YESTERDAY, 55)
    snap(acct, DAY, 35)
    detect(world.org)
    [alert] = rows(HealthAlert, world.org)
    assert alert.task_id != done.pk and alert.task.status == TaskStatus.OPEN


def test_unowned_account_alert_goes_to_a_manager(world):
    account = AccountFactory(organization=world.org, owner=None)
    snap(account, YESTERDAY, 55)
    snap(account, DAY, 35)
    detect(world.org)
    [task] = rows(Task, world.org)
    assert task.owner_id == world.manager.pk
    [note] = rows(Notification, world.org)
    assert note.user_id == world.manager.pk


def test_account_ids_limit_detection(world, acct):
    other = AccountFactory(organization=world.org, owner=world.csm)
    for account in (acct, other):
        snap(account, YESTERDAY, 55)
        snap(account, DAY, 35)
    assert detect(world.org, account_ids=[other.pk]) == 1
    assert [a.account_id for a in rows(HealthAlert, world.org)] == [other.pk]
    assert detect(world.org, account_ids=[]) == 0


def test_other_organizations_snapshots_are_not_read(world, other_world, acct):
    theirs = AccountFactory(organization=other_world.org, owner=other_world.csm)
    snap(theirs, YESTERDAY, 55)
    snap(theirs, DAY, 35)
    assert detect(world.org) == 0
    assert detect(other_world.org) == 1
    assert rows(HealthAlert, world.org) == []


def test_configured_webhook_makes_a_pending_delivery_sent_after_commit(world, acct, django_capture_on_commit_callbacks):
    world.org.slack_webhook_url = "https://hooks.slack.example/services/T/B/x"
    world.org.save()
    snap(acct, YESTERDAY, 55)
    snap(acct, DAY, 35)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        detect(world.org)
    [delivery] = rows(SlackDelivery, world.org)
    assert delivery.status == DeliveryStatus.PENDING and delivery.webhook_url == world.org.slack_webhook_url
    assert len(callbacks) == 1  # the delivery task is enqueued after commit, never inside the transaction


def test_detection_is_a_constant_number_of_queries(world, django_assert_max_num_queries):
    for _ in range(30):
        account = AccountFactory(organization=world.org, owner=world.csm)
        snap(account, YESTERDAY, 60)
        snap(account, DAY, 58)
    with django_assert_max_num_queries(budget(1)):  # the detection query (+ RLS set/reset on PostgreSQL)
        assert detect(world.org) == 0
