"""What the weekly CSM email says, for every CSM of an organization at once.

Set-wise: a constant number of queries per organization (accounts, alerts, two days of snapshots, renewals,
overdue tasks, company updates), split by owner in Python — rendering 500 CSMs' emails does not run 500 ×
N queries. Health movers compare each account's snapshot on the week's last day with the one 7 days earlier.
"""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Count, Max, Sum

from accounts.models import Account
from csops.tenancy.models import Membership, Organization, Role
from health.models import AlertKind, HealthAlert, HealthSnapshot
from playbooks.models import Task, TaskStatus
from renewals.models import Renewal, RenewalStage

from .models import CompanyUpdate

MOVERS_PER_DIRECTION = 3
LIST_LIMIT = 10


@dataclass
class AccountLine:
    account_id: str
    name: str
    detail: str = ""
    amount: Decimal | None = None
    day: dt.date | None = None
    delta: float | None = None


@dataclass
class CsmDigest:
    user_id: int
    name: str
    email: str
    accounts: int = 0
    arr: Decimal = Decimal("0")
    new_at_risk: list[AccountLine] = field(default_factory=list)
    movers_down: list[AccountLine] = field(default_factory=list)
    movers_up: list[AccountLine] = field(default_factory=list)
    renewals_30: list[AccountLine] = field(default_factory=list)
    renewals_90: list[AccountLine] = field(default_factory=list)
    renewals_90_arr: Decimal = Decimal("0")
    overdue: list[AccountLine] = field(default_factory=list)
    overdue_count: int = 0

    @property
    def is_quiet(self) -> bool:
        return not (self.new_at_risk or self.movers_down or self.renewals_90 or self.overdue_count)


def csm_recipients(*, organization: Organization, user_ids: list[int] | None = None) -> list[Membership]:
    qs = Membership.objects.filter(organization=organization, role=Role.CSM, is_active=True, user__is_active=True)
    if user_ids is not None:
        qs = qs.filter(user_id__in=user_ids)
    return list(qs.select_related("user").order_by("user__email"))


def company_updates_since(*, since: dt.datetime) -> list[CompanyUpdate]:
    return list(CompanyUpdate.objects.filter(created_at__gte=since).order_by("-created_at")[:20])


def weekly_csm_digests(*, organization: Organization, today: dt.date,
                       user_ids: list[int] | None = None) -> dict[int, CsmDigest]:
    """One digest per active CSM (or per ``user_ids``), for the week ending ``today`` (the org's local date)."""
    members = csm_recipients(organization=organization, user_ids=user_ids)
    digests = {
        m.user_id: CsmDigest(user_id=m.user_id, name=m.user.display_name, email=m.user.email)
        for m in members
    }
    owners = list(digests)
    if not owners:
        return digests
    week_ago = today - dt.timedelta(days=7)

    for row in (Account.objects.filter(owner_id__in=owners).exclude(lifecycle_stage="churned")
                .values("owner_id").annotate(n=Count("id"), arr=Sum("arr"))):
        digests[row["owner_id"]].accounts = row["n"]
        digests[row["owner_id"]].arr = row["arr"] or Decimal("0")

    alerts = (HealthAlert.objects.filter(kind=AlertKind.ENTERED_AT_RISK, date__gt=week_ago, date__lte=today,
                                         account__owner_id__in=owners)
              .values("account_id", "account__name", "account__owner_id", "score_after", "date").order_by("-date"))
    for a in alerts:
        digests[a["account__owner_id"]].new_at_risk.append(AccountLine(
            account_id=str(a["account_id"]), name=a["account__name"], day=a["date"],
            detail=f"score {a['score_after']}" if a["score_after"] is not None else "",
        ))

    _add_movers(digests, owners=owners, today=today, week_ago=week_ago)

    renewals = (Renewal.objects.filter(renewal_date__gte=today, renewal_date__lte=today + dt.timedelta(days=90),
                                       account__owner_id__in=owners).exclude(stage=RenewalStage.CLOSED)
                .values("account_id", "account__name", "account__owner_id", "renewal_date", "target_arr",
                        "forecast_category").order_by("renewal_date"))
    for r in renewals:
        digest = digests[r["account__owner_id"]]
        line = AccountLine(account_id=str(r["account_id"]), name=r["account__name"], day=r["renewal_date"],
                           amount=r["target_arr"], detail=(r["forecast_category"] or "").replace("_", " "))
        digest.renewals_90.append(line)
        digest.renewals_90_arr += r["target_arr"] or Decimal("0")
        if r["renewal_date"] <= today + dt.timedelta(days=30):
            digest.renewals_30.append(line)

    overdue = (Task.objects.filter(owner_id__in=owners, status=TaskStatus.OPEN, due_on__lt=today)
               .values("owner_id", "title", "account_id", "account__name", "due_on").order_by("due_on"))
    for t in overdue:
        digest = digests[t["owner_id"]]
        digest.overdue_count += 1
        if len(digest.overdue) < LIST_LIMIT:
            digest.overdue.append(AccountLine(account_id=str(t["account_id"]), name=t["account__name"],
                                              detail=t["title"], day=t["due_on"],
                                              delta=float((today - t["due_on"]).days)))
    return digests


def _add_movers(digests: dict[int, CsmDigest], *, owners: list[int], today: dt.date, week_ago: dt.date) -> None:
    # The week's last scored day: today's recompute may not have run yet when the email goes out.
    latest = HealthSnapshot.objects.filter(date__lte=today).aggregate(day=Max("date"))["day"]
    if latest is None:
        return
    today, week_ago = latest, latest - dt.timedelta(days=7)
    rows = (HealthSnapshot.objects.filter(date__in=[today, week_ago], account__owner_id__in=owners,
                                          score__isnull=False)
            .values_list("account_id", "account__name", "account__owner_id", "date", "score"))
    now_scores: dict = {}
    then_scores: dict = {}
    names: dict = {}
    for account_id, name, owner_id, day, score in rows:
        names[account_id] = (name, owner_id)
        (now_scores if day == today else then_scores)[account_id] = float(score)
    by_owner: dict[int, list[AccountLine]] = defaultdict(list)
    for account_id, score in now_scores.items():
        if account_id in then_scores and score != then_scores[account_id]:
            name, owner_id = names[account_id]
            by_owner[owner_id].append(AccountLine(
                account_id=str(account_id), name=name, delta=round(score - then_scores[account_id], 1),
                detail=f"{then_scores[account_id]:.1f} → {score:.1f}",
            ))
    for owner_id, lines in by_owner.items():
        lines.sort(key=lambda line: (line.delta, line.name))
        digests[owner_id].movers_down = [line for line in lines if line.delta < 0][:MOVERS_PER_DIRECTION]
        digests[owner_id].movers_up = [line for line in reversed(lines) if line.delta > 0][:MOVERS_PER_DIRECTION]
