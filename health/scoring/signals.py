"""Raw signals: one row per account, one column per component (its raw value, NaN when missing).

Windows. "The last N days" is the half-open interval (as_of − N, as_of]: N calendar days ending with, and
including, ``as_of``. The prior window of a trend is (as_of − 2N, as_of − N]. Rows after ``as_of`` never count.

Next to each raw column ``<key>`` the frame carries ``<key>__observed_on``: the date of the newest input row
the component looked at (NaT when there was none, and for account attributes such as the renewal date). It
is set even when that input did not produce a value — an expired pulse keeps the day it was recorded — so
the product can say when a signal went stale, and compute data freshness.

What counts as missing (→ NaN, weight redistributed by the engine), per kind:
- seat_utilisation: no ``metric`` reading in the window, or licensed seats unknown / ≤ 0. The ratio is not
  capped (1.3 means 130 % of seats in use, an expansion signal); its score is, because curves are flat.
- usage_trend: nothing to compare against — the prior window sums to zero (no rows, or only zeros). A new
  account's first month is therefore missing, not 100: a ratio over nothing is not a trend, and the
  account's seat utilisation and feature breadth already reward new usage. A prior window with usage and
  a current one without any row scores the ratio 0 (days without rows count as zero usage).
- feature_breadth: no usage row of any metric in the window (no usage feed for the account). Usage rows
  without a key feature score 0. A feature counts as used when its value summed over the window is > 0.
- touchpoint_recency: no touchpoint on or before ``as_of``.
- nps / csat: fewer respondents in the window than ``min_responses`` (default 1).
- open_priority_tickets / escalations: only when the organization has no ticket feed (tickets is None).
- days_to_renewal: no renewal date.
- csm_pulse: no pulse, or the latest pulse has expired. Only the latest pulse counts: an expired pulse is
  not replaced by an older one. A pulse recorded on day r with validity v counts while
  ``as_of − r < v`` — for v days counting the day it was recorded — and is missing from day r + v on
  (recorded 1 May with 30 days: counts through 30 May, missing on 31 May).

Ties are broken independently of row order: two pulses, or two responses of one contact, on the same day →
the worse one counts; two seat-utilisation readings on one day → the larger (sums, like the usage trend's,
simply add every row — usage rows are expected to be unique per account, day and metric).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .config import PULSE_CODES, ComponentConfig, ComponentKind, HealthModelConfig
from .inputs import ScoringInputs

OBSERVED_SUFFIX = "__observed_on"
_NAT_DAY = np.iinfo(np.int64).min  # what NaT becomes as a day number

_Signal = tuple[np.ndarray, np.ndarray]  # (raw float64[n], observed datetime64[D][n])


@dataclass
class _Rows:
    """One input frame reduced to known accounts and days ≤ as_of, with integer account codes and day numbers."""

    frame: pd.DataFrame
    codes: np.ndarray
    days: np.ndarray


@dataclass
class _UsageRows:
    """Usage as flat arrays (no filtered copy of a frame that may hold tens of millions of rows).

    ``metric_ids`` index ``metrics`` (the metric names the model reads); other metrics are -1.
    """

    codes: np.ndarray
    days: np.ndarray
    values: np.ndarray
    metric_ids: np.ndarray
    metrics: pd.Index

    def metric_mask(self, *names: str) -> np.ndarray:
        ids = self.metrics.get_indexer(list(names))
        if len(ids) == 1:
            return self.metric_ids == ids[0]
        return np.isin(self.metric_ids, ids)


_USAGE_WINDOWS = {ComponentKind.USAGE_TREND: 2, ComponentKind.SEAT_UTILISATION: 1, ComponentKind.FEATURE_BREADTH: 1}


class _Context:
    """The accounts in a fixed order (sorted ids → integer codes 0…n−1) and each input reduced once, shared by
    every component of a run."""

    def __init__(self, inputs: ScoringInputs, config: HealthModelConfig) -> None:
        self.inputs = inputs
        self.config = config
        accounts = inputs.accounts.sort_values("account_id", kind="mergesort").reset_index(drop=True)
        self.accounts = accounts
        self.index = pd.Index(accounts["account_id"].to_numpy(), name="account_id")
        self.n = len(accounts)
        self.as_of = int(np.datetime64(inputs.as_of, "D").astype(np.int64))
        self._rows: dict[str, _Rows] = {}
        self._usage: _UsageRows | None = None
        self._dense_codes = _dense_lookup(self.index.to_numpy())

    def account_codes(self, ids: np.ndarray | pd.Series) -> np.ndarray:
        """Position of each id among the sorted accounts, -1 for an unknown account."""
        ids = np.asarray(ids)
        if self._dense_codes is not None and pd.api.types.is_integer_dtype(ids.dtype):
            inside = (ids >= 0) & (ids < len(self._dense_codes))
            return np.where(inside, self._dense_codes[np.where(inside, ids, 0)], -1)
        return self.index.get_indexer(ids)

    def rows(self, name: str, date_column: str) -> _Rows:
        if name not in self._rows:
            frame = getattr(self.inputs, name)
            days = day_numbers(frame[date_column])
            codes = self.account_codes(frame["account_id"].to_numpy())
            keep = (days <= self.as_of) & (codes >= 0)
            frame = frame.loc[keep].reset_index(drop=True)
            self._rows[name] = _Rows(frame=frame, codes=codes[keep].astype(np.int64), days=days[keep])
        return self._rows[name]

    def usage(self) -> _UsageRows:
        if self._usage is None:
            # Only the days and metrics the model reads: a trend looks back two windows.
            lookback, metrics = 0, []
            for c in self.config.components:
                if c.kind in _USAGE_WINDOWS:
                    lookback = max(lookback, _USAGE_WINDOWS[c.kind] * c.param("window_days"))
                    is_breadth = c.kind == ComponentKind.FEATURE_BREADTH
                    metrics.extend(c.param("key_features") if is_breadth else [c.param("metric")])
            frame = self.inputs.usage
            days = day_numbers(frame["date"])
            keep = np.flatnonzero((days <= self.as_of) & (days > self.as_of - lookback))
            codes = self.account_codes(frame["account_id"].to_numpy()[keep])
            keep, codes = keep[codes >= 0], codes[codes >= 0]
            metric_index = pd.Index(pd.unique(np.array(metrics, dtype=object)))
            metric = frame["metric"]
            if isinstance(metric.dtype, pd.CategoricalDtype):  # fast path: map the categories, not the rows
                by_category = np.append(metric_index.get_indexer(metric.cat.categories), -1)
                metric_ids = by_category[metric.cat.codes.to_numpy()[keep]]
            else:
                metric_ids = metric_index.get_indexer(metric.to_numpy(dtype=object)[keep])
            self._usage = _UsageRows(
                codes=codes.astype(np.int64),
                days=days[keep],
                values=frame["value"].to_numpy(dtype=np.float64)[keep],
                metric_ids=metric_ids,
                metrics=metric_index,
            )
        return self._usage

    def missing(self) -> _Signal:
        return np.full(self.n, np.nan), np.full(self.n, np.datetime64("NaT"), dtype="datetime64[D]")


_UNITS_PER_DAY = {
    "D": 1,
    "h": 24,
    "m": 1_440,
    "s": 86_400,
    "ms": 86_400_000,
    "us": 86_400_000_000,
    "ns": 86_400_000_000_000,
}


def _dense_lookup(ids: np.ndarray) -> np.ndarray | None:
    """For integer ids in a compact range (database keys), a table id → position: indexing it is several
    times faster than hashing tens of millions of usage rows. None when ids are not compact integers."""
    if not len(ids) or not pd.api.types.is_integer_dtype(ids.dtype):
        return None
    if ids.min() < 0 or ids.max() >= 20 * len(ids) + 1_000_000:
        return None
    table = np.full(int(ids.max()) + 1, -1, dtype=np.int64)
    table[ids] = np.arange(len(ids))
    return table


def day_numbers(dates: pd.Series) -> np.ndarray:
    """Days since 1970-01-01 as int64 (NaT → the int64 minimum).

    Integer floor division of the raw ticks: several times faster than ``astype("datetime64[D]")`` on the
    tens of millions of usage rows.
    """
    values = np.asarray(dates.to_numpy())
    unit, count = np.datetime_data(values.dtype)
    if unit not in _UNITS_PER_DAY or count != 1:
        return values.astype("datetime64[D]").astype(np.int64)
    ticks = values.view(np.int64)
    days = ticks // _UNITS_PER_DAY[unit]
    days[ticks == _NAT_DAY] = _NAT_DAY
    return days


def _observed(n: int, codes: np.ndarray, days: np.ndarray) -> np.ndarray:
    """Newest day per account among the given rows (NaT where an account has none)."""
    newest = np.full(n, _NAT_DAY)
    np.maximum.at(newest, codes, days)
    return newest.astype("datetime64[D]")  # the int64 minimum is NaT


def _last_rows(keys: tuple[np.ndarray, ...]) -> np.ndarray:
    """Row positions of the last row of each group after sorting by ``keys``.

    ``keys`` follow ``numpy.lexsort``: the last key is the primary sort key and defines the groups; the
    others order rows inside a group, so the last row is the one with the largest secondary keys.
    """
    order = np.lexsort(keys)
    group = keys[-1][order]
    last = np.ones(len(order), dtype=bool)
    last[:-1] = group[1:] != group[:-1]
    return order[last]


def _window(rows: _Rows | _UsageRows, as_of: int, days: int) -> np.ndarray:
    return rows.days > as_of - days


def _seat_utilisation(ctx: _Context, component: ComponentConfig) -> _Signal:
    rows = ctx.usage()
    mask = rows.metric_mask(component.param("metric")) & _window(rows, ctx.as_of, component.param("window_days"))
    codes, days, values = rows.codes[mask], rows.days[mask], rows.values[mask]
    last = _last_rows((values, days, codes))  # latest day; on a tie, the larger reading
    active = np.full(ctx.n, np.nan)
    active[codes[last]] = values[last]
    seats = ctx.accounts["licensed_seats"].to_numpy(dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        raw = np.where(seats > 0, active / seats, np.nan)
    return raw, _observed(ctx.n, codes, days)


def _usage_trend(ctx: _Context, component: ComponentConfig) -> _Signal:
    rows = ctx.usage()
    window = component.param("window_days")
    mask = rows.metric_mask(component.param("metric")) & _window(rows, ctx.as_of, 2 * window)
    codes, days, values = rows.codes[mask], rows.days[mask], rows.values[mask]
    current = days > ctx.as_of - window
    current_sum = np.bincount(codes[current], weights=values[current], minlength=ctx.n)
    prior_sum = np.bincount(codes[~current], weights=values[~current], minlength=ctx.n)
    with np.errstate(invalid="ignore", divide="ignore"):
        raw = np.where(prior_sum > 0, current_sum / prior_sum, np.nan)
    return raw, _observed(ctx.n, codes, days)


def _feature_breadth(ctx: _Context, component: ComponentConfig) -> _Signal:
    rows = ctx.usage()
    features = tuple(component.param("key_features"))
    in_window = _window(rows, ctx.as_of, component.param("window_days"))
    has_usage = np.bincount(rows.codes[in_window], minlength=ctx.n) > 0
    feature_rows = in_window & rows.metric_mask(*features)
    codes = rows.codes[feature_rows]
    # position of each row's metric within this component's key features
    feature_codes = pd.Index(features).get_indexer(rows.metrics)[rows.metric_ids[feature_rows]].astype(np.int64)
    per_pair = np.bincount(
        codes * len(features) + feature_codes, weights=rows.values[feature_rows], minlength=ctx.n * len(features)
    )
    used = (per_pair.reshape(ctx.n, len(features)) > 0).sum(axis=1)
    raw = np.where(has_usage, used / len(features), np.nan)
    return raw, _observed(ctx.n, rows.codes[in_window], rows.days[in_window])


def _touchpoint_recency(ctx: _Context, component: ComponentConfig) -> _Signal:
    rows = ctx.rows("touchpoints", "occurred_on")
    observed = _observed(ctx.n, rows.codes, rows.days)
    raw = ctx.as_of - observed.astype(np.int64).astype(np.float64)
    raw[np.isnat(observed)] = np.nan
    return raw, observed


def _survey_rows(ctx: _Context, kind: str, window: int) -> tuple[_Rows, np.ndarray]:
    rows = ctx.rows("surveys", "responded_on")
    return rows, (rows.frame["kind"] == kind).to_numpy(dtype=bool) & _window(rows, ctx.as_of, window)


def _nps(ctx: _Context, component: ComponentConfig) -> _Signal:
    rows, mask = _survey_rows(ctx, "nps", component.param("window_days"))
    codes, days = rows.codes[mask], rows.days[mask]
    scores = rows.frame["score"].to_numpy()[mask]
    contacts, _ = pd.factorize(rows.frame["contact_id"][mask])
    anonymous = contacts < 0  # each anonymous response is its own respondent
    contacts[anonymous] = contacts.max(initial=-1) + 1 + np.arange(int(anonymous.sum()))
    # One respondent = (account, contact): the combined key orders by account first.
    respondent = codes * (int(contacts.max(initial=0)) + 1) + contacts
    latest = _last_rows((-scores, days, respondent))  # latest day; on a tie, the lower score
    latest_codes, latest_scores = codes[latest], scores[latest]
    responses = np.bincount(latest_codes, minlength=ctx.n)
    promoters = np.bincount(latest_codes, weights=latest_scores >= 9, minlength=ctx.n)
    detractors = np.bincount(latest_codes, weights=latest_scores <= 6, minlength=ctx.n)
    with np.errstate(invalid="ignore", divide="ignore"):
        nps = 100.0 * (promoters - detractors) / responses
    raw = np.where(responses >= component.param("min_responses"), nps, np.nan)
    return raw, _observed(ctx.n, codes, days)


def _csat(ctx: _Context, component: ComponentConfig) -> _Signal:
    rows, mask = _survey_rows(ctx, "csat", component.param("window_days"))
    codes, days = rows.codes[mask], rows.days[mask]
    scores = rows.frame["score"].to_numpy()[mask]
    responses = np.bincount(codes, minlength=ctx.n)
    satisfied = np.bincount(codes, weights=scores >= 4, minlength=ctx.n)
    with np.errstate(invalid="ignore", divide="ignore"):
        raw = np.where(responses >= component.param("min_responses"), 100.0 * satisfied / responses, np.nan)
    return raw, _observed(ctx.n, codes, days)


def _ticket_count(ctx: _Context, mask_of: Callable[[_Rows], np.ndarray]) -> _Signal:
    if not ctx.inputs.has_ticket_feed:
        return ctx.missing()
    rows = ctx.rows("tickets", "opened_on")
    mask = mask_of(rows)
    count = np.bincount(rows.codes[mask], minlength=ctx.n).astype(np.float64)
    return count, _observed(ctx.n, rows.codes[mask], rows.days[mask])


def _open_priority_tickets(ctx: _Context, component: ComponentConfig) -> _Signal:
    priorities = [p.strip().lower() for p in component.param("priorities")]

    def open_with_priority(rows: _Rows) -> np.ndarray:
        closed = day_numbers(rows.frame["closed_on"])
        still_open = (closed == _NAT_DAY) | (closed > ctx.as_of)
        return still_open & rows.frame["priority"].isin(priorities).to_numpy(dtype=bool)

    return _ticket_count(ctx, open_with_priority)


def _escalations(ctx: _Context, component: ComponentConfig) -> _Signal:
    window = component.param("window_days")
    return _ticket_count(
        ctx, lambda rows: rows.frame["escalated"].to_numpy(dtype=bool) & _window(rows, ctx.as_of, window)
    )


def _days_to_renewal(ctx: _Context, component: ComponentConfig) -> _Signal:
    renewal = ctx.accounts["renewal_date"]
    raw = day_numbers(renewal).astype(np.float64) - ctx.as_of
    raw[renewal.isna().to_numpy()] = np.nan
    return raw, ctx.missing()[1]


def _csm_pulse(ctx: _Context, component: ComponentConfig) -> _Signal:
    rows = ctx.rows("pulses", "recorded_on")
    values = rows.frame["value"].map(PULSE_CODES).to_numpy(dtype=np.float64)
    latest = _last_rows((-values, rows.days, rows.codes))  # latest day; on a tie, the worse read
    valid_days = rows.frame["valid_days"].fillna(component.param("validity_days")).to_numpy()[latest]
    age = ctx.as_of - rows.days[latest]
    raw = np.full(ctx.n, np.nan)
    raw[rows.codes[latest]] = np.where(age < valid_days, values[latest], np.nan)
    return raw, _observed(ctx.n, rows.codes, rows.days)


SIGNALS: dict[str, Callable[[_Context, ComponentConfig], _Signal]] = {
    ComponentKind.SEAT_UTILISATION: _seat_utilisation,
    ComponentKind.USAGE_TREND: _usage_trend,
    ComponentKind.FEATURE_BREADTH: _feature_breadth,
    ComponentKind.TOUCHPOINT_RECENCY: _touchpoint_recency,
    ComponentKind.NPS: _nps,
    ComponentKind.CSAT: _csat,
    ComponentKind.OPEN_PRIORITY_TICKETS: _open_priority_tickets,
    ComponentKind.ESCALATIONS: _escalations,
    ComponentKind.DAYS_TO_RENEWAL: _days_to_renewal,
    ComponentKind.CSM_PULSE: _csm_pulse,
}


def compute_signals(inputs: ScoringInputs, config: HealthModelConfig) -> pd.DataFrame:
    """Raw signal per account (rows, sorted by account_id) and component (columns), NaN when missing.

    Vectorised over accounts: each component is a handful of numpy/pandas operations over all rows.
    """
    ctx = _Context(inputs, config)
    raw_columns: dict[str, np.ndarray] = {}
    observed_columns: dict[str, np.ndarray] = {}
    for component in config.components:
        raw, observed = SIGNALS[component.kind](ctx, component)
        raw_columns[component.key] = raw.astype(np.float64)
        observed_columns[component.key + OBSERVED_SUFFIX] = observed.astype("datetime64[s]")
    return pd.DataFrame({**raw_columns, **observed_columns}, index=ctx.index)
