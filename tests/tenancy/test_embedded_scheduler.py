import datetime as dt

import pytest

from csops.celery import app
from csops.embedded import EmbeddedScheduler
from csops.tenancy.context import tenant_context
from playbooks.models import Task, TaskStatus
from tests.factories import TaskFactory


# Transactional: every due entry really runs, and the email dispatcher commits each claim on its own (it refuses
# to send inside a transaction, where a rollback after delivery would make it send twice).
@pytest.mark.django_db(transaction=True)
def test_embedded_scheduler_runs_due_beat_entries_in_process(world, account, django_capture_on_commit_callbacks,
                                                             monkeypatch):
    monkeypatch.setitem(app.conf, "task_always_eager", True)  # the embedded default: no broker, jobs in-process
    task = TaskFactory(account=account, status=TaskStatus.SNOOZED, snoozed_until=dt.date(2020, 1, 1))
    scheduler = EmbeddedScheduler(app)
    assert scheduler.run_due() == []  # nothing is due right after start
    scheduler.last_run = {name: scheduler.last_run[name] - dt.timedelta(days=1) for name in scheduler.last_run}
    with django_capture_on_commit_callbacks(execute=True):
        ran = scheduler.run_due()
    assert "wake-snoozed-tasks" in ran
    assert set(ran) == set(scheduler.last_run), "every beat entry ran without an error"
    with tenant_context(world.org):
        assert Task.objects.get(pk=task.pk).status == TaskStatus.OPEN
