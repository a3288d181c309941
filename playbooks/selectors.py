import datetime as dt

from django.db.models import Count, F, Q, QuerySet

from .models import ACTIVE_STATUSES, Task, TaskStatus


def _due_now(today: dt.date) -> Q:
    """Open tasks, plus snoozed ones whose snooze has run out (before the hourly wake-up job flips them)."""
    return Q(status=TaskStatus.OPEN) | Q(status=TaskStatus.SNOOZED, snoozed_until__lte=today)


def task_list(
    *,
    today: dt.date,
    owner_ids: list[int] | None = None,
    account=None,
    status: str = "open",
    overdue_only: bool = False,
    task_type: str = "",
) -> QuerySet[Task]:
    qs = Task.objects.select_related("account", "owner")
    if owner_ids is not None:
        qs = qs.filter(owner_id__in=owner_ids)
    if account is not None:
        qs = qs.filter(account=account)
    if status == "open":
        qs = qs.filter(_due_now(today))
    elif status == "snoozed":
        qs = qs.filter(status=TaskStatus.SNOOZED, snoozed_until__gt=today)
    elif status == "closed":
        qs = qs.filter(status__in=[TaskStatus.DONE, TaskStatus.CANCELLED])
    if overdue_only:
        qs = qs.filter(due_on__lt=today)
    if task_type:
        qs = qs.filter(type=task_type)
    if status == "closed":
        return qs.order_by("-completed_at", "-updated_at")
    return qs.order_by(F("due_on").asc(nulls_last=True), "-priority", "created_at")


def active_task_counts_by_account(*, account_ids: list) -> dict:
    rows = (
        Task.objects.filter(account_id__in=account_ids, status__in=ACTIVE_STATUSES)
        .values("account_id")
        .annotate(n=Count("id"))
        .order_by()
    )
    return {r["account_id"]: r["n"] for r in rows}


def task_get(*, task_id) -> Task | None:
    return Task.objects.select_related("account", "owner").filter(pk=task_id).first()


def task_counts(*, owner_ids: list[int] | None, today: dt.date) -> dict:
    qs = Task.objects.filter(_due_now(today))
    if owner_ids is not None:
        qs = qs.filter(owner_id__in=owner_ids)
    return qs.aggregate(open=Count("id"), overdue=Count("id", filter=Q(due_on__lt=today)))


def task_list_all() -> QuerySet[Task]:
    """Every task of the organization in any status, with the people shown on it (API lists filter it further)."""
    return Task.objects.select_related("owner", "completed_by")
