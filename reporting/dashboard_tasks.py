"""The executive dashboard's daily refresh. Hourly fan-out like health's: an organization's aggregates for its
local today are computed once its local clock has passed the hour after its health run (today's snapshots are
in by then) and until a row for today exists; the refresh replaces a day's rows, so a rerun changes nothing.
Registered with Celery by csops/celery.py (``autodiscover_tasks(..., related_name="dashboard_tasks")``)."""
from __future__ import annotations

import datetime as dt

from celery import shared_task
from django.db import transaction
from django.utils import timezone

from csops.tenancy.context import dangerously_all_tenants
from csops.tenancy.jobs import in_organization
from csops.tenancy.models import Organization

from .aggregates import dashboard_aggregates_refresh
from .models import AggregateScope, DashboardAggregate


@shared_task(name="reporting.dashboard_refresh")
def dashboard_refresh(organization_id: int, day: str | None = None) -> int:
    """Today's (or ``day``'s, ISO) dashboard aggregates of one organization: the number of rows written."""
    with in_organization(organization_id) as org:
        return dashboard_aggregates_refresh(organization=org, day=dt.date.fromisoformat(day) if day else None)


def organizations_due(now: dt.datetime | None = None) -> list[tuple[int, dt.date]]:
    """Organizations past their health run hour + 1 (local) without today's aggregates. Two queries."""
    now = now or timezone.now()
    candidates = {}
    for org in Organization.objects.only("id", "timezone", "health_run_hour"):
        local = now.astimezone(org.tzinfo)
        if local.hour >= min(org.health_run_hour + 1, 23):
            candidates[org.pk] = local.date()
    if not candidates:
        return []
    with dangerously_all_tenants():  # the fan-out reads which organizations already have today's row
        done = set(DashboardAggregate.objects.filter(
            organization_id__in=candidates, scope=AggregateScope.ORG, date__in=set(candidates.values()),
        ).values_list("organization_id", "date"))
    return [(org_id, day) for org_id, day in sorted(candidates.items()) if (org_id, day) not in done]


@shared_task(name="reporting.dashboard_refresh_all_orgs")
def dashboard_refresh_all_orgs() -> int:
    due = organizations_due()
    for org_id, day in due:
        transaction.on_commit(lambda org_id=org_id, day=day: dashboard_refresh.delay(org_id, day.isoformat()))
    return len(due)
