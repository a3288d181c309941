"""Health model configuration: frozen, validated, serialisable to plain JSON-able dicts.

A health model is a versioned list of weighted components (METRICS.md, Health). Each component turns one
signal per account into a 0–100 score through a piecewise-linear curve: a list of ``(raw value, score)``
breakpoints, linear in between and flat beyond both ends. A curve reads as a sentence — seat utilisation
``((0.2, 0), (0.8, 100))`` is "20 % of seats or fewer scores 0, 80 % or more scores 100" — which is what
lets the product say *why* a component scored what it did.

Weights
    Every weight is a positive number and the weights of a model sum to exactly 100 (±1e-6). They are the
    percentages the ops admin sees and edits, so we refuse a model that does not add up instead of
    normalising it behind their back. When a component's signal is missing for an account, its weight is
    redistributed proportionally over the components that are present (see ``engine.score``).

Bands (edges stated once, used everywhere)
    ``score >= healthy_min``                  → ``healthy``
    ``at_risk_below <= score < healthy_min``  → ``stable``
    ``score < at_risk_below``                 → ``at_risk``
    no score                                  → ``unknown`` (every input missing, or the present ones carry
                                                 less than ``min_present_weight`` of the weight)
    The band is decided on the *published* score (rounded to one decimal), so the number a user reads and
    its band never disagree: a raw 69.96 is published as 70.0 and is healthy; 69.94 is 69.9 and stable.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

WEIGHT_TOTAL = 100.0
WEIGHT_TOLERANCE = 1e-6
MAX_COMPONENTS = 32  # the missing-components bitmask in the engine is an int64


class ComponentKind(StrEnum):
    SEAT_UTILISATION = "seat_utilisation"
    USAGE_TREND = "usage_trend"
    FEATURE_BREADTH = "feature_breadth"
    TOUCHPOINT_RECENCY = "touchpoint_recency"
    NPS = "nps"
    CSAT = "csat"
    OPEN_PRIORITY_TICKETS = "open_priority_tickets"
    ESCALATIONS = "escalations"
    DAYS_TO_RENEWAL = "days_to_renewal"
    CSM_PULSE = "csm_pulse"


class Band(StrEnum):
    HEALTHY = "healthy"
    STABLE = "stable"
    AT_RISK = "at_risk"
    UNKNOWN = "unknown"


# CSM pulse answers, as the raw value the engine carries (ordered worst → best).
PULSE_CODES: dict[str, int] = {"concerned": 0, "neutral": 1, "good": 2}
PULSE_NAMES: dict[int, str] = {code: name for name, code in PULSE_CODES.items()}


@dataclass(frozen=True)
class _Param:
    """One kind-specific parameter: its type, default and allowed range."""

    type: str  # "int", "float", "str", "str_tuple"
    default: Any
    low: float | None = None
    high: float | None = None

    def problems(self, name: str, value: Any) -> list[str]:
        if self.type in ("int", "float"):
            is_int = isinstance(value, int) and not isinstance(value, bool)
            ok_type = is_int if self.type == "int" else (is_int or isinstance(value, float))
            if not ok_type or (self.type == "float" and not math.isfinite(value)):
                return [f"{name} must be {'an integer' if self.type == 'int' else 'a number'}, got {value!r}"]
            if (self.low is not None and value < self.low) or (self.high is not None and value > self.high):
                return [f"{name} must be between {_num(self.low)} and {_num(self.high)}, got {_num(value)}"]
            return []
        if self.type == "str":
            if not isinstance(value, str) or not value.strip():
                return [f"{name} must be a non-empty string, got {value!r}"]
            return []
        # str_tuple
        if not isinstance(value, tuple) or not all(isinstance(v, str) and v.strip() for v in value):
            return [f"{name} must be a list of non-empty strings, got {value!r}"]
        if not value:
            return [f"{name} must list at least one value"]
        if len(set(value)) != len(value):
            return [f"{name} lists a value twice: {list(value)}"]
        return []


@dataclass(frozen=True)
class KindSpec:
    """What a component kind measures, its readable name, default curve and parameters."""

    label: str
    signal: str  # one line, for documentation and the model editor
    default_points: tuple[tuple[float, float], ...]
    params: Mapping[str, _Param] = field(default_factory=dict)
    x_low: float | None = None  # allowed range of curve x values (the raw signal's domain)
    x_high: float | None = None
    higher_is_worse: bool = False  # raw goes up when health goes down (days, ticket counts)


def _window(default: int) -> _Param:
    return _Param("int", default, 1, 730)


KIND_SPECS: dict[str, KindSpec] = {
    ComponentKind.SEAT_UTILISATION: KindSpec(
        label="Seat utilisation",
        signal="latest `metric` reading in the last `window_days` days ÷ licensed seats (uncapped ratio)",
        default_points=((0.2, 0.0), (0.8, 100.0)),
        params={"metric": _Param("str", "active_users"), "window_days": _window(30)},
        x_low=0.0,
    ),
    ComponentKind.USAGE_TREND: KindSpec(
        label="Usage trend",
        signal="sum of `metric` over the last `window_days` days ÷ the same sum over the prior `window_days` days",
        default_points=((0.5, 0.0), (1.0, 80.0), (1.2, 100.0)),
        params={"metric": _Param("str", "logins"), "window_days": _window(30)},
        x_low=0.0,
    ),
    ComponentKind.FEATURE_BREADTH: KindSpec(
        label="Feature breadth",
        signal="distinct `key_features` (usage metrics) used in the last `window_days` days ÷ number of key features",
        default_points=((0.0, 0.0), (0.6, 100.0)),
        params={"key_features": _Param("str_tuple", ()), "window_days": _window(30)},
        x_low=0.0,
        x_high=1.0,
    ),
    ComponentKind.TOUCHPOINT_RECENCY: KindSpec(
        label="Touchpoint recency",
        signal="days since the last touchpoint (calls, meetings, emails logged on the timeline)",
        default_points=((14.0, 100.0), (90.0, 0.0)),
        x_low=0.0,
        higher_is_worse=True,
    ),
    ComponentKind.NPS: KindSpec(
        label="NPS",
        signal="account NPS (−100…100) over the latest response per contact in the last `window_days` days",
        default_points=((-100.0, 0.0), (100.0, 100.0)),
        params={"window_days": _window(180), "min_responses": _Param("int", 1, 1, 1000)},
        x_low=-100.0,
        x_high=100.0,
    ),
    ComponentKind.CSAT: KindSpec(
        label="CSAT",
        signal="% of CSAT responses scoring 4 or 5 (of 5) in the last `window_days` days",
        default_points=((50.0, 0.0), (90.0, 100.0)),
        params={"window_days": _window(90), "min_responses": _Param("int", 1, 1, 1000)},
        x_low=0.0,
        x_high=100.0,
    ),
    ComponentKind.OPEN_PRIORITY_TICKETS: KindSpec(
        label="Open high-priority tickets",
        signal="support tickets open on the scoring day whose priority is one of `priorities`",
        default_points=((0.0, 100.0), (3.0, 0.0)),
        params={"priorities": _Param("str_tuple", ("high", "urgent"))},
        x_low=0.0,
        higher_is_worse=True,
    ),
    ComponentKind.ESCALATIONS: KindSpec(
        label="Escalations",
        signal="escalated support tickets opened in the last `window_days` days (open or closed)",
        default_points=((0.0, 100.0), (2.0, 0.0)),
        params={"window_days": _window(90)},
        x_low=0.0,
        higher_is_worse=True,
    ),
    ComponentKind.DAYS_TO_RENEWAL: KindSpec(
        label="Days to renewal",
        signal="days from the scoring day to the account's renewal date (negative when overdue)",
        default_points=((30.0, 40.0), (180.0, 80.0)),
    ),
    ComponentKind.CSM_PULSE: KindSpec(
        label="CSM pulse",
        signal="the CSM's latest read (good / neutral / concerned), counted only until it expires",
        default_points=(),  # built from the good/neutral/concerned parameters
        params={
            "validity_days": _Param("int", 30, 1, 365),
            "good": _Param("float", 100.0, 0, 100),
            "neutral": _Param("float", 60.0, 0, 100),
            "concerned": _Param("float", 20.0, 0, 100),
        },
    ),
}


@dataclass(frozen=True)
class ComponentConfig:
    """One weighted component of a health model.

    ``key`` names the component inside its model (defaults to the kind; set it to use one kind twice, e.g.
    two usage trends on different metrics). ``points`` overrides the kind's default curve (empty → default).
    ``params`` holds kind-specific parameters (see ``KIND_SPECS``); missing ones take their defaults. A
    mapping or a sequence of pairs is accepted and stored as a sorted tuple of pairs, so the config stays
    immutable and hashable.
    """

    kind: str
    weight: float
    points: tuple[tuple[float, float], ...] = ()
    params: Any = ()
    key: str = ""
    label: str = ""

    def __post_init__(self) -> None:
        kind = str(self.kind.value if isinstance(self.kind, ComponentKind) else self.kind)
        object.__setattr__(self, "kind", kind)
        with suppress(TypeError, ValueError):  # malformed points are reported by validation, as given
            object.__setattr__(self, "points", tuple((float(x), float(y)) for x, y in self.points))
        raw_params = dict(self.params.items() if isinstance(self.params, Mapping) else self.params)
        params = tuple(
            sorted((str(k), tuple(v) if isinstance(v, list | tuple) else v) for k, v in raw_params.items())
        )
        object.__setattr__(self, "params", params)
        if not self.key:
            object.__setattr__(self, "key", kind)
        if not self.label:
            spec = KIND_SPECS.get(kind)
            object.__setattr__(self, "label", spec.label if spec else kind)

    @property
    def spec(self) -> KindSpec:
        return KIND_SPECS[self.kind]

    def param(self, name: str) -> Any:
        """The parameter's configured value, or the kind's default."""
        given = dict(self.params)
        return given[name] if name in given else self.spec.params[name].default

    def curve(self) -> tuple[tuple[float, ...], tuple[float, ...]]:
        """The effective curve as (xs, ys) for ``numpy.interp``."""
        if self.kind == ComponentKind.CSM_PULSE:
            points = tuple((float(code), float(self.param(name))) for name, code in PULSE_CODES.items())
            points = tuple(sorted(points))
        else:
            points = self.points or self.spec.default_points
        xs, ys = zip(*points, strict=True)
        return xs, ys

    def problems(self) -> list[str]:
        where = f"component {self.key!r}"
        spec = KIND_SPECS.get(self.kind)
        if spec is None:
            return [f"{where}: unknown kind {self.kind!r} (known: {', '.join(KIND_SPECS)})"]
        found: list[str] = []
        if not _weight_ok(self.weight):
            found.append(f"{where}: weight must be a positive number, got {self.weight!r}")
        for name, value in self.params:
            if name not in spec.params:
                allowed = ", ".join(spec.params) or "none"
                found.append(f"{where}: unknown parameter {name!r} (allowed: {allowed})")
            else:
                found.extend(f"{where}: {p}" for p in spec.params[name].problems(name, value))
        if self.kind == ComponentKind.FEATURE_BREADTH and "key_features" not in dict(self.params):
            found.append(f"{where}: key_features must list the usage metrics that count as key features")
        if self.kind == ComponentKind.CSM_PULSE:
            if self.points:
                found.append(f"{where}: a pulse has no curve; set the good/neutral/concerned parameters instead")
        elif self.points:
            found.extend(f"{where}: {p}" for p in _curve_problems(self.points, spec))
        return found


def _curve_problems(points: Any, spec: KindSpec) -> list[str]:
    try:
        pairs = [(float(x), float(y)) for x, y in points]
    except (TypeError, ValueError):
        return [f"points must be (raw value, score) pairs, got {points!r}"]
    found = []
    if len(pairs) < 2:
        found.append("points need at least two (raw value, score) pairs")
    if not all(math.isfinite(x) and math.isfinite(y) for x, y in pairs):
        found.append("points must be finite numbers")
        return found
    xs = [x for x, _ in pairs]
    if any(b <= a for a, b in zip(xs, xs[1:], strict=False)):
        found.append(f"point raw values must strictly increase, got {', '.join(_num(x) for x in xs)}")
    if any(not 0 <= y <= 100 for _, y in pairs):
        found.append(f"point scores must be within 0–100, got {', '.join(_num(y) for _, y in pairs)}")
    if (spec.x_low is not None and min(xs) < spec.x_low) or (spec.x_high is not None and max(xs) > spec.x_high):
        low = "-∞" if spec.x_low is None else _num(spec.x_low)
        high = "∞" if spec.x_high is None else _num(spec.x_high)
        found.append(f"point raw values must be within {low}…{high}")
    return found


class HealthModelError(ValueError):
    """An invalid health model; ``problems`` lists every problem found, not just the first."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        super().__init__("invalid health model:\n- " + "\n- ".join(self.problems))


