"""Health model validation on the organization's own history (METRICS.md, Health → Validation): does the score
separate the accounts that go on to churn (or contract) from the rest?

Pure pandas/numpy: no Django, no database (``health/views/validation.py`` loads the frames, one query each).

Inputs
    snapshots   one row per scored account-day: account_id, date, score (float; NaN = no score), band,
                model_version (any hashable id; results are grouped by it)
    events      the revenue events that count as outcomes: account_id, date, kind ("churn" | "contraction").
                ``revenue_events`` derives them from contract lines with the revenue ledger's own movement
                definitions (renewals/ledger.py): churn on day e = revenue on e − 1 and none on e (the last
                line ended); contraction = revenue on both days and less on e.
    today       the last day whose revenue is known.

Definitions
    A snapshot on day d "churns within h days" when its account has a churn event on a day e with
    d < e ≤ d + h (likewise for contraction). Only snapshots whose horizon is fully observed count:
    d + h ≤ today — a snapshot from last week has not had 90 days to show whether its account churns.
    Snapshots without a score (band "unknown") count in the band table, never in the AUC.

    Churn rate of a band = its observed snapshots that churn within h ÷ its observed snapshots. Each rate
    carries its n (snapshots) and the number of distinct accounts behind them; it is *thin* (shown greyed)
    when fewer than ``MIN_SAMPLE`` accounts are behind it.

    AUC of the score for churn within h (the Mann–Whitney / rank formulation): over every pair of one
    observed snapshot that churns and one that does not, the share of pairs in which the churning one scored
    lower, ties counting half. 1.0 = every churner scored below every non-churner; 0.5 = no better than a
    coin; 0.0 = perfectly inverted. Computed from average ranks, so it is exact for ties and O(n log n).
    It is thin when fewer than ``MIN_SAMPLE`` distinct accounts are on either side.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Hashable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from renewals import ledger

HORIZONS = (90, 180)
MIN_SAMPLE = 5
BAND_ORDER = ("healthy", "stable", "at_risk", "unknown")
CHURN, CONTRACTION = ledger.CHURN, ledger.CONTRACTION
OUTCOMES = (CHURN, CONTRACTION)
# Plain-language verdicts on the AUC (a model that does not separate churners is visible as such).
GOOD_AUC, WEAK_AUC = 0.75, 0.6
SNAPSHOT_COLUMNS = ("account_id", "date", "score", "band", "model_version")
EVENT_COLUMNS = ("account_id", "date", "kind")


@dataclass(frozen=True)
class Rate:
    """``hits`` of ``n`` observed snapshots (from ``accounts`` distinct accounts)."""

    hits: int
    n: int
    accounts: int

    @property
    def value(self) -> float | None:
        return None if self.n == 0 else self.hits / self.n

    @property
    def percent(self) -> float | None:
        return None if self.n == 0 else 100 * self.hits / self.n

    @property
    def thin(self) -> bool:
        return self.accounts < MIN_SAMPLE


@dataclass(frozen=True)
class Auc:
    """The AUC over ``positives`` churning and ``negatives`` other observed snapshots (and their accounts)."""

    value: float | None
    positives: int
    negatives: int
    positive_accounts: int
    negative_accounts: int

    @property
    def thin(self) -> bool:
        return min(self.positive_accounts, self.negative_accounts) < MIN_SAMPLE

    @property
    def verdict(self) -> str:
        if self.value is None:
            return "no churn to predict yet" if self.negatives else "no history to judge yet"
        if self.thin:
            return "too few accounts to judge"
        if self.value >= GOOD_AUC:
            return "separates churners well"
        if self.value >= WEAK_AUC:
            return "separates churners weakly"
        if self.value <= 1 - WEAK_AUC:
            return "does not separate churners: it scores them higher than the rest"
        return "does not separate churners at all"

    @property
    def level(self) -> str:
        """good / weak / none / unknown, for colouring the verdict."""
        if self.value is None or self.thin:
            return "unknown"
        return "good" if self.value >= GOOD_AUC else "weak" if self.value >= WEAK_AUC else "none"


@dataclass(frozen=True)
class BandRow:
    band: str
    snapshots: int
    accounts: int
    churn: dict[int, Rate]  # horizon → rate
    contraction: dict[int, Rate]


@dataclass(frozen=True)
class VersionValidation:
    model_version: Hashable
    snapshots: int
    accounts: int
    first_date: dt.date | None
    last_date: dt.date | None
    bands: list[BandRow]
    auc_churn: dict[int, Auc]  # horizon → AUC of the score for churn within it
    auc_loss: dict[int, Auc]  # horizon → AUC for churn or contraction within it
    observed: dict[int, int]  # horizon → snapshots whose horizon is fully observed


def auc(scores: np.ndarray | Sequence[float], churned: np.ndarray | Sequence[bool]) -> float | None:
    """P(a churning item scored lower than a non-churning one), ties half; None without both kinds."""
    scores = np.asarray(scores, dtype=np.float64)
    churned = np.asarray(churned, dtype=bool)
    n_pos, n_neg = int(churned.sum()), int((~churned).sum())
    if n_pos == 0 or n_neg == 0:
        return None
    ranks = pd.Series(scores).rank(method="average").to_numpy()  # 1 = lowest score; ties share their mean rank
    rank_sum_neg = ranks[~churned].sum()
    # Mann–Whitney U of the non-churners: pairs in which the non-churner scored higher (+ half the ties).
    u = rank_sum_neg - n_neg * (n_neg + 1) / 2
    return float(u / (n_pos * n_neg))


def _empty_events() -> pd.DataFrame:
    return pd.DataFrame({"account_id": pd.Series(dtype=object), "date": pd.Series(dtype="datetime64[ns]"),
                         "kind": pd.Series(dtype=object)})


def revenue_events(lines_df: pd.DataFrame, *, since: dt.date | None = None,
                   until: dt.date | None = None) -> pd.DataFrame:
    """Every churn and contraction day of every account (since < date ≤ until, when given), by the ledger.

    Revenue only falls on a day on which one of the account's lines ends, so each (account, day a line
    ends) is a candidate, and ``ledger.movements`` classifies the move from the day before to that day.
    To classify every candidate in ONE ledger call, each candidate gets its own copy of its account's
    lines, shifted in time so that its day lands on a common reference day: shifting every date by the
    same amount changes no "active on" answer, so the ledger sees exactly the revenue on both days.
    Returns account_id, date (datetime64), kind — sorted by account and date."""
    lines = lines_df[lines_df["is_recurring"].astype(bool)]
    lines = pd.DataFrame({
        "account_id": lines["account_id"].to_numpy(), "start_date": pd.to_datetime(lines["start_date"]).to_numpy(),
        "end_date": pd.to_datetime(lines["end_date"]).to_numpy(), "arr_cents": lines["arr_cents"].to_numpy(),
    })
    ends = lines.loc[lines["end_date"].notna(), ["account_id", "end_date"]].drop_duplicates()
    if since is not None:
        ends = ends[ends["end_date"] > pd.Timestamp(since)]
    if until is not None:
        ends = ends[ends["end_date"] <= pd.Timestamp(until)]
    if ends.empty:
        return _empty_events()
    ends = ends.reset_index(drop=True)
    ends["candidate"] = np.arange(len(ends))
    copies = ends.merge(lines, on="account_id", how="inner", suffixes=("_day", ""))
    reference = pd.Timestamp("2000-01-01")
    shift = reference - copies["end_date_day"]
    shifted = pd.DataFrame({
        "account_id": copies["candidate"].to_numpy(),
        "start_date": copies["start_date"] + shift, "end_date": copies["end_date"] + shift,
        "arr_cents": copies["arr_cents"].astype("int64"), "is_recurring": True,
    })
    moves = ledger.movements(shifted, (reference - pd.Timedelta(days=1)).date(), reference.date())
    moves = moves[moves["kind"].isin(OUTCOMES)]
    candidates = ends.set_index("candidate").loc[moves["account_id"].to_numpy()]
    events = pd.DataFrame({
        "account_id": candidates["account_id"].to_numpy(), "date": candidates["end_date"].to_numpy(),
        "kind": moves["kind"].astype(str).to_numpy(),
    })
    return events.sort_values(["date", "kind"], kind="stable").reset_index(drop=True)


def _next_event_days(snapshots: pd.DataFrame, events: pd.DataFrame, kind: str) -> np.ndarray:
    """Days from each snapshot to its account's next `kind` event strictly after the snapshot (inf = none)."""
    result = np.full(len(snapshots), np.inf)
    ev = events[events["kind"] == kind]
    if ev.empty or snapshots.empty:
        return result
    left = pd.DataFrame({"row": np.arange(len(snapshots)), "account_id": snapshots["account_id"].to_numpy(),
                         "date": snapshots["date"].to_numpy()}).sort_values("date", kind="stable")
    right = pd.DataFrame({"account_id": ev["account_id"].to_numpy(), "event_date": ev["date"].to_numpy(),
                          "date": ev["date"].to_numpy()}).sort_values("date", kind="stable")
    joined = pd.merge_asof(left, right, on="date", by="account_id", direction="forward", allow_exact_matches=False)
    days = (joined["event_date"] - joined["date"]).dt.days.to_numpy(dtype=np.float64, na_value=np.inf)
    result[joined["row"].to_numpy()] = days
    return result


