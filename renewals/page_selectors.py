"""Reads behind the renewals pages (retention, pipeline, forecast board) that are not metric formulas.

Every number is computed by renewals/ledger.py (retention, movements, waterfall, revenue on a day) or
renewals/forecast.py; this module picks the periods, loads the ledger's input ONCE per request, calls the
ledger per period (a bounded number of calls: ≤ 36 per page) and joins account names for the rows shown.
Nothing here loops over accounts in Python, and each page runs a constant number of queries.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

import numpy as np
import pandas as pd
from django.db.models import F, QuerySet

from accounts.models import Account
from csops.tenancy.models import Membership, Organization, Team

from . import ledger
from .forecast import AT_RISK_ANY, NO_CATEGORY, at_risk_q, renewals_in_period
from .models import Renewal, RenewalStage
from .periods import Period, add_months, fiscal_year_bounds, quarter_bounds, trailing_twelve_months
from .selectors import lines_frame, segment_account_ids

TREND_MONTHS = 24  # points on the GRR/NRR trend chart (each a trailing-twelve-months retention)
COHORT_QUARTERS = 8  # start-quarter rows in the cohort table
ONE_DAY = dt.timedelta(days=1)


# ---------------------------------------------------------------- segments


@dataclass(frozen=True)
class Segment:
    """Which accounts a page covers: None everywhere means the whole organization."""

    owner_ids: list[int] | None = None
    tiers: list[str] | None = None
    region: str = ""

    def account_ids(self) -> QuerySet | None:
        return segment_account_ids(owner_ids=self.owner_ids, tiers=self.tiers, region=self.region)


def team_choices() -> list[Team]:
    return list(Team.objects.order_by("name"))


def default_team_id(*, membership) -> str | None:
    """The team a manager's pipeline starts from (like the accounts list's "my team" scope): the team they
    manage (the first by name if several), else their own team; None when they have neither."""
    managed = Team.objects.filter(manager_id=membership.user_id).order_by("name").values_list("pk", flat=True).first()
    team_id = managed or membership.team_id
    return str(team_id) if team_id else None


def team_user_ids(*, organization: Organization, team_id) -> list[int]:
    """Users of a team (its members and its manager): the owners a "team" filter covers."""
    team = Team.objects.filter(pk=team_id).first()
    if team is None:
        return []
    members = Membership.objects.filter(organization=organization, team=team, is_active=True)
    ids = set(members.values_list("user_id", flat=True))
    if team.manager_id:
        ids.add(team.manager_id)
    return sorted(ids)


def segment_frame(segment: Segment, *, uuids: bool = True) -> pd.DataFrame:
    """The ledger's input for a segment: one query (`uuids=False`: opaque account ids, when none is shown)."""
    return lines_frame(account_ids=segment.account_ids(), uuids=uuids)


# ---------------------------------------------------------------- periods


def first_of_month(day: dt.date) -> dt.date:
    return day.replace(day=1)


def previous_period(start: dt.date, end: dt.date) -> tuple[dt.date, dt.date]:
    """The period of equal length just before [start, end): whole months when both ends fall on the same day
    of the month (a quarter, a year, trailing twelve months), else the same number of days."""
    if start.day == end.day:
        months = (end.year - start.year) * 12 + end.month - start.month
        return add_months(start, -months), start
    return start - (end - start), start


@dataclass(frozen=True)
class ChosenPeriod:
    start: dt.date
    end: dt.date  # exclusive: revenue is measured on this day
    label: str
    preset: str
    clamped: bool = False  # the end asked for was after today; measured on today instead

    @property
    def last_day(self) -> dt.date:
        return self.end - ONE_DAY


PRESETS = {"t12m": "Trailing 12 months", "last_quarter": "Last fiscal quarter", "fytd": "This fiscal year to date",
           "custom": "Custom"}


