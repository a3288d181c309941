"""The revenue ledger: the ONE place METRICS.md's revenue numbers ("Revenue basis", "Retention") are computed.

Pure and vectorised: it takes a DataFrame of contract lines and returns Series/DataFrames/dataclasses. It
imports nothing from Django (renewals/selectors.py loads the frame from the database) and loops over no
accounts in Python.

Input frame (`lines_df`), one row per contract line — extra columns are ignored:
    account_id    any hashable id (UUIDs from the database)
    start_date    first day of service (date / datetime64)
    end_date      first day WITHOUT service, exclusive; missing (None/NaT) = open-ended
    arr_cents     the line's ARR in integer cents of the reporting currency (int64; floats are refused)
    is_recurring  False for one-time fees and services, which are ignored everywhere

Money: every amount is summed as int64 **cents of ARR** (exact; int64 holds ~92 quadrillion dollars), and
converted to `Decimal` with two places only at the edge (`cents_to_decimal`, RetentionResult, Waterfall).
Floats never touch a money total.

Rates (GRR, NRR, logo churn…) are `Decimal` fractions (0.912345 = 91.2345 %) computed from the exact
integer numerator and denominator and rounded half-even to RATE_PLACES (6) decimal places; complements
(logo retention, gross MRR churn) are `1 − rate` of the rounded rate, so the pairs always add up to 1. A
rate over an empty cohort is None, never a ZeroDivisionError.

Dates: an account is *active* on day d if it has a recurring line with start_date ≤ d < end_date (or no
end). Revenue "between two dates" compares the revenue ON `start` with the revenue ON `end`. For a period
given as [start, end_exclusive) pass end_exclusive as `end`: a contract whose last day of service is the
period's last day (end_date == end_exclusive) then has no revenue on `end`, so its non-renewal counts in
the period it fell due in (see renewals/periods.py, whose periods are all [start, end_exclusive)).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Context, Decimal

import numpy as np
import pandas as pd

LINE_COLUMNS = ("account_id", "start_date", "end_date", "arr_cents", "is_recurring")

NEW = "new"
EXPANSION = "expansion"
CONTRACTION = "contraction"
CHURN = "churn"
REACTIVATION = "reactivation"
FLAT = "flat"
# Waterfall order (start → new → expansion → contraction → churn → reactivation → end), then flat.
MOVEMENT_KINDS = (NEW, EXPANSION, CONTRACTION, CHURN, REACTIVATION, FLAT)

RATE_PLACES = 6
_RATE_QUANTUM = Decimal(1).scaleb(-RATE_PLACES)
_RATE_CONTEXT = Context(prec=40)  # room for int64 numerators/denominators without rounding before quantize


def cents_to_decimal(cents: int | np.integer) -> Decimal:
    """Integer cents → Decimal with two places, exactly (12345 → Decimal('123.45'))."""
    return Decimal(int(cents)).scaleb(-2)


def _rate(numerator: int, denominator: int) -> Decimal | None:
    if denominator == 0:
        return None
    return _RATE_CONTEXT.divide(Decimal(int(numerator)), Decimal(int(denominator))).quantize(
        _RATE_QUANTUM, rounding=ROUND_HALF_EVEN
    )


def _complement(rate: Decimal | None) -> Decimal | None:
    return None if rate is None else Decimal(1) - rate


def _day(value: dt.date | pd.Timestamp | str) -> pd.Timestamp:
    day = pd.Timestamp(value)
    if day.tzinfo is not None:
        raise ValueError("the ledger works on calendar days; pass a date, not an aware datetime")
    return day.normalize()


def _recurring_lines(lines_df: pd.DataFrame) -> pd.DataFrame:
    """The recurring, positive lines of `lines_df` with dates as datetime64 and ARR as int64 cents."""
    missing = [c for c in LINE_COLUMNS if c not in lines_df.columns]
    if missing:
        raise ValueError(f"lines frame lacks column(s) {', '.join(missing)}")
    if lines_df["arr_cents"].dtype.kind == "f":
        raise TypeError("arr_cents must be integer cents, not floats")
    keep = lines_df["is_recurring"].astype(bool).to_numpy()
    lines = lines_df.loc[keep, list(LINE_COLUMNS)]
    arr = lines["arr_cents"].astype("int64")
    positive = (arr > 0).to_numpy()  # guards frames built outside the database (the model enforces > 0)
    return pd.DataFrame({
        "account_id": lines["account_id"].to_numpy()[positive],
        "start_date": pd.to_datetime(lines["start_date"]).to_numpy()[positive],
        "end_date": pd.to_datetime(lines["end_date"]).to_numpy()[positive],
        "arr_cents": arr.to_numpy()[positive],
    })


def _active_on(lines: pd.DataFrame, day: pd.Timestamp) -> pd.Series:
    return (lines["start_date"] <= day) & (lines["end_date"].isna() | (lines["end_date"] > day))


def _account_codes(account_ids: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Integer codes per line and the distinct account ids, in order of first appearance.

    Grouping on these int codes instead of the ids themselves avoids sorting Python objects (UUIDs), which
    dominated the run time on 100k accounts."""
    codes, uniques = pd.factorize(account_ids, sort=False)
    return codes, np.asarray(uniques, dtype=object)


