"""Demo phase: three years of contract history, the renewals it implies, and the checkpoints already passed.

Every account renews on the anniversary of its "customer since" date (the accounts phase sets
`renewal_date` that way), on annual terms. Working backwards from today's ARR (the accounts phase's
`arr`), each anniversary was flat, an expansion or a contraction (by tier); churned accounts' last term
ended at their churn date, and a few accounts left once and came back (reactivations). Each term is one
recurring line (plus a one-time onboarding fee for high-touch accounts), every past anniversary a closed
renewal with its outcome, and each active account's coming contract end an open renewal — some with a
CSM's call. Checkpoints that passed more than a week ago are recorded as raised, so the first checkpoint
sweep only raises the recent ones (as if the sweep had been running daily).

After writing, Account.arr is checked against the ledger's ARR of the generated lines, churned accounts
lose their past renewal date (they have no renewal ahead), and the trailing-twelve-month GRR/NRR are
computed by the ledger and reported in the seed's summary.
"""
from __future__ import annotations

from decimal import Decimal

import numpy as np
import pandas as pd
from django.db import connection

from renewals import ledger
from renewals.models import (
    DEFAULT_CHECKPOINT_DAYS,
    ContractLine,
    Renewal,
    RenewalCheckpoint,
    RenewalCheckpointHit,
)
from renewals.periods import trailing_twelve_months
from renewals.services import account_arr_sync

from .demo import CHURNED, MM, DemoContext, _arr_cents
from .demo_bulk import days_to_datetime64, epoch_to_datetime64
from .models import Account, LifecycleStage

TERM_DAYS = 365
HISTORY_DAYS = 3 * 365  # terms that ended more than this long ago are not generated
MAX_TERMS = 5
# Per tier (ENT, MM, SMB, TT): chance that an anniversary expanded / contracted, and the ranges.
P_EXPAND = (0.60, 0.55, 0.45, 0.35)
P_CONTRACT = (0.18, 0.20, 0.20, 0.20)
EXPAND_RANGE = (1.15, 1.75)
CONTRACT_RANGE = (0.50, 0.90)
REACTIVATED_SHARE = 0.015
PRICE_STEP = (100, 100, 10, 12)
PLANS = ("Enterprise", "Business", "Team", "Starter")
NOTICE_DAYS = (90, 60, 30, 30)
RECENT_CHECKPOINT_DAYS = 7  # checkpoints passed this recently are left for the first sweep
CATEGORIES = np.array(["commit", "likely", "at_risk", "lost"])
RISK_REASONS = np.array(["low_usage", "champion_left", "budget", "competitor", "product_gaps", "support_issues"])


def _money_text(cents: np.ndarray) -> list[str]:
    return [f"{c // 100}.{c % 100:02d}" for c in cents.tolist()]


def seed_contracts(ctx: DemoContext) -> None:
    f = ctx.accounts
    n, rng = f.n, ctx.rng("contracts")
    tier = f.tier.astype(np.int64)
    churned = f.stage == CHURNED
    step = np.array(PRICE_STEP, dtype=np.int64)[tier] * 100
    # ARR of the last term: today's ARR, or for a churned account what it paid before leaving.
    last_arr = np.where(churned, np.maximum(_arr_cents(rng, f.tier), step), f.arr_cents.astype(np.int64))
    last_end = f.renewal_offset.astype(np.int64)  # day offset of the end of the latest term (≤ 0 if churned)
    # Terms j = 0 (latest) … back while the term started on/after "customer since" and ended within history.
    term = np.arange(MAX_TERMS)
    ends = last_end[:, None] - TERM_DAYS * term[None, :]
    starts = ends - TERM_DAYS
    kept = (starts >= -f.created_days_ago[:, None]) & (ends > -HISTORY_DAYS)
    kept[:, 0] = True  # the latest term always exists (the account is or was a customer)

    # ARR backwards: term j+1 = term j / multiplier at the anniversary that started term j.
    u = rng.random((n, MAX_TERMS))
    expand = u < np.array(P_EXPAND)[tier][:, None]
    contract = ~expand & (u < (np.array(P_EXPAND) + np.array(P_CONTRACT))[tier][:, None])
    multiplier = np.where(expand, rng.uniform(*EXPAND_RANGE, size=(n, MAX_TERMS)), 1.0)
    multiplier = np.where(contract, rng.uniform(*CONTRACT_RANGE, size=(n, MAX_TERMS)), multiplier)
    arr = np.zeros((n, MAX_TERMS), dtype=np.int64)
    arr[:, 0] = last_arr
    for j in range(1, MAX_TERMS):
        previous = np.round(arr[:, j - 1] / multiplier[:, j - 1] / step) * step
        arr[:, j] = np.maximum(previous.astype(np.int64), step)

    # Reactivations: a few active accounts with 3+ terms skipped the year before the current term.
    n_terms = kept.sum(axis=1)
    reactivated = (~churned) & (n_terms >= 3) & (rng.random(n) < REACTIVATED_SHARE)
    kept[reactivated, 1] = False

    frame = _write_lines(ctx, kept, starts, ends, arr, tier)
    _write_closed_renewals(ctx, rng, kept, starts, ends, arr, churned)
    open_renewals = _write_open_renewals(ctx, rng, churned, last_end, last_arr, tier)
    _write_checkpoints(ctx, open_renewals)
    ctx.writer.wait()
    _derive_and_report(ctx, frame)


