"""The executive dashboard (leaders: the organization; managers: their team by default; ops admins) and the
drill-downs behind its numbers. The page reads precomputed aggregates only (reporting/dashboard_selectors.py):
a constant number of queries whatever the portfolio size. When today's aggregates are not computed yet it
shows the latest day's, and says "as of"."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.shortcuts import render
from django.urls import reverse

from accounts.models import HealthBand, Tier
from csops.exports import csv_response, xlsx_response
from csops.tenancy.access import org_view
from csops.tenancy.models import Role, Team
from renewals.periods import quarter_bounds

from .dashboard_selectors import (
    dashboard_history,
    dashboard_latest_day,
    dashboard_rows,
    drill_accounts,
    drill_overdue_tasks,
    drill_renewals,
    rate,
)
from .forms_dashboard import EXPORT_TABLES, DashboardDrillForm, DashboardFilterForm
from .models import AggregateScope

DASHBOARD_ROLES = (Role.LEADER, Role.MANAGER, Role.OPS_ADMIN)
BANDS = [(HealthBand.HEALTHY, "Healthy"), (HealthBand.STABLE, "Stable"), (HealthBand.AT_RISK, "At risk")]
TARGETS = {"coverage": Decimal("1"), "freshness_hours": 24, "adoption": Decimal("0.9")}
DRILL_PAGE_SIZE = 25
TEAM_PAGE_SIZE = 25


def _require_dashboard_role(request) -> None:
    if request.membership.role not in DASHBOARD_ROLES:
        raise PermissionDenied("The executive dashboard is for leaders, managers and ops admins.")


def _manager_team(request) -> str:
    """The team a manager starts from: the one they manage (the first by name), else their own. One query."""
    managed = Team.objects.filter(manager_id=request.membership.user_id).order_by("name").values_list(
        "pk", flat=True).first()
    team_id = managed or request.membership.team_id
    return str(team_id) if team_id else ""


def _choose_scope(request, data: dict) -> tuple[str, str, str]:
    """(scope, key, note) from the filters: a CSM, else a team, else a segment, else the organization."""
    tier, team, csm = data.get("tier") or "", data.get("team") or "", data.get("csm") or ""
    note = "The segment filter applies to the whole organization; it is ignored with a team or CSM." if tier and (
        team or csm) else ""
    if csm:
        return AggregateScope.CSM, csm, note
    if team:
        return AggregateScope.TEAM, team, note
    if tier:
        return AggregateScope.TIER, tier, note
    return AggregateScope.ORG, "", note


def _scope_label(request, snap, scope: str, key: str) -> str:
    if scope == AggregateScope.CSM:
        return next((c["name"] for c in snap.csms if c["key"] == key), "CSM")
    if scope == AggregateScope.TEAM:
        return snap.teams.get(key, {}).get("name", "Team")
    if scope == AggregateScope.TIER:
        return str(dict(Tier.choices).get(key, key))
    return request.organization.name


def _share(part, whole) -> Decimal | None:
    whole = Decimal(str(whole or 0))
    return None if not whole else Decimal(str(part or 0)) / whole


def _health_cards(row: dict) -> list[dict]:
    total_n, total_arr = row["accounts"], row["arr"]
    return [{"band": band, "label": label, "n": row["health"][band]["n"], "arr": row["health"][band]["arr"],
             "pct_n": _share(row["health"][band]["n"], total_n), "pct_arr": _share(row["health"][band]["arr"],
                                                                                      total_arr)}
            for band, label in BANDS]


def _team_rows(snap, scope: str, key: str) -> list[dict]:
    """Per CSM: the team table's rows, with capacity against their team's average (accounts, ARR)."""
    csms = {c["key"]: c for c in snap.csms}
    if scope == AggregateScope.TEAM:
        chosen = {k: d for k, d in csms.items() if d.get("team_id") == key}
    elif scope == AggregateScope.CSM:
        team = csms.get(key, {}).get("team_id", "")
        chosen = {k: d for k, d in csms.items() if (team and d.get("team_id") == team) or k == key}
    else:
        chosen = csms
    by_team: dict[str, list[dict]] = {}
    for d in chosen.values():
        by_team.setdefault(d.get("team_id") or "", []).append(d)
    averages = {team: (sum(m["accounts"] for m in mates) / len(mates), sum(Decimal(m["arr"]) for m in mates)
                       / len(mates)) for team, mates in by_team.items()}
    rows = []
    for user_key, d in chosen.items():
        avg_accounts, avg_arr = averages[d.get("team_id") or ""]
        rows.append({
            "key": user_key, "name": d["name"], "team": snap.teams.get(d.get("team_id") or "", {}).get("name", "—"),
            "accounts": d["accounts"], "arr": Decimal(d["arr"]),
            "healthy": d["health"]["healthy"], "stable": d["health"]["stable"],
            "at_risk": d["health"]["at_risk"], "unknown": d["health"]["unknown"],
            "renewals_count": d["renewals"], "renewals_due": Decimal(d["due"]),
            "forecast": Decimal(d["forecast"]), "overdue": d.get("overdue"), "touchpoints": d["touchpoints"],
            "capacity_accounts": _share(d["accounts"], avg_accounts), "capacity_arr": _share(d["arr"], avg_arr),
            "active": d.get("active"), "highlight": user_key == key,
        })
    return sorted(rows, key=lambda r: (-r["arr"], r["name"]))


def _month_label(day: dt.date) -> str:
    return day.strftime("%b %Y")


def _pct_number(value) -> float | None:
    value = rate(value)
    return None if value is None else round(float(value) * 100, 2)


def _chart(history: list, row: dict, currency: str) -> dict:
    points = [(d, data) for d, data in history]
    health = {band: [_pct_number(_share(data["health"][band]["n"], data["accounts"])) for _, data in points]
              for band, _ in BANDS}
    months = row.get("by_month") or []
    return {
        "labels": [_month_label(d) for d, _ in points],
        "grr": [_pct_number(data["retention"]["grr"]) for _, data in points],
        "nrr": [_pct_number(data["retention"]["nrr"]) for _, data in points],
        "health": health,
        "renewals": {"labels": [_month_label(dt.date.fromisoformat(m["month"])) for m in months],
                     "due": [float(m["due"]) for m in months], "forecast": [float(m["forecast"]) for m in months],
                     "closed": [float(m["closed_final"]) for m in months]},
        "currency": currency,
    }


def _export(request, *, label: str, row: dict, team_rows: list, history: list):
    table = request.GET.get("table") if request.GET.get("table") in EXPORT_TABLES else "team"
    if table == "team":
        header = ["CSM", "Team", "Accounts", "ARR", "Healthy", "Stable", "At risk", "No score",
                  "Renewals this quarter", "Renewals due", "Forecast", "Overdue tasks", "Touchpoints 30d",
                  "Accounts vs team average", "ARR vs team average"]
        rows = [[r["name"], r["team"], r["accounts"], r["arr"], r["healthy"], r["stable"], r["at_risk"], r["unknown"],
                 r["renewals_count"], r["renewals_due"], r["forecast"], r["overdue"], r["touchpoints"],
                 r["capacity_accounts"], r["capacity_arr"]] for r in team_rows]
    elif table == "trend":
        header = ["Day", "GRR", "NRR", "Logo churn", "Accounts", "ARR", "Healthy", "Stable", "At risk", "No score"]
        rows = [[d, rate(x["retention"]["grr"]), rate(x["retention"]["nrr"]), rate(x["retention"]["logo_churn"]),
                 x["accounts"], Decimal(x["arr"]), *(x["health"][b]["n"] for b in
                                                     ("healthy", "stable", "at_risk", "unknown"))]
                for d, x in history]
    elif table == "renewals":
        header = ["Month", "Renewals", "Due", "Forecast", "Closed final", "At-risk ARR"]
        rows = [[dt.date.fromisoformat(m["month"]), m["count"], Decimal(m["due"]), Decimal(m["forecast"]),
                 Decimal(m["closed_final"]), Decimal(m["at_risk_arr"])] for m in row.get("by_month") or []]
    else:
        header = ["Metric", "Value"]
        q, r, n = row["quarter"], row["retention"], row["nps"]
        rows = [["Scope", label], ["Accounts", row["accounts"]], ["ARR", Decimal(row["arr"])],
                ["GRR (T12M)", rate(r["grr"])], ["NRR (T12M)", rate(r["nrr"])], ["Logo churn (T12M)",
                                                                                 rate(r["logo_churn"])],
                ["NPS (180 days)", n["score"]], ["NPS responses", n["n"]],
                *([f"{lbl} accounts", row["health"][b]["n"]] for b, lbl in BANDS),
                *([f"{lbl} ARR", Decimal(row["health"][b]["arr"])] for b, lbl in BANDS),
                [f"Renewals due ({q['label']})", Decimal(q["due"])], ["Forecast", Decimal(q["forecast"])],
                ["At-risk ARR", Decimal(q["at_risk_arr"])], ["At-risk renewals", q["at_risk_count"]],
                ["Overdue tasks", row.get("overdue_tasks")], ["Touchpoints 30d", row["touchpoints_30d"]]]
    filename = f"dashboard-{table}"
    if request.GET.get("format") == "xlsx":
        return xlsx_response(f"{filename}.xlsx", header, rows)
    return csv_response(f"{filename}.csv", header, rows)


@org_view()
def dashboard(request, org_slug):
    _require_dashboard_role(request)
    org = request.organization
    today = org.today()
    params = request.GET.copy()
    if request.membership.role == Role.MANAGER and not any(params.get(k) for k in ("tier", "team", "csm")) \
            and "all" not in params:
        team = _manager_team(request)
        if team:
            params["team"] = team
    form = DashboardFilterForm(params)
    data = form.cleaned_data if form.is_valid() else {}
    scope, key, note = _choose_scope(request, data)
    snap = dashboard_rows(day=dashboard_latest_day(today=today), scope=scope, key=key)
    row = snap.row
    label = _scope_label(request, snap, scope, key)
    history = dashboard_history(scope=scope, key=key, day=snap.day) if row else []
    team_rows = _team_rows(snap, scope, key) if row else []
    if request.GET.get("format") in ("csv", "xlsx") and row:
        return _export(request, label=label, row=row, team_rows=team_rows, history=history)
    context = {
        "form": form, "snap": snap, "row": row, "scope": scope, "key": key, "label": label, "note": note,
        "today": today, "stale": snap.day is not None and snap.day < today,
        "chosen": {"tier": data.get("tier") or "", "team": data.get("team") or "", "csm": data.get("csm") or ""},
        "tiers": Tier.choices, "team_choices": sorted(snap.teams.items(), key=lambda t: t[1]["name"]),
        "csm_choices": sorted(((c["key"], c["name"]) for c in snap.csms), key=lambda c: c[1]),
        "health_cards": _health_cards(row) if row else [],
        "team_page": Paginator(team_rows, TEAM_PAGE_SIZE).get_page(request.GET.get("page")),
        "chart": _chart(history, row, org.reporting_currency) if row else None,
        "ops": {"coverage": snap.org.get("coverage"), "freshness_hours": snap.org.get("freshness_hours"),
                "adoption": (row or {}).get("adoption") or snap.org.get("adoption")},
        "targets": TARGETS, "filters_active": any(request.GET.get(k) for k in ("tier", "team", "csm")),
        "drill_base": reverse("dashboards:drill", args=[org.slug]),
    }
    if row:
        r, n, q = row["retention"], row["nps"], row["quarter"]
        context.update({
            "grr": rate(r["grr"]), "nrr": rate(r["nrr"]), "prev_grr": rate(r["prev_grr"]),
            "prev_nrr": rate(r["prev_nrr"]), "nps": n,
            "nps_delta": None if n["score"] is None or n["prev_score"] is None else round(
                n["score"] - n["prev_score"], 1),
            "quarter": q, "quarter_start": q["start"], "retention_start": r["start"], "retention_end": r["end"],
        })
    return render(request, "reporting/dashboard.html", context)


@org_view()
def dashboard_drill(request, org_slug):
    """The accounts (renewals, tasks) behind one dashboard number, paginated."""
    _require_dashboard_role(request)
    org = request.organization
    form = DashboardDrillForm({"scope": "org", "kind": "accounts", **request.GET.dict()})
    if not form.is_valid():
        return render(request, "reporting/dashboard_drill.html", {"errors": form.errors, "page": None}, status=400)
    scope, key, kind = form.cleaned_data["scope"], form.cleaned_data["key"] or "", form.cleaned_data["kind"]
    band = form.cleaned_data["band"] or ""
    today = org.today()
    quarter = quarter_bounds(today, org.fiscal_year_start_month)
    if kind == "accounts":
        qs = drill_accounts(organization=org, scope=scope, key=key, band=band)
    elif kind in ("renewals", "at_risk"):
        qs = drill_renewals(organization=org, scope=scope, key=key, start=quarter.start, end=quarter.end,
                            at_risk=kind == "at_risk")
    else:
        qs = drill_overdue_tasks(organization=org, scope=scope, key=key, today=today)
    page = Paginator(qs, DRILL_PAGE_SIZE).get_page(request.GET.get("page"))
    title = {"accounts": "Accounts", "renewals": f"Renewals {quarter.label}",
             "at_risk": f"At-risk renewals {quarter.label}", "overdue": "Overdue tasks"}[kind]
    if band:
        title = f"{dict(HealthBand.choices).get(band, band)} accounts"
    return render(request, "reporting/dashboard_drill.html", {
        "page": page, "kind": kind, "title": title, "today": today, "quarter": quarter,
        "back": reverse("dashboards:dashboard", args=[org.slug]),
    })
