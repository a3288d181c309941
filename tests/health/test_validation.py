"""health/validation.py: the AUC (rank formulation, ties half), churn/contraction rates per band over fully observed
horizons, and the revenue events taken from the ledger's movement definitions. Pure: no database."""
import datetime as dt

import numpy as np
import pandas as pd
import pytest

from health.validation import MIN_SAMPLE, auc, revenue_events, validate
from renewals import ledger

TODAY = dt.date(2025, 12, 31)


def d(text: str) -> pd.Timestamp:
    return pd.Timestamp(text)


def snapshots(rows, version="v1") -> pd.DataFrame:
    return pd.DataFrame.from_records(
        [(a, d(day), score, band, version) for a, day, score, band in rows],
        columns=["account_id", "date", "score", "band", "model_version"],
    )


def events(rows) -> pd.DataFrame:
    return pd.DataFrame.from_records([(a, d(day), kind) for a, day, kind in rows],
                                     columns=["account_id", "date", "kind"])


def lines(rows) -> pd.DataFrame:
    return pd.DataFrame.from_records(
        [(a, d(s), d(e) if e else pd.NaT, cents, True) for a, s, e, cents in rows],
        columns=["account_id", "start_date", "end_date", "arr_cents", "is_recurring"],
    )


# ---------------------------------------------------------------- AUC


def test_auc_of_a_perfect_score_is_one():
    assert auc([10, 20, 80, 90], [True, True, False, False]) == 1.0


def test_auc_of_an_inverted_score_is_zero():
    assert auc([10, 20, 80, 90], [False, False, True, True]) == 0.0


def test_auc_counts_ties_as_half_a_pair():
    # churners 40, 60; others 50, 60, 70. Pairs won by the others: (40,50) (40,60) (40,70) (60,70) = 4,
    # the tie (60,60) = 0.5, lost: (60,50) → 4.5 of 6.
    assert auc([40, 60, 50, 60, 70], [True, True, False, False, False]) == pytest.approx(0.75)


def test_auc_of_a_constant_score_is_one_half():
    assert auc([55.0] * 6, [True, False, True, False, False, False]) == 0.5


def test_auc_of_a_random_score_is_near_one_half():
    rng = np.random.default_rng(7)
    value = auc(rng.uniform(0, 100, 20_000), rng.random(20_000) < 0.1)
    assert abs(value - 0.5) < 0.02


def test_auc_is_none_without_both_outcomes():
    assert auc([1, 2], [False, False]) is None
    assert auc([1, 2], [True, True]) is None
    assert auc([], []) is None


# ---------------------------------------------------------------- validate


def test_churn_counts_within_horizon_strictly_after_the_snapshot():
    snaps = snapshots([
        ("a", "2025-01-01", 20.0, "at_risk"),  # churns 2025-03-01: 59 days later → within 90 and 180
        ("a", "2025-03-01", 20.0, "at_risk"),  # the churn day itself is not "after" (the account left that day)
        ("b", "2025-01-01", 80.0, "healthy"),  # churns 2025-06-15: 165 days → within 180, not within 90
        ("c", "2025-01-01", 50.0, "stable"),  # never churns
    ])
    evs = events([("a", "2025-03-01", "churn"), ("b", "2025-06-15", "churn")])
    [result] = validate(snaps, evs, today=TODAY)
    bands = {row.band: row for row in result.bands}
    assert list(bands) == ["healthy", "stable", "at_risk"]
    assert (bands["at_risk"].churn[90].hits, bands["at_risk"].churn[90].n) == (1, 2)
    assert (bands["healthy"].churn[90].hits, bands["healthy"].churn[180].hits) == (0, 1)
    assert bands["stable"].churn[180].value == 0.0
    assert bands["at_risk"].accounts == 1 and bands["at_risk"].snapshots == 2


def test_only_snapshots_whose_horizon_is_fully_observed_count():
    today = dt.date(2025, 7, 1)
    snaps = snapshots([
        ("a", "2025-01-01", 30.0, "at_risk"),  # 181 days before today: both horizons observed
        ("b", "2025-04-02", 30.0, "at_risk"),  # 90 days before today: the 90-day horizon only
        ("c", "2025-06-30", 30.0, "at_risk"),  # yesterday: neither
    ])
    [result] = validate(snaps, events([("b", "2025-05-01", "churn")]), today=today)
    row = result.bands[0]
    assert (row.churn[90].n, row.churn[180].n) == (2, 1)
    assert (row.churn[90].hits, row.churn[180].hits) == (1, 0)
    assert result.observed == {90: 2, 180: 1}
    assert row.snapshots == 3


def test_contraction_rate_is_separate_from_churn():
    snaps = snapshots([("a", "2025-01-01", 60.0, "stable"), ("b", "2025-01-01", 60.0, "stable")])
    evs = events([("a", "2025-02-01", "contraction"), ("a", "2025-09-01", "churn")])
    [result] = validate(snaps, evs, today=TODAY)
    row = result.bands[0]
    assert (row.contraction[90].hits, row.churn[90].hits, row.churn[180].hits) == (1, 0, 0)


