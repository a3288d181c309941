"""Reads behind the health pages: the account page's health panel and the health overview.

Every widget is one query, whatever the size of the portfolio: the account panel reads the account's latest
snapshot, its 90-day series and its latest pulse (3 queries); the overview reads the band distribution from
the accounts' denormalised health columns, the latest snapshot day, and the movers up and down (today's and
the week-earlier snapshots grouped per account in the database), plus coverage and freshness
(``health.selectors``, where their definitions live).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

import numpy as np
from django.db.models import Count, DecimalField, ExpressionWrapper, F, Max, Q, Sum, Window
from django.db.models.functions import RowNumber

from accounts.models import Account, HealthBand, LifecycleStage
from csops.tenancy.models import Organization

from .components import component_rows
from .forms import PulseForm
from .models import HealthSnapshot, Pulse
from .scoring.explain import _PREFIX, _SUFFIX, _raw_text  # the engine's wording of raw values in its sentences
from .selectors import Coverage, Freshness, health_coverage, health_freshness, latest_snapshot_day
from .services.pulses import pulse_stale_on

TREND_DAYS = 90
MOVERS = 5
WEEK = dt.timedelta(days=7)
BAND_ORDER = [HealthBand.HEALTHY, HealthBand.STABLE, HealthBand.AT_RISK, HealthBand.UNKNOWN]
BAND_LABELS = dict(HealthBand.choices)
DEFAULT_HEALTHY_MIN, DEFAULT_AT_RISK_BELOW = 70.0, 40.0
COVERAGE_TARGET = 1.0  # METRICS.md seed targets: coverage 100 %, freshness < 24 h
FRESHNESS_TARGET = dt.timedelta(hours=24)


def band_label(band: str) -> str:
    return BAND_LABELS.get(band, BAND_LABELS[HealthBand.UNKNOWN])


def raw_value_text(kind: str, raw) -> str:
    """How the engine words a raw signal in its sentences: "85% of seats in use", "NPS +40", "good"."""
    if raw is None:
        return ""
    try:
        value = float(raw)
    except (TypeError, ValueError):
        return str(raw)
    if np.isnan(value):
        return ""
    text = _raw_text(np.array([kind], dtype=object), np.array([value]))[0]
    return f"{_PREFIX.get(kind, '')}{text}{_SUFFIX.get(kind, '')}"


# ---------------------------------------------------------------- account page panel


@dataclass(frozen=True)
class ComponentRow:
    key: str
    label: str
    kind: str
    score: float | None
    weight: float
    effective_weight: float
    contribution: float
    points_lost: float  # what this component costs the total: (100 − score) × effective weight ÷ 100
    missing: bool
    raw_text: str
    observed_on: str | None
    is_top_detractor: bool


@dataclass
class AccountHealthPanel:
    snapshot: HealthSnapshot | None
    components: list[ComponentRow] = field(default_factory=list)
    chart: dict = field(default_factory=dict)
    pulse: Pulse | None = None
    pulse_stale_on: dt.date | None = None
    pulse_is_stale: bool = False
    today: dt.date | None = None

    @property
    def band(self) -> str:
        return self.snapshot.band if self.snapshot else HealthBand.UNKNOWN

    @property
    def band_label(self) -> str:
        return band_label(self.band)

    @property
    def is_current(self) -> bool:
        """The latest snapshot is today's (the daily run, or a recompute after new signals, has happened)."""
        return bool(self.snapshot and self.today and self.snapshot.date >= self.today)

    @property
    def present_components(self) -> list[ComponentRow]:
        return [c for c in self.components if not c.missing]

    @property
    def missing_components(self) -> list[ComponentRow]:
        return [c for c in self.components if c.missing]

    @property
    def pulse_counts_until(self) -> dt.date | None:
        return self.pulse_stale_on - dt.timedelta(days=1) if self.pulse_stale_on else None


def _float(value, default=0.0) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return default
    return default if np.isnan(number) else number


def _component_rows(snapshot: HealthSnapshot) -> list[ComponentRow]:
    """The snapshot's components, present ones by contribution (largest first), then the missing ones."""
    rows = []
    for c in component_rows(snapshot.components, snapshot.model_version.config):
        missing = bool(c.get("missing"))
        score = None if c.get("score") is None else _float(c.get("score"), None)
        effective = _float(c.get("effective_weight"))
        rows.append(ComponentRow(
            key=str(c.get("component", "")), label=str(c.get("label") or c.get("component", "")),
            kind=str(c.get("kind", "")), score=score, weight=_float(c.get("weight")), effective_weight=effective,
            contribution=_float(c.get("contribution")),
            points_lost=0.0 if missing or score is None else (100.0 - score) * effective / 100.0,
            missing=missing, raw_text="" if missing else raw_value_text(str(c.get("kind", "")), c.get("raw_value")),
            observed_on=c.get("observed_on") or None,
            is_top_detractor=bool(snapshot.top_detractor) and c.get("component") == snapshot.top_detractor,
        ))
    return sorted(rows, key=lambda r: (r.missing, -r.contribution, r.label))