def _write_lines(ctx, kept, starts, ends, arr, tier) -> pd.DataFrame:
    f = ctx.accounts
    rows, cols = np.nonzero(kept)
    rng = ctx.rng("contract-lines")
    ids = ctx.new_ids(ContractLine, rng, rows.size)
    ext = [f"{f.external_ids[r]}-{c}" for r, c in zip(rows.tolist(), cols.tolist(), strict=True)]
    plans = np.array(PLANS)[tier[rows]]
    start_dates = days_to_datetime64(ctx.today, starts[rows, cols])
    created = epoch_to_datetime64(ctx.business_epoch(np.maximum(-starts[rows, cols], 1), rng))
    for lo, hi in ctx.chunks(rows.size, 20_000):
        ctx.writer.insert(ContractLine, {
            "id": ids[lo:hi], "account": [f.ids[r] for r in rows[lo:hi].tolist()], "external_id": ext[lo:hi],
            "product": ["Platform"] * (hi - lo), "plan": plans[lo:hi].tolist(),
            "start_date": start_dates[lo:hi], "end_date": days_to_datetime64(ctx.today, ends[rows[lo:hi], cols[lo:hi]]),
            "arr": _money_text(arr[rows[lo:hi], cols[lo:hi]]), "quantity": [1] * (hi - lo),
            "billing_period": ["annual"] * (hi - lo), "auto_renew": (tier[rows[lo:hi]] >= 2).tolist(),
            "notice_days": np.array(NOTICE_DAYS)[tier[rows[lo:hi]]].tolist(), "is_recurring": [True] * (hi - lo),
            "currency": [ctx.org.reporting_currency] * (hi - lo), "created_at": created[lo:hi],
        })
    # One-time onboarding fees of high-touch accounts in their first generated term: not recurring revenue.
    first = kept.shape[1] - 1 - np.argmax(kept[:, ::-1], axis=1)
    high = np.nonzero(tier <= MM)[0]
    fee_start = starts[high, first[high]]
    ctx.writer.insert(ContractLine, {
        "id": ctx.new_ids(ContractLine, rng, high.size), "account": [f.ids[i] for i in high.tolist()],
        "external_id": [f"{f.external_ids[i]}-onboarding" for i in high.tolist()],
        "product": ["Onboarding services"] * high.size, "plan": [""] * high.size,
        "start_date": days_to_datetime64(ctx.today, fee_start),
        "end_date": days_to_datetime64(ctx.today, fee_start + 90),
        "arr": _money_text(np.round(arr[high, first[high]] * 0.1 / 100).astype(np.int64) * 100 + 100),
        "is_recurring": [False] * high.size, "billing_period": ["annual"] * high.size,
        "currency": [ctx.org.reporting_currency] * high.size,
    })
    ctx.counts["contract lines"] = rows.size + high.size
    return pd.DataFrame({  # the recurring lines as the ledger's input, accounts as row numbers
        "account_id": rows, "start_date": start_dates, "end_date": days_to_datetime64(ctx.today, ends[rows, cols]),
        "arr_cents": arr[rows, cols], "is_recurring": np.ones(rows.size, dtype=bool),
    })