def test_auc_per_model_version_and_unscored_snapshots_left_out():
    rows_v1 = [(f"c{i}", "2025-01-01", 10.0 + i, "at_risk") for i in range(5)]  # churners, low scores
    rows_v1 += [(f"h{i}", "2025-01-01", 80.0 + i, "healthy") for i in range(5)]
    rows_v1 += [("u", "2025-01-01", np.nan, "unknown")]
    rows_v2 = [(f"c{i}", "2025-01-01", 90.0, "healthy") for i in range(5)]  # v2 scores churners high: inverted
    rows_v2 += [(f"h{i}", "2025-01-01", 20.0, "at_risk") for i in range(5)]
    snaps = pd.concat([snapshots(rows_v1, "v1"), snapshots(rows_v2, "v2")])
    evs = events([(f"c{i}", "2025-03-01", "churn") for i in range(5)] + [("u", "2025-03-01", "churn")])
    v1, v2 = validate(snaps, evs, today=TODAY)
    assert (v1.model_version, v2.model_version) == ("v1", "v2")
    assert v1.auc_churn[90].value == 1.0 and v1.auc_churn[90].positives == 5  # "u" has no score
    assert v1.auc_churn[90].verdict == "separates churners well"
    assert v2.auc_churn[180].value == 0.0
    assert v2.auc_churn[180].verdict.startswith("does not separate churners")
    unknown = next(r for r in v1.bands if r.band == "unknown")
    assert unknown.churn[90].hits == 1


def test_thin_samples_are_flagged_and_judged_as_such():
    snaps = snapshots([("a", "2025-01-01", 10.0, "at_risk"), ("b", "2025-01-01", 90.0, "healthy")])
    [result] = validate(snaps, events([("a", "2025-02-01", "churn")]), today=TODAY)
    assert result.auc_churn[90].value == 1.0
    assert result.auc_churn[90].thin and result.auc_churn[90].verdict == "too few accounts to judge"
    assert all(row.churn[90].thin for row in result.bands)
    assert MIN_SAMPLE == 5


def test_no_churn_yet_has_no_auc():
    snaps = snapshots([(f"a{i}", "2025-01-01", 50.0, "stable") for i in range(10)])
    [result] = validate(snaps, events([]), today=TODAY)
    assert result.auc_churn[90].value is None and result.auc_churn[90].verdict == "no churn to predict yet"


def test_bad_frames_are_refused_clearly():
    with pytest.raises(ValueError, match="lacks column"):
        validate(pd.DataFrame({"account_id": []}), events([]), today=TODAY)
    with pytest.raises(ValueError, match="unknown kind"):
        validate(snapshots([]), events([("a", "2025-01-01", "expansion")]), today=TODAY)


# ---------------------------------------------------------------- revenue events from the ledger


LINES = lines([
    ("churner", "2024-01-01", "2025-01-01", 100_00),  # last line ends → churn on 2025-01-01
    ("two", "2024-01-01", "2025-03-01", 100_00),  # one of two lines ends → contraction on 2025-03-01
    ("two", "2024-01-01", None, 50_00),
    ("down", "2024-01-01", "2025-02-01", 100_00),  # renewed for less → contraction on 2025-02-01
    ("down", "2025-02-01", "2026-02-01", 80_00),
    ("flat", "2024-01-01", "2025-02-01", 100_00),  # renewed flat → nothing
    ("flat", "2025-02-01", "2026-02-01", 100_00),
    ("up", "2024-01-01", "2025-02-01", 100_00),  # renewed for more → nothing
    ("up", "2025-02-01", "2026-02-01", 150_00),
    ("gap", "2024-01-01", "2025-01-10", 100_00),  # left, came back later → churn on 2025-01-10
    ("gap", "2025-04-01", None, 100_00),
])


def test_revenue_events_follow_the_ledger_movements():
    found = revenue_events(LINES)
    got = sorted((a, str(day.date()), k) for a, day, k in found.itertuples(index=False))
    assert got == [
        ("churner", "2025-01-01", "churn"),
        ("down", "2025-02-01", "contraction"),
        ("down", "2026-02-01", "churn"),
        ("flat", "2026-02-01", "churn"),
        ("gap", "2025-01-10", "churn"),
        ("two", "2025-03-01", "contraction"),
        ("up", "2026-02-01", "churn"),
    ]


def test_revenue_events_agree_with_ledger_movements_day_by_day():
    found = revenue_events(LINES)
    days = sorted(set(LINES["end_date"].dropna()))
    expected = []
    for day in days:
        moves = ledger.movements(LINES, (day - pd.Timedelta(days=1)).date(), day.date())
        for row in moves[moves["kind"].isin(["churn", "contraction"])].itertuples():
            expected.append((row.account_id, day, row.kind))
    assert sorted(found.itertuples(index=False, name=None)) == sorted(expected)


def test_revenue_events_window_and_one_time_lines():
    with_fee = pd.concat([LINES, lines([("churner", "2024-01-01", "2024-06-01", 5_00)]).assign(is_recurring=False)])
    found = revenue_events(with_fee, since=dt.date(2025, 1, 1), until=dt.date(2025, 12, 31))
    assert set(found["account_id"]) == {"down", "gap", "two"}  # churner's day is not after `since`; no 2026 days
    assert revenue_events(lines([("a", "2024-01-01", None, 100)])).empty