def choose_period(*, preset: str, start: dt.date | None, last_day: dt.date | None, today: dt.date,
                  fiscal_start_month: int) -> ChosenPeriod:
    """The period a retention page shows. Periods are [start, end); a period not over yet ends today, because
    a contract scheduled to end later is not churned yet."""
    if preset == "last_quarter":
        this_quarter = quarter_bounds(today, fiscal_start_month)
        quarter = quarter_bounds(add_months(this_quarter.start, -3), fiscal_start_month)
        return ChosenPeriod(quarter.start, quarter.end, quarter.label, preset)
    if preset == "fytd":
        year = fiscal_year_bounds(today, fiscal_start_month)
        if year.start == today:  # first day of the year: nothing to measure yet, show the previous year
            year = fiscal_year_bounds(today - ONE_DAY, fiscal_start_month)
            return ChosenPeriod(year.start, year.end, year.label, preset)
        return ChosenPeriod(year.start, today, f"{year.label} to date", preset)
    if preset == "custom" and start and last_day and last_day >= start:
        end = last_day + ONE_DAY
        clamped = end > today
        if clamped:
            end = max(today, start + ONE_DAY)
        label = f"{start:%b} {start.day}, {start.year} – {(end - ONE_DAY):%b} {(end - ONE_DAY).day}, {end.year}"
        return ChosenPeriod(start, end, label, preset, clamped)
    t12 = trailing_twelve_months(today)
    return ChosenPeriod(t12.start, t12.end, "Trailing 12 months", "t12m")


# ---------------------------------------------------------------- retention page


@dataclass(frozen=True)
class TrendPoint:
    as_of: dt.date
    grr: Decimal | None
    nrr: Decimal | None
    logo_churn_rate: Decimal | None


@dataclass(frozen=True)
class WaterfallRow:
    period: Period
    waterfall: ledger.Waterfall


@dataclass(frozen=True)
class CohortCell:
    as_of: dt.date
    rate: Decimal | None


@dataclass(frozen=True)
class CohortRow:
    quarter: Period
    accounts: int
    start_arr: Decimal  # ARR of the cohort at the end of its start quarter
    cells: list[CohortCell] = field(default_factory=list)  # revenue retention per quarter since start


@dataclass(frozen=True)
class RetentionPage:
    period: ChosenPeriod
    current: ledger.RetentionResult
    previous: ledger.RetentionResult
    previous_period: tuple[dt.date, dt.date]
    waterfall: ledger.Waterfall
    trend: list[TrendPoint]
    buckets: list[WaterfallRow]
    cohorts: list[CohortRow]
    cohort_columns: int


def retention_trend(frame: pd.DataFrame, *, end: dt.date, months: int = TREND_MONTHS) -> list[TrendPoint]:
    """GRR/NRR/logo churn over the trailing twelve months as of each month end up to `end` (one ledger call
    per point; `end` itself is the last point when it is not a month start)."""
    month_start = first_of_month(end)
    points = [add_months(month_start, -k) for k in range(months - 1, -1, -1)]
    if end != month_start:
        points = points[1:] + [end]
    trend = []
    for as_of in points:
        result = ledger.retention(frame, add_months(as_of, -12), as_of)
        trend.append(TrendPoint(as_of, result.grr, result.nrr, result.logo_churn_rate))
    return trend


def bucket_periods(start: dt.date, end: dt.date, *, grain: str, fiscal_start_month: int) -> list[Period]:
    """[start, end) cut at month (or fiscal quarter) starts: the rows of the waterfall table."""
    cuts = []
    cursor = first_of_month(start)
    while cursor < end:
        if cursor > start and (grain == "month" or quarter_bounds(cursor, fiscal_start_month).start == cursor):
            cuts.append(cursor)
        cursor = add_months(cursor, 1)
    bounds = [start, *cuts, end]
    periods = []
    for left, right in zip(bounds, bounds[1:], strict=False):
        if grain == "month":
            label = f"{left:%b %Y}" if left.day == 1 and right == add_months(left, 1) else \
                f"{left:%b} {left.day} – {(right - ONE_DAY):%b} {(right - ONE_DAY).day}, {right.year}"
        else:
            quarter = quarter_bounds(left, fiscal_start_month)
            label = quarter.label if (quarter.start, quarter.end) == (left, right) else f"{quarter.label} (part)"
        periods.append(Period(left, right, label))
    return periods


def account_first_revenue(frame: pd.DataFrame) -> pd.Series:
    """The first day each account had recurring revenue (Series indexed by account_id)."""
    recurring = frame[frame["is_recurring"] & (frame["arr_cents"] > 0)]
    return recurring.groupby("account_id", sort=False)["start_date"].min()


