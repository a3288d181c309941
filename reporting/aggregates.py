"""The executive dashboard's precomputed numbers: one ``DashboardAggregate`` row per day and scope (the
organization, each segment/tier, each team, each CSM), written by ``dashboard_aggregates_refresh``.

Set-wise: a constant number of queries per day whatever the portfolio size (accounts, contract lines, health
snapshots, renewals, surveys, tasks, touchpoints, activity, people — each read once, grouped in SQL or split
in pandas); nothing loops over CSMs with queries. Every number comes from the place METRICS.md names:
- GRR / NRR / logo churn (trailing 12 months, and the 12 months before for the ▲/▼): ``renewals.ledger``'s
  ``retention_by_group`` — exactly ``retention`` (what ``renewals.selectors.retention_for_period`` calls) of each
  scope's accounts — over ONE contract-line frame (segments by the account's current owner and tier, as the
  renewals segment filter does).
- This quarter's renewals due, forecast and at-risk ARR: ``renewals.forecast.forecast_for_period`` for the
  organization; per owner and tier one grouped query over the same expressions (``renewals_in_period``,
  ``cents_of``, the forecast's expected-ARR expression), rounded the same way — the tests check every scope
  against ``forecast_for_period`` called with that scope's accounts.
- Health coverage and freshness: ``health.selectors.health_coverage`` / ``health_freshness``.
- NPS (METRICS.md, Surveys): % promoters − % detractors over the latest response per contact in the 180 days
  (d − 180, d], local days, the window ``health/scoring/signals.py`` uses per account; an anonymous response is
  its own respondent, a contact's two answers on one day count the lower. Previous period: the 180 days before.
- Tool adoption: CSMs with a ``UserActivityDay`` on the last working day (Mon–Fri) before ``day`` ÷ CSMs. The
  request middleware notes activity in the cache (no query per request); the refresh stores the notes first.

Today's row (``day`` = the organization's today) describes the accounts as the account pages show them (their
current ARR and band, so a number's drill-down lists exactly the accounts counted); a past day's row uses that
day's recurring revenue (the ledger) and that day's health snapshots, for the trend charts.
"""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal

import pandas as pd
from django.core.cache import cache
from django.db import transaction
from django.db.models import BigIntegerField, Count, Q, Sum, Value
from django.db.models.functions import Coalesce, TruncMonth
from django.utils import timezone

from accounts.models import Account, HealthBand, LifecycleStage, SurveyResponse, Touchpoint
from csops.tenancy.models import Membership, Organization, Role, Team
from health.models import HealthSnapshot
from health.selectors import health_coverage, health_freshness
from playbooks.selectors import task_list
from renewals import forecast as renewals_forecast
from renewals import ledger
from renewals.models import ForecastCategory, RenewalStage
from renewals.periods import add_months, month_ends, quarter_bounds, trailing_twelve_months
from renewals.selectors import cents_of, lines_frame

from .models import AggregateScope, DashboardAggregate, UserActivityDay

NPS_WINDOW_DAYS = 180
TOUCHPOINT_WINDOW_DAYS = 30
MONTHS_BACK, MONTHS_AHEAD = 6, 6  # renewals by month: 6 months before this one to 5 after
BANDS = (HealthBand.HEALTHY, HealthBand.STABLE, HealthBand.AT_RISK, HealthBand.UNKNOWN)
_ZERO = Value(0, output_field=BigIntegerField())
ACTIVITY_CACHE_SECONDS = 8 * 86400  # activity notes wait in the cache at most this long for the daily refresh


def last_working_day(day: dt.date) -> dt.date:
    """The last Monday–Friday strictly before ``day`` (today is not over yet)."""
    previous = day - dt.timedelta(days=1)
    while previous.weekday() >= 5:
        previous -= dt.timedelta(days=1)
    return previous


# ----------------------------------------------------------------------------------------------- people


