"""The daily checkpoint sweep: a renewal task at T-180/120/90/30, once — twice, late, or concurrently."""
import datetime as dt
import threading
from decimal import Decimal

import pytest
from django.db import connections, transaction

from accounts.models import OwnerAssignment
from csops.tenancy.context import tenant_context
from csops.tenancy.services import SYSTEM
from playbooks.models import Task, TaskStatus
from playbooks.services import task_complete
from renewals.models import Renewal, RenewalCheckpoint, RenewalCheckpointHit, RenewalStage
from renewals.services import renewal_checkpoint_sweep, renewal_checkpoints_for
from renewals.tasks import renewals_daily
from tests.factories import AccountFactory
from tests.integration.conftest import require_services

D = dt.date
RENEWAL_DAY = D(2026, 9, 30)


def day_before(days: int) -> dt.date:
    return RENEWAL_DAY - dt.timedelta(days=days)


@pytest.fixture
def renewal(world, tenant):
    account = AccountFactory(organization=world.org, owner=world.csm, name="Initech")
    return Renewal.objects.create(account=account, renewal_date=RENEWAL_DAY, target_arr=Decimal("1000.00"))


def renewal_tasks():
    return list(Task.objects.filter(type="renewal").order_by("reason"))


def test_default_checkpoints_are_created_once(tenant):
    assert renewal_checkpoints_for(tenant) == [180, 120, 90, 30]
    assert renewal_checkpoints_for(tenant) == [180, 120, 90, 30]
    assert RenewalCheckpoint.objects.count() == 4


def test_configured_checkpoints_replace_the_defaults(tenant, renewal):
    RenewalCheckpoint.objects.create(days_before=60)
    assert renewal_checkpoints_for(tenant) == [60]
    assert renewal_checkpoint_sweep(as_of=day_before(90)) == 0
    assert renewal_checkpoint_sweep(as_of=day_before(60)) == 1


def test_each_checkpoint_raises_one_task_on_its_day_and_running_twice_creates_nothing(renewal, world):
    assert renewal_checkpoint_sweep(as_of=day_before(181)) == 0
    for days in (180, 120, 90, 30):
        assert renewal_checkpoint_sweep(as_of=day_before(days)) == 1
        assert renewal_checkpoint_sweep(as_of=day_before(days)) == 0
        assert renewal_checkpoint_sweep(as_of=day_before(days) + dt.timedelta(days=1)) == 0
    tasks = renewal_tasks()
    assert [t.reason for t in tasks] == [f"renewal:T-{d}:2026-09-30" for d in (120, 180, 30, 90)]
    t90 = next(t for t in tasks if t.reason == "renewal:T-90:2026-09-30")
    assert t90.title == "T-90: renewal of Initech on 2026-09-30 — confirm the plan"
    due = day_before(90) + dt.timedelta(days=7)
    assert (t90.owner, t90.source, t90.status, t90.due_on) == (world.csm, "rule", "open", due)
    assert RenewalCheckpointHit.objects.filter(task=t90, days_before=90).exists()
    assert renewal_checkpoint_sweep(as_of=RENEWAL_DAY) == 0
    assert renewal_checkpoint_sweep(as_of=RENEWAL_DAY + dt.timedelta(days=1)) == 0  # past: no more checkpoints


def test_late_run_after_downtime_raises_each_passed_checkpoint_once(renewal):
    assert renewal_checkpoint_sweep(as_of=day_before(100)) == 2  # T-180 and T-120 both passed
    assert renewal_checkpoint_sweep(as_of=day_before(10)) == 2  # T-90 and T-30
    assert renewal_checkpoint_sweep(as_of=day_before(10)) == 0
    tasks = renewal_tasks()
    assert len(tasks) == 4
    # A late task is due no earlier than the run and never after the renewal date.
    assert {t.reason: t.due_on for t in tasks}["renewal:T-30:2026-09-30"] == day_before(10)


def test_completed_task_is_not_recreated(renewal):
    renewal_checkpoint_sweep(as_of=day_before(90))
    for task in renewal_tasks():
        task_complete(task=task, actor=SYSTEM)
    assert renewal_checkpoint_sweep(as_of=day_before(85)) == 0
    assert Task.objects.filter(status=TaskStatus.OPEN).count() == 0