def _write_closed_renewals(ctx, rng, kept, starts, ends, arr, churned) -> None:
    """A closed renewal at the end of every generated term that has ended: renewed/upsell/downsell into the
    next term, churned when no term follows (the churned accounts' last one, and the reactivated accounts'
    gap year)."""
    f = ctx.accounts
    rows, cols = np.nonzero(kept & (ends <= 0))
    follows = np.zeros(rows.size, dtype=bool)
    nxt = cols - 1
    follows[nxt >= 0] = kept[rows[nxt >= 0], nxt[nxt >= 0]]
    target = arr[rows, cols]
    final = np.where(follows, arr[rows, np.maximum(nxt, 0)], 0)
    outcome = np.select([~follows, final > target, final < target], ["churned", "upsell", "downsell"], "renewed")
    day = ends[rows, cols]
    closed_days_ago = np.maximum(-day + rng.integers(0, 30, size=rows.size), 1)
    owner = [o or None for o in f.owner[rows].tolist()]
    ids = ctx.new_ids(Renewal, rng, rows.size)
    closed_at = epoch_to_datetime64(ctx.business_epoch(closed_days_ago, rng))
    for lo, hi in ctx.chunks(rows.size, 20_000):
        ctx.writer.insert(Renewal, {
            "id": ids[lo:hi], "account": [f.ids[r] for r in rows[lo:hi].tolist()],
            "renewal_date": days_to_datetime64(ctx.today, day[lo:hi]), "target_arr": _money_text(target[lo:hi]),
            "final_arr": _money_text(final[lo:hi]), "stage": ["closed"] * (hi - lo),
            "outcome": outcome[lo:hi].tolist(), "closed_at": closed_at[lo:hi], "closed_by": owner[lo:hi],
            "created_at": closed_at[lo:hi],
        })
    ctx.counts["closed renewals"] = rows.size


def _write_open_renewals(ctx, rng, churned, last_end, last_arr, tier) -> tuple[np.ndarray, np.ndarray]:
    """The coming contract end of every active account; close-in ones engaged, many with a CSM's call."""
    f = ctx.accounts
    idx = np.nonzero(~churned & (last_end > 0))[0]
    days = last_end[idx]
    target = last_arr[idx]
    k = idx.size
    u = rng.random((k, 5))
    stage = np.select([days <= 45, days <= 120], [np.where(u[:, 0] < 0.6, "negotiating", "engaged"),
                                                  np.where(u[:, 0] < 0.5, "engaged", "upcoming")], "upcoming")
    called = (days <= 150) & (u[:, 1] < 0.7)
    category = np.where(called, CATEGORIES[np.searchsorted([0.45, 0.8, 0.96], u[:, 2])], None)
    at_risk = category == "at_risk"
    risk = np.where(at_risk | (called & (u[:, 3] < 0.1)),
                    RISK_REASONS[rng.integers(0, RISK_REASONS.size, size=k)], "")
    step = np.array(PRICE_STEP, dtype=np.int64)[tier[idx]] * 100
    factor = np.select([category == "lost", at_risk, category == "commit"],
                       [0.0, rng.uniform(0.4, 0.9, size=k), rng.uniform(1.0, 1.2, size=k)],
                       rng.uniform(0.85, 1.1, size=k))
    forecast = (np.round(target * factor / step) * step).astype(np.int64)
    has_forecast = called & (u[:, 4] < 0.5)
    has_probability = called & ~has_forecast & (u[:, 4] < 0.75)
    probability = np.select([category == "commit", category == "likely", at_risk, category == "lost"],
                            [90, 70, 35, 5], 60)
    forecast_text = _money_text(forecast)
    ids = ctx.new_ids(Renewal, rng, k)
    created = epoch_to_datetime64(ctx.business_epoch(np.maximum(365 - days, 1), rng))
    for lo, hi in ctx.chunks(k, 20_000):
        ctx.writer.insert(Renewal, {
            "id": ids[lo:hi], "account": [f.ids[i] for i in idx[lo:hi].tolist()],
            "renewal_date": days_to_datetime64(ctx.today, days[lo:hi]), "target_arr": _money_text(target[lo:hi]),
            "forecast_arr": [t if h else None for t, h in zip(forecast_text[lo:hi], has_forecast[lo:hi].tolist(),
                                                                 strict=True)],
            "stage": stage[lo:hi].tolist(), "forecast_category": category[lo:hi].tolist(),
            "probability": [int(p) if h else None for p, h in zip(probability[lo:hi].tolist(),
                                                                 has_probability[lo:hi].tolist(), strict=True)],
            "risk_reason": risk[lo:hi].tolist(), "created_at": created[lo:hi],
        })
    ctx.counts["open renewals"] = k
    return np.array(ids, dtype=object), days


