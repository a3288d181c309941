"""Slack deliveries of health alerts (the delivery log doubles as the outbox), and the organization's alert
settings.

A delivery is attempted after commit by a Celery task and, when it fails in a way that may pass (HTTP 429, 5xx,
timeouts, refused connections), again by the minute sweep after a backoff: 1, 5 and 25 minutes, 4 attempts in
all; then it is *failed* with its last error. Other 4xx answers (revoked webhook, bad payload) fail it at once.
With no webhook URL configured the delivery is stored as *recorded* and never sent.

Each attempt posts to the organization's webhook URL as it is at that moment (recorded on the delivery), so
rotating or removing the URL takes effect for queued retries too.

Exactly one worker sends a delivery at a time: an attempt first claims it with a conditional UPDATE that pushes
``next_attempt_at`` a lease ahead (the task and the sweep may both reach for it), posts outside any transaction,
then records the outcome. Delivery is at-least-once: a worker that dies between Slack's answer and the record
leaves the lease to expire and the message is sent again.
"""
from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from csops.tenancy.context import dangerously_all_tenants
from csops.tenancy.models import Organization
from csops.tenancy.services import Actor, audit_record

from ..models import DeliveryStatus, SlackDelivery
from ..slack import PostResult, mask_webhook_url, post_message

BACKOFF_MINUTES = (1, 5, 25)  # wait after attempt 1, 2, 3
MAX_ATTEMPTS = len(BACKOFF_MINUTES) + 1
LEASE = dt.timedelta(minutes=2)  # longer than the HTTP timeout, so a live attempt is never taken over
SWEEP_LIMIT = 200  # deliveries attempted per organization per sweep; the rest wait a minute
TEST_TIMEOUT_SECONDS = 5
SENDABLE = (DeliveryStatus.PENDING, DeliveryStatus.RETRYING)
RETRYABLE_BY_HAND = (DeliveryStatus.FAILED, DeliveryStatus.RETRYING, DeliveryStatus.RECORDED)


def _due(now: dt.datetime) -> Q:
    return Q(status__in=SENDABLE) & (Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))


def slack_delivery_attempt(*, delivery_id, post=post_message) -> SlackDelivery | None:
    """Attempt one delivery if it is due; returns it with its new status, or None when it was not due (sent
    already, waiting for its backoff, or being attempted by another worker). Runs in the tenant context."""
    now = timezone.now()
    claimed = SlackDelivery.objects.filter(_due(now), pk=delivery_id).update(next_attempt_at=now + LEASE)
    if not claimed:
        return None
    delivery = SlackDelivery.objects.get(pk=delivery_id)
    # The organization's webhook as it is now: a rotated (or leaked and removed) URL is not posted to again.
    delivery.webhook_url = Organization.objects.values_list("slack_webhook_url", flat=True).get(
        pk=delivery.organization_id)
    if not delivery.webhook_url:
        delivery.status, delivery.next_attempt_at = DeliveryStatus.RECORDED, None
        delivery.last_error = "The Slack webhook was removed before this message could be sent."
        delivery.save(update_fields=["webhook_url", "status", "next_attempt_at", "last_error"])
        return delivery
    result = post(delivery.webhook_url, delivery.payload)
    return _record(delivery=delivery, result=result)


def _record(*, delivery: SlackDelivery, result: PostResult) -> SlackDelivery:
    now = timezone.now()
    delivery.attempts += 1
    delivery.last_status_code = result.status_code
    if result.ok:
        delivery.status, delivery.sent_at, delivery.next_attempt_at = DeliveryStatus.SENT, now, None
    elif result.retryable and delivery.attempts < MAX_ATTEMPTS:
        delivery.status = DeliveryStatus.RETRYING
        delivery.next_attempt_at = now + dt.timedelta(minutes=BACKOFF_MINUTES[delivery.attempts - 1])
        delivery.last_error = result.error
    else:
        delivery.status, delivery.next_attempt_at = DeliveryStatus.FAILED, None
        suffix = "" if result.retryable else " (permanent: not retried)"
        delivery.last_error = f"{result.error}{suffix}"
    delivery.save(update_fields=["webhook_url", "attempts", "last_status_code", "status", "sent_at",
                                 "next_attempt_at", "last_error"])
    return delivery


