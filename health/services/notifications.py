"""Writes on a user's in-app notifications (the bell): marking them read."""
from django.utils import timezone

from csops.tenancy.models import Notification, User


def notification_mark_read(*, user: User, notification_ids=None) -> int:
    """Mark the user's unread notifications read (only ``notification_ids`` when given, else all of them);
    returns how many changed. One UPDATE; another user's ids are simply not matched."""
    qs = Notification.objects.filter(user=user, read_at__isnull=True)
    if notification_ids is not None:
        qs = qs.filter(pk__in=list(notification_ids))
    return qs.update(read_at=timezone.now())