@dataclass(frozen=True)
class HealthModelConfig:
    """A versioned, validated health model. Constructing an invalid one raises ``HealthModelError``."""

    version: str | int
    components: tuple[ComponentConfig, ...]
    healthy_min: float = 70.0
    at_risk_below: float = 40.0
    # An account whose present components carry less than this share of the weight (0–100) gets no score,
    # like one with every input missing. 0 = any present input is enough. See ``default_model`` for why the
    # seed model asks for 25.
    min_present_weight: float = 0.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "components", tuple(self.components))
        found = self.problems()
        if found:
            raise HealthModelError(found)

    def problems(self) -> list[str]:
        found: list[str] = []
        if self.version is None or (isinstance(self.version, str) and not self.version.strip()):
            found.append("version must be set")
        if not self.components:
            found.append("a model needs at least one component")
        if len(self.components) > MAX_COMPONENTS:
            found.append(f"a model has at most {MAX_COMPONENTS} components, got {len(self.components)}")
        keys = [c.key for c in self.components if isinstance(c, ComponentConfig)]
        duplicates = sorted({k for k in keys if keys.count(k) > 1})
        if duplicates:
            found.append(f"component keys must be unique; repeated: {', '.join(duplicates)}")
        weights_valid = True
        for component in self.components:
            if not isinstance(component, ComponentConfig):
                found.append(f"components must be ComponentConfig, got {component!r}")
                weights_valid = False
                continue
            weights_valid &= _weight_ok(component.weight)
            found.extend(component.problems())
        if self.components and weights_valid:
            total = sum(c.weight for c in self.components)
            if abs(total - WEIGHT_TOTAL) > WEIGHT_TOLERANCE:
                found.append(f"weights must sum to 100, got {_num(total)}")
        if not all(isinstance(t, int | float) and math.isfinite(t) for t in (self.healthy_min, self.at_risk_below)):
            found.append("band thresholds must be finite numbers")
        elif not 0 <= self.at_risk_below < self.healthy_min <= 100:
            found.append(
                "band thresholds must satisfy 0 <= at_risk_below < healthy_min <= 100, got "
                f"at_risk_below={_num(self.at_risk_below)}, healthy_min={_num(self.healthy_min)}"
            )
        if not (isinstance(self.min_present_weight, int | float) and 0 <= self.min_present_weight <= 100):
            found.append(f"min_present_weight must be between 0 and 100, got {self.min_present_weight!r}")
        return found

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(c.key for c in self.components)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able description (what the Django side stores per model version)."""
        return {
            "version": self.version,
            "healthy_min": self.healthy_min,
            "at_risk_below": self.at_risk_below,
            "min_present_weight": self.min_present_weight,
            "components": [
                {
                    "key": c.key,
                    "kind": c.kind,
                    "label": c.label,
                    "weight": c.weight,
                    "points": [list(p) for p in c.points],
                    "params": {k: list(v) if isinstance(v, tuple) else v for k, v in c.params},
                }
                for c in self.components
            ],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> HealthModelConfig:
        components = tuple(
            ComponentConfig(
                kind=c["kind"],
                weight=c["weight"],
                points=tuple(tuple(p) for p in c.get("points", ())),
                params=c.get("params", {}),
                key=c.get("key", ""),
                label=c.get("label", ""),
            )
            for c in data["components"]
        )
        return cls(
            version=data["version"],
            components=components,
            healthy_min=data.get("healthy_min", 70.0),
            at_risk_below=data.get("at_risk_below", 40.0),
            min_present_weight=data.get("min_present_weight", 0.0),
        )


# The seed model for every new organization. Weights sum to 100 with and without feature breadth: breadth
# needs the org's own list of key features, so it joins the model (taking 5 points each from seat utilisation
# and usage trend) once those are known. It asks for at least 25 % of its weight to be backed by data: an
# account known only by having no open tickets (15 %), or only by its CSM's pulse (15 %), would otherwise
# score a confident 100 — the "flood of green" users distrust. Days to renewal is deliberately left out of
# the default: closeness to renewal is urgency, not health, and would pull every healthy account down as its
# date nears; an ops admin can add it with a small weight.
_DEFAULT_WEIGHTS: tuple[tuple[str, float], ...] = (
    (ComponentKind.SEAT_UTILISATION, 20.0),
    (ComponentKind.USAGE_TREND, 20.0),
    (ComponentKind.TOUCHPOINT_RECENCY, 10.0),
    (ComponentKind.NPS, 15.0),
    (ComponentKind.CSAT, 5.0),
    (ComponentKind.OPEN_PRIORITY_TICKETS, 10.0),
    (ComponentKind.ESCALATIONS, 5.0),
    (ComponentKind.CSM_PULSE, 15.0),
)


def default_model(*, key_features: Sequence[str] = (), version: str | int = "default-1") -> HealthModelConfig:
    """The seed health model: Healthy ≥ 70, At risk < 40, a score needs ≥ 25 % of the weight present; every
    component with its kind's default curve and parameters.

    Without ``key_features`` it has 8 components; with them, feature breadth joins at weight 10 (9 components).
    """
    weights = dict(_DEFAULT_WEIGHTS)
    components = []
    for kind, weight in weights.items():
        if key_features and kind in (ComponentKind.SEAT_UTILISATION, ComponentKind.USAGE_TREND):
            weight -= 5.0
        components.append(ComponentConfig(kind=kind, weight=weight))
        if key_features and kind == ComponentKind.USAGE_TREND:
            components.append(
                ComponentConfig(kind=ComponentKind.FEATURE_BREADTH, weight=10.0, params={"key_features": key_features})
            )
    return HealthModelConfig(version=version, components=tuple(components), min_present_weight=25.0)


def _weight_ok(weight: Any) -> bool:
    is_number = isinstance(weight, int | float) and not isinstance(weight, bool)
    return is_number and math.isfinite(weight) and weight > 0


def _num(value: float) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)
