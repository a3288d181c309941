"""The weekly leader email and the Friday update's numbers: the executive dashboard's figures with their
change over the week, read from the precomputed ``DashboardAggregate`` rows (never recomputed here).

A leader gets the organization's numbers and a table of teams; a manager their team's numbers and a table of
its CSMs. "Week over week" compares the latest aggregate day on or before today with the latest one on or
before seven days earlier. A constant number of queries for all recipients.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Max

from accounts.models import Account, HealthBand
from csops.tenancy.models import Membership, Organization, Role
from csops.tenancy.templatetags.csops import CURRENCY_SYMBOLS

from .models import AggregateScope, DashboardAggregate

TOP_RISKS = 5


def _money(value, currency: str) -> str:
    """Compact money as the app shows it: $1.2M, $45.3k, $900 (the currency's symbol, else its code)."""
    if value in (None, ""):
        return "—"
    amount = Decimal(value)
    symbol = CURRENCY_SYMBOLS.get(currency, f"{currency} ")
    for size, suffix in ((Decimal(1_000_000), "M"), (Decimal(1000), "k")):
        if abs(amount) >= size:
            return f"{symbol}{amount / size:,.1f}{suffix}"
    return f"{symbol}{amount:,.0f}"


def _pct(rate) -> str:
    return "—" if rate in (None, "") else f"{Decimal(rate) * 100:.1f}%"


def _share(part: int, whole: int) -> Decimal | None:
    return None if not whole else Decimal(part) / Decimal(whole)


def _pp_change(now, before, *, lower_is_better=False) -> tuple[str | None, bool | None]:
    if now in (None, "") or before in (None, ""):
        return None, None
    delta = (Decimal(now) - Decimal(before)) * 100
    if delta.copy_abs() < Decimal("0.05"):
        return "±0.0 pp", None
    good = (delta < 0) if lower_is_better else (delta > 0)
    return f"{'▲' if delta > 0 else '▼'} {abs(delta):.1f} pp", good


def _amount_change(now, before, currency: str, *, lower_is_better=False) -> tuple[str | None, bool | None]:
    if now in (None, "") or before in (None, ""):
        return None, None
    delta = Decimal(now) - Decimal(before)
    if delta == 0:
        return "±0", None
    good = (delta < 0) if lower_is_better else (delta > 0)
    return f"{'▲' if delta > 0 else '▼'} {_money(abs(delta), currency)}", good


def headline_numbers(now: dict, before: dict | None, *, currency: str) -> list[dict]:
    """The executive numbers of one scope with their week-over-week change, as display rows
    ``{label, value, change, good}`` (``good``: True green, False red, None neutral)."""
    before = before or {}
    items = []

    def add(label, value, change=(None, None)):
        items.append({"label": label, "value": value, "change": change[0], "good": change[1]})

    r, rb = now.get("retention", {}), before.get("retention", {})
    add("GRR, trailing 12 months", _pct(r.get("grr")), _pp_change(r.get("grr"), rb.get("grr")))
    add("NRR, trailing 12 months", _pct(r.get("nrr")), _pp_change(r.get("nrr"), rb.get("nrr")))
    nps, npsb = now.get("nps", {}), before.get("nps", {})
    if nps.get("score") is not None:
        change = None if npsb.get("score") is None else round(nps["score"]) - round(npsb["score"])
        add(f"NPS ({nps.get('n', 0)} responses)", f"{nps['score']:+.0f}",
            (None, None) if change is None else (f"{'▲' if change > 0 else '▼' if change < 0 else '±'}"
                                                 f"{'' if change == 0 else ' '}{abs(change)}",
                                                 change > 0 if change else None))
    else:
        add("NPS", "no responses")
    for band, label, lower in ((HealthBand.HEALTHY, "Healthy accounts", False),
                               (HealthBand.AT_RISK, "At-risk accounts", True)):
        share = _share(now.get("health", {}).get(band, {}).get("n", 0), now.get("accounts", 0))
        share_before = _share(before.get("health", {}).get(band, {}).get("n", 0), before.get("accounts", 0))
        add(f"{label} (% of accounts)", _pct(share), _pp_change(share, share_before, lower_is_better=lower))
    q, qb = now.get("quarter", {}), before.get("quarter", {}) if before.get("quarter", {}).get(
        "label") == now.get("quarter", {}).get("label") else {}
    add(f"Renewals due {q.get('label', 'this quarter')}", f"{_money(q.get('due'), currency)} "
        f"({q.get('count', 0)})")
    add("Forecast (% of due)", f"{_money(q.get('forecast'), currency)} ({_pct(q.get('forecast_pct'))})",
        _amount_change(q.get("forecast"), qb.get("forecast"), currency))
    add(f"At-risk ARR ({q.get('at_risk_count', 0)} accounts)", _money(q.get("at_risk_arr"), currency),
        _amount_change(q.get("at_risk_arr"), qb.get("at_risk_arr"), currency, lower_is_better=True))
    return items


def aggregate_days(*, today: dt.date) -> tuple[dt.date | None, dt.date | None]:
    """The latest aggregate day on or before today, and on or before seven days before it."""
    latest = DashboardAggregate.objects.filter(date__lte=today).aggregate(d=Max("date"))["d"]
    if latest is None:
        return None, None
    week = DashboardAggregate.objects.filter(date__lte=latest - dt.timedelta(days=7)).aggregate(d=Max("date"))["d"]
    return latest, week


def executive_week_numbers(*, organization: Organization, day: dt.date) -> dict:
    """The organization's headline numbers for the Friday update: {"as_of": ..., "items": [...]}."""
    latest, week = aggregate_days(today=day)
    if latest is None:
        return {}
    rows = {(r.date, r.scope): r.data for r in DashboardAggregate.objects.filter(
        scope=AggregateScope.ORG, scope_key="", date__in=[d for d in (latest, week) if d])}
    return {"as_of": latest.isoformat(),
            "items": headline_numbers(rows[(latest, "org")], rows.get((week, "org")),
                                      currency=organization.reporting_currency)}


@dataclass
class LeaderDigest:
    user_id: int
    name: str
    email: str
    scope_label: str
    as_of: dt.date | None
    numbers: list[dict] = field(default_factory=list)
    table_title: str = ""
    table: list[dict] = field(default_factory=list)
    top_risks: list[dict] = field(default_factory=list)


def _table_row(data: dict, before: dict | None, currency: str) -> dict:
    health = data.get("health", {})
    quarter = data.get("quarter", {})
    accounts = data.get("accounts", 0)
    at_risk = health.get(HealthBand.AT_RISK, {}).get("n", 0)
    at_risk_before = (before or {}).get("health", {}).get(HealthBand.AT_RISK, {}).get("n")
    return {
        "name": data.get("name", "—"), "accounts": accounts, "arr": _money(data.get("arr"), currency),
        "healthy": health.get(HealthBand.HEALTHY, {}).get("n", 0), "at_risk": at_risk,
        "at_risk_change": None if at_risk_before is None else at_risk - at_risk_before,
        "renewals_due": _money(quarter.get("due"), currency), "forecast_pct": _pct(quarter.get("forecast_pct")),
        "overdue": data.get("overdue_tasks"), "touchpoints": data.get("touchpoints_30d", 0),
    }


def weekly_leader_digests(*, organization: Organization, today: dt.date,
                          user_ids: list[int] | None = None) -> dict[int, LeaderDigest]:
    """One digest per active leader (the organization) and manager (their team)."""
    members = Membership.objects.filter(organization=organization, is_active=True, user__is_active=True,
                                        role__in=[Role.LEADER, Role.MANAGER]).select_related("user", "team")
    if user_ids is not None:
        members = members.filter(user_id__in=user_ids)
    members = list(members.order_by("user__email"))
    if not members:
        return {}
    currency = organization.reporting_currency
    latest, week = aggregate_days(today=today)
    rows: dict[tuple, dict] = {}
    if latest is not None:
        for r in DashboardAggregate.objects.filter(
                date__in=[d for d in (latest, week) if d],
                scope__in=[AggregateScope.ORG, AggregateScope.TEAM, AggregateScope.CSM]).values_list(
                "date", "scope", "scope_key", "data"):
            rows[(r[0], r[1], r[2])] = r[3]
    team_of_owner = dict(Membership.objects.filter(organization=organization, team__isnull=False)
                         .values_list("user_id", "team_id"))
    risks = list(Account.objects.filter(health_band=HealthBand.AT_RISK).exclude(lifecycle_stage="churned")
                 .order_by("-arr", "name").values("id", "name", "arr", "health_score", "owner__full_name",
                                                  "owner_id"))  # every at-risk account: a week's one read
    digests = {}
    for m in members:
        if m.role == Role.LEADER or not m.team_id:
            scope, key, label = AggregateScope.ORG, "", organization.name
            table_scope, title = AggregateScope.TEAM, "Teams"
            table_keys = sorted({k for (d, s, k) in rows if d == latest and s == AggregateScope.TEAM})
            mine = risks
        else:
            scope, key, label = AggregateScope.TEAM, str(m.team_id), m.team.name
            table_scope, title = AggregateScope.CSM, f"{m.team.name}: CSMs"
            table_keys = sorted({k for (d, s, k), v in rows.items()
                                 if d == latest and s == AggregateScope.CSM and str(v.get("team_id")) == key})
            mine = [a for a in risks if team_of_owner.get(a["owner_id"]) == m.team_id]
        now = rows.get((latest, scope, key))
        digest = LeaderDigest(user_id=m.user_id, name=m.user.display_name, email=m.user.email, scope_label=label,
                              as_of=latest)
        if now is not None:
            digest.numbers = headline_numbers(now, rows.get((week, scope, key)), currency=currency)
            digest.table_title = title
            digest.table = sorted(
                (_table_row(rows[(latest, table_scope, k)], rows.get((week, table_scope, k)), currency)
                 for k in table_keys), key=lambda row: row["name"])
        digest.top_risks = [{"account_id": str(a["id"]), "name": a["name"], "arr": _money(a["arr"], currency),
                             "score": a["health_score"], "owner": a["owner__full_name"] or "Unassigned"}
                            for a in mine[:TOP_RISKS]]
        digests[m.user_id] = digest
    return digests
