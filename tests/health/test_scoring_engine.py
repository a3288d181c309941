"""score(): weights, contributions, reweighting of missing inputs, bands, top detractor — hand-computed.

The model of most tests (helpers.three_part_model):
    seat utilisation  weight 50   curve 20 % → 0, 80 % → 100 (linear between, flat outside)
    NPS               weight 30   curve −100 → 0, +100 → 100, i.e. score = (NPS + 100) / 2
    CSM pulse         weight 20   concerned (0) → 20, neutral (1) → 60, good (2) → 100
"""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from health.scoring import Band, ComponentConfig, HealthModelConfig, band_for, score

from .helpers import one_part_model, signals, three_part_model

GOOD, NEUTRAL, CONCERNED = 2.0, 1.0, 0.0
NAN = np.nan


def components_of(result, account_id):
    rows = result.components[result.components["account_id"] == account_id]
    return rows.set_index("component")


def test_weights_and_contributions_all_inputs_present():
    """Seat utilisation 50 % → (0.5 − 0.2) / 0.6 × 100 = 50;  NPS +20 → (20 + 100) / 2 = 60;  pulse good → 100.
    Nothing missing, so effective weights = configured weights (50, 30, 20).
    Contributions: 50 × 50 / 100 = 25;  60 × 30 / 100 = 18;  100 × 20 / 100 = 20.  Score = 25 + 18 + 20 = 63.0.
    """
    result = score(signals({"a": {"seat_utilisation": 0.5, "nps": 20, "csm_pulse": GOOD}}), three_part_model())
    parts = components_of(result, "a")
    assert parts["score"].tolist() == pytest.approx([50, 60, 100])
    assert parts["weight"].tolist() == [50, 30, 20]
    assert parts["effective_weight"].tolist() == pytest.approx([50, 30, 20])
    assert parts["contribution"].tolist() == pytest.approx([25, 18, 20])
    assert parts["raw_value"].tolist() == [0.5, 20, 2]
    assert not parts["missing"].any()
    account = result.accounts.loc["a"]
    assert account["score"] == 63.0
    assert account["band"] == "stable"
    assert account["model_version"] == "test-1"
    assert account["missing"] == ()


def test_one_missing_input_has_its_weight_redistributed_proportionally():
    """Pulse missing. Present weights 50 + 30 = 80.
    Effective: seat 50 × 100 / 80 = 62.5;  NPS 30 × 100 / 80 = 37.5;  pulse 0.
    Contributions: 50 × 62.5 / 100 = 31.25;  60 × 37.5 / 100 = 22.5.  Score = 53.75 → published 53.8.
    """
    result = score(signals({"a": {"seat_utilisation": 0.5, "nps": 20, "csm_pulse": NAN}}), three_part_model())
    parts = components_of(result, "a")
    assert parts["effective_weight"].tolist() == pytest.approx([62.5, 37.5, 0])
    assert parts["contribution"].tolist() == pytest.approx([31.25, 22.5, 0])
    assert parts["missing"].tolist() == [False, False, True]
    assert np.isnan(parts.loc["csm_pulse", "score"])
    assert result.accounts.loc["a", "score"] == 53.8
    assert result.accounts.loc["a", "missing"] == ("csm_pulse",)


def test_two_missing_inputs_leave_all_weight_on_the_last_one():
    """NPS and pulse missing. Present weight 50 → seat effective 50 × 100 / 50 = 100.
    Contribution 50 × 100 / 100 = 50. Score 50.0, stable.
    """
    result = score(signals({"a": {"seat_utilisation": 0.5, "nps": NAN, "csm_pulse": NAN}}), three_part_model())
    parts = components_of(result, "a")
    assert parts["effective_weight"].tolist() == pytest.approx([100, 0, 0])
    assert result.accounts.loc["a", "score"] == 50.0
    assert result.accounts.loc["a", "missing"] == ("nps", "csm_pulse")


def test_all_inputs_missing_means_no_score_and_band_unknown():
    result = score(signals({"a": {"seat_utilisation": NAN, "nps": NAN, "csm_pulse": NAN}}), three_part_model())
    account = result.accounts.loc["a"]
    assert np.isnan(account["score"])
    assert account["band"] == Band.UNKNOWN == "unknown"
    assert account["top_detractor"] is None
    assert np.isnan(account["top_detractor_points"])
    assert account["missing"] == ("seat_utilisation", "nps", "csm_pulse")
    parts = components_of(result, "a")
    assert parts["missing"].all()
    assert (parts["effective_weight"] == 0).all() and (parts["contribution"] == 0).all()


