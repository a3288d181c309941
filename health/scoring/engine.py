"""Scores, bands, contributions and the top detractor, from raw signals and a health model.

For one account with components k, raw values r_k, configured weights w_k (summing to 100):
- component score     s_k = curve_k(r_k), 0–100; missing when r_k is NaN
- effective weight    e_k = w_k × 100 ÷ Σ_{present j} w_j for present k, 0 for missing k (so Σ e_k = 100):
                      a missing weight is redistributed proportionally over the present components
- contribution        c_k = s_k × e_k ÷ 100 (0 for missing k); the score is Σ c_k, rounded half up to one
                      decimal (``published_score``)
- band                from the rounded score (see ``config``: ≥ healthy_min healthy, < at_risk_below at risk)
- top detractor       the present component with the largest (100 − s_k) × e_k — the one costing the most
                      points; ``top_detractor_points`` = that ÷ 100. Ties go to the earlier component in
                      the model. None when nothing costs anything (every present component at 100).
- no score            when every component is missing, or the present ones carry less than the model's
                      ``min_present_weight``: score NaN, band "unknown", top detractor None, every effective
                      weight and contribution 0 (component scores are still reported, ``missing`` says which
                      inputs were absent).

Contributions and component scores are kept unrounded so they add up exactly to the unrounded score.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .config import Band, HealthModelConfig
from .signals import OBSERVED_SUFFIX

ACCOUNT_COLUMNS = ("score", "band", "model_version", "missing", "top_detractor", "top_detractor_points")
COMPONENT_COLUMNS = (
    "account_id",
    "component",
    "kind",
    "label",
    "raw_value",
    "score",
    "weight",
    "effective_weight",
    "contribution",
    "missing",
    "observed_on",
)


@dataclass(frozen=True, eq=False)
class ScoreResult:
    """``accounts``: one row per account (index ``account_id``, sorted) with ``ACCOUNT_COLUMNS``.
    ``components``: one row per account and component (sorted by account, then model order) with
    ``COMPONENT_COLUMNS`` — everything a snapshot stores to say why a score is what it is."""

    model_version: str | int
    accounts: pd.DataFrame
    components: pd.DataFrame


def band_for(scores: np.ndarray | pd.Series | float, config: HealthModelConfig) -> np.ndarray:
    """Band of each score: healthy if ≥ healthy_min, at_risk if < at_risk_below, stable between, unknown if NaN.

    ``score`` applies it to the published (rounded) score.
    """
    values = np.atleast_1d(np.asarray(scores, dtype=np.float64))
    return np.select(
        [np.isnan(values), values >= config.healthy_min, values < config.at_risk_below],
        [Band.UNKNOWN.value, Band.HEALTHY.value, Band.AT_RISK.value],
        default=Band.STABLE.value,
    ).astype(object)


def published_score(values: np.ndarray) -> np.ndarray:
    """Round to one decimal, half up, after discarding binary float noise below 1e-9.

    Curves produce values like 49.99999999999999 for what is arithmetically 50 (0.3 / 0.6 in floats), and
    numpy's round-half-to-even would then publish a hand-computed 53.75 as 53.7. Scores are read against
    hand arithmetic, so 53.75 publishes as 53.8 and 39.95 as 40.0.
    """
    return np.floor(np.round(values, 9) * 10.0 + 0.5) / 10.0


def component_scores(raw: np.ndarray, config: HealthModelConfig) -> np.ndarray:
    """Map an (accounts × components) matrix of raw values to 0–100 scores through each curve (NaN stays NaN)."""
    scores = np.full(raw.shape, np.nan)
    for k, component in enumerate(config.components):  # a loop over components, never over accounts
        xs, ys = component.curve()
        column = raw[:, k]
        present = ~np.isnan(column)
        scores[present, k] = np.interp(column[present], xs, ys)
    return np.round(scores, 9)  # 0.3 / 0.6 in floats is 0.49999999999999994: store 50, not 49.99999999999999


def score(signals: pd.DataFrame, config: HealthModelConfig) -> ScoreResult:
    """Score every account of ``signals`` (as returned by ``compute_signals``) with ``config``.

    ``signals`` needs one float column per component key (NaN = missing); ``<key>__observed_on`` columns
    are optional and carried into ``components.observed_on``.
    """
    keys = list(config.keys)
    absent = [k for k in keys if k not in signals.columns]
    if absent:
        raise ValueError(f"signals lack the column(s) of component(s): {', '.join(absent)}")
    if not signals.index.is_unique:
        raise ValueError("signals must have one row per account; repeated account_id in the index")
    signals = signals.sort_index(kind="mergesort")
    account_ids = signals.index
    n, k_count = len(signals), len(keys)

    raw = signals[keys].to_numpy(dtype=np.float64, copy=True)
    scores = component_scores(raw, config)
    present = ~np.isnan(scores)
    weights = np.array([c.weight for c in config.components], dtype=np.float64)
    present_weights = np.where(present, weights, 0.0)
    total_weight = present_weights.sum(axis=1)
    scored = (total_weight > 0) & (total_weight >= config.min_present_weight - 1e-9)
    with np.errstate(invalid="ignore", divide="ignore"):
        effective = np.where(scored[:, None], present_weights * 100.0 / total_weight[:, None], 0.0)
    contribution = np.where(present & scored[:, None], scores * effective / 100.0, 0.0)
    published = published_score(np.where(scored, contribution.sum(axis=1), np.nan))

    drag = np.where(present & scored[:, None], (100.0 - scores) * effective, 0.0)
    top_index = drag.argmax(axis=1) if k_count else np.zeros(n, dtype=np.int64)
    top_drag = drag[np.arange(n), top_index] if n else np.zeros(0)
    keys_array = np.array(keys, dtype=object)
    top_detractor = np.where(top_drag > 0, keys_array[top_index], None)

    accounts = pd.DataFrame(
        {
            "score": published,
            "band": band_for(published, config) if n else np.array([], dtype=object),
            "model_version": np.full(n, config.version, dtype=object),
            "missing": pd.Series(_missing_tuples(present, keys), index=account_ids, dtype=object),
            "top_detractor": pd.Series(top_detractor, index=account_ids, dtype=object),  # None, not NaN
            "top_detractor_points": np.where(scored, top_drag / 100.0, np.nan),
        },
        index=account_ids,
    )

    observed = np.full((n, k_count), np.datetime64("NaT"), dtype="datetime64[s]")
    for k, key in enumerate(keys):  # optional columns; absent ones stay NaT
        if key + OBSERVED_SUFFIX in signals.columns:
            observed[:, k] = signals[key + OBSERVED_SUFFIX].to_numpy(dtype="datetime64[s]")
    components = pd.DataFrame(
        {
            "account_id": np.repeat(account_ids.to_numpy(), k_count),
            "component": np.tile(keys_array, n),
            "kind": np.tile(np.array([c.kind for c in config.components], dtype=object), n),
            "label": np.tile(np.array([c.label for c in config.components], dtype=object), n),
            "raw_value": raw.ravel(),
            "score": scores.ravel(),
            "weight": np.tile(weights, n),
            "effective_weight": effective.ravel(),
            "contribution": contribution.ravel(),
            "missing": ~present.ravel(),
            "observed_on": observed.ravel(),
        }
    )
    return ScoreResult(model_version=config.version, accounts=accounts, components=components)


def _missing_tuples(present: np.ndarray, keys: list[str]) -> np.ndarray:
    """Per account, the keys of its missing components (model order) as a tuple.

    Vectorised: each account's missing set is encoded as a bitmask, and only the distinct masks (at most
    2^components, in practice a handful) are turned into tuples.
    """
    n = present.shape[0]
    if n == 0:
        return np.empty(0, dtype=object)
    bits = np.left_shift(np.int64(1), np.arange(len(keys), dtype=np.int64))
    masks = (~present).astype(np.int64) @ bits
    distinct, inverse = np.unique(masks, return_inverse=True)
    tuples = np.empty(len(distinct), dtype=object)
    for position, mask in enumerate(distinct):  # element-wise: numpy would read a list of tuples as 2-D
        tuples[position] = tuple(key for bit, key in zip(bits, keys, strict=True) if mask & bit)
    return tuples[inverse.ravel()]
