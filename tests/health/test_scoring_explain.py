"""explain_change(): one sentence per account naming the components that moved the score, biggest first.

Model: usage trend 40 (ratio 0.5 → 0, 1.0 → 80, 1.2 → 100), NPS 30 (score = (NPS + 100) / 2), CSM pulse 30.
"""

import numpy as np
import pytest

from health.scoring import NO_CHANGE, ComponentConfig, HealthModelConfig, default_model, explain_change, score

from .helpers import signals

MODEL = HealthModelConfig(
    version="explain",
    components=(
        ComponentConfig(kind="usage_trend", weight=40),
        ComponentConfig(kind="nps", weight=30),
        ComponentConfig(kind="csm_pulse", weight=30),
    ),
)
GOOD, CONCERNED = 2.0, 0.0


def explain(previous_rows, current_rows, previous_observed=None, current_observed=None, model=MODEL, **options):
    previous = score(signals(previous_rows, **(previous_observed or {})), model)
    current = score(signals(current_rows, **(current_observed or {})), model)
    return explain_change(previous.components, current.components, **options)


def test_sentence_names_the_biggest_movers_with_from_and_to_values():
    """Usage trend: ratio 0.95 → (0.45 / 0.5) × 80 = 72; ratio 0.69375 → (0.19375 / 0.5) × 80 = 31.
    Contribution change (40 % weight) = (31 − 72) × 0.4 = −16.4 points.
    NPS: +50 → 75; −50 → 25. Contribution change (30 %) = (25 − 75) × 0.3 = −15 points.
    The pulse did not move. Usage trend moved most, so it comes first."""
    sentence = explain(
        {1: {"usage_trend": 0.95, "nps": 50, "csm_pulse": GOOD}},
        {1: {"usage_trend": 0.69375, "nps": -50, "csm_pulse": GOOD}},
        previous_observed={"nps": {1: "2025-04-01"}},
        current_observed={"nps": {1: "2025-05-03"}},
    )
    assert sentence[1] == (
        "Usage trend fell from 72 to 31 (usage at 95% → 69% of the prior period); "
        "NPS fell from 75 to 25 (NPS +50 → -50, latest response 3 May 2025)"
    )


def test_small_moves_are_not_material():
    """NPS +50 → +52: score 75 → 76, contribution +0.3 points, under the 1-point threshold."""
    sentence = explain(
        {1: {"usage_trend": 1.0, "nps": 50, "csm_pulse": GOOD}},
        {1: {"usage_trend": 1.0, "nps": 52, "csm_pulse": GOOD}},
    )
    assert sentence[1] == NO_CHANGE == "No material change"
    assert explain(
        {1: {"usage_trend": 1.0, "nps": 50, "csm_pulse": GOOD}},
        {1: {"usage_trend": 1.0, "nps": 52, "csm_pulse": GOOD}},
        min_points=0.25,
    )[1].startswith("NPS rose from 75 to 76")


def test_an_expired_pulse_is_named_and_reweighted_components_are_not():
    """The concerned pulse (20 × 30 % = 6 points) expires. Usage (80) and NPS (50) now share its weight, so their
    contributions change too — but their scores did not, so they are not named as causes."""
    sentence = explain(
        {1: {"usage_trend": 1.0, "nps": 0, "csm_pulse": CONCERNED}},
        {1: {"usage_trend": 1.0, "nps": 0, "csm_pulse": np.nan}},
        previous_observed={"csm_pulse": {1: "2025-04-01"}},
        current_observed={"csm_pulse": {1: "2025-04-01"}},
    )
    assert sentence[1] == "CSM pulse expired (was 20: concerned)"


def test_a_new_input_and_a_vanished_one():
    sentence = explain(
        {1: {"usage_trend": np.nan, "nps": 0, "csm_pulse": np.nan}},
        {1: {"usage_trend": np.nan, "nps": np.nan, "csm_pulse": GOOD}},
        current_observed={"csm_pulse": {1: "2025-06-20"}},
    )
    # pulse: 0 → 100 × 100 % = +100 points; NPS: 50 × 100 % → 0 = −50 points
    assert sentence[1] == "CSM pulse now counted at 100 (good, recorded 20 Jun 2025); NPS no longer counted (was 50)"


