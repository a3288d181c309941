"""Health model configuration: the seed model, validation that lists every problem, immutability."""

import dataclasses

import pytest

from health.scoring import (
    KIND_SPECS,
    ComponentConfig,
    ComponentKind,
    HealthModelConfig,
    HealthModelError,
    default_model,
)

from .helpers import three_part_model


def test_default_model_weights_sum_to_100_and_bands_are_seeded():
    model = default_model()
    assert sum(c.weight for c in model.components) == 100
    assert (model.healthy_min, model.at_risk_below) == (70, 40)
    assert model.min_present_weight == 25
    assert [c.key for c in model.components] == [
        "seat_utilisation",
        "usage_trend",
        "touchpoint_recency",
        "nps",
        "csat",
        "open_priority_tickets",
        "escalations",
        "csm_pulse",
    ]


def test_default_model_with_key_features_adds_feature_breadth_and_still_sums_to_100():
    model = default_model(key_features=["feature:reports", "feature:alerts"])
    weights = {c.key: c.weight for c in model.components}
    assert len(model.components) == 9
    assert weights["feature_breadth"] == 10
    assert weights["seat_utilisation"] == weights["usage_trend"] == 15
    assert sum(weights.values()) == 100
    breadth = next(c for c in model.components if c.kind == ComponentKind.FEATURE_BREADTH)
    assert breadth.param("key_features") == ("feature:reports", "feature:alerts")


def test_parameters_fall_back_to_the_kind_defaults():
    pulse = ComponentConfig(kind="csm_pulse", weight=10)
    assert pulse.param("validity_days") == 30
    assert pulse.curve() == ((0.0, 1.0, 2.0), (20.0, 60.0, 100.0))  # concerned, neutral, good
    custom = ComponentConfig(kind="csm_pulse", weight=10, params={"validity_days": 14, "neutral": 50.0})
    assert custom.param("validity_days") == 14
    assert custom.curve() == ((0.0, 1.0, 2.0), (20.0, 50.0, 100.0))
    assert ComponentConfig(kind="touchpoint_recency", weight=1).curve() == ((14.0, 90.0), (100.0, 0.0))


def test_every_kind_has_a_readable_label_and_a_valid_default_curve():
    for kind, spec in KIND_SPECS.items():
        assert spec.label and spec.signal
        params = {"key_features": ("f",)} if kind == ComponentKind.FEATURE_BREADTH else {}
        HealthModelConfig(version=1, components=(ComponentConfig(kind=kind, weight=100, params=params),))


def test_invalid_model_lists_every_problem_at_once():
    with pytest.raises(HealthModelError) as caught:
        HealthModelConfig(
            version="",
            components=(
                ComponentConfig(kind="seat_utilisation", weight=60, params={"window_days": 0, "colour": "red"}),
                ComponentConfig(kind="vibes", weight=10),
                ComponentConfig(kind="nps", weight=-5, points=((0, 0), (-10, 100))),
                ComponentConfig(kind="csm_pulse", weight=10, points=((0, 0), (2, 100))),
                ComponentConfig(kind="feature_breadth", weight=10),
            ),
            healthy_min=40,
            at_risk_below=70,
        )
    problems = caught.value.problems
    expected = [
        "version must be set",
        "component 'seat_utilisation': window_days must be between 1 and 730, got 0",
        "component 'seat_utilisation': unknown parameter 'colour' (allowed: metric, window_days)",
        "component 'vibes': unknown kind 'vibes'",
        "component 'nps': weight must be a positive number, got -5",
        "component 'nps': point raw values must strictly increase, got 0, -10",
        "component 'csm_pulse': a pulse has no curve; set the good/neutral/concerned parameters instead",
        "component 'feature_breadth': key_features must list the usage metrics that count as key features",
        "band thresholds must satisfy 0 <= at_risk_below < healthy_min <= 100, got at_risk_below=70, healthy_min=40",
    ]
    for text in expected:
        assert any(p.startswith(text) for p in problems), (text, problems)
    assert isinstance(caught.value, ValueError)
    assert "invalid health model:\n- version must be set" in str(caught.value)


def test_weights_must_sum_to_100_rather_than_being_normalised_silently():
    with pytest.raises(HealthModelError, match="weights must sum to 100, got 90"):
        HealthModelConfig(
            version=1,
            components=(ComponentConfig(kind="nps", weight=60), ComponentConfig(kind="csat", weight=30)),
        )
    # fractional weights are fine when they add up
    HealthModelConfig(
        version=1,
        components=(
            ComponentConfig(kind="nps", weight=100 / 3),
            ComponentConfig(kind="csat", weight=100 / 3),
            ComponentConfig(kind="csm_pulse", weight=100 / 3),
        ),
    )


@pytest.mark.parametrize(
    "component, problem",
    [
        (ComponentConfig(kind="nps", weight=100, points=((0, 0),)), "points need at least two"),
        (ComponentConfig(kind="nps", weight=100, points=((0, 0), (50, 120))), "point scores must be within 0–100"),
        (ComponentConfig(kind="nps", weight=100, points=((-150, 0), (100, 100))), "within -100…100"),
        (ComponentConfig(kind="csat", weight=100, params={"min_responses": 0}), "min_responses must be between"),
        (ComponentConfig(kind="open_priority_tickets", weight=100, params={"priorities": ()}), "at least one"),
        (ComponentConfig(kind="usage_trend", weight=100, params={"metric": ""}), "metric must be a non-empty"),
        (ComponentConfig(kind="csm_pulse", weight=100, params={"good": 120.0}), "good must be between 0 and 100"),
        (ComponentConfig(kind="csm_pulse", weight=100, params={"validity_days": 2.5}), "must be an integer"),
        (ComponentConfig(kind="nps", weight=float("nan")), "weight must be a positive number"),
    ],
)
def test_parameter_and_curve_ranges_are_checked(component, problem):
    with pytest.raises(HealthModelError, match=problem):
        HealthModelConfig(version=1, components=(component,))


def test_component_keys_must_be_unique_but_a_kind_may_repeat_under_another_key():
    with pytest.raises(HealthModelError, match="repeated: nps"):
        HealthModelConfig(
            version=1,
            components=(ComponentConfig(kind="nps", weight=50), ComponentConfig(kind="nps", weight=50)),
        )
    model = HealthModelConfig(
        version=1,
        components=(
            ComponentConfig(kind="usage_trend", weight=50, params={"metric": "logins"}),
            ComponentConfig(kind="usage_trend", weight=50, params={"metric": "api_calls"}, key="api_trend"),
        ),
    )
    assert model.keys == ("usage_trend", "api_trend")


def test_min_present_weight_is_a_share_of_the_weight():
    with pytest.raises(HealthModelError, match="min_present_weight must be between 0 and 100"):
        three_part_model(min_present_weight=150)


def test_config_is_frozen_hashable_and_round_trips_through_a_plain_dict():
    model = default_model(key_features=("feature:a",))
    with pytest.raises(dataclasses.FrozenInstanceError):
        model.healthy_min = 10
    with pytest.raises(dataclasses.FrozenInstanceError):
        model.components[0].weight = 99
    assert hash(model) == hash(default_model(key_features=["feature:a"]))
    assert HealthModelConfig.from_dict(model.to_dict()) == model
    assert model.to_dict()["components"][2]["params"] == {"key_features": ["feature:a"]}
