"""The renewal forecast: the ONE place METRICS.md's renewal numbers ("Renewals") are computed.

Everything is ONE grouped SQL aggregate over the renewals dated in a period [start, end_exclusive): the
renewals are grouped by (open/closed, category, risk reason, health band at risk, outcome, band at close) —
a few dozen groups whatever the number of renewals — and every total and breakdown is a sum over those
groups. No Python loop over renewals.

Definitions (METRICS.md, "Renewals"):
- **Renewals due** = Σ target of the renewals dated in the period (open and closed).
- **Forecast** = Σ over open renewals of their expected ARR + Σ final of the closed ones. The expected ARR
  of an open renewal is, first that applies:
    1. the CSM's call, `forecast_arr`;
    2. target × probability / 100, when a probability is given;
    3. target × the category's default probability: commit 100 %, likely 75 %, at risk 40 %, lost 0 %,
       and 75 % when no category is called yet (DEFAULT_PROBABILITY). Uncalled renewals are most often
       renewed, and 75 % is the "likely" weight: the forecast neither assumes every silent account renews
       nor writes it off.
- **At-risk ARR** = Σ target of open renewals in category "at risk" OR whose account's health band is at
  risk (Account.health_band, the current band; or `at_risk_account_ids` when given) — each renewal counted
  once even when both say so; `at_risk_count` is the number of those renewals. `at_risk_split` breaks it
  down: category only / health band only / both (the three add up to the total).
- Closed renewals by the account's health band when they closed (Renewal.health_band_at_close): how many
  renewed, Σ target, Σ final — whether the band predicted the outcome.
- Over the CLOSED renewals of the period ("closed to date"): **gross renewal rate** = Σ min(final, target)
  ÷ Σ target, **net renewal rate** = Σ final ÷ Σ target, **logo renewal rate** = renewals renewed (renewed,
  upsell or downsell) ÷ renewals closed; churned counts as not renewed. None when nothing is closed.
- Breakdowns by forecast category and by risk reason cover the OPEN renewals (closed ones have an outcome
  instead): per bucket the count, Σ target and Σ expected ARR.

Money is summed in integer cents (a weighted amount in cent-percent, i.e. cents × 100, so
target × probability is exact) and rounded half-up to the cent once, on each total. Rates are Decimal
fractions rounded like the ledger's (6 places, half-even).
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import BigIntegerField, BooleanField, Case, Count, F, Q, QuerySet, Sum, Value, When
from django.db.models.functions import Coalesce, Least

from accounts.models import HealthBand

from . import ledger
from .models import RENEWED_OUTCOMES, ForecastCategory, Renewal, RenewalStage, RiskReason
from .selectors import cents_of

# Probability (%) of an open renewal with neither a forecast amount nor a probability, by category.
DEFAULT_PROBABILITY: dict[str | None, int] = {
    ForecastCategory.COMMIT: 100,
    ForecastCategory.LIKELY: 75,
    ForecastCategory.AT_RISK: 40,
    ForecastCategory.LOST: 0,
    None: 75,
}
NO_CATEGORY = "none"  # the key of "no category called yet" in `by_category`
AT_RISK_ANY = "at_risk_any"  # pipeline filter: at risk by category OR health band (what at-risk ARR counts)

_CLOSED = Q(stage=RenewalStage.CLOSED)
_ZERO = Value(0, output_field=BigIntegerField())


@dataclass(frozen=True)
class ForecastBucket:
    key: str
    label: str
    count: int
    target_arr: Decimal  # Σ target of the open renewals in the bucket
    expected_arr: Decimal  # Σ expected ARR (the forecast contribution) of the same renewals


AT_RISK_CATEGORY_ONLY, AT_RISK_HEALTH_ONLY, AT_RISK_BOTH = "category", "health", "both"
AT_RISK_LABELS = {
    AT_RISK_CATEGORY_ONLY: "Category only (health band not at risk)",
    AT_RISK_HEALTH_ONLY: "Health band only (not called at risk)",
    AT_RISK_BOTH: "Both category and health band",
}


@dataclass(frozen=True)
class AtRiskBucket:
    key: str  # AT_RISK_CATEGORY_ONLY, AT_RISK_HEALTH_ONLY or AT_RISK_BOTH
    label: str
    count: int
    target_arr: Decimal
    expected_arr: Decimal


@dataclass(frozen=True)
class ClosedBandBucket:
    key: str  # a HealthBand value, or "" (closed before the band was recorded)
    label: str
    closed_count: int
    renewed_count: int
    target_arr: Decimal
    final_arr: Decimal
    logo_renewal_rate: Decimal | None


@dataclass(frozen=True)
class ForecastSummary:
    start: dt.date
    end_exclusive: dt.date
    renewals_count: int
    renewals_due: Decimal  # Σ target, open and closed
    open_count: int
    open_target: Decimal
    open_expected: Decimal  # Σ expected ARR of the open renewals
    closed_count: int
    closed_target: Decimal
    closed_final: Decimal
    forecast: Decimal  # open_expected + closed_final
    forecast_pct_of_due: Decimal | None  # forecast ÷ renewals due (fraction), None when nothing is due
    at_risk_arr: Decimal
    at_risk_count: int
    renewed_count: int  # closed as renewed, upsell or downsell
    churned_count: int
    gross_renewal_rate: Decimal | None
    net_renewal_rate: Decimal | None
    logo_renewal_rate: Decimal | None
    by_category: list[ForecastBucket]
    by_risk_reason: list[ForecastBucket]
    at_risk_split: list[AtRiskBucket]  # category only / health only / both: adds up to at_risk_arr
    closed_by_health_band: list[ClosedBandBucket]  # closed renewals by the band at close


def _expected_cent_percent():
    """An open renewal's expected ARR in cents × 100 (see the module docstring for the order of rules)."""
    target = cents_of("target_arr")
    by_category = [
        When(forecast_category=category, then=target * Value(pct, output_field=BigIntegerField()))
        for category, pct in DEFAULT_PROBABILITY.items() if category is not None
    ]
    return Case(
        When(forecast_arr__isnull=False, then=cents_of("forecast_arr") * 100),
        When(probability__isnull=False, then=target * F("probability")),
        *by_category,
        default=target * Value(DEFAULT_PROBABILITY[None], output_field=BigIntegerField()),
        output_field=BigIntegerField(),
    )