def _band_edges(snapshot: HealthSnapshot | None) -> tuple[float, float]:
    config = snapshot.model_version.config if snapshot is not None else {}
    return (_float(config.get("healthy_min"), DEFAULT_HEALTHY_MIN),
            _float(config.get("at_risk_below"), DEFAULT_AT_RISK_BELOW))


def account_health_panel(*, account: Account, organization: Organization) -> AccountHealthPanel:
    """Everything the account page's health panel shows, in three queries: the latest snapshot (with its
    model version, for the band edges), the scores of the last 90 days, and the latest pulse."""
    today = organization.today()
    snapshot = (HealthSnapshot.objects.select_related("model_version")
                .filter(account=account).order_by("-date").first())
    start = today - dt.timedelta(days=TREND_DAYS - 1)
    series = dict(HealthSnapshot.objects.filter(account=account, date__gte=start, date__lte=today)
                  .order_by("date").values_list("date", "score"))
    days = [start + dt.timedelta(days=i) for i in range(TREND_DAYS)]
    healthy_min, at_risk_below = _band_edges(snapshot)
    chart = {
        "labels": [d.isoformat() for d in days],
        "scores": [float(series[d]) if series.get(d) is not None else None for d in days],
        "healthy_min": healthy_min, "at_risk_below": at_risk_below,
    }
    pulse = Pulse.objects.select_related("recorded_by").filter(account=account).order_by("-recorded_at").first()
    stale_on = pulse_stale_on(pulse=pulse, organization=organization) if pulse else None
    return AccountHealthPanel(
        snapshot=snapshot, components=_component_rows(snapshot) if snapshot else [], chart=chart, pulse=pulse,
        pulse_stale_on=stale_on, pulse_is_stale=bool(stale_on and stale_on <= today), today=today,
    )


def account_health_context(*, account: Account, organization: Organization, pulse_form: PulseForm | None = None,
                           ) -> dict:
    """The template context of ``health/partials/_account_health.html`` (account page and pulse POST)."""
    return {
        "health": account_health_panel(account=account, organization=organization),
        "pulse_form": pulse_form or PulseForm(),
        "account": account,
    }


# ---------------------------------------------------------------- overview page


@dataclass(frozen=True)
class BandSlice:
    band: str
    label: str
    accounts: int
    arr: Decimal
    account_share: float | None
    arr_share: float | None


@dataclass
class HealthOverview:
    bands: list[BandSlice]
    total_accounts: int
    total_arr: Decimal
    latest_day: dt.date | None
    compared_day: dt.date | None
    movers_up: list[HealthSnapshot]
    movers_down: list[HealthSnapshot]
    coverage: Coverage | None = None
    freshness: Freshness | None = None
    chart: dict = field(default_factory=dict)


def band_distribution(*, owner_ids: list[int] | None = None) -> tuple[list[BandSlice], int, Decimal]:
    """Active (not churned) accounts and their ARR per current band: one grouped query on the accounts'
    denormalised health columns (indexed), never a scan of snapshots."""
    qs = Account.objects.exclude(lifecycle_stage=LifecycleStage.CHURNED)
    if owner_ids is not None:
        qs = qs.filter(owner_id__in=owner_ids)
    grouped = qs.order_by().values("health_band").annotate(n=Count("id"), arr_sum=Sum("arr"))
    rows = {r["health_band"]: r for r in grouped}
    total_n = sum(r["n"] for r in rows.values())
    total_arr = sum((r["arr_sum"] or Decimal("0") for r in rows.values()), Decimal("0"))
    slices = []
    for band in BAND_ORDER:
        n = rows.get(band, {}).get("n", 0)
        arr = rows.get(band, {}).get("arr_sum") or Decimal("0")
        slices.append(BandSlice(
            band=band, label=band_label(band), accounts=n, arr=arr,
            account_share=n / total_n if total_n else None,
            arr_share=float(arr / total_arr) if total_arr else None,
        ))
    return slices, total_n, total_arr


