"""The renewal forecast: the ONE place METRICS.md's renewal numbers ("Renewals") are computed.

Everything is SQL aggregates over the renewals dated in a period [start, end_exclusive) — three queries
(totals; by forecast category; by risk reason) whatever the number of renewals, no Python loop over rows.

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
  risk (`at_risk_account_ids`) — each renewal counted once even when both say so; `at_risk_count` is the
  number of those renewals.
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

from django.db.models import BigIntegerField, Case, Count, F, Q, QuerySet, Sum, Value, When
from django.db.models.functions import Coalesce, Least

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

_OPEN = ~Q(stage=RenewalStage.CLOSED)
_CLOSED = Q(stage=RenewalStage.CLOSED)
_ZERO = Value(0, output_field=BigIntegerField())


@dataclass(frozen=True)
class ForecastBucket:
    key: str
    label: str
    count: int
    target_arr: Decimal  # Σ target of the open renewals in the bucket
    expected_arr: Decimal  # Σ expected ARR (the forecast contribution) of the same renewals


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


def _at_risk_condition(at_risk_account_ids) -> Q:
    condition = Q(forecast_category=ForecastCategory.AT_RISK)
    if at_risk_account_ids is None:
        return condition
    if not isinstance(at_risk_account_ids, QuerySet):
        at_risk_account_ids = list(at_risk_account_ids.tolist() if hasattr(at_risk_account_ids, "tolist")
                                   else at_risk_account_ids)
        if not at_risk_account_ids:
            return condition
    return condition | Q(account_id__in=at_risk_account_ids)


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
    renewal rates (definitions in the module docstring). `at_risk_account_ids`: the accounts whose health
    band is at risk (ids, a pandas Series/Index, or a queryset of ids); their open renewals count as at risk
    once, together with those the CSM put in the at-risk category. Runs in the current tenant context."""
    qs = renewals_in_period(start=start, end_exclusive=end_exclusive, account_filter=account_filter)
    target, final = cents_of("target_arr"), Coalesce(cents_of("final_arr"), _ZERO)
    expected = _expected_cent_percent()
    at_risk = _OPEN & _at_risk_condition(at_risk_account_ids)
    totals = qs.aggregate(
        renewals_count=Count("id"),
        due=Sum(target),
        open_count=Count("id", filter=_OPEN),
        open_target=Sum(target, filter=_OPEN),
        open_expected=Sum(expected, filter=_OPEN),
        closed_count=Count("id", filter=_CLOSED),
        closed_target=Sum(target, filter=_CLOSED),
        closed_final=Sum(final, filter=_CLOSED),
        closed_kept=Sum(Least(final, target), filter=_CLOSED),
        renewed_count=Count("id", filter=_CLOSED & Q(outcome__in=RENEWED_OUTCOMES)),
        churned_count=Count("id", filter=_CLOSED & ~Q(outcome__in=RENEWED_OUTCOMES)),
        at_risk=Sum(target, filter=at_risk),
        at_risk_count=Count("id", filter=at_risk),
    )

    def buckets(field: str, choices, none_key: str | None) -> list[ForecastBucket]:
        grouped = {
            row[field]: row
            for row in qs.filter(_OPEN).values(field).annotate(
                n=Count("id"), target_cents=Sum(target), expected_cp=Sum(expected)
            )
        }
        out = []
        for key, label in choices:
            row = grouped.get(None if key == none_key else key, {})
            out.append(ForecastBucket(
                key=key, label=str(label), count=row.get("n", 0), target_arr=_money(row.get("target_cents")),
                expected_arr=_cents(row.get("expected_cp")),
            ))
        return out

    category_choices = [*ForecastCategory.choices, (NO_CATEGORY, "Not called")]
    risk_choices = [(key, label) for key, label in RiskReason.choices if key] + [("", "No risk reason")]
    open_expected = _cents(totals["open_expected"])
    closed_final = _money(totals["closed_final"])
    due_cents = int(totals["due"] or 0)
    forecast = open_expected + closed_final
    closed_target = int(totals["closed_target"] or 0)
    return ForecastSummary(
        start=start,
        end_exclusive=end_exclusive,
        renewals_count=totals["renewals_count"],
        renewals_due=_money(due_cents),
        open_count=totals["open_count"],
        open_target=_money(totals["open_target"]),
        open_expected=open_expected,
        closed_count=totals["closed_count"],
        closed_target=_money(closed_target),
        closed_final=closed_final,
        forecast=forecast,
        forecast_pct_of_due=ledger._rate(int(forecast * 100), due_cents),
        at_risk_arr=_money(totals["at_risk"]),
        at_risk_count=totals["at_risk_count"],
        renewed_count=totals["renewed_count"],
        churned_count=totals["churned_count"],
        gross_renewal_rate=ledger._rate(int(totals["closed_kept"] or 0), closed_target),
        net_renewal_rate=ledger._rate(int(totals["closed_final"] or 0), closed_target),
        logo_renewal_rate=ledger._rate(totals["renewed_count"], totals["closed_count"]),
        by_category=buckets("forecast_category", category_choices, NO_CATEGORY),
        by_risk_reason=buckets("risk_reason", risk_choices, None),
    )


def renewal_list() -> QuerySet[Renewal]:
    """Every renewal of the organization with its account and owner (API lists filter and order it)."""
    return Renewal.objects.select_related("account__owner", "closed_by")


def contract_line_list() -> QuerySet:
    """Every contract line of the organization with its account (API lists filter and order it)."""
    from .models import ContractLine

    return ContractLine.objects.select_related("account")