def test_below_min_present_weight_there_is_no_score():
    """With min_present_weight 60: seat alone carries 50 of 100 → no score; seat + NPS carry 80 → scored."""
    model = three_part_model(min_present_weight=60)
    result = score(
        signals(
            {
                "only_seat": {"seat_utilisation": 0.5, "nps": NAN, "csm_pulse": NAN},
                "seat_and_nps": {"seat_utilisation": 0.5, "nps": 20, "csm_pulse": NAN},
            }
        ),
        model,
    )
    assert result.accounts.loc["only_seat", "band"] == "unknown"
    assert np.isnan(result.accounts.loc["only_seat", "score"])
    assert components_of(result, "only_seat").loc["seat_utilisation", "score"] == 50  # still reported
    assert components_of(result, "only_seat")["contribution"].sum() == 0
    assert result.accounts.loc["seat_and_nps", "score"] == 53.8


def test_top_detractor_is_the_component_costing_the_most_points():
    """(100 − score) × effective weight: seat (100 − 50) × 50 = 2500; NPS (100 − 60) × 30 = 1200; pulse 0.
    Seat utilisation drags most and costs 2500 / 100 = 25 points.
    A concerned pulse (20) at weight 20 costs (100 − 20) × 20 = 1600 — still less than seat's 2500."""
    result = score(
        signals(
            {
                "a": {"seat_utilisation": 0.5, "nps": 20, "csm_pulse": GOOD},
                "b": {"seat_utilisation": 0.5, "nps": 20, "csm_pulse": CONCERNED},
                "c": {"seat_utilisation": 0.9, "nps": 20, "csm_pulse": CONCERNED},
            }
        ),
        three_part_model(),
    )
    top = result.accounts[["top_detractor", "top_detractor_points"]]
    assert top.loc["a"].tolist() == ["seat_utilisation", pytest.approx(25.0)]
    assert top.loc["b"].tolist() == ["seat_utilisation", pytest.approx(25.0)]
    # c: seat at 100 costs nothing; NPS (40 × 30 = 1200) vs pulse (80 × 20 = 1600) → pulse, 16 points
    assert top.loc["c"].tolist() == ["csm_pulse", pytest.approx(16.0)]


def test_top_detractor_ties_go_to_the_earlier_component_and_a_perfect_account_has_none():
    """NPS 50 / CSAT 50. NPS −100 → 0 costs (100 − 0) × 50 = 5000; CSAT 50 % → 0 costs the same 5000: a tie,
    which goes to NPS, listed first in the model."""
    model = HealthModelConfig(
        version="tie", components=(ComponentConfig(kind="nps", weight=50), ComponentConfig(kind="csat", weight=50))
    )
    result = score(signals({"tie": {"nps": -100, "csat": 50}, "perfect": {"nps": 100, "csat": 95}}), model)
    assert result.accounts.loc["tie", "top_detractor"] == "nps"
    assert result.accounts.loc["tie", "top_detractor_points"] == 50.0
    assert result.accounts.loc["perfect", "top_detractor"] is None
    assert result.accounts.loc["perfect", "top_detractor_points"] == 0
    assert result.accounts.loc["perfect", "score"] == 100.0


def test_seat_utilisation_over_100_percent_scores_100_and_keeps_its_raw_value():
    result = score(signals({"a": {"seat_utilisation": 1.3, "nps": 100, "csm_pulse": GOOD}}), three_part_model())
    seat = components_of(result, "a").loc["seat_utilisation"]
    assert seat["raw_value"] == 1.3
    assert seat["score"] == 100
    assert result.accounts.loc["a", "score"] == 100.0


def test_band_edges_on_exact_values():
    """healthy ≥ 70; at risk < 40; stable in between; no score → unknown."""
    model = three_part_model()
    bands = band_for(np.array([39.99, 40.0, 69.99, 70.0, 0.0, 100.0, np.nan]), model)
    assert bands.tolist() == ["at_risk", "stable", "stable", "healthy", "at_risk", "healthy", "unknown"]