def test_closed_renewals_raise_nothing(renewal):
    renewal.stage = RenewalStage.CLOSED
    renewal.save()
    assert renewal_checkpoint_sweep(as_of=day_before(30)) == 0


def test_an_existing_active_task_with_the_same_key_is_linked_not_duplicated(renewal):
    existing = Task.objects.create(account=renewal.account, title="by hand", type="renewal",
                                   reason="renewal:T-180:2026-09-30")
    assert renewal_checkpoint_sweep(as_of=day_before(180)) == 1
    assert Task.objects.filter(type="renewal").count() == 1
    assert RenewalCheckpointHit.objects.get().task == existing


def test_account_without_owner_goes_to_the_manager_of_its_last_owners_team(world, tenant, renewal):
    account = renewal.account
    OwnerAssignment.objects.create(account=account, previous_owner=None, new_owner=world.csm)
    OwnerAssignment.objects.create(account=account, previous_owner=world.csm, new_owner=None)
    account.owner = None
    account.save()
    renewal_checkpoint_sweep(as_of=day_before(180))
    assert renewal_tasks()[0].owner == world.manager  # csm's team is managed by `manager`


def test_account_without_owner_history_goes_to_an_active_manager(world, tenant):
    account = AccountFactory(organization=world.org, owner=None)
    Renewal.objects.create(account=account, renewal_date=RENEWAL_DAY, target_arr=Decimal("10.00"))
    renewal_checkpoint_sweep(as_of=day_before(180))
    assert renewal_tasks()[0].owner == world.manager


def test_constant_queries_whatever_the_number_of_renewals(world, tenant, django_assert_max_num_queries):
    renewal_checkpoints_for(tenant)
    for i in range(30):
        account = AccountFactory(organization=world.org, owner=world.csm if i % 2 else None)
        Renewal.objects.create(account=account, renewal_date=RENEWAL_DAY, target_arr=Decimal("10.00"))
    with django_assert_max_num_queries(20):
        assert renewal_checkpoint_sweep(as_of=day_before(30)) == 120


def test_two_sweeps_in_one_transaction_rely_on_the_unique_hit(renewal):
    with transaction.atomic():
        first = renewal_checkpoint_sweep(as_of=day_before(90))
        RenewalCheckpointHit.objects.filter(days_before=90).update(task=None)
        second = renewal_checkpoint_sweep(as_of=day_before(90))
    assert (first, second) == (3, 0)
    assert len(renewal_tasks()) == 3


def test_renewals_daily_task_syncs_and_sweeps_idempotently(world, tenant):
    from renewals.models import ContractLine
    account = AccountFactory(organization=world.org, owner=world.csm)
    today = world.org.today()
    ContractLine.objects.create(account=account, start_date=today - dt.timedelta(days=300),
                                end_date=today + dt.timedelta(days=20), arr=Decimal("1200.00"), currency="USD")
    first = renewals_daily(world.org.pk)
    assert first["renewals_created"] == 1 and first["checkpoints_raised"] == 4
    second = renewals_daily(world.org.pk)
    assert second == {"renewals_created": 0, "renewals_updated": 0, "checkpoints_raised": 0,
                      "accounts_arr_changed": 0}


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_sweeps_raise_each_checkpoint_once(world):
    require_services()  # real concurrency needs PostgreSQL; in CI a missing database fails, never skips
    with tenant_context(world.org):
        renewal_checkpoints_for(world.org)
        for _ in range(50):
            account = AccountFactory(organization=world.org, owner=world.csm)
            Renewal.objects.create(account=account, renewal_date=RENEWAL_DAY, target_arr=Decimal("10.00"))
    barrier, results, errors = threading.Barrier(2), [], []

    def sweep():
        try:
            with tenant_context(world.org):
                barrier.wait()
                results.append(renewal_checkpoint_sweep(as_of=day_before(30)))
        except Exception as exc:  # reported below; a thread's exception would otherwise vanish
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=sweep) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert sum(results) == 200
    with tenant_context(world.org):
        assert Task.objects.filter(type="renewal").count() == 200
        assert RenewalCheckpointHit.objects.filter(task__isnull=True).count() == 0