def cohort_table(frame: pd.DataFrame, *, today: dt.date, fiscal_start_month: int,
                 quarters: int = COHORT_QUARTERS) -> tuple[list[CohortRow], int]:
    """Revenue retention by start quarter: row = the fiscal quarter an account first had revenue; column k =
    the cohort's NRR from the end of its start quarter to k quarters later, i.e. Σ R1 ÷ Σ R0 over the cohort's
    accounts active at the end of the start quarter (expansion counts, accounts lost count as 0) — the same
    number `ledger.retention(cohort lines, base, later).nrr` gives (tested). Only quarter ends up to today.

    One `ledger.recurring_revenue_on` call per quarter end (`quarters` calls), then grouped sums over an
    accounts × quarter-ends matrix: no loop over accounts, no per-cell ledger call."""
    this_quarter = quarter_bounds(today, fiscal_start_month)
    starts = [quarter_bounds(add_months(this_quarter.start, -3 * k), fiscal_start_month)
              for k in range(quarters, 0, -1)]  # oldest first; each ends on or before today
    first = pd.to_datetime(account_first_revenue(frame))
    ends = [q.end for q in starts]
    revenue = pd.DataFrame({day: ledger.recurring_revenue_on(frame, day) for day in ends}).reindex(first.index)
    revenue = revenue.fillna(0).astype("int64")
    cohort_of = np.full(len(first), -1)
    for index, quarter in enumerate(starts):  # ≤ 8 quarters, vectorised over accounts
        in_quarter = ((first >= pd.Timestamp(quarter.start)) & (first < pd.Timestamp(quarter.end))).to_numpy()
        cohort_of[in_quarter] = index
    rows = []
    for index, quarter in enumerate(starts):
        base_day = quarter.end
        active = (cohort_of == index) & (revenue[base_day].to_numpy() > 0)  # the cohort: active at its base
        base = int(revenue.loc[active, base_day].sum())
        cells = [CohortCell(later, ledger._rate(int(revenue.loc[active, later].sum()), base))
                 for later in ends[index:]]
        rows.append(CohortRow(quarter, int(active.sum()), ledger.cents_to_decimal(base), cells))
    rows.reverse()  # newest cohort first, as a leader reads it
    return rows, len(starts)


def retention_page(*, segment: Segment, period: ChosenPeriod, grain: str, today: dt.date,
                   fiscal_start_month: int) -> RetentionPage:
    frame = segment_frame(segment, uuids=False)  # numbers only: the drill-down reads the accounts
    prev = previous_period(period.start, period.end)
    buckets = [
        WaterfallRow(p, ledger.waterfall(frame, p.start, p.end))
        for p in bucket_periods(period.start, period.end, grain=grain, fiscal_start_month=fiscal_start_month)
    ]
    cohorts, columns = cohort_table(frame, today=today, fiscal_start_month=fiscal_start_month)
    return RetentionPage(
        period=period,
        current=ledger.retention(frame, period.start, period.end),
        previous=ledger.retention(frame, *prev),
        previous_period=prev,
        waterfall=ledger.waterfall(frame, period.start, period.end),
        trend=retention_trend(frame, end=period.end),
        buckets=buckets,
        cohorts=cohorts,
        cohort_columns=columns,
    )


# ---------------------------------------------------------------- drill-down

DRILL_KINDS = {
    "cohort": "Accounts active at the start (the cohort)",
    "retained": "Cohort accounts still active at the end",
    "churned_logos": "Churned accounts",
    ledger.NEW: "New accounts", ledger.EXPANSION: "Expansion", ledger.CONTRACTION: "Contraction",
    ledger.CHURN: "Churn", ledger.REACTIVATION: "Reactivation", ledger.FLAT: "Flat",
    "ending": "Accounts with revenue at the end",
}


@dataclass(frozen=True)
class DrillRow:
    account: Account | None
    account_id: object
    r0: Decimal
    r1: Decimal

    @property
    def change(self) -> Decimal:
        return self.r1 - self.r0


def drilldown_moves(*, segment: Segment, start: dt.date, end: dt.date, kind: str,
                    cohort_quarter: Period | None = None) -> pd.DataFrame:
    """The accounts behind one retention number: movements from `start` to `end` of the kind asked for,
    biggest change first. `cohort_quarter` keeps the accounts whose first revenue fell in that quarter."""
    frame = segment_frame(segment)
    moves = ledger.movements(frame, start, end)
    if cohort_quarter is not None:
        first = pd.to_datetime(account_first_revenue(frame))
        members = first.index[((first >= pd.Timestamp(cohort_quarter.start))
                               & (first < pd.Timestamp(cohort_quarter.end))).to_numpy()]
        moves = moves[moves["account_id"].isin(members)]
    r0, r1 = moves["r0_cents"], moves["r1_cents"]
    if kind in ("cohort",):
        moves = moves[r0 > 0]
    elif kind == "retained":
        moves = moves[(r0 > 0) & (r1 > 0)]
    elif kind == "churned_logos":
        moves = moves[moves["kind"] == ledger.CHURN]
    elif kind == "ending":
        moves = moves[r1 > 0]
    elif kind in ledger.MOVEMENT_KINDS:
        moves = moves[moves["kind"] == kind]
    change = (moves["r1_cents"] - moves["r0_cents"]).abs()
    order = np.lexsort((-moves["r0_cents"].to_numpy(), -change.to_numpy()))
    return moves.iloc[order]


