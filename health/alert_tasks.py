"""Celery tasks of health alerts: deliver one Slack message, and the minute sweep that retries due deliveries.

Registered from ``HealthConfig.ready()`` (Celery's autodiscovery only imports ``health.tasks``). Each task takes
the organization id, works in its tenant context, calls one service, and is idempotent: a delivery is claimed
before it is posted, so the task and the sweep reaching for the same delivery send it once.
"""
from celery import shared_task

from csops.tenancy.jobs import in_organization

from .services.deliveries import organizations_with_due_deliveries, slack_deliveries_sweep, slack_delivery_attempt


@shared_task(name="health.deliver_slack")
def deliver_slack(organization_id: int, delivery_id: str) -> str:
    """Attempt one Slack delivery now (enqueued after the commit that created or re-queued it)."""
    with in_organization(organization_id):
        delivery = slack_delivery_attempt(delivery_id=delivery_id)
    return delivery.status if delivery is not None else "not due"


@shared_task(name="health.slack_deliveries_sweep")
def slack_deliveries_sweep_task(organization_id: int) -> int:
    with in_organization(organization_id):
        return slack_deliveries_sweep()


@shared_task(name="health.slack_deliveries_sweep_all_orgs")
def slack_deliveries_sweep_all_orgs() -> int:
    """Every minute: one sweep task per organization that has a delivery due (one query finds them), so
    thousands of quiet tenants cost nothing."""
    org_ids = organizations_with_due_deliveries()
    for org_id in org_ids:
        slack_deliveries_sweep_task.delay(org_id)
    return len(org_ids)
