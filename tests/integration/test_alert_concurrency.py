"""Health alerts raised by several runs at once on PostgreSQL: each alert, task, notification and Slack
delivery exists once (the unique (account, kind, day) row decides; ON CONFLICT DO NOTHING waits for the winner)."""
import datetime as dt
import os
import threading

import pytest
from django.db import connection, connections

from csops.tenancy.context import tenant_context
from csops.tenancy.models import Notification
from health.models import HealthAlert, SlackDelivery
from health.services.alerts import alerts_detect
from playbooks.models import Task
from tests.factories import AccountFactory
from tests.health.alert_helpers import DAY, snap

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_concurrent_detection_raises_each_alert_once(world):
    if connection.vendor != "postgresql":
        if os.environ.get("CI"):
            pytest.fail("this test needs PostgreSQL (DATABASE_URL)")
        pytest.skip("this test needs PostgreSQL: SQLite serialises writers, so there is no race to lose")
    accounts = [AccountFactory(organization=world.org, owner=world.csm) for _ in range(5)]
    for account in accounts:
        snap(account, DAY - dt.timedelta(days=7), 80)
        snap(account, DAY - dt.timedelta(days=1), 55)
        snap(account, DAY, 35)  # entered At risk and dropped 45 points: two alerts, one task/notification/message
    barrier, results, errors = threading.Barrier(4), [], []

    def run():
        try:
            barrier.wait()
            results.append(alerts_detect(organization=world.org, day=DAY))
        except Exception as error:  # noqa: BLE001 -- surfaced by the assertion below
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    assert sum(results) == 10
    with tenant_context(world.org):
        assert HealthAlert.objects.count() == 10
        assert Task.objects.count() == 5
        assert Notification.objects.count() == 5
        assert SlackDelivery.objects.count() == 5