def _people(organization: Organization) -> tuple[pd.DataFrame, dict[str, dict]]:
    """Active members who can own accounts (CSMs and managers) with their team, and the teams. Two queries.
    Membership is not tenant-scoped by its manager (the org switcher reads it across organizations): filter."""
    teams = {str(t["id"]): t for t in Team.objects.values("id", "name", "manager_id")}
    rows = list(Membership.objects.filter(organization=organization, is_active=True,
                                          role__in=[Role.CSM, Role.MANAGER]).values_list(
        "user_id", "role", "team_id", "user__full_name", "user__email"))
    people = pd.DataFrame(rows, columns=["user_id", "role", "team_id", "full_name", "email"])
    people["team_id"] = people["team_id"].map(lambda v: str(v) if v else "")
    # A manager without a team of their own counts with the team they manage.
    managed = {t["manager_id"]: key for key, t in teams.items() if t["manager_id"]}
    no_team = people["team_id"] == ""
    people.loc[no_team, "team_id"] = people.loc[no_team, "user_id"].map(managed).fillna("")
    people["name"] = people["full_name"].where(people["full_name"].astype(bool), people["email"])
    return people.set_index("user_id"), teams


# ----------------------------------------------------------------------------------------------- accounts


def _account_attributes() -> pd.DataFrame:
    """Every account's id (str), current owner and tier: what segments are cut by. One query."""
    attrs = pd.DataFrame(list(Account.objects.order_by().values_list("id", "owner_id", "tier")),
                         columns=["account_id", "owner_id", "tier"])
    attrs["account_id"] = attrs["account_id"].astype(str)
    return attrs


def _account_frame(*, day: dt.date, live: bool, lines: pd.DataFrame, attrs: pd.DataFrame) -> pd.DataFrame:
    """One row per account counted on ``day``: account_id (str), owner_id (int, 0 = unassigned), tier,
    arr_cents, band. Live (today): the accounts that are not churned, with their current ARR and band. A past
    day: the accounts with recurring revenue or a health snapshot that day, with that day's revenue and band."""
    if live:
        rows = list(Account.objects.exclude(lifecycle_stage=LifecycleStage.CHURNED).order_by()
                    .annotate(c=cents_of("arr")).values_list("id", "owner_id", "tier", "c", "health_band"))
        frame = pd.DataFrame(rows, columns=["account_id", "owner_id", "tier", "arr_cents", "band"])
        frame["account_id"] = frame["account_id"].astype(str)
    else:
        revenue = ledger.recurring_revenue_on(lines, day)
        revenue.index = revenue.index.astype(str)
        snapshots = HealthSnapshot.objects.filter(date=day).order_by().values_list("account_id", "band")
        bands = pd.Series({str(a): b for a, b in snapshots}, dtype=object)
        ids = revenue.index.union(bands.index)
        frame = attrs[attrs["account_id"].isin(ids)].copy()
        frame["arr_cents"] = frame["account_id"].map(revenue).fillna(0).astype("int64")
        frame["band"] = frame["account_id"].map(bands).astype(object).fillna(str(HealthBand.UNKNOWN))
    frame["owner_id"] = frame["owner_id"].fillna(0).astype("int64")
    frame["arr_cents"] = frame["arr_cents"].fillna(0).astype("int64")
    frame["band"] = frame["band"].where(frame["band"].isin(list(BANDS)), HealthBand.UNKNOWN)
    return frame


# ----------------------------------------------------------------------------------------------- scopes


class _Scopes:
    """Maps owner/tier keys to the scopes they roll up into: the organization, their tier, the owner's team,
    the owner. Numbers are computed per (owner, tier) cell and summed upwards, or per scope on a frame."""

    def __init__(self, organization: Organization, people: pd.DataFrame, teams: dict[str, dict]):
        self.organization, self.people, self.teams = organization, people, teams
        self.team_of = people["team_id"].to_dict()

    def keys(self, owner_id: int, tier: str) -> list[tuple[str, str]]:
        out = [(AggregateScope.ORG, ""), (AggregateScope.TIER, tier)]
        if owner_id:
            out.append((AggregateScope.CSM, str(owner_id)))
            team = self.team_of.get(owner_id, "")
            if team:
                out.append((AggregateScope.TEAM, team))
        return out

    def frame_groups(self, frame: pd.DataFrame):
        """(scope, key, sub-frame) for every scope, from a frame with owner_id and tier columns."""
        yield AggregateScope.ORG, "", frame
        for tier, sub in frame.groupby("tier", sort=False):
            yield AggregateScope.TIER, str(tier), sub
        for owner, sub in frame.groupby("owner_id", sort=False):
            if owner:
                yield AggregateScope.CSM, str(int(owner)), sub
        team = frame["owner_id"].map(self.team_of).fillna("")
        for key, sub in frame[team != ""].groupby(team[team != ""], sort=False):
            yield AggregateScope.TEAM, str(key), sub

    def all_keys(self, frame: pd.DataFrame) -> set[tuple[str, str]]:
        keys = {(AggregateScope.ORG, "")}
        keys |= {(AggregateScope.TIER, str(t)) for t in frame["tier"].unique()}
        keys |= {(AggregateScope.CSM, str(u)) for u in self.people.index}
        keys |= {(AggregateScope.CSM, str(int(o))) for o in frame["owner_id"].unique() if o}
        keys |= {(AggregateScope.TEAM, key) for key in self.teams}
        return keys