def _normalise(snapshots: pd.DataFrame, events: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    for name, frame, columns in (("snapshots", snapshots, SNAPSHOT_COLUMNS), ("events", events, EVENT_COLUMNS)):
        missing = [c for c in columns if c not in frame.columns]
        if missing:
            raise ValueError(f"{name} frame lacks column(s) {', '.join(missing)}")
    snaps = snapshots.loc[:, list(SNAPSHOT_COLUMNS)].copy()
    # Accounts as integer codes shared by both frames: grouping, joining and counting on ints, not UUID objects.
    codes, _ = pd.factorize(pd.concat([snaps["account_id"], events["account_id"]], ignore_index=True))
    snaps["account_id"] = codes[:len(snaps)]
    snaps["date"] = pd.to_datetime(snaps["date"]).dt.normalize()
    snaps["score"] = pd.to_numeric(snaps["score"], errors="coerce").astype(np.float64)
    snaps["band"] = snaps["band"].fillna("unknown").astype(str)
    evs = events.loc[:, list(EVENT_COLUMNS)].copy()
    evs["account_id"] = codes[len(snaps):]
    evs["date"] = pd.to_datetime(evs["date"]).dt.normalize()
    unknown = set(evs["kind"].astype(str)) - set(OUTCOMES)
    if unknown:
        raise ValueError(f"events of unknown kind: {', '.join(sorted(unknown))} (expected churn, contraction)")
    return snaps, evs


def validate(snapshots: pd.DataFrame, events: pd.DataFrame, *, today: dt.date,
             horizons: Sequence[int] = HORIZONS) -> list[VersionValidation]:
    """Per model version (in order of first appearance in `snapshots`): band table and AUCs. See the module doc."""
    snaps, evs = _normalise(snapshots, events)
    today_ts = pd.Timestamp(today)
    snaps = snaps[snaps["date"] <= today_ts]
    churn_days = _next_event_days(snaps, evs, CHURN)
    contraction_days = _next_event_days(snaps, evs, CONTRACTION)
    horizon_left = (today_ts - snaps["date"]).dt.days.to_numpy()
    results = []
    versions = pd.unique(snaps["model_version"])
    for version in versions:
        mask = (snaps["model_version"] == version).to_numpy()
        results.append(_one_version(version, snaps[mask], churn_days[mask], contraction_days[mask],
                                    horizon_left[mask], horizons))
    return results


def _one_version(version, snaps, churn_days, contraction_days, horizon_left, horizons) -> VersionValidation:
    accounts = snaps["account_id"].to_numpy()
    bands = snaps["band"].to_numpy()
    scores = snaps["score"].to_numpy()
    observed = {h: horizon_left >= h for h in horizons}
    churns = {h: churn_days <= h for h in horizons}
    contractions = {h: contraction_days <= h for h in horizons}
    present = [b for b in BAND_ORDER if (bands == b).any()] + sorted(set(bands) - set(BAND_ORDER))
    rows = []
    for band in present:
        in_band = bands == band
        rows.append(BandRow(
            band=band, snapshots=int(in_band.sum()), accounts=_distinct(accounts[in_band]),
            churn={h: _rate(in_band & observed[h], churns[h], accounts) for h in horizons},
            contraction={h: _rate(in_band & observed[h], contractions[h], accounts) for h in horizons},
        ))
    scored = ~np.isnan(scores)
    auc_churn, auc_loss = {}, {}
    for h in horizons:
        usable = observed[h] & scored
        auc_churn[h] = _auc(scores[usable], churns[h][usable], accounts[usable])
        loss = churns[h] | contractions[h]
        auc_loss[h] = _auc(scores[usable], loss[usable], accounts[usable])
    dates = snaps["date"]
    return VersionValidation(
        model_version=version, snapshots=len(snaps), accounts=_distinct(accounts),
        first_date=dates.min().date() if len(snaps) else None, last_date=dates.max().date() if len(snaps) else None,
        bands=rows, auc_churn=auc_churn, auc_loss=auc_loss, observed={h: int(observed[h].sum()) for h in horizons},
    )


def _distinct(values: np.ndarray) -> int:
    return int(pd.unique(values).size)


def _rate(mask: np.ndarray, hits: np.ndarray, accounts: np.ndarray) -> Rate:
    return Rate(hits=int((mask & hits).sum()), n=int(mask.sum()), accounts=_distinct(accounts[mask]))


def _auc(scores: np.ndarray, churned: np.ndarray, accounts: np.ndarray) -> Auc:
    return Auc(value=auc(scores, churned), positives=int(churned.sum()), negatives=int((~churned).sum()),
               positive_accounts=_distinct(accounts[churned]), negative_accounts=_distinct(accounts[~churned]))