def _cents(cent_percent: int | None) -> Decimal:
    """Cent-percent → Decimal currency, rounded half-up to the cent."""
    return (Decimal(int(cent_percent or 0)) / 10_000).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def _money(cents: int | None) -> Decimal:
    return ledger.cents_to_decimal(int(cents or 0))


def _health_at_risk(at_risk_account_ids) -> Q:
    """The renewal's account is at risk by health: its current band, or the ids given."""
    if at_risk_account_ids is None:
        return Q(account__health_band=HealthBand.AT_RISK)
    if not isinstance(at_risk_account_ids, QuerySet):
        at_risk_account_ids = list(at_risk_account_ids.tolist() if hasattr(at_risk_account_ids, "tolist")
                                   else at_risk_account_ids)
        if not at_risk_account_ids:
            return Q(pk__in=[])
    return Q(account_id__in=at_risk_account_ids)


def at_risk_q() -> Q:
    """Open renewals counted in at-risk ARR (category at risk or the account's health band at risk)."""
    return ~_CLOSED & (Q(forecast_category=ForecastCategory.AT_RISK) | _health_at_risk(None))


def renewals_in_period(*, start: dt.date, end_exclusive: dt.date, account_filter=None) -> QuerySet[Renewal]:
    """The renewals dated in [start, end_exclusive), optionally of some accounts: `account_filter` is a
    queryset of account ids (e.g. renewals.selectors.segment_account_ids(...), one subquery) or an iterable
    of ids."""
    if end_exclusive < start:
        raise ValueError(f"forecast period ends ({end_exclusive}) before it starts ({start})")
    qs = Renewal.objects.filter(renewal_date__gte=start, renewal_date__lt=end_exclusive)
    if account_filter is not None:
        if not isinstance(account_filter, QuerySet):
            account_filter = list(account_filter)
        qs = qs.filter(account_id__in=account_filter)
    return qs.order_by()


