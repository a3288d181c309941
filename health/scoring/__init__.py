"""The health scoring engine: pure pandas/numpy, vectorised over all accounts of an organization, deterministic.

It imports nothing from Django (ARCHITECTURE.md): the Django side loads signals into DataFrames, calls

    signals = compute_signals(ScoringInputs(as_of=..., accounts=..., usage=..., ...), model)
    result = score(signals, model)          # result.accounts, result.components
    why = explain_change(last_week.components, result.components)

and stores what comes back. Definitions: METRICS.md (Health, Surveys). Contracts and edge semantics are
documented in each module: ``inputs`` (frames and columns), ``signals`` (windows, what counts as missing,
pulse expiry), ``config`` (weights, curves, band edges), ``engine`` (reweighting, contributions, top
detractor), ``explain`` (the sentence).
"""

from .config import (
    KIND_SPECS,
    Band,
    ComponentConfig,
    ComponentKind,
    HealthModelConfig,
    HealthModelError,
    default_model,
)
from .engine import ScoreResult, band_for, component_scores, published_score, score
from .explain import NO_CHANGE, component_order_of, explain_change
from .inputs import InputError, ScoringInputs, empty_frame
from .signals import OBSERVED_SUFFIX, compute_signals

__all__ = [
    "KIND_SPECS",
    "NO_CHANGE",
    "OBSERVED_SUFFIX",
    "Band",
    "ComponentConfig",
    "ComponentKind",
    "HealthModelConfig",
    "HealthModelError",
    "InputError",
    "ScoreResult",
    "ScoringInputs",
    "band_for",
    "component_scores",
    "compute_signals",
    "default_model",
    "empty_frame",
    "explain_change",
    "component_order_of",
    "published_score",
    "score",
]