def test_max_items_limits_the_sentence():
    sentence = explain(
        {1: {"usage_trend": 0.95, "nps": 50, "csm_pulse": GOOD}},
        {1: {"usage_trend": 0.69375, "nps": -50, "csm_pulse": CONCERNED}},
        max_items=1,
    )
    # pulse: (20 − 100) × 0.3 = −24 points, the largest move
    assert sentence[1] == "CSM pulse fell from 100 to 20 (good → concerned)"
    same = {1: {"usage_trend": 1.0, "nps": 0, "csm_pulse": GOOD}}
    with pytest.raises(ValueError, match="max_items"):
        explain(same, same, max_items=0)


def test_kinds_where_more_is_worse_say_worsened_and_improved():
    model = default_model()
    keys = model.keys
    base = dict.fromkeys(keys, np.nan) | {"nps": 0.0, "open_priority_tickets": 0.0, "touchpoint_recency": 40.0}
    sentence = explain(
        {1: base},
        {1: base | {"open_priority_tickets": 2.0, "touchpoint_recency": 10.0}},
        model=model,
    )
    # present weights: NPS 15, tickets 10, touchpoints 10 → effective 42.86 / 28.57 / 28.57
    # tickets 100 → 33.3: −19 points; touchpoints 65.8 → 100: +9.8 points
    assert sentence[1] == (
        "Open high-priority tickets worsened from 100 to 33 (0 → 2 open); "
        "Touchpoint recency improved from 66 to 100 (40 → 10 days since the last touchpoint)"
    )


def test_accounts_on_one_side_only_and_the_result_is_sorted():
    sentence = explain(
        {2: {"usage_trend": 1.0, "nps": 0, "csm_pulse": GOOD}, 1: {"usage_trend": 1.0, "nps": 0, "csm_pulse": GOOD}},
        {3: {"usage_trend": 1.0, "nps": 0, "csm_pulse": GOOD}, 1: {"usage_trend": 1.0, "nps": 0, "csm_pulse": GOOD}},
    )
    assert sentence.to_dict() == {1: NO_CHANGE, 2: "No current score", 3: "No previous score"}
    assert sentence.index.name == "account_id"


def test_an_account_without_a_score_on_one_side_says_so():
    nothing = {"usage_trend": np.nan, "nps": np.nan, "csm_pulse": np.nan}
    something = {"usage_trend": 1.0, "nps": 0, "csm_pulse": GOOD}
    sentence = explain({1: nothing, 2: something}, {1: something, 2: nothing})
    assert sentence.to_dict() == {1: "No previous score", 2: "No current score"}


def test_a_model_change_ties_and_row_order():
    """Account 1 was scored last week by a model with usage trend 40 / NPS 30 / pulse 30, this week by one
    with usage trend 50 / NPS 50: the pulse (good: 100 × 30 % = 30 points) is no longer counted; usage trend
    and NPS did not move (their contributions shifted by the reweighting only: not causes). Account 2, on the
    new model both weeks: usage trend 72 → 52 and NPS 75 → 55 both move 20 × 50 % = 10 points: a tie, broken
    by the model's order (usage trend first). Shuffling the rows of either frame changes nothing."""
    import pandas as pd

    now_model = HealthModelConfig(version="now", components=(ComponentConfig(kind="usage_trend", weight=50),
                                                            ComponentConfig(kind="nps", weight=50)))
    before = pd.concat([
        score(signals({1: {"usage_trend": 0.95, "nps": 50, "csm_pulse": GOOD}}), MODEL).components,
        score(signals({2: {"usage_trend": 0.95, "nps": 50}}), now_model).components,
    ], ignore_index=True)
    now = score(signals({1: {"usage_trend": 0.95, "nps": 50}, 2: {"usage_trend": 0.825, "nps": 10}}),
                now_model).components
    sentence = explain_change(before, now)
    assert sentence[1] == "CSM pulse no longer counted (was 100)"
    assert sentence[2] == ("Usage trend fell from 72 to 52 (usage at 95% → 82% of the prior period); "
                           "NPS fell from 75 to 55 (NPS +50 → +10)")
    shuffled = explain_change(before.sample(frac=1, random_state=3), now.sample(frac=1, random_state=4))
    assert shuffled.to_dict() == sentence.to_dict()