def _money(cents: int) -> str:
    return str(ledger.cents_to_decimal(int(cents)))


def _rate(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


# ----------------------------------------------------------------------------------------------- measures


def _portfolio(frame: pd.DataFrame) -> dict:
    health = {}
    for band in BANDS:
        mask = frame["band"] == band
        health[str(band)] = {"n": int(mask.sum()), "arr": _money(frame.loc[mask, "arr_cents"].sum())}
    return {"accounts": len(frame), "arr": _money(frame["arr_cents"].sum()), "health": health}


def _retention(lines: pd.DataFrame, owners: pd.Series, tiers: pd.Series, scopes: _Scopes, day: dt.date) -> dict:
    """Current and previous trailing-12-month retention per scope: ``ledger.retention_by_group`` (exactly
    ``ledger.retention`` of each scope's lines) once per kind of scope and period."""
    current = trailing_twelve_months(day)
    previous = trailing_twelve_months(current.start)
    frame = lines.assign(account_id=lines["account_id"].astype(str))
    owned = owners[owners != 0]
    team = owned.map(scopes.team_of).dropna()
    groupings = {
        AggregateScope.ORG: pd.Series("", index=owners.index),
        AggregateScope.TIER: tiers,
        AggregateScope.CSM: owned.astype(str),
        AggregateScope.TEAM: team[team != ""],
    }
    out = {}
    for scope, group_of in groupings.items():
        now = ledger.retention_by_group(frame, current.start, current.end, group_of)
        before = ledger.retention_by_group(frame, previous.start, previous.end, group_of)
        for key, result in now.items():
            prior = before.get(key)
            out[(scope, str(key))] = {
                "start": current.start.isoformat(), "end": current.end.isoformat(),
                "grr": _rate(result.grr), "nrr": _rate(result.nrr), "logo_churn": _rate(result.logo_churn_rate),
                "cohort": result.cohort_size, "churned": result.churned_logos, "r0": str(result.r0_total),
                "prev_grr": _rate(prior.grr) if prior else None, "prev_nrr": _rate(prior.nrr) if prior else None,
                "prev_logo_churn": _rate(prior.logo_churn_rate) if prior else None,
            }
    return out


def nps_counts(responses: pd.DataFrame, *, day: dt.date, window_days: int = NPS_WINDOW_DAYS) -> pd.DataFrame:
    """The latest NPS answer of each respondent in the window (day − window_days, day]: one row per respondent
    with account_id and score. ``responses``: account_id, respondent (contact id, or the response's own id when
    anonymous), local_day (datetime64), score."""
    end = pd.Timestamp(day)
    inside = responses[(responses["local_day"] > end - pd.Timedelta(days=window_days))
                       & (responses["local_day"] <= end)]
    # Latest day wins; on the same day the lower score (the order of rows never decides).
    ordered = inside.sort_values(["account_id", "respondent", "local_day", "score"],
                                 ascending=[True, True, True, False], kind="mergesort")
    return ordered.drop_duplicates(["account_id", "respondent"], keep="last")


def nps_of(latest: pd.DataFrame) -> dict:
    """NPS of respondents' latest answers: % promoters (9–10) − % detractors (0–6), with the count."""
    n = len(latest)
    promoters, detractors = int((latest["score"] >= 9).sum()), int((latest["score"] <= 6).sum())
    score = round(100.0 * (promoters - detractors) / n, 1) if n else None
    return {"score": score, "n": n, "promoters": promoters, "detractors": detractors}


def _survey_frame(organization: Organization, day: dt.date) -> pd.DataFrame:
    since = dt.datetime.combine(day - dt.timedelta(days=2 * NPS_WINDOW_DAYS), dt.time.min, tzinfo=organization.tzinfo)
    until = dt.datetime.combine(day + dt.timedelta(days=1), dt.time.min, tzinfo=organization.tzinfo)
    rows = list(SurveyResponse.objects.filter(kind="nps", responded_at__gte=since, responded_at__lt=until)
                .order_by().values_list("id", "account_id", "contact_id", "score", "responded_at"))
    frame = pd.DataFrame(rows, columns=["id", "account_id", "contact_id", "score", "responded_at"])
    frame["account_id"] = frame["account_id"].astype(str)
    frame["respondent"] = [str(c) if c is not None else f"anon:{i}" for i, c in zip(frame["id"], frame["contact_id"],
                                                                                     strict=True)]
    stamps = pd.to_datetime(pd.Series(list(frame["responded_at"]), dtype=object), utc=True)
    frame["local_day"] = stamps.dt.tz_convert(organization.tzinfo).dt.tz_localize(None).dt.normalize().to_numpy()
    frame["score"] = frame["score"].astype("int64")
    return frame


def _nps(organization, day, owners, tiers, scopes) -> dict:
    responses = _survey_frame(organization, day)
    windows = {"now": nps_counts(responses, day=day),
               "prev": nps_counts(responses, day=day - dt.timedelta(days=NPS_WINDOW_DAYS))}
    out: dict = defaultdict(dict)
    for label, latest in windows.items():
        latest = latest.assign(owner_id=latest["account_id"].map(owners).fillna(0).astype("int64"),
                               tier=latest["account_id"].map(tiers).fillna(""))
        for scope, key, sub in scopes.frame_groups(latest):
            out[(scope, key)][label] = nps_of(sub)
    return {k: {**v.get("now", nps_of(windows["now"].iloc[0:0])),
                "prev_score": v.get("prev", {}).get("score"), "prev_n": v.get("prev", {}).get("n", 0)}
            for k, v in out.items()}


def _renewal_cells(*, month_start: dt.date, at_risk_ids) -> list[dict]:
    """Renewals dated in [month_start − MONTHS_BACK, month_start + MONTHS_AHEAD) grouped by (owner, tier,
    month): count, Σ target, Σ expected ARR of open ones (cent-percent), Σ final of closed ones, at-risk ARR."""
    start, end = add_months(month_start, -MONTHS_BACK), add_months(month_start, MONTHS_AHEAD)
    closed = Q(stage=RenewalStage.CLOSED)
    at_risk = ~closed & (Q(forecast_category=ForecastCategory.AT_RISK) | Q(account_id__in=at_risk_ids))
    target = cents_of("target_arr")
    return list(
        renewals_forecast.renewals_in_period(start=start, end_exclusive=end)
        .annotate(month=TruncMonth("renewal_date"))
        .values("account__owner_id", "account__tier", "month")
        .annotate(n=Count("id"), due=Sum(target),
                  expected_cp=Coalesce(Sum(renewals_forecast._expected_cent_percent(), filter=~closed), _ZERO),
                  final=Coalesce(Sum(Coalesce(cents_of("final_arr"), _ZERO), filter=closed), _ZERO),
                  at_risk=Coalesce(Sum(target, filter=at_risk), _ZERO), at_risk_n=Count("id", filter=at_risk))
        .order_by()
    )


def _renewal_totals(cells: list[dict]) -> dict:
    due = sum(int(c["due"] or 0) for c in cells)
    expected_cp = sum(int(c["expected_cp"] or 0) for c in cells)
    final = sum(int(c["final"] or 0) for c in cells)
    forecast = renewals_forecast._cents(expected_cp) + ledger.cents_to_decimal(final)
    return {
        "count": sum(c["n"] for c in cells), "due": _money(due), "forecast": str(forecast),
        "forecast_pct": _rate(ledger._rate(int(forecast * 100), due)),
        "at_risk_arr": _money(sum(int(c["at_risk"] or 0) for c in cells)),
        "at_risk_count": sum(c["at_risk_n"] for c in cells), "closed_final": _money(final),
    }


def _renewals(*, day, organization, scopes: _Scopes, at_risk_ids, live: bool) -> dict:
    quarter = quarter_bounds(day, organization.fiscal_year_start_month)
    month_start = day.replace(day=1)
    cells = _renewal_cells(month_start=month_start, at_risk_ids=at_risk_ids)
    by_scope: dict = defaultdict(list)
    for cell in cells:
        cell["month"] = cell["month"].date() if isinstance(cell["month"], dt.datetime) else cell["month"]
        for key in scopes.keys(cell["account__owner_id"] or 0, cell["account__tier"]):
            by_scope[key].append(cell)
    months = [add_months(month_start, k) for k in range(-MONTHS_BACK, MONTHS_AHEAD)]
    out = {}
    for key, rows in by_scope.items():
        in_quarter = [c for c in rows if quarter.start <= c["month"] < quarter.end]
        entry = {"quarter": {"label": quarter.label, "start": quarter.start.isoformat(),
                             "end": quarter.end.isoformat(), **_renewal_totals(in_quarter)}}
        if live:
            entry["by_month"] = [{"month": m.isoformat(), **_renewal_totals([c for c in rows if c["month"] == m])}
                                 for m in months]
        out[key] = entry
    # The organization's quarter straight from the forecast (the one place), over the same at-risk accounts.
    summary = renewals_forecast.forecast_for_period(start=quarter.start, end_exclusive=quarter.end,
                                                    at_risk_account_ids=at_risk_ids)
    org_entry = out.setdefault((AggregateScope.ORG, ""), {})
    org_entry["quarter"] = {
        "label": quarter.label, "start": quarter.start.isoformat(), "end": quarter.end.isoformat(),
        "count": summary.renewals_count, "due": str(summary.renewals_due), "forecast": str(summary.forecast),
        "forecast_pct": _rate(summary.forecast_pct_of_due), "at_risk_arr": str(summary.at_risk_arr),
        "at_risk_count": summary.at_risk_count, "closed_final": str(summary.closed_final),
    }
    if live and "by_month" not in org_entry:
        org_entry["by_month"] = [{"month": m.isoformat(), **_renewal_totals([])} for m in months]
    return out


def _grouped_counts(rows, scopes: _Scopes) -> dict:
    """{(scope, key): n} from (owner_id, tier, n) rows."""
    out: dict = defaultdict(int)
    for owner_id, tier, n in rows:
        for key in scopes.keys(owner_id or 0, tier or ""):
            out[key] += n
    return out


def _activity(*, day: dt.date, scopes: _Scopes) -> tuple[dict, dt.date]:
    """Tool adoption per scope: CSMs active on the last working day ÷ CSMs (role CSM, active membership)."""
    lwd = last_working_day(day)
    user_activity_flush(organization=scopes.organization, user_ids=list(scopes.people.index),
                        days=[day - dt.timedelta(days=n) for n in range(ACTIVITY_CACHE_SECONDS // 86400)])
    active = set(UserActivityDay.objects.filter(date=lwd).values_list("user_id", flat=True))
    csms = scopes.people[scopes.people["role"] == Role.CSM]
    out: dict = {}
    groups = [((AggregateScope.ORG, ""), csms.index)]
    groups += [((AggregateScope.TEAM, team), sub.index) for team, sub in csms.groupby("team_id") if team]
    for key, ids in groups:
        n_active = sum(1 for u in ids if u in active)
        out[key] = {"csms": len(ids), "active": n_active, "ratio": _rate(ledger._rate(n_active, len(ids)))}
    for user_id in scopes.people.index:
        out[(AggregateScope.CSM, str(user_id))] = {"active": user_id in active}
    return out, lwd


# ----------------------------------------------------------------------------------------------- refresh


def dashboard_aggregates_compute(*, organization: Organization, day: dt.date,
                                 now: dt.datetime | None = None) -> dict[tuple[str, str], dict]:
    """Every scope's numbers for ``day`` (see the module docstring), without writing them."""
    now = now or timezone.now()
    live = day >= organization.today()
    people, teams = _people(organization)
    scopes = _Scopes(organization, people, teams)
    t12 = trailing_twelve_months(day)
    lines = lines_frame(overlapping=(trailing_twelve_months(t12.start).start, day))
    all_attrs = _account_attributes()
    accounts = _account_frame(day=day, live=live, lines=lines, attrs=all_attrs)
    owners = pd.Series(all_attrs["owner_id"].fillna(0).astype("int64").to_numpy(), index=all_attrs["account_id"])
    tiers = pd.Series(all_attrs["tier"].to_numpy(), index=all_attrs["account_id"])

    data: dict = {key: {} for key in scopes.all_keys(accounts)}
    empty = _portfolio(accounts.iloc[0:0])
    for scope, key, sub in scopes.frame_groups(accounts):
        data[(scope, key)].update(_portfolio(sub))
    for key, value in _retention(lines, owners, tiers, scopes, day).items():
        data.setdefault(key, {})["retention"] = value
    for key, value in _nps(organization, day, owners, tiers, scopes).items():
        data.setdefault(key, {})["nps"] = value
    snapshot_day_exists = HealthSnapshot.objects.filter(date=day).exists()
    if live or not snapshot_day_exists:
        at_risk_ids = Account.objects.filter(health_band=HealthBand.AT_RISK).values("pk")
    else:
        at_risk_ids = HealthSnapshot.objects.filter(date=day, band=HealthBand.AT_RISK).values("account_id")
    for key, value in _renewals(day=day, organization=organization, scopes=scopes, at_risk_ids=at_risk_ids,
                                live=live).items():
        data.setdefault(key, {}).update(value)
    since = dt.datetime.combine(day - dt.timedelta(days=TOUCHPOINT_WINDOW_DAYS - 1), dt.time.min,
                                tzinfo=organization.tzinfo)
    until = dt.datetime.combine(day + dt.timedelta(days=1), dt.time.min, tzinfo=organization.tzinfo)
    touch = _grouped_counts(Touchpoint.objects.filter(occurred_at__gte=since, occurred_at__lt=until)
                            .values_list("account__owner_id", "account__tier").annotate(n=Count("id")).order_by(),
                            scopes)
    overdue = _grouped_counts(task_list(today=day, status="open", overdue_only=True)
                              .values_list("owner_id", "account__tier").annotate(n=Count("id")).order_by(),
                              scopes) if live else None
    activity, lwd = _activity(day=day, scopes=scopes)
    coverage = health_coverage(organization=organization, day=day)
    freshness = health_freshness(organization=organization, now=now) if live else None
    quarter = quarter_bounds(day, organization.fiscal_year_start_month)
    no_renewals = _renewal_totals([])
    defaults = {
        **empty,
        "retention": {"start": t12.start.isoformat(), "end": t12.end.isoformat(), "grr": None, "nrr": None,
                      "logo_churn": None, "cohort": 0, "churned": 0, "r0": "0.00",
                      "prev_grr": None, "prev_nrr": None,
                      "prev_logo_churn": None},
        "nps": {**nps_of(pd.DataFrame({"score": []})), "prev_score": None, "prev_n": 0},
        "quarter": {"label": quarter.label, "start": quarter.start.isoformat(), "end": quarter.end.isoformat(),
                    **no_renewals},
    }
    if live:
        defaults["by_month"] = [{"month": add_months(day.replace(day=1), k).isoformat(), **no_renewals}
                                for k in range(-MONTHS_BACK, MONTHS_AHEAD)]
    for (scope, key), entry in data.items():
        for field, value in defaults.items():
            entry.setdefault(field, value)
        entry["touchpoints_30d"] = touch.get((scope, key), 0)
        entry["overdue_tasks"] = overdue.get((scope, key), 0) if overdue is not None else None
        if scope == AggregateScope.CSM:
            person = people.loc[int(key)] if int(key) in people.index else None
            entry["name"] = person["name"] if person is not None else "Former member"
            entry["team_id"] = person["team_id"] if person is not None else ""
            entry["active_last_working_day"] = activity.get((scope, key), {}).get("active", False)
        elif scope == AggregateScope.TEAM:
            entry["name"] = teams[key]["name"] if key in teams else "Former team"
            entry["manager_id"] = teams[key]["manager_id"] if key in teams else None
        if scope in (AggregateScope.ORG, AggregateScope.TEAM):
            entry["adoption"] = {**activity.get((scope, key), {"csms": 0, "active": 0, "ratio": None}),
                                 "day": lwd.isoformat()}
        if scope == AggregateScope.ORG:
            entry["coverage"] = {"active": coverage.active_accounts, "covered": coverage.with_snapshot,
                                 "ratio": None if coverage.ratio is None else round(coverage.ratio, 6)}
            entry["freshness_hours"] = (round(freshness.age.total_seconds() / 3600, 2)
                                        if freshness is not None and freshness.age is not None else None)
    data[(AggregateScope.ORG, "")]["directory"] = _directory(data)
    return data


def _directory(data: dict) -> dict:
    """What the page needs of every team and CSM, kept in the organization's row so the dashboard reads two rows
    (the organization's and the chosen scope's), not one per CSM: names for the filters, the team table."""
    teams = {key: {"name": d["name"], "manager_id": d.get("manager_id")}
             for (scope, key), d in data.items() if scope == AggregateScope.TEAM}
    csms = [{"key": key, "name": d["name"], "team_id": d["team_id"], "accounts": d["accounts"], "arr": d["arr"],
             "health": {band: d["health"][band]["n"] for band in d["health"]},
             "renewals": d["quarter"]["count"], "due": d["quarter"]["due"], "forecast": d["quarter"]["forecast"],
             "overdue": d["overdue_tasks"], "touchpoints": d["touchpoints_30d"],
             "active": d.get("active_last_working_day")}
            for (scope, key), d in data.items() if scope == AggregateScope.CSM]
    return {"teams": teams, "csms": csms}


def dashboard_aggregates_refresh(*, organization: Organization, day: dt.date | None = None,
                                 now: dt.datetime | None = None) -> int:
    """Compute and store every scope's row for ``day`` (default: the organization's today). Idempotent: the
    day's rows are replaced in one transaction, so a rerun, or two at once, leave one row per scope."""
    day = day or organization.today()
    data = dashboard_aggregates_compute(organization=organization, day=day, now=now)
    stamp = timezone.now()
    rows = [DashboardAggregate(organization=organization, date=day, scope=scope, scope_key=key, data=entry,
                               computed_at=stamp) for (scope, key), entry in data.items()]
    with transaction.atomic():
        DashboardAggregate.objects.filter(date=day).delete()
        DashboardAggregate.objects.bulk_create(rows, batch_size=1000)
    return len(rows)


def dashboard_aggregates_backfill(*, organization: Organization, days: int = 400,
                                  today: dt.date | None = None) -> list[dt.date]:
    """Today's rows and those of every month-end in the last ``days`` days (the trend charts' points)."""
    if days < 0:
        raise ValueError("days must be zero or more")
    today = today or organization.today()
    dates = [*month_ends(today=today, days=days), today]
    for day in dates:
        dashboard_aggregates_refresh(organization=organization, day=day)
    return dates


def user_activity_record(*, organization: Organization, user_id: int, day: dt.date) -> None:
    """Store that a member used the product on ``day`` (once per user and day; repeats are no-ops)."""
    UserActivityDay.objects.bulk_create([UserActivityDay(organization=organization, user_id=user_id, date=day)],
                                        ignore_conflicts=True)


def _activity_key(organization_id: int, day: dt.date, user_id: int) -> str:
    return f"csops:activity:{organization_id}:{day.isoformat()}:{user_id}"


def user_activity_note(*, organization: Organization, user_id: int, day: dt.date) -> None:
    """Note a member's use of the product in the cache (no query: requests stay within their budgets); the
    dashboard refresh stores the notes as ``UserActivityDay`` rows (``user_activity_flush``) within a week."""
    cache.set(_activity_key(organization.pk, day, user_id), 1, ACTIVITY_CACHE_SECONDS)


def user_activity_flush(*, organization: Organization, user_ids, days) -> int:
    """Store the cached activity notes of these members on these days (one cache read, one INSERT)."""
    keys = {_activity_key(organization.pk, day, int(u)): (int(u), day) for u in user_ids for day in days}
    found = cache.get_many(list(keys))
    rows = [UserActivityDay(organization=organization, user_id=keys[k][0], date=keys[k][1]) for k in found]
    UserActivityDay.objects.bulk_create(rows, ignore_conflicts=True)
    return len(rows)
