"""Reads for the validation page: the snapshots, the revenue events and the model versions of the current tenant,
one query each, handed to the pure ``health/validation.py``."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd
from django.db.models import Count, FloatField
from django.db.models.functions import Cast

from renewals.selectors import lines_frame

from .models import HealthModelVersion, HealthSnapshot
from .validation import HORIZONS, VersionValidation, revenue_events, validate

HISTORY_DAYS = 2 * 365  # snapshots older than this are not read (nor needed: horizons are at most 180 days)


@dataclass(frozen=True)
class ValidationPage:
    today: dt.date
    since: dt.date
    versions: list[tuple[HealthModelVersion, VersionValidation]]  # versions with snapshots, newest model first
    unscored_versions: list[HealthModelVersion]  # published versions that have scored nothing yet
    churn_events: int
    contraction_events: int


def _snapshots_frame(since: dt.date, today: dt.date) -> pd.DataFrame:
    """One snapshot a week per account: those on the weekday with the most snapshots (daily history → any day;
    a weekly backfill → its day). The other days add near-copies of the same account-week, not evidence, and
    a year of daily snapshots of a large book would not fit in memory."""
    in_window = HealthSnapshot.objects.filter(date__gte=since, date__lte=today).order_by()
    per_day = in_window.values("date").annotate(n=Count("id")).values_list("date", "n")  # the (date, …) index
    counts: dict[int, int] = {}
    dates_by_weekday: dict[int, list[dt.date]] = {}
    for day, n in per_day:
        counts[day.weekday()] = counts.get(day.weekday(), 0) + n
        dates_by_weekday.setdefault(day.weekday(), []).append(day)
    columns = ["account_id", "date", "score", "band", "model_version"]
    if not counts:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})
    weekday = max(sorted(counts), key=lambda d: counts[d])
    rows = (in_window.filter(date__in=dates_by_weekday[weekday]).annotate(score_value=Cast("score", FloatField()))
            .values_list("account_id", "date", "score_value", "band", "model_version_id"))
    frame = pd.DataFrame.from_records(list(rows), columns=columns)
    frame["score"] = frame["score"].astype(np.float64)
    frame["date"] = pd.to_datetime(frame["date"])
    return frame


def validation_page(*, today: dt.date) -> ValidationPage:
    since = today - dt.timedelta(days=HISTORY_DAYS)
    snapshots = _snapshots_frame(since, today)
    events = revenue_events(lines_frame(), since=since, until=today)
    results = validate(snapshots, events, today=today, horizons=HORIZONS)
    versions = {v.pk: v for v in HealthModelVersion.objects.select_related("model")}
    by_id = {r.model_version: r for r in results}
    ordered = sorted((versions[pk] for pk in by_id if pk in versions),
                     key=lambda v: (not v.model.is_default, v.model.name, -v.number))
    unscored = sorted((v for v in versions.values() if v.status == "published" and v.pk not in by_id),
                      key=lambda v: (not v.model.is_default, v.model.name))
    kinds = events["kind"].value_counts()
    return ValidationPage(
        today=today, since=since, versions=[(v, by_id[v.pk]) for v in ordered], unscored_versions=unscored,
        churn_events=int(kinds.get("churn", 0)), contraction_events=int(kinds.get("contraction", 0)),
    )