def health_movers(*, day: dt.date, owner_ids: list[int] | None = None, limit: int = MOVERS,
                  ) -> tuple[list[HealthSnapshot], list[HealthSnapshot]]:
    """The accounts whose score rose and fell the most between ``day − 7`` and ``day``. Each returned
    snapshot (of ``day``) carries ``previous_score``, ``previous_band`` and ``delta``; accounts without a score
    on either day are not movers.

    Two queries whatever the portfolio: the two days' snapshots grouped per account in the database (one
    aggregate over 2 × accounts rows, not a correlated lookup per account) with the changes ranked both ways,
    then the ≤ 2 × ``limit`` snapshots shown, read with their account."""
    before = day - WEEK
    pairs = HealthSnapshot.objects.filter(date__in=[day, before], score__isnull=False)
    if owner_ids is not None:
        pairs = pairs.filter(account__owner_id__in=owner_ids)
    deltas = (pairs.order_by().values("account_id")
              .annotate(now=Max("score", filter=Q(date=day)), previous_score=Max("score", filter=Q(date=before)),
                        previous_band=Max("band", filter=Q(date=before)))
              .filter(now__isnull=False, previous_score__isnull=False)
              .annotate(delta=ExpressionWrapper(F("now") - F("previous_score"),
                                                output_field=DecimalField(max_digits=5, decimal_places=1))))
    # One pass: rank every account's change both ways (window functions run after the grouping) and keep the
    # top ``limit`` of each side.
    ranked = (deltas.filter(~Q(delta=0))
              .annotate(rank_up=Window(RowNumber(), order_by=[F("delta").desc(), F("account_id").asc()]),
                        rank_down=Window(RowNumber(), order_by=[F("delta").asc(), F("account_id").asc()]))
              .filter(Q(rank_up__lte=limit) | Q(rank_down__lte=limit))
              .values_list("account_id", "previous_score", "previous_band", "delta"))
    rows = list(ranked)
    up = sorted((r for r in rows if r[3] > 0), key=lambda r: (-r[3], str(r[0])))[:limit]
    down = sorted((r for r in rows if r[3] < 0), key=lambda r: (r[3], str(r[0])))[:limit]
    if not up and not down:
        return [], []
    shown = {s.account_id: s for s in HealthSnapshot.objects.select_related("account", "account__owner")
             .filter(date=day, account_id__in=[row[0] for row in up + down])}

    def attach(rows):
        movers = []
        for account_id, previous_score, previous_band, delta in rows:
            snapshot = shown[account_id]
            snapshot.previous_score, snapshot.previous_band = Decimal(previous_score), previous_band
            snapshot.delta = Decimal(delta).quantize(Decimal("0.1"))
            movers.append(snapshot)
        return movers

    return attach(up), attach(down)


def health_overview(*, organization: Organization, owner_ids: list[int] | None = None) -> HealthOverview:
    """The health overview page: distribution by band (count and ARR), movers up and down over the last 7
    days of snapshots, and today's coverage and freshness against their targets. A constant number of queries."""
    today = organization.today()
    bands, total_n, total_arr = band_distribution(owner_ids=owner_ids)
    day = latest_snapshot_day()
    up, down = health_movers(day=day, owner_ids=owner_ids) if day else ([], [])
    coverage = health_coverage(organization=organization, day=today)
    freshness = health_freshness(organization=organization)
    chart = {
        "labels": [b.label for b in bands], "bands": [b.band for b in bands],
        "accounts": [b.accounts for b in bands], "arr": [float(b.arr) for b in bands],
        "currency": organization.reporting_currency,
    }
    return HealthOverview(
        bands=bands, total_accounts=total_n, total_arr=total_arr, latest_day=day,
        compared_day=day - WEEK if day else None, movers_up=up, movers_down=down,
        coverage=coverage, freshness=freshness, chart=chart,
    )


# ---------------------------------------------------------------- API lists (snapshots, pulses)


def snapshot_list(*, latest_only: bool = False):
    """Snapshots with their account and model version (whose config names the components; one query per page).
    ``latest_only``: each account's current snapshot —
    the one of the day its denormalised ``health_as_of`` points at (a join, not a scan of history)."""
    qs = HealthSnapshot.objects.select_related("account", "model_version")
    return latest_snapshots(qs) if latest_only else qs


def latest_snapshots(snapshots):
    """Narrow a snapshot queryset to each account's current snapshot (the day of ``Account.health_as_of``)."""
    return snapshots.filter(date=F("account__health_as_of"))


def pulse_list():
    """Pulses with their account and author, newest first."""
    return Pulse.objects.select_related("account", "recorded_by").order_by("-recorded_at", "-id")
