"""Demo phase: a year of health snapshots, as the daily job would have written them.

Days: weekly over the past year, its month-ends and daily over the last 90 days, oldest first, each for the
accounts active on that day (recurring revenue by the ledger). Today's snapshots go through the real recompute
(``health.services.snapshots.snapshots_recompute``: the accounts' health fields, today's alerts). The past days
are scored by the same pure engine (``health.scoring``) on the signals loaded ONCE — one query per signal
table, converted to the engine's input contract (``health/scoring/inputs.py``) the way ``health.selectors`` does
(local calendar days, the latest licensed-seats reading on or before the day) — because the recompute reloads
every table per day (seconds per day on SQLite: a year of history would take many minutes). The engine ignores
rows dated after the day it scores, so each day sees exactly what it would have seen then. Snapshots are written
column-wise through ``ctx.writer``, in the recompute's row format (``health.components.documents``).
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from health.components import documents as component_documents
from health.components import empty_document
from health.models import HealthModelVersion, HealthSnapshot, Pulse
from health.scoring import ScoringInputs, compute_signals, explain_change, score
from health.services.snapshots import snapshots_recompute
from health.validation_selectors import validation_page
from renewals.models import Renewal
from renewals.periods import month_ends
from renewals.selectors import lines_frame

from .demo_signals import MAX_ACCOUNTS, WINDOW, _active_days
from .models import SupportTicket, SurveyResponse, Touchpoint, UsageRecord

if TYPE_CHECKING:
    from .demo import DemoContext

HISTORY_WEEKS, HISTORY_DAILY_DAYS = 52, 90
USAGE_LOOKBACK_DAYS = 60  # the widest usage window of the default model: a 30-day trend over the prior 30 days
WHY_LOOKBACK_DAYS = 7


def history_days(today: dt.date) -> list[dt.date]:
    """Weekly over the past year, its month-ends once the signals reach back a whole usage lookback (the
    dashboard's trend charts read the month-ends' snapshots; earlier ones would chart a score made of the few
    inputs the demo's first days have) and daily over the last 90 days, oldest first."""
    days = {today - dt.timedelta(days=7 * w) for w in range(HISTORY_WEEKS + 1)}
    days |= set(month_ends(today=today, days=WINDOW - USAGE_LOOKBACK_DAYS))
    days |= {today - dt.timedelta(days=d) for d in range(HISTORY_DAILY_DAYS)}
    return sorted(days)


def _local_days(values, tz) -> pd.Series:
    """Aware datetimes (UTC) → the organization's local calendar day, as datetime64 (NaT stays NaT)."""
    stamps = pd.to_datetime(pd.Series(values, dtype=object), utc=True)
    return stamps.dt.tz_convert(tz).dt.tz_localize(None).dt.normalize()


def _hex(values) -> list[str]:
    return [None if v is None else v.hex for v in values]


def load_signals(ctx: DemoContext) -> dict[str, pd.DataFrame]:
    """Every signal of the organization in the engine's frame shapes, account ids as 32-hex text."""
    tz = ctx.org.tzinfo
    usage = pd.DataFrame.from_records(
        list(UsageRecord.objects.order_by().values_list("account_id", "date", "metric", "value")),
        columns=["account_id", "date", "metric", "value"])
    usage["account_id"] = _hex(usage["account_id"])
    usage["date"] = pd.to_datetime(usage["date"])
    surveys = pd.DataFrame.from_records(list(SurveyResponse.objects.order_by().values_list(
        "account_id", "contact_id", "responded_at", "kind", "score")),
        columns=["account_id", "contact_id", "responded_on", "kind", "score"])
    surveys["account_id"], surveys["contact_id"] = _hex(surveys["account_id"]), _hex(surveys["contact_id"])
    surveys["responded_on"] = _local_days(surveys["responded_on"], tz)
    surveys["score"] = surveys["score"].astype(np.float64)
    tickets = pd.DataFrame.from_records(list(SupportTicket.objects.order_by().values_list(
        "account_id", "opened_at", "closed_at", "priority", "escalated")),
        columns=["account_id", "opened_on", "closed_on", "priority", "escalated"])
    tickets["account_id"] = _hex(tickets["account_id"])
    for column in ("opened_on", "closed_on"):
        tickets[column] = _local_days(tickets[column], tz)
    tickets["escalated"] = tickets["escalated"].astype(bool)
    touchpoints = pd.DataFrame.from_records(
        list(Touchpoint.objects.order_by().values_list("account_id", "occurred_at")),
        columns=["account_id", "occurred_on"])
    touchpoints["account_id"] = _hex(touchpoints["account_id"])
    touchpoints["occurred_on"] = _local_days(touchpoints["occurred_on"], tz)
    pulses = pd.DataFrame.from_records(
        list(Pulse.objects.order_by().values_list("account_id", "value", "recorded_at", "valid_days")),
        columns=["account_id", "value", "recorded_on", "valid_days"])
    pulses["account_id"] = _hex(pulses["account_id"])
    pulses["recorded_on"] = _local_days(pulses["recorded_on"], tz)
    return {"usage": usage, "surveys": surveys, "tickets": tickets, "touchpoints": touchpoints, "pulses": pulses}


def _seats_on(seats: pd.DataFrame, day: pd.Timestamp) -> pd.Series:
    """The latest licensed-seats reading on or before `day`, per account (`seats`: the readings, by date)."""
    return seats[seats["date"] <= day].groupby("account_id")["value"].last()


def _bands_at_close(ctx: DemoContext) -> int:
    """The renewals closed during the history get the band their account showed then — its latest snapshot on or
    before the (local) close day, at most a week older (the history is weekly before its last 90 days) — as
    ``renewals.services`` records it when a renewal closes live. Renewals closed before the history keep none."""
    closed = pd.DataFrame(list(Renewal.objects.filter(closed_at__isnull=False, health_band_at_close="")
                               .values_list("pk", "account_id", "closed_at")), columns=["pk", "account_id", "closed"])
    if closed.empty:
        return 0
    closed["day"] = _local_days(closed["closed"].tolist(), ctx.org.tzinfo).astype("datetime64[ns]")
    snapshots = pd.DataFrame(list(HealthSnapshot.objects.order_by().values_list("account_id", "date", "band")),
                             columns=["account_id", "day", "band"])
    snapshots["day"] = pd.to_datetime(snapshots["day"]).astype("datetime64[ns]")
    for frame in (closed, snapshots):
        frame["account_id"] = frame["account_id"].astype(str)
    matched = pd.merge_asof(closed.sort_values("day"), snapshots.sort_values("day"), on="day", by="account_id",
                            direction="backward", tolerance=pd.Timedelta(days=7)).dropna(subset=["band"])
    renewals = [Renewal(pk=pk, health_band_at_close=band) for pk, band in zip(matched["pk"], matched["band"],
                                                                              strict=True)]
    Renewal.objects.bulk_update(renewals, ["health_band_at_close"], batch_size=1000)
    return len(renewals)


def seed_health_history(ctx: DemoContext) -> None:
    if ctx.accounts.n > MAX_ACCOUNTS:
        return
    published = list(HealthModelVersion.objects.filter(status="published").select_related("model"))
    default = next(v for v in published if v.model.is_default)
    config = default.engine_config()
    active = _active_days(ctx, lines_frame())
    signals = load_signals(ctx)
    usage = signals["usage"]
    seats = usage[usage["metric"] == "licensed_seats"].sort_values("date")
    days = history_days(ctx.today)
    components_by_day: dict[dt.date, pd.DataFrame] = {}
    rng = ctx.rng("health-history")
    written = 0
    bar = ctx.progress("health history", len(days), unit="day")
    for day in days[:-1]:  # today: the real recompute, below
        col = WINDOW - 1 - (ctx.today - day).days
        rows = np.nonzero(active[:, col])[0] if col >= 0 else np.array([], dtype=np.int64)
        bar.update(1)
        if rows.size == 0:
            continue
        ids = [ctx.accounts.ids[i] for i in rows.tolist()]
        stamp = pd.Timestamp(day)
        accounts = pd.DataFrame({"account_id": ids})
        accounts["licensed_seats"] = accounts["account_id"].map(_seats_on(seats, stamp)).astype(np.float64)
        recent = usage[(usage["date"] > stamp - pd.Timedelta(days=USAGE_LOOKBACK_DAYS)) & (usage["date"] <= stamp)]
        inputs = ScoringInputs(as_of=day, accounts=accounts, usage=recent, surveys=signals["surveys"],
                               tickets=signals["tickets"], touchpoints=signals["touchpoints"], pulses=signals["pulses"])
        result = score(compute_signals(inputs, config), config)
        components_by_day[day] = result.components
        previous = components_by_day.get(day - dt.timedelta(days=WHY_LOOKBACK_DAYS))
        why = (explain_change(previous, result.components).reindex(result.accounts.index)
               if previous is not None else pd.Series("", index=result.accounts.index))
        written += _write_snapshots(ctx, rng, day, default.pk, result, why)
    bar.close()
    ctx.writer.wait()
    # Today: the daily job's own path (denormalised account health, alerts).
    today_rows = np.nonzero(active[:, WINDOW - 1])[0]
    summary = snapshots_recompute(organization=ctx.org, day=ctx.today,
                                  account_ids=[ctx.accounts.ids[i] for i in today_rows.tolist()])
    ctx.counts["health snapshots (history)"] = written + summary.accounts
    ctx.counts["health alerts today"] = summary.alerts
    ctx.writer.wait()
    ctx.counts["closed renewals with their health band at close"] = _bands_at_close(ctx)
    page = validation_page(today=ctx.today)  # what the validation page will show for the published model
    for version, result in page.versions:
        if version.status == "published" and version.model.is_default:
            for horizon, auc in result.auc_churn.items():
                if auc.value is not None:
                    ctx.counts[f"AUC of the default model for churn within {horizon} days"] = Decimal(
                        f"{auc.value:.2f}")


def _write_snapshots(ctx, rng, day, version_id, result, why) -> int:
    accounts = result.accounts
    by_account = component_documents(result.components)
    ids = accounts.index.tolist()
    scores = accounts["score"].to_numpy(dtype=np.float64)
    points = accounts["top_detractor_points"].to_numpy(dtype=np.float64)
    ctx.writer.insert(HealthSnapshot, {
        "id": ctx.new_ids(HealthSnapshot, rng, len(ids)), "account": ids,
        "date": [day] * len(ids), "model_version": [version_id.hex] * len(ids),
        "score": [None if s != s else f"{s:.1f}" for s in scores.tolist()],
        "band": [str(b) for b in accounts["band"].tolist()],
        "components": [by_account.get(a) or empty_document() for a in ids],
        "missing": [list(m or ()) for m in accounts["missing"].tolist()],
        "top_detractor": [d or "" for d in accounts["top_detractor"].tolist()],
        "top_detractor_points": [None if p != p else float(p) for p in points.tolist()],
        "why_changed": [w if isinstance(w, str) else "" for w in why.tolist()],
    })
    return len(ids)
