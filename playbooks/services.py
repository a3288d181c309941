"""Writes on tasks (CTAs). `task_create` is the one way any part of the product raises a task."""
import datetime as dt

from django.db import IntegrityError, transaction
from django.utils import timezone

from csops.tenancy.models import User
from csops.tenancy.services import Actor, audit_record, model_snapshot

from .models import ACTIVE_STATUSES, Task, TaskPriority, TaskSource, TaskStatus, TaskType

TASK_FIELDS = ["title", "account", "owner", "due_on", "priority", "type", "reason", "status", "snoozed_until"]


def task_create(
    *,
    account,
    title: str,
    actor: Actor,
    type: str = TaskType.ACTIVITY,  # noqa: A002 -- mirrors the model field name used across the API
    reason: str = "",
    owner: User | None = None,
    due_on: dt.date | None = None,
    priority: int = TaskPriority.MEDIUM,
    description: str = "",
    source: str = TaskSource.MANUAL,
) -> tuple[Task, bool]:
    """Create a task, or return the existing active one with the same (account, type, reason).

    Returns (task, created). Safe under concurrency: the partial unique index decides, and the loser
    of a race gets the winner's row."""
    reason = (reason or "").strip()
    if reason:
        existing = _active_duplicate(account=account, type=type, reason=reason)
        if existing is not None:
            return existing, False
    task = Task(
        account=account, title=title, type=type, reason=reason, owner=owner if owner is not None else account.owner,
        due_on=due_on, priority=priority, description=description, source=source, created_by=actor.user,
    )
    task.full_clean(exclude=["organization", "account", "owner"])
    try:
        with transaction.atomic():
            task.save()
            audit_record(actor=actor, action="task.create", obj=task, after=model_snapshot(task, TASK_FIELDS))
    except IntegrityError:
        existing = _active_duplicate(account=account, type=type, reason=reason) if reason else None
        if existing is None:
            raise
        return existing, False
    return task, True


def _active_duplicate(*, account, type: str, reason: str) -> Task | None:  # noqa: A002
    return Task.objects.filter(account=account, type=type, reason=reason, status__in=ACTIVE_STATUSES).first()


def _change(task: Task, actor: Actor, action: str, **fields) -> Task:
    before = model_snapshot(task, TASK_FIELDS)
    for name, value in fields.items():
        setattr(task, name, value)
    task.save(update_fields=[*fields.keys(), "updated_at"])
    audit_record(actor=actor, action=action, obj=task, before=before, after=model_snapshot(task, TASK_FIELDS))
    return task


@transaction.atomic
def task_complete(*, task: Task, actor: Actor) -> Task:
    if task.status == TaskStatus.DONE:
        return task
    return _change(task, actor, "task.complete", status=TaskStatus.DONE, snoozed_until=None,
                   completed_at=timezone.now(), completed_by=actor.user)


@transaction.atomic
def task_snooze(*, task: Task, until: dt.date, actor: Actor) -> Task:
    return _change(task, actor, "task.snooze", status=TaskStatus.SNOOZED, snoozed_until=until)


@transaction.atomic
def task_cancel(*, task: Task, actor: Actor) -> Task:
    return _change(task, actor, "task.cancel", status=TaskStatus.CANCELLED, snoozed_until=None,
                   completed_at=timezone.now(), completed_by=actor.user)


@transaction.atomic
def task_reopen(*, task: Task, actor: Actor) -> Task:
    # A snoozed task is itself active: only *another* active task with its key blocks reopening.
    duplicate = _active_duplicate(account=task.account, type=task.type, reason=task.reason) if task.reason else None
    if duplicate is not None and duplicate.pk != task.pk:
        raise ValueError("An open task for the same account and reason already exists.")
    return _change(task, actor, "task.reopen", status=TaskStatus.OPEN, snoozed_until=None,
                   completed_at=None, completed_by=None)


@transaction.atomic
def task_reassign(*, task: Task, owner: User | None, actor: Actor) -> Task:
    return _change(task, actor, "task.reassign", owner=owner)


@transaction.atomic
def task_update(*, task: Task, actor: Actor, **fields) -> Task:
    before = model_snapshot(task, TASK_FIELDS)
    for name, value in fields.items():
        setattr(task, name, value)
    task.full_clean(exclude=["organization"])
    task.save()
    audit_record(actor=actor, action="task.update", obj=task, before=before, after=model_snapshot(task, TASK_FIELDS))
    return task


@transaction.atomic
def task_delete(*, task: Task, actor: Actor) -> None:
    audit_record(actor=actor, action="task.delete", obj=task, before=model_snapshot(task, TASK_FIELDS))
    task.delete()


def tasks_reassign_for_accounts(*, account_ids: list, from_owner_ids: set, to_owner_id) -> int:
    """Move the active tasks that the previous owners held on these accounts to the new owner."""
    return (
        Task.objects.filter(account_id__in=account_ids, owner_id__in=[i for i in from_owner_ids if i],
                            status__in=ACTIVE_STATUSES)
        .update(owner_id=to_owner_id, updated_at=timezone.now())
    )


def tasks_wake_snoozed(*, today: dt.date) -> int:
    """Snoozed tasks whose date has come are open again. Idempotent."""
    return Task.objects.filter(status=TaskStatus.SNOOZED, snoozed_until__lte=today).update(
        status=TaskStatus.OPEN, snoozed_until=None, updated_at=timezone.now()
    )