def recurring_revenue_on(lines_df: pd.DataFrame, day: dt.date) -> pd.Series:
    """ARR in cents per account on `day`: Series indexed by account_id, named "arr_cents", int64.

    Only active accounts appear (an absent account has no recurring revenue that day), in order of their
    first line in `lines_df`."""
    lines = _recurring_lines(lines_df)
    active = lines[_active_on(lines, _day(day))]
    codes, uniques = _account_codes(active["account_id"])
    sums = active["arr_cents"].groupby(codes, sort=True).sum()
    return pd.Series(sums.to_numpy(dtype="int64"), index=pd.Index(uniques[sums.index], name="account_id"),
                     name="arr_cents")


def movements(lines_df: pd.DataFrame, start: dt.date, end: dt.date) -> pd.DataFrame:
    """Each account's revenue movement from `start` to `end` (METRICS.md, "Revenue movements").

    Returns columns account_id, r0_cents (ARR on `start`), r1_cents (ARR on `end`), kind — one row per
    account with revenue on either date, in order of the account's first line in `lines_df`:
      new           r0 = 0, r1 > 0, and no recurring revenue on any day before `start`
      reactivation  r0 = 0, r1 > 0, and recurring revenue on some day before `start`
      churn         r0 > 0, r1 = 0 (its last line ended; ending one of two lines is contraction)
      expansion / contraction / flat   r0 > 0, r1 > 0 and r1 > / < / = r0
    An account that starts and stops inside the period (r0 = r1 = 0) has no movement.
    """
    start_day, end_day = _day(start), _day(end)
    if end_day < start_day:
        raise ValueError(f"movements: end {end_day.date()} is before start {start_day.date()}")
    lines = _recurring_lines(lines_df)
    arr = lines["arr_cents"]
    codes, uniques = _account_codes(lines["account_id"])
    per_line = pd.DataFrame({
        "r0_cents": arr.where(_active_on(lines, start_day), 0),
        "r1_cents": arr.where(_active_on(lines, end_day), 0),
        # A line starting before `start` gave revenue on its first day, which is before `start`.
        "had_revenue_before": lines["start_date"] < start_day,
    })
    per_account = per_line.groupby(codes, sort=True).agg(
        r0_cents=("r0_cents", "sum"), r1_cents=("r1_cents", "sum"), had_revenue_before=("had_revenue_before", "any"),
    )
    per_account = per_account[(per_account["r0_cents"] > 0) | (per_account["r1_cents"] > 0)]
    r0 = per_account["r0_cents"].to_numpy(dtype="int64")
    r1 = per_account["r1_cents"].to_numpy(dtype="int64")
    before = per_account["had_revenue_before"].to_numpy(dtype=bool)
    kind = np.select(
        [(r0 > 0) & (r1 == 0), (r0 == 0) & before, r0 == 0, r1 > r0, r1 < r0],
        [CHURN, REACTIVATION, NEW, EXPANSION, CONTRACTION],
        default=FLAT,
    )
    return pd.DataFrame({
        "account_id": uniques[per_account.index.to_numpy(dtype="int64")],
        "r0_cents": r0,
        "r1_cents": r1,
        "kind": pd.Categorical(kind, categories=MOVEMENT_KINDS),
    })


@dataclass(frozen=True)
class RetentionResult:
    """Retention of the cohort active on `start`, measured on `end` (METRICS.md, "Retention").

    Rates are Decimal fractions rounded half-even to 6 places, None when the cohort is empty. Money is
    Decimal ARR with two places."""

    grr: Decimal | None  # Σ min(R1, R0) / Σ R0 — never above 1
    nrr: Decimal | None  # Σ R1 / Σ R0
    logo_churn_rate: Decimal | None  # cohort accounts with R1 = 0 / cohort size
    logo_retention: Decimal | None  # 1 − logo churn rate
    gross_mrr_churn_rate: Decimal | None  # (churned R0 + contraction) / Σ R0 = 1 − GRR
    cohort_size: int
    churned_logos: int
    r0_total: Decimal  # Σ R0 over the cohort
    r1_total: Decimal  # Σ R1 over the cohort (new and reactivated accounts excluded)
    churned_r0: Decimal  # Σ R0 of cohort accounts with R1 = 0
    contraction: Decimal  # Σ (R0 − R1) of cohort accounts with 0 < R1 < R0
    expansion: Decimal  # Σ (R1 − R0) of cohort accounts with R1 > R0


