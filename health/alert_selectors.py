"""Reads of health alerts, their Slack deliveries and in-app notifications (scoped by the tenant context)."""
from django.db.models import QuerySet

from csops.tenancy.models import Notification, User

from .models import DeliveryStatus, HealthAlert, SlackDelivery


def alert_list(*, kind: str = "", account_id=None) -> QuerySet[HealthAlert]:
    """Alerts, newest first, with their account, task and Slack delivery (one query)."""
    qs = HealthAlert.objects.select_related("account", "task").prefetch_related("slack_deliveries")
    if kind:
        qs = qs.filter(kind=kind)
    if account_id is not None:
        qs = qs.filter(account_id=account_id)
    return qs.order_by("-created_at", "-id")


def delivery_list(*, status: str = "") -> QuerySet[SlackDelivery]:
    """The delivery log, newest first, with each delivery's alert and account."""
    qs = SlackDelivery.objects.select_related("alert", "alert__account")
    if status:
        qs = qs.filter(status=status)
    return qs.order_by("-created_at", "-id")


def delivery_get(*, delivery_id) -> SlackDelivery | None:
    return SlackDelivery.objects.select_related("alert", "alert__account").filter(pk=delivery_id).first()


def delivery_status_counts() -> dict[str, int]:
    """Deliveries per status (one grouped query), every status present."""
    from django.db.models import Count

    counts = dict.fromkeys(DeliveryStatus.values, 0)
    for status, n in SlackDelivery.objects.order_by().values_list("status").annotate(n=Count("id")):
        counts[status] = n
    return counts


def notification_list(*, user: User, unread_only: bool = False) -> QuerySet[Notification]:
    qs = Notification.objects.filter(user=user)
    if unread_only:
        qs = qs.filter(read_at__isnull=True)
    return qs.order_by("-created_at", "-id")


def notification_get(*, user: User, notification_id) -> Notification | None:
    return Notification.objects.filter(user=user, pk=notification_id).first()


def unread_notification_count(*, user: User) -> int:
    """The bell's number: one COUNT on the (organization, user, read_at, created_at) index."""
    return Notification.objects.filter(user=user, read_at__isnull=True).count()
