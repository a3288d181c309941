"""The demo's dashboard phase: CSMs' product activity on recent working days (tool adoption), then the
executive dashboard's aggregates for today and the month-ends of the last ~13 months (its trend charts).
Runs after the health phases (registered last), so today's health mix and coverage are in the numbers."""
from __future__ import annotations

import datetime as dt

import numpy as np

from accounts.demo import DemoContext, register_phase
from csops.tenancy.models import Membership, Role

from .aggregates import dashboard_aggregates_backfill
from .models import UserActivityDay

ACTIVITY_DAYS = 30
ACTIVE_SHARE = 0.93  # a CSM uses the product on ~93 % of working days
HISTORY_DAYS = 400


def seed_dashboards(ctx: DemoContext) -> None:
    rng = ctx.rng("dashboards")
    user_ids = list(Membership.objects.filter(organization=ctx.org, role__in=[Role.CSM, Role.MANAGER],
                                              is_active=True).values_list("user_id", flat=True))
    days = [ctx.today - dt.timedelta(days=n) for n in range(1, ACTIVITY_DAYS + 1)]
    working = [d for d in days if d.weekday() < 5]
    active = rng.random((len(user_ids), len(working))) < ACTIVE_SHARE
    rows = [UserActivityDay(organization=ctx.org, user_id=u, date=d)
            for i, u in enumerate(user_ids) for j, d in enumerate(working) if active[i, j]]
    UserActivityDay.objects.bulk_create(rows, batch_size=5000, ignore_conflicts=True)
    dates = dashboard_aggregates_backfill(organization=ctx.org, days=HISTORY_DAYS, today=ctx.today)
    ctx.counts["dashboard days"] = len(dates)
    ctx.counts["activity days"] = int(np.count_nonzero(active))


register_phase(seed_dashboards)
