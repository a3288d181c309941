"""The health recompute on real services: a Celery worker process on Redis and PostgreSQL runs the daily job
and the per-account recompute; two recomputes at once on PostgreSQL leave exactly the rows of one."""
import threading

import pytest
from django.db import connection, connections, transaction
from django.utils import timezone

from accounts.models import Account, Touchpoint
from csops.tenancy.context import tenant_context
from health.models import HealthSnapshot
from health.services import snapshots
from health.services.snapshots import snapshots_recompute
from health.tasks import health_daily, health_daily_all_orgs, health_recompute_accounts
from tests.factories import OrganizationFactory
from tests.health.signal_data import populate

from .conftest import require_services
from .test_celery_worker import wait_for, worker_queue  # noqa: F401 -- the worker fixture

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def _rows(org, day):
    with tenant_context(org):
        return {str(s.account_id): (s.pk, s.model_version_id, s.score, s.band, s.components, s.missing,
                                    s.top_detractor, s.top_detractor_points, s.why_changed)
                for s in HealthSnapshot.objects.filter(date=day)}


def _org(slug, accounts=12):
    org = OrganizationFactory(slug=slug)
    with tenant_context(org):
        populate(org, accounts=accounts, seed=len(slug), as_of=org.today(), days=40)
    return org


def test_worker_runs_the_daily_recompute_idempotently(worker_queue):  # noqa: F811
    org = _org("ci-health-daily")
    day = org.today()
    health_daily.apply_async(args=[org.pk], queue=worker_queue)
    health_daily.apply_async(args=[org.pk], queue=worker_queue)  # a duplicate delivery
    assert wait_for(lambda: len(_rows(org, day)) == 12)
    with tenant_context(org):
        assert wait_for(lambda: Account.objects.filter(health_as_of=day).count() == 12)
    first, before = _rows(org, day), _computed(org, day)
    with tenant_context(org):
        changed = Account.objects.order_by("pk").first()
        Touchpoint.objects.create(account=changed, summary="Kick-off", occurred_at=timezone.now())
    health_daily.apply_async(args=[org.pk], queue=worker_queue)
    key = str(changed.pk)
    assert wait_for(lambda: _computed(org, day)[key] > before[key]), "the third run did not rescore the account"
    after = _rows(org, day)
    assert after[key] != first[key]
    # the other rows are untouched: same ids and values, and not even rewritten (same computed_at)
    assert {k: v for k, v in after.items() if k != key} == {k: v for k, v in first.items() if k != key}
    assert {k: v for k, v in _computed(org, day).items() if k != key} == {
        k: v for k, v in before.items() if k != key}


def _computed(org, day):
    with tenant_context(org):
        return {str(a): c for a, c in HealthSnapshot.objects.filter(date=day).values_list("account_id", "computed_at")}


def test_worker_recomputes_a_few_accounts_and_the_fan_out_reaches_due_orgs(worker_queue):  # noqa: F811
    org = _org("ci-health-few", accounts=4)
    org.health_run_hour = 0  # due all day
    org.save()
    with tenant_context(org):
        account = Account.objects.order_by("pk").first()
    health_recompute_accounts.apply_async(args=[org.pk, [str(account.pk)]], queue=worker_queue)
    assert wait_for(lambda: list(_rows(org, org.today())) == [str(account.pk)])
    health_daily_all_orgs.apply_async(queue=worker_queue)
    assert wait_for(lambda: len(_rows(org, org.today())) == 4), "the hourly fan-out did not complete the day"


@pytest.fixture(params=["one transaction", "parts in parallel"])
def write_mode(request, monkeypatch):
    """The PostgreSQL write path as a small organization takes it, and as a big one does (parts on their own
    connections at once: forced here by lowering the size threshold)."""
    if request.param == "parts in parallel":
        monkeypatch.setattr("health.services.snapshots.PARALLEL_WRITE_MIN_ACCOUNTS", 1)
    return request.param


HEALTH_FIELDS = ("id", "health_score", "health_band", "health_as_of")


def test_parallel_parts_write_the_same_rows_as_one_transaction(monkeypatch):
    require_services()
    org = _org("ci-health-parts", accounts=25)
    day = org.today()
    week_ago = day - timezone.timedelta(days=7)
    snapshots_recompute(organization=org, day=week_ago, detect_alerts=False)  # why-changed reads it
    with transaction.atomic():  # inside a transaction: one part, one connection
        single = snapshots_recompute(organization=org, day=day, detect_alerts=False)
    expected = _rows(org, day)
    with tenant_context(org):
        expected_accounts = set(Account.objects.values_list(*HEALTH_FIELDS))
        HealthSnapshot.objects.filter(date=day).delete()
        Account.objects.update(health_score=None, health_band="unknown", health_as_of=week_ago)
    monkeypatch.setattr("health.services.snapshots.PARALLEL_WRITE_MIN_ACCOUNTS", 1)
    on_other_connections = []
    real = snapshots.on_own_connection
    monkeypatch.setattr(snapshots, "on_own_connection",
                        lambda organization, function, *args: on_other_connections.append((function, args))
                        or real(organization, function, *args))
    parallel = snapshots_recompute(organization=org, day=day, detect_alerts=False)
    parts = [args[2] for function, args in on_other_connections if function is snapshots._pg_write]
    # every part went through a connection of its own, together exactly the accounts
    assert len(parts) == len(snapshots.PARALLEL_WRITE_CUTS) + 1 and all(0 < len(part) < 25 for part in parts)
    assert sorted(pk for part in parts for pk in part.index) == sorted(expected)
    assert snapshots._stored_components in [function for function, _args in on_other_connections]
    got = _rows(org, day)
    assert single.accounts == parallel.accounts == 25 and parallel.accounts_updated == 25
    assert {k: v[1:] for k, v in got.items()} == {k: v[1:] for k, v in expected.items()}
    assert any(v[-1] for v in got.values())  # why-changed was read from day − 7 (on the second connection)
    with tenant_context(org):
        assert set(Account.objects.values_list(*HEALTH_FIELDS)) == expected_accounts


def test_two_recomputes_at_once_leave_the_rows_of_one(write_mode):
    require_services()
    org = _org("ci-health-race", accounts=30)
    day = org.today()
    snapshots_recompute(organization=org, day=day, detect_alerts=False)
    expected = _rows(org, day)
    with tenant_context(org):
        HealthSnapshot.objects.all().delete()
    barrier, errors = threading.Barrier(3), []

    def run():
        try:
            barrier.wait()
            for _ in range(3):
                snapshots_recompute(organization=org, day=day, detect_alerts=False)
        except Exception as error:  # noqa: BLE001 -- surfaced by the assertion below
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    got = _rows(org, day)
    assert {k: v[1:] for k, v in got.items()} == {k: v[1:] for k, v in expected.items()}  # ids are new rows
    assert connection.vendor == "postgresql"