@pytest.mark.parametrize(
    "component_score, published, band",
    [
        (40.0, 40.0, "stable"),
        (70.0, 70.0, "healthy"),
        (39.94, 39.9, "at_risk"),
        (39.96, 40.0, "stable"),  # published as 40.0, so it reads — and is — stable
        (69.94, 69.9, "stable"),
        (69.96, 70.0, "healthy"),  # published as 70.0, so it reads — and is — healthy
    ],
)
def test_band_is_decided_on_the_published_one_decimal_score(component_score, published, band):
    """One NPS component at weight 100: score = (NPS + 100) / 2, so NPS = 2 × score − 100."""
    nps = 2 * component_score - 100
    result = score(signals({"a": {"nps": nps}}), one_part_model("nps"))
    assert result.accounts.loc["a", "score"] == published
    assert result.accounts.loc["a", "band"] == band


def test_custom_band_thresholds():
    model = one_part_model("nps", healthy_min=80, at_risk_below=50)
    result = score(signals({"a": {"nps": 60}, "b": {"nps": 59.8}, "c": {"nps": -0.2}}), model)  # 80, 79.9, 49.9
    assert result.accounts["band"].tolist() == ["healthy", "stable", "at_risk"]


def test_output_is_sorted_by_account_and_identical_across_runs_and_input_orders():
    rows = {
        account: {"seat_utilisation": seat, "nps": nps, "csm_pulse": pulse}
        for account, seat, nps, pulse in [
            (3, 0.3, -40, NAN),
            (1, NAN, NAN, NAN),
            (2, 0.95, 10, NEUTRAL),
            (5, 0.61, NAN, CONCERNED),
            (4, 0.5, 20, GOOD),
        ]
    }
    model = three_part_model()
    first = score(signals(rows), model)
    shuffled = signals(rows).sample(frac=1.0, random_state=3)
    second = score(shuffled, model)
    assert first.accounts.index.tolist() == [1, 2, 3, 4, 5]
    assert first.components["account_id"].tolist() == [a for a in [1, 2, 3, 4, 5] for _ in range(3)]
    pd.testing.assert_frame_equal(first.accounts, second.accounts)
    pd.testing.assert_frame_equal(first.components, second.components)
    pd.testing.assert_frame_equal(first.accounts, score(signals(rows), model).accounts)


def test_score_refuses_signals_missing_a_component_column():
    with pytest.raises(ValueError, match="signals lack the column.*csm_pulse"):
        score(signals({"a": {"seat_utilisation": 0.5, "nps": 1}}), three_part_model())


def test_no_accounts_gives_empty_frames_with_the_documented_columns():
    empty = signals({"a": {"seat_utilisation": 0.5, "nps": 1, "csm_pulse": 1}}).iloc[:0]
    result = score(empty, three_part_model())
    assert len(result.accounts) == 0 and len(result.components) == 0
    assert list(result.accounts.columns) == [
        "score",
        "band",
        "model_version",
        "missing",
        "top_detractor",
        "top_detractor_points",
    ]


raw_value = st.one_of(st.just(np.nan), st.floats(-200, 200, allow_nan=False))


@settings(max_examples=200, deadline=None, derandomize=True)
@given(st.lists(st.tuples(raw_value, raw_value, st.sampled_from([np.nan, 0.0, 1.0, 2.0])), min_size=1, max_size=20))
def test_invariants_hold_for_any_signals(rows):
    """Effective weights of a scored account sum to 100; contributions sum to its score; scores stay in 0–100;
    a component is missing exactly when its raw value is NaN."""
    frame = signals(
        {
            account: {"seat_utilisation": seat / 100, "nps": nps, "csm_pulse": pulse}
            for account, (seat, nps, pulse) in enumerate(rows)
        }
    )
    result = score(frame, three_part_model())
    parts = result.components
    by_account = parts.groupby("account_id")
    scored = result.accounts["score"].notna()
    assert np.allclose(by_account["effective_weight"].sum()[scored], 100)
    assert np.allclose(by_account["effective_weight"].sum()[~scored], 0)
    assert (np.abs(by_account["contribution"].sum()[scored] - result.accounts["score"][scored]) <= 0.05 + 1e-9).all()
    assert ((parts["score"].dropna() >= 0) & (parts["score"].dropna() <= 100)).all()
    assert (parts["missing"] == parts["raw_value"].isna()).all()
    assert (result.accounts["band"] == "unknown").tolist() == (~scored).tolist()


def test_score_refuses_two_rows_for_one_account():
    twice = pd.concat([signals({"a": {"nps": 1}}), signals({"a": {"nps": 2}})])
    with pytest.raises(ValueError, match="one row per account"):
        score(twice, one_part_model("nps"))