def forecast_for_period(
    *,
    start: dt.date,
    end_exclusive: dt.date,
    account_filter: QuerySet | Iterable | None = None,
    at_risk_account_ids: QuerySet | Iterable | None = None,
) -> ForecastSummary:
    """The forecast board of a period: renewals due, forecast, at-risk ARR, breakdowns and closed-to-date
    renewal rates (definitions in the module docstring). Health at risk = the account's current health band
    is at risk, unless `at_risk_account_ids` (ids, a pandas Series/Index, or a queryset of ids) names the
    accounts instead. Their open renewals count as at risk once, together with those the CSM put in the
    at-risk category. One query; runs in the current tenant context."""
    qs = renewals_in_period(start=start, end_exclusive=end_exclusive, account_filter=account_filter)
    target, final = cents_of("target_arr"), Coalesce(cents_of("final_arr"), _ZERO)
    groups = list(
        qs.annotate(
            is_closed=Case(When(_CLOSED, then=Value(True)), default=Value(False), output_field=BooleanField()),
            health_risk=Case(When(_health_at_risk(at_risk_account_ids), then=Value(True)), default=Value(False),
                             output_field=BooleanField()),
        )
        .values("is_closed", "forecast_category", "risk_reason", "health_risk", "outcome", "health_band_at_close")
        .annotate(n=Count("id"), target_cents=Sum(target), expected_cp=Sum(_expected_cent_percent()),
                  final_cents=Sum(final), kept_cents=Sum(Least(final, target)))
        .order_by()
    )
    open_groups = [g for g in groups if not g["is_closed"]]
    closed_groups = [g for g in groups if g["is_closed"]]

    def total(rows, key: str) -> int:
        return sum(int(r[key] or 0) for r in rows)

    def buckets(field: str, choices, none_key) -> list[ForecastBucket]:
        out = []
        for key, label in choices:
            wanted = None if key == none_key else key
            rows = [g for g in open_groups if g[field] == wanted]
            out.append(ForecastBucket(key=key, label=str(label), count=total(rows, "n"),
                                      target_arr=_money(total(rows, "target_cents")),
                                      expected_arr=_cents(total(rows, "expected_cp"))))
        return out

    by_category_risk = [g for g in open_groups if g["forecast_category"] == ForecastCategory.AT_RISK]
    split_rows = {
        AT_RISK_CATEGORY_ONLY: [g for g in by_category_risk if not g["health_risk"]],
        AT_RISK_HEALTH_ONLY: [g for g in open_groups
                              if g["health_risk"] and g["forecast_category"] != ForecastCategory.AT_RISK],
        AT_RISK_BOTH: [g for g in by_category_risk if g["health_risk"]],
    }
    at_risk_split = [
        AtRiskBucket(key=key, label=AT_RISK_LABELS[key], count=total(rows, "n"),
                     target_arr=_money(total(rows, "target_cents")), expected_arr=_cents(total(rows, "expected_cp")))
        for key, rows in split_rows.items()
    ]
    renewed = [g for g in closed_groups if g["outcome"] in RENEWED_OUTCOMES]
    by_band_at_close = []
    for key, label in [*HealthBand.choices, ("", "Not recorded")]:
        rows = [g for g in closed_groups if (g["health_band_at_close"] or "") == key]
        if key in ("", HealthBand.UNKNOWN) and not rows:
            continue
        count = total(rows, "n")
        renewed_here = total([g for g in rows if g["outcome"] in RENEWED_OUTCOMES], "n")
        by_band_at_close.append(ClosedBandBucket(
            key=key, label=str(label), closed_count=count, renewed_count=renewed_here,
            target_arr=_money(total(rows, "target_cents")), final_arr=_money(total(rows, "final_cents")),
            logo_renewal_rate=ledger._rate(renewed_here, count),
        ))

    category_choices = [*ForecastCategory.choices, (NO_CATEGORY, "Not called")]
    risk_choices = [(key, label) for key, label in RiskReason.choices if key] + [("", "No risk reason")]
    open_expected = _cents(total(open_groups, "expected_cp"))
    closed_final_cents = total(closed_groups, "final_cents")
    closed_final = _money(closed_final_cents)
    due_cents = total(groups, "target_cents")
    forecast = open_expected + closed_final
    closed_target = total(closed_groups, "target_cents")
    closed_count = total(closed_groups, "n")
    renewed_count = total(renewed, "n")
    return ForecastSummary(
        start=start,
        end_exclusive=end_exclusive,
        renewals_count=total(groups, "n"),
        renewals_due=_money(due_cents),
        open_count=total(open_groups, "n"),
        open_target=_money(total(open_groups, "target_cents")),
        open_expected=open_expected,
        closed_count=closed_count,
        closed_target=_money(closed_target),
        closed_final=closed_final,
        forecast=forecast,
        forecast_pct_of_due=ledger._rate(int(forecast * 100), due_cents),
        at_risk_arr=sum((b.target_arr for b in at_risk_split), Decimal("0.00")),
        at_risk_count=sum(b.count for b in at_risk_split),
        renewed_count=renewed_count,
        churned_count=closed_count - renewed_count,
        gross_renewal_rate=ledger._rate(total(closed_groups, "kept_cents"), closed_target),
        net_renewal_rate=ledger._rate(closed_final_cents, closed_target),
        logo_renewal_rate=ledger._rate(renewed_count, closed_count),
        by_category=buckets("forecast_category", category_choices, NO_CATEGORY),
        by_risk_reason=buckets("risk_reason", risk_choices, None),
        at_risk_split=at_risk_split,
        closed_by_health_band=by_band_at_close,
    )


def renewal_list() -> QuerySet[Renewal]:
    """Every renewal of the organization with its account and owner (API lists filter and order it)."""
    return Renewal.objects.select_related("account__owner", "closed_by")


def contract_line_list() -> QuerySet:
    """Every contract line of the organization with its account (API lists filter and order it)."""
    from .models import ContractLine

    return ContractLine.objects.select_related("account")
