"""Reads of the executive dashboard: the precomputed aggregates only (reporting/aggregates.py writes them), in
three queries whatever the portfolio size — the latest computed day, that day's rows of every scope, and the
chosen scope's month-end history — plus the drill-downs behind its numbers (paginated account/renewal/task
lists of one scope)."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Max, Q, QuerySet

from accounts.models import Account, HealthBand
from accounts.selectors import account_list
from playbooks.selectors import task_list
from renewals.forecast import renewals_in_period
from renewals.models import ForecastCategory, RenewalStage
from renewals.page_selectors import team_user_ids

from .models import AggregateScope, DashboardAggregate

TREND_MONTHS = 13


@dataclass
class DashboardDay:
    day: dt.date | None  # the day the numbers are of (None: never computed)
    org: dict = field(default_factory=dict)  # the organization's row (with the directory of teams and CSMs)
    row: dict | None = None  # the chosen scope's row
    computed_at: dt.datetime | None = None

    @property
    def teams(self) -> dict[str, dict]:
        return self.org.get("directory", {}).get("teams", {})

    @property
    def csms(self) -> list[dict]:
        return self.org.get("directory", {}).get("csms", [])


def dashboard_latest_day(*, today: dt.date) -> dt.date | None:
    """The newest day with aggregates on or before ``today``. One query."""
    return DashboardAggregate.objects.filter(scope=AggregateScope.ORG, date__lte=today).aggregate(
        d=Max("date"))["d"]


def dashboard_rows(*, day: dt.date | None, scope: str, key: str) -> DashboardDay:
    """The organization's row and the chosen scope's row of ``day``. One query."""
    if day is None:
        return DashboardDay(day=None)
    wanted = Q(scope=AggregateScope.ORG, scope_key="") | Q(scope=scope, scope_key=key)
    rows = {(s, k): (d, c) for s, k, d, c in DashboardAggregate.objects.filter(wanted, date=day).values_list(
        "scope", "scope_key", "data", "computed_at")}
    org, computed_at = rows.get((AggregateScope.ORG, ""), ({}, None))
    row = rows.get((scope, key), (None, None))[0]
    return DashboardDay(day=day, org=org, row=row, computed_at=computed_at)


def dashboard_history(*, scope: str, key: str, day: dt.date) -> list[tuple[dt.date, dict]]:
    """The scope's month-end rows of the last ``TREND_MONTHS`` months, then ``day``'s: the trend charts' points.
    One query."""
    since = day - dt.timedelta(days=31 * TREND_MONTHS)
    rows = DashboardAggregate.objects.filter(scope=scope, scope_key=key, date__gt=since, date__lte=day).order_by(
        "date").values_list("date", "data")
    return [(d, data) for d, data in rows if d == day or (d + dt.timedelta(days=1)).day == 1]


def rate(value) -> Decimal | None:
    return None if value in (None, "") else Decimal(str(value))


# --------------------------------------------------------------------------------------------- drill-downs


def scope_owner_ids(*, organization, scope: str, key: str) -> list[int] | None:
    """The account owners a scope covers (None: everyone)."""
    if scope == AggregateScope.CSM:
        return [int(key)] if key.isdigit() else []
    if scope == AggregateScope.TEAM:
        return team_user_ids(organization=organization, team_id=key)
    return None


def drill_accounts(*, organization, scope: str, key: str, band: str = "") -> QuerySet[Account]:
    """The accounts behind a scope's portfolio numbers: not churned, of the scope, optionally of one band (the
    same set the dashboard's live row counts)."""
    tiers = [key] if scope == AggregateScope.TIER else None
    qs = account_list(owner_ids=scope_owner_ids(organization=organization, scope=scope, key=key), tiers=tiers,
                      bands=[band] if band in HealthBand.values else None, sort="arr", descending=True)
    return qs.exclude(lifecycle_stage="churned")


def drill_renewals(*, organization, scope: str, key: str, start: dt.date, end: dt.date, at_risk: bool = False):
    """The renewals dated in [start, end) of the scope's accounts; ``at_risk``: the open ones counted in at-risk
    ARR (category at risk, or the account's health band at risk)."""
    owners = scope_owner_ids(organization=organization, scope=scope, key=key)
    accounts = account_list(owner_ids=owners, tiers=[key] if scope == AggregateScope.TIER else None)
    qs = renewals_in_period(start=start, end_exclusive=end, account_filter=accounts.order_by().values("pk"))
    if at_risk:
        qs = qs.exclude(stage=RenewalStage.CLOSED).filter(
            Q(forecast_category=ForecastCategory.AT_RISK) | Q(account__health_band=HealthBand.AT_RISK))
    return qs.select_related("account", "account__owner").order_by("renewal_date", "account__name")


def drill_overdue_tasks(*, organization, scope: str, key: str, today: dt.date):
    owners = scope_owner_ids(organization=organization, scope=scope, key=key)
    qs = task_list(today=today, owner_ids=owners, status="open", overdue_only=True)
    if scope == AggregateScope.TIER:
        qs = qs.filter(account__tier=key)
    return qs
