"""Health background jobs. Tasks take ids, set the tenant context, call one service, and are idempotent.

``health_daily_all_orgs`` runs hourly (beat, csops/celery.py). Each organization's day is scored once its
local clock has passed ``Organization.health_run_hour``; until that day's snapshots cover every active account
the hourly fan-out enqueues it again, so a missed or failed run catches up the next hour, and a completed day
costs the fan-out nothing but two grouped counts.
"""
import datetime as dt

from celery import shared_task
from django.db import transaction
from django.db.models import Count

from accounts.models import Account, LifecycleStage
from csops.tenancy.context import dangerously_all_tenants
from csops.tenancy.jobs import in_organization
from csops.tenancy.models import Organization

from .models import HealthSnapshot
from .services.snapshots import snapshots_recompute


def _summary_dict(summary) -> dict:
    return {"day": summary.day.isoformat(), "accounts": summary.accounts, "bands": summary.bands,
            "unscored": summary.unscored, "alerts": summary.alerts}


@shared_task(name="health.daily")
def health_daily(organization_id: int, day: str | None = None) -> dict:
    """Today's (or ``day``'s, ISO) snapshots of every active account of one organization."""
    with in_organization(organization_id) as org:
        summary = snapshots_recompute(organization=org, day=dt.date.fromisoformat(day) if day else None)
    return _summary_dict(summary)


def organizations_due(now: dt.datetime | None = None) -> list[tuple[int, dt.date]]:
    """Organizations whose local time has reached their health run hour and whose local today is not yet
    covered (fewer snapshots for today than active accounts), with that local day. Three queries in all."""
    from django.utils import timezone

    now = now or timezone.now()
    candidates = {}
    for org in Organization.objects.only("id", "timezone", "health_run_hour"):
        local = now.astimezone(org.tzinfo)
        if local.hour >= org.health_run_hour:
            candidates[org.pk] = local.date()
    if not candidates:
        return []
    with dangerously_all_tenants():  # the fan-out reads counts of every organization, nothing else
        active = dict(Account.objects.filter(organization_id__in=candidates)
                      .exclude(lifecycle_stage=LifecycleStage.CHURNED)
                      .values("organization_id").annotate(n=Count("id")).order_by()
                      .values_list("organization_id", "n"))
        done = {(org_id, day): n for org_id, day, n in HealthSnapshot.objects.filter(
            organization_id__in=candidates, date__in=set(candidates.values()),
            account__lifecycle_stage__in=[s for s in LifecycleStage.values if s != LifecycleStage.CHURNED],
        ).values("organization_id", "date").annotate(n=Count("id")).order_by()
            .values_list("organization_id", "date", "n")}
    return [(org_id, day) for org_id, day in sorted(candidates.items())
            if done.get((org_id, day), 0) < active.get(org_id, 0)]


@shared_task(name="health.daily_all_orgs")
def health_daily_all_orgs() -> int:
    """Hourly: enqueue ``health_daily`` for every organization due (see ``organizations_due``)."""
    due = organizations_due()
    for org_id, day in due:
        transaction.on_commit(lambda org_id=org_id, day=day: health_daily.delay(org_id, day.isoformat()))
    return len(due)


@shared_task(name="health.recompute_accounts")
def health_recompute_accounts(organization_id: int, account_ids: list[str]) -> int:
    """Recompute today's snapshot of a few accounts soon after new signals for them arrived.

    Callers enqueue it after commit: ``health_recompute_accounts.delay_on_commit(org.id, [str(pk), ...])``.
    Not debounced: dropping a request while another run is loading could miss the signal that triggered it,
    and the recompute of a few accounts is a handful of queries; duplicates only repeat work (idempotent)."""
    ids = sorted({str(pk) for pk in account_ids})
    if not ids:
        return 0
    with in_organization(organization_id) as org:
        return snapshots_recompute(organization=org, account_ids=ids).accounts