def retention(lines_df: pd.DataFrame, start: dt.date, end: dt.date) -> RetentionResult:
    """GRR, NRR, logo churn and gross MRR churn of the accounts active on `start`, measured on `end`.

    Expansion of one account never offsets another's contraction (GRR caps each account at its R0);
    accounts new or reactivated after `start` are not in the cohort."""
    moves = movements(lines_df, start, end)
    cohort = moves[moves["r0_cents"] > 0]
    totals = _cohort_totals(cohort["r0_cents"].to_numpy(dtype="int64"), cohort["r1_cents"].to_numpy(dtype="int64"),
                            np.zeros(len(cohort), dtype="int64"), 1)
    return _retention_result(totals, 0)


def retention_by_group(lines_df: pd.DataFrame, start: dt.date, end: dt.date, group_of: pd.Series) -> dict:
    """`retention` of many segments at once: {group: RetentionResult} for every group with a cohort.

    `group_of` maps account_id → group key (a CSM, a team, a tier); accounts it does not map are left out.
    One movements pass and one grouped sum whatever the number of groups — each result is exactly what
    `retention` returns on that group's lines alone."""
    moves = movements(lines_df, start, end)
    keys = moves["account_id"].map(group_of)
    cohort_mask = (moves["r0_cents"] > 0).to_numpy() & keys.notna().to_numpy()
    codes, groups = pd.factorize(keys[cohort_mask])
    totals = _cohort_totals(moves["r0_cents"].to_numpy(dtype="int64")[cohort_mask],
                            moves["r1_cents"].to_numpy(dtype="int64")[cohort_mask], codes, len(groups))
    return {group: _retention_result(totals, i) for i, group in enumerate(groups)}


def _cohort_totals(r0: np.ndarray, r1: np.ndarray, codes: np.ndarray, n: int) -> dict[str, np.ndarray]:
    """Per group (codes 0…n−1) the integer sums retention is made of."""
    def total(values) -> np.ndarray:
        out = np.zeros(n, dtype="int64")
        np.add.at(out, codes, np.asarray(values, dtype="int64"))  # integer sums: exact, unlike bincount's floats
        return out

    churned = r1 == 0
    contracted = (r1 > 0) & (r1 < r0)
    return {
        "cohort": total(np.ones(len(codes), dtype="int64")), "r0": total(r0), "r1": total(r1),
        "kept": total(np.minimum(r0, r1)),
        "churned": total(churned.astype("int64")), "churned_r0": total(np.where(churned, r0, 0)),
        "contraction": total(np.where(contracted, r0 - r1, 0)), "expansion": total(np.maximum(r1 - r0, 0)),
    }


def _retention_result(totals: dict[str, np.ndarray], i: int) -> RetentionResult:
    r0_total, cohort, churned = int(totals["r0"][i]), int(totals["cohort"][i]), int(totals["churned"][i])
    grr = _rate(int(totals["kept"][i]), r0_total)
    logo_churn = _rate(churned, cohort)
    return RetentionResult(
        grr=grr,
        nrr=_rate(int(totals["r1"][i]), r0_total),
        logo_churn_rate=logo_churn,
        logo_retention=_complement(logo_churn),
        gross_mrr_churn_rate=_complement(grr),
        cohort_size=cohort,
        churned_logos=churned,
        r0_total=cents_to_decimal(r0_total),
        r1_total=cents_to_decimal(totals["r1"][i]),
        churned_r0=cents_to_decimal(totals["churned_r0"][i]),
        contraction=cents_to_decimal(totals["contraction"][i]),
        expansion=cents_to_decimal(totals["expansion"][i]),
    )


@dataclass(frozen=True)
class Waterfall:
    """The ARR bridge from `start` to `end`: end_arr = start_arr + new + expansion − contraction − churn
    + reactivation, exactly (all Decimal ARR; contraction and churn are positive amounts lost)."""

    start_arr: Decimal
    new: Decimal
    expansion: Decimal
    contraction: Decimal
    churn: Decimal
    reactivation: Decimal
    end_arr: Decimal


def waterfall(lines_df: pd.DataFrame, start: dt.date, end: dt.date) -> Waterfall:
    moves = movements(lines_df, start, end)
    delta = (moves["r1_cents"] - moves["r0_cents"]).groupby(moves["kind"], observed=False).sum()
    return Waterfall(
        start_arr=cents_to_decimal(moves["r0_cents"].sum()),
        new=cents_to_decimal(delta[NEW]),
        expansion=cents_to_decimal(delta[EXPANSION]),
        contraction=cents_to_decimal(-delta[CONTRACTION]),
        churn=cents_to_decimal(-delta[CHURN]),
        reactivation=cents_to_decimal(delta[REACTIVATION]),
        end_arr=cents_to_decimal(moves["r1_cents"].sum()),
    )