def drill_rows(moves: pd.DataFrame) -> list[DrillRow]:
    """Rows of the given movements with their accounts (one query for all of them)."""
    ids = list(moves["account_id"])
    accounts = Account.objects.select_related("owner").in_bulk(ids) if ids else {}
    return [
        DrillRow(accounts.get(account_id), account_id, ledger.cents_to_decimal(r0), ledger.cents_to_decimal(r1))
        for account_id, r0, r1 in zip(moves["account_id"], moves["r0_cents"], moves["r1_cents"], strict=True)
    ]


# ---------------------------------------------------------------- renewals pipeline

PIPELINE_WINDOWS = {"30": 30, "90": 90, "180": 180}
PIPELINE_SORTS = {
    "date": ("renewal_date", "account__name"),
    "account": ("account__name", "renewal_date"),
    "target": ("target_arr", "renewal_date"),
    "forecast": ("forecast_arr", "renewal_date"),
    "probability": ("probability", "renewal_date"),
    "owner": ("account__owner__full_name", "renewal_date"),
}
STATUSES = {"open": "Open", "closed": "Closed", "all": "Open and closed"}


def pipeline_period(*, window: str, quarter_start: dt.date | None, today: dt.date,
                    fiscal_start_month: int) -> Period:
    """The renewals a pipeline tab covers: the next 30/90/180 days (today included), or a fiscal quarter."""
    if quarter_start is not None:
        return quarter_bounds(quarter_start, fiscal_start_month)
    days = PIPELINE_WINDOWS.get(window, 90)
    return Period(today, today + dt.timedelta(days=days + 1), f"Next {days} days")


def pipeline_renewals(*, period: Period, segment: Segment, category: str = "", status: str = "open",
                      sort: str = "date", descending: bool = False) -> QuerySet:
    """The renewals of a pipeline page with their accounts and owners (one query per page of rows)."""
    qs = renewals_in_period(start=period.start, end_exclusive=period.end, account_filter=segment.account_ids())
    if status == "open":
        qs = qs.exclude(stage=RenewalStage.CLOSED)
    elif status == "closed":
        qs = qs.filter(stage=RenewalStage.CLOSED)
    if category == NO_CATEGORY:
        qs = qs.filter(forecast_category__isnull=True)
    elif category == AT_RISK_ANY:
        qs = qs.filter(at_risk_q())
    elif category:
        qs = qs.filter(forecast_category=category)
    fields = PIPELINE_SORTS.get(sort, PIPELINE_SORTS["date"])
    first = F(fields[0]).desc(nulls_last=True) if descending else F(fields[0]).asc(nulls_last=True)
    return qs.select_related("account__owner", "closed_by").order_by(first, *fields[1:], "id")


@dataclass(frozen=True)
class PipelineTotals:
    count: int
    target: Decimal
    forecast: Decimal
    note: str = ""


def pipeline_totals(summary, *, category: str, status: str) -> PipelineTotals:
    """The totals line of a pipeline page, read off the forecast of the same period and segment
    (renewals/forecast.py computes every amount; this only picks the matching figures)."""
    if category == AT_RISK_ANY:
        note = "" if status == "open" else "At-risk totals cover open renewals only."
        return PipelineTotals(summary.at_risk_count, summary.at_risk_arr,
                              sum((b.expected_arr for b in summary.at_risk_split), Decimal("0.00")), note)
    if category:
        bucket = next((b for b in summary.by_category if b.key == category), None)
        if bucket is None:
            return PipelineTotals(0, Decimal("0.00"), Decimal("0.00"))
        note = "" if status == "open" else "Category totals cover open renewals only."
        return PipelineTotals(bucket.count, bucket.target_arr, bucket.expected_arr, note)
    if status == "closed":
        return PipelineTotals(summary.closed_count, summary.closed_target, summary.closed_final)
    if status == "all":
        return PipelineTotals(summary.renewals_count, summary.renewals_due, summary.forecast)
    return PipelineTotals(summary.open_count, summary.open_target, summary.open_expected)


def renewal_get(*, renewal_id) -> Renewal | None:
    return Renewal.objects.select_related("account__owner", "closed_by").filter(pk=renewal_id).first()