def slack_deliveries_sweep(*, post=post_message, limit: int = SWEEP_LIMIT) -> int:
    """Attempt every due delivery of the current organization (oldest first, at most ``limit``); returns how
    many were attempted. Picks up retries whose backoff has passed and any pending one whose task was lost."""
    due_ids = list(
        SlackDelivery.objects.filter(_due(timezone.now())).order_by("next_attempt_at", "created_at")
        .values_list("pk", flat=True)[:limit]
    )
    return sum(1 for pk in due_ids if slack_delivery_attempt(delivery_id=pk, post=post) is not None)


def organizations_with_due_deliveries() -> list[int]:
    """Ids of the organizations with a delivery due now (the sweep's fan-out, one query across tenants)."""
    with dangerously_all_tenants():
        return list(
            SlackDelivery.objects.filter(_due(timezone.now())).order_by()
            .values_list("organization_id", flat=True).distinct()
        )


@transaction.atomic
def slack_delivery_retry(*, delivery: SlackDelivery, organization: Organization, actor: Actor) -> SlackDelivery:
    """An ops admin sends a delivery again now: a failed one, a retrying one without waiting for its backoff,
    or a recorded one once a webhook is configured. It goes to the organization's current webhook URL with a
    fresh set of attempts. Raises ValueError when there is nothing to retry."""
    delivery = SlackDelivery.objects.select_for_update().get(pk=delivery.pk)
    if delivery.status not in RETRYABLE_BY_HAND:
        raise ValueError(f"A {delivery.get_status_display().lower()} delivery cannot be retried.")
    if not organization.slack_webhook_url:
        raise ValueError("No Slack webhook URL is configured: set one in the alert settings first.")
    before = {"status": delivery.status, "attempts": delivery.attempts}
    delivery.webhook_url = organization.slack_webhook_url
    delivery.status, delivery.attempts, delivery.next_attempt_at = DeliveryStatus.PENDING, 0, timezone.now()
    delivery.save(update_fields=["webhook_url", "status", "attempts", "next_attempt_at"])
    audit_record(actor=actor, action="slack_delivery.retry", obj=delivery, before=before,
                 after={"status": delivery.status, "attempts": 0})
    from ..alert_tasks import deliver_slack

    transaction.on_commit(lambda: deliver_slack.delay(organization.pk, str(delivery.pk)))
    return delivery


def slack_send_test(*, organization: Organization, url: str, post=post_message) -> PostResult:
    """Post a test message to ``url`` now (the settings page's button); nothing is stored."""
    payload = {"text": f"CS Ops test message for {organization.name}: health alerts will be posted here."}
    return post(url, payload, timeout=TEST_TIMEOUT_SECONDS)


ALERT_SETTING_FIELDS = ("slack_webhook_url", "health_drop_alert_points", "health_run_hour")


def _settings_snapshot(organization: Organization) -> dict:
    return {"slack_webhook_url": mask_webhook_url(organization.slack_webhook_url),
            "health_drop_alert_points": organization.health_drop_alert_points,
            "health_run_hour": organization.health_run_hour}


@transaction.atomic
def organization_alert_settings_update(
    *, organization: Organization, actor: Actor, slack_webhook_url: str, health_drop_alert_points: int,
    health_run_hour: int,
) -> Organization:
    """Change the alert settings (validated by the model's field validators); audited with the webhook URL
    masked, since whoever holds it can post to the channel."""
    before = _settings_snapshot(organization)
    organization.slack_webhook_url = (slack_webhook_url or "").strip()
    organization.health_drop_alert_points = health_drop_alert_points
    organization.health_run_hour = health_run_hour
    organization.full_clean(exclude=[f.name for f in Organization._meta.fields if f.name not in ALERT_SETTING_FIELDS])
    organization.save(update_fields=list(ALERT_SETTING_FIELDS))
    audit_record(actor=actor, action="organization.alert_settings", obj=organization, before=before,
                 after=_settings_snapshot(organization))
    return organization
