"""Today's priorities for a CSM (or a manager's team): what to do first this morning, ranked.

In order of urgency, each account at most once (under its most urgent reason):
1. **Call** — at-risk accounts with no touchpoint in the last 14 days;
2. **Renew** — renewals due within 30 days (soonest first);
3. **Prepare** — QBRs booked in the next 7 days;
4. **Recover** — accounts whose health fell this week (a health alert in the last 7 days);
5. **Follow up** — overdue tasks (most overdue first).
Within a group, bigger ARR first where the date does not decide. A constant number of queries (one per
group), each limited, whatever the size of the book.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.utils import timezone

from accounts.models import Account, HealthBand, Touchpoint, TouchpointKind
from health.models import HealthAlert
from playbooks.models import Task, TaskStatus
from renewals.models import Renewal, RenewalStage

NO_TOUCH_DAYS = 14
RENEWAL_DAYS = 30
QBR_DAYS = 7
DROP_DAYS = 7
PER_GROUP = 8


@dataclass
class Priority:
    kind: str  # call | renew | prepare | recover | follow_up
    verb: str
    account_id: str
    account_name: str
    reason: str
    arr: Decimal | None = None
    day: dt.date | None = None
    task_id: str | None = None


def _owner_filter(qs, owner_ids, field="owner_id"):
    return qs if owner_ids is None else qs.filter(**{f"{field}__in": owner_ids})


def todays_priorities(*, owner_ids: list[int] | None, today: dt.date, tz, limit: int = 12) -> list[Priority]:
    seen: set[str] = set()
    out: list[Priority] = []

    def add(item: Priority) -> None:
        if item.account_id not in seen or item.kind == "follow_up":
            seen.add(item.account_id)
            out.append(item)

    quiet_since = timezone.now() - dt.timedelta(days=NO_TOUCH_DAYS)
    at_risk = _owner_filter(Account.objects.filter(health_band=HealthBand.AT_RISK), owner_ids).exclude(
        lifecycle_stage="churned").exclude(last_touchpoint_at__gte=quiet_since)
    fields = ("id", "name", "arr", "health_score", "last_touchpoint_at")
    for a in at_risk.order_by("-arr", "name").values(*fields)[:PER_GROUP]:
        last = a["last_touchpoint_at"]
        since = f"no touchpoint since {last.astimezone(tz):%-d %b}" if last else "no touchpoint logged yet"
        add(Priority(kind="call", verb="Call", account_id=str(a["id"]), account_name=a["name"], arr=a["arr"],
                     reason=f"At risk (score {a['health_score']}), {since}"))

    renewals = _owner_filter(
        Renewal.objects.filter(renewal_date__gte=today, renewal_date__lte=today + dt.timedelta(days=RENEWAL_DAYS))
        .exclude(stage=RenewalStage.CLOSED), owner_ids, "account__owner_id")
    for r in renewals.order_by("renewal_date", "-target_arr").values(
            "account_id", "account__name", "renewal_date", "target_arr", "forecast_category")[:PER_GROUP]:
        days = (r["renewal_date"] - today).days
        category = f", forecast {r['forecast_category'].replace('_', ' ')}" if r["forecast_category"] else ""
        add(Priority(kind="renew", verb="Renew", account_id=str(r["account_id"]), account_name=r["account__name"],
                     arr=r["target_arr"], day=r["renewal_date"],
                     reason=f"Renewal in {days} day{'s' if days != 1 else ''}{category}"))

    now = timezone.now()
    qbrs = _owner_filter(Touchpoint.objects.filter(kind=TouchpointKind.QBR, occurred_at__gte=now,
                                                   occurred_at__lte=now + dt.timedelta(days=QBR_DAYS)),
                         owner_ids, "account__owner_id")
    fields = ("account_id", "account__name", "account__arr", "occurred_at")
    for t in qbrs.order_by("occurred_at").values(*fields)[:PER_GROUP]:
        when = t["occurred_at"].astimezone(tz)
        add(Priority(kind="prepare", verb="Prepare", account_id=str(t["account_id"]), account_name=t["account__name"],
                     arr=t["account__arr"], day=when.date(), reason=f"QBR on {when:%a %-d %b, %H:%M}"))

    drops = _owner_filter(HealthAlert.objects.filter(date__gt=today - dt.timedelta(days=DROP_DAYS), date__lte=today),
                          owner_ids, "account__owner_id")
    for h in drops.order_by("-date", "-account__arr").values(
            "account_id", "account__name", "account__arr", "score_before", "score_after", "date")[:PER_GROUP]:
        add(Priority(kind="recover", verb="Recover", account_id=str(h["account_id"]), account_name=h["account__name"],
                     arr=h["account__arr"], day=h["date"],
                     reason=f"Health fell from {h['score_before']} to {h['score_after']} on {h['date']:%-d %b}"))

    overdue = _owner_filter(Task.objects.filter(status=TaskStatus.OPEN, due_on__lt=today), owner_ids)
    for t in overdue.order_by("due_on", "-priority").values("id", "title", "account_id", "account__name",
                                                           "due_on")[:PER_GROUP]:
        days = (today - t["due_on"]).days
        add(Priority(kind="follow_up", verb="Follow up", account_id=str(t["account_id"]),
                     account_name=t["account__name"], day=t["due_on"], task_id=str(t["id"]),
                     reason=f"{t['title']} — {days} day{'s' if days != 1 else ''} overdue"))
    return out[:limit]