def _write_checkpoints(ctx, open_renewals) -> None:
    ids, days = open_renewals
    ctx.writer.insert(RenewalCheckpoint, {
        "id": ctx.new_ids(RenewalCheckpoint, ctx.rng("checkpoints"), len(DEFAULT_CHECKPOINT_DAYS)),
        "days_before": list(DEFAULT_CHECKPOINT_DAYS),
    })
    rows, cps = [], []
    for checkpoint in DEFAULT_CHECKPOINT_DAYS:
        passed = np.nonzero(days - checkpoint <= -RECENT_CHECKPOINT_DAYS)[0]
        rows.append(ids[passed])
        cps.append(np.full(passed.size, checkpoint))
    renewal_ids, checkpoint_days = np.concatenate(rows), np.concatenate(cps)
    hit_ids = ctx.new_ids(RenewalCheckpointHit, ctx.rng("checkpoint-hits"), renewal_ids.size)
    for lo, hi in ctx.chunks(renewal_ids.size, 50_000):
        ctx.writer.insert(RenewalCheckpointHit, {
            "id": hit_ids[lo:hi], "renewal": renewal_ids[lo:hi].tolist(),
            "days_before": checkpoint_days[lo:hi].tolist(),
        })


def _derive_and_report(ctx, frame: pd.DataFrame) -> None:
    """Check Account.arr against the ledger's ARR today, clear the churned accounts' past renewal dates,
    and report the demo's GRR/NRR — from the lines still in memory (`frame`, accounts as row numbers), so
    the seed does not read back the rows it just wrote. tests/renewals/test_renewals_demo.py proves that
    the services (`account_arr_sync`, `renewals_sync`) find nothing to change on the seeded data."""
    f = ctx.accounts
    derived = ledger.recurring_revenue_on(frame, ctx.today).reindex(range(f.n), fill_value=0).to_numpy()
    wrong = np.nonzero(derived != f.arr_cents)[0]
    if wrong.size:  # a generator bug: let the services repair it rather than seed inconsistent numbers
        account_arr_sync(account_ids=[f.ids[i] for i in wrong.tolist()], as_of=ctx.today)
    ctx.counts["accounts whose ARR the ledger corrected"] = int(wrong.size)
    if connection.vendor == "postgresql":
        # Freshly COPYed tables have no statistics yet; the first page views would plan for empty tables.
        tables = [m._meta.db_table for m in (Account, ContractLine, Renewal, RenewalCheckpointHit)]
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE " + ", ".join(connection.ops.quote_name(t) for t in tables))
    # A churned account has no renewal ahead (renewals_sync would clear the same dates, reading every account).
    ctx.counts["renewal dates cleared (churned)"] = Account.objects.filter(
        lifecycle_stage=LifecycleStage.CHURNED, renewal_date__isnull=False).update(renewal_date=None)
    period = trailing_twelve_months(ctx.today)
    result = ledger.retention(frame, period.start, period.end)
    ctx.counts["% GRR (trailing 12 months)"] = _pct(result.grr)
    ctx.counts["% NRR (trailing 12 months)"] = _pct(result.nrr)


def _pct(rate: Decimal | None) -> Decimal:
    return Decimal(0) if rate is None else (rate * 100).quantize(Decimal("0.1"))

