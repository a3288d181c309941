"""A real Celery worker process, against the test PostgreSQL database and Redis, runs our tasks."""
import datetime as dt
import time
import uuid

import pytest

from csops.tenancy.context import dangerously_all_tenants, tenant_context
from playbooks.models import Task, TaskStatus
from playbooks.tasks import wake_snoozed_tasks, wake_snoozed_tasks_all_orgs
from tests.factories import AccountFactory, OrganizationFactory, TaskFactory

from .conftest import celery_worker_process, require_services

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def worker_queue():
    require_services()
    queue = f"ci-{uuid.uuid4().hex[:8]}"
    with celery_worker_process(queue):
        yield queue


def wait_for(predicate, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.25)
    return False


def _snoozed_task(org):
    account = AccountFactory(organization=org)
    return TaskFactory(account=account, status=TaskStatus.SNOOZED, snoozed_until=dt.date(2020, 1, 1))


def test_worker_wakes_snoozed_tasks_idempotently(worker_queue):
    org = OrganizationFactory(slug="ci-worker")
    task = _snoozed_task(org)
    wake_snoozed_tasks.apply_async(args=[org.pk], queue=worker_queue)
    wake_snoozed_tasks.apply_async(args=[org.pk], queue=worker_queue)  # a duplicate delivery changes nothing
    with tenant_context(org):
        assert wait_for(lambda: Task.objects.get(pk=task.pk).status == TaskStatus.OPEN)
        time.sleep(1)
        assert Task.objects.filter(status=TaskStatus.OPEN).count() == 1


def test_worker_fans_out_to_every_organization(worker_queue):
    orgs = [OrganizationFactory(slug=f"ci-fan-{i}") for i in range(3)]
    tasks = [_snoozed_task(org) for org in orgs]
    wake_snoozed_tasks_all_orgs.apply_async(queue=worker_queue)
    ids = [t.pk for t in tasks]

    def all_open():
        with dangerously_all_tenants():
            return Task.objects.filter(pk__in=ids, status=TaskStatus.OPEN).count() == len(ids)

    assert wait_for(all_open), "the fan-out did not reach every organization"
