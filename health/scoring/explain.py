"""Why a score moved, in a sentence per account, from two ``ScoreResult.components`` frames.

A component *moved* when its score changed or it became missing / present again. Components whose score did
not change but whose contribution shifted only because another component's weight was redistributed are
side effects, not causes, and are not named. Movers are ranked by how many points of the total score their
contribution changed (|Δ contribution|); those below ``min_points`` are not material. The ``max_items``
largest are listed, e.g.:

    "Usage trend fell from 72 to 31 (usage at 95% → 69% of the prior period); NPS fell from 75 to 25
     (NPS +50 → -50, latest response 3 May 2025)"

Kinds where a higher raw value is worse (days since touchpoint, ticket counts) say "worsened / improved"
instead of "fell / rose", because their score and their raw value move in opposite directions. An account
with no material mover reads "No material change". An account without a score on one side (absent from that
frame, or unscored there: every input missing or too little weight present) reads "No previous score" or
"No current score" — the band change to or from "unknown" says the rest.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from .config import KIND_SPECS, PULSE_NAMES, ComponentKind

NO_CHANGE = "No material change"
NO_PREVIOUS = "No previous score"
NO_CURRENT = "No current score"

_COLUMNS = [
    "account_id",
    "component",
    "kind",
    "label",
    "raw_value",
    "score",
    "effective_weight",
    "contribution",
    "missing",
    "observed_on",
]

# How a raw value reads: (prefix, suffix, format) per kind. Formats: pct = ratio shown as %, pct100 = already
# a %, int, signed (NPS), pulse (good / neutral / concerned).
_RAW_TEXT: dict[str, tuple[str, str, str]] = {
    ComponentKind.SEAT_UTILISATION: ("", " of seats in use", "pct"),
    ComponentKind.USAGE_TREND: ("usage at ", " of the prior period", "pct"),
    ComponentKind.FEATURE_BREADTH: ("", " of key features used", "pct"),
    ComponentKind.TOUCHPOINT_RECENCY: ("", " days since the last touchpoint", "int"),
    ComponentKind.NPS: ("NPS ", "", "signed"),
    ComponentKind.CSAT: ("", " satisfied", "pct100"),
    ComponentKind.OPEN_PRIORITY_TICKETS: ("", " open", "int"),
    ComponentKind.ESCALATIONS: ("", " escalated", "int"),
    ComponentKind.DAYS_TO_RENEWAL: ("", " days to renewal", "int"),
    ComponentKind.CSM_PULSE: ("", "", "pulse"),
}
_PREFIX = {kind: text[0] for kind, text in _RAW_TEXT.items()}
_SUFFIX = {kind: text[1] for kind, text in _RAW_TEXT.items()}
_STYLE = {kind: text[2] for kind, text in _RAW_TEXT.items()}
_WORSE_WHEN_HIGHER = [kind for kind, spec in KIND_SPECS.items() if spec.higher_is_worse]
_EVENT_TEXT: dict[str, str] = {
    ComponentKind.NPS: ", latest response ",
    ComponentKind.CSAT: ", latest response ",
    ComponentKind.CSM_PULSE: ", recorded ",
}


def explain_change(
    previous: pd.DataFrame, current: pd.DataFrame, *, min_points: float = 1.0, max_items: int = 2,
    component_order: Sequence[str] | None = None,
) -> pd.Series:
    """One sentence per account (index ``account_id``, sorted) saying which components moved the score.

    ``previous`` and ``current`` are ``ScoreResult.components`` frames (e.g. last week's and today's
    snapshot); they may come from different model versions (a component only on one side counts as missing
    on the other). ``component_order`` breaks ties between equally large movers (default: the components
    in order of appearance, current first — ``component_order_of``); pass the whole run's order when
    explaining it in parts, so that every part words its accounts as the whole would.
    """
    if max_items < 1:
        raise ValueError("max_items must be at least 1")
    previous, current = _prepared(previous), _prepared(current)
    accounts = pd.Index(pd.concat([previous["account_id"], current["account_id"]]).unique()).sort_values()
    previous_scored, current_scored = _scored_accounts(previous), _scored_accounts(current)

    # model order of the components (current model first), for ties between equally large movers
    component_order = pd.Index(component_order if component_order is not None
                               else component_order_of(previous, current))
    rows = current.merge(previous, on=["account_id", "component"], how="outer", suffixes=("", "_prev"))
    rows = rows[rows["account_id"].isin(previous_scored) & rows["account_id"].isin(current_scored)]
    rows = rows.assign(
        kind=rows["kind"].fillna(rows["kind_prev"]),
        label=rows["label"].fillna(rows["label_prev"]),
        missing=rows["missing"].astype("boolean").fillna(True).astype(bool),
        missing_prev=rows["missing_prev"].astype("boolean").fillna(True).astype(bool),
        order=component_order.get_indexer(rows["component"]),
    )
    # a component absent from one model version contributes 0 there
    delta = rows["contribution"].fillna(0.0) - rows["contribution_prev"].fillna(0.0)
    both = ~rows["missing"] & ~rows["missing_prev"]
    score_moved = both & ((rows["score"] - rows["score_prev"]).abs() > 1e-9)
    moved = score_moved | (rows["missing"] != rows["missing_prev"])
    rows = rows.assign(abs_delta=delta.abs())[moved & (delta.abs() >= min_points)]

    explanation = pd.Series(NO_CHANGE, index=accounts, dtype=object, name="explanation")
    explanation.index.name = "account_id"
    if len(rows):
        rows = rows.sort_values(["account_id", "abs_delta", "order"], ascending=[True, False, True], kind="mergesort")
        rows = rows.assign(rank=rows.groupby("account_id", sort=False).cumcount())
        rows = rows[rows["rank"] < max_items]
        rows = rows.assign(phrase=_phrases(rows))
        wide = rows.pivot(index="account_id", columns="rank", values="phrase")
        text = wide[0].astype(object)
        for rank in range(1, wide.shape[1]):
            following = wide[rank]
            text = text + np.where(following.notna(), "; " + following.fillna("").astype(object), "")
        explanation.loc[text.index] = text.to_numpy()
    explanation[~explanation.index.isin(previous_scored)] = NO_PREVIOUS
    explanation[~explanation.index.isin(current_scored)] = NO_CURRENT
    return explanation


def component_order_of(previous: pd.DataFrame, current: pd.DataFrame) -> list[str]:
    """The components in order of appearance (the current model's first): ``explain_change``'s tie-break."""
    return pd.unique(pd.concat([current["component"], previous["component"]])).tolist()


def _scored_accounts(components: pd.DataFrame) -> pd.Index:
    """Accounts that have a score: an unscored account has every effective weight at 0."""
    weight = components.groupby("account_id", sort=False)["effective_weight"].sum()
    return weight.index[weight > 0]


def _prepared(components: pd.DataFrame) -> pd.DataFrame:
    frame = components.copy()
    if "observed_on" not in frame.columns:
        frame["observed_on"] = pd.NaT
    absent = [c for c in _COLUMNS if c not in frame.columns]
    if absent:
        raise ValueError(f"components frame lacks column(s): {', '.join(absent)}")
    frame["observed_on"] = pd.to_datetime(frame["observed_on"])
    return frame[_COLUMNS]


def _phrases(rows: pd.DataFrame) -> np.ndarray:
    """The sentence fragment of each mover row (vectorised over rows: numpy object-array concatenation)."""
    kind = rows["kind"].to_numpy(dtype=object)
    label = rows["label"].to_numpy(dtype=object)
    now, before = ~rows["missing"].to_numpy(dtype=bool), ~rows["missing_prev"].to_numpy(dtype=bool)
    score_now = _int_text(rows["score"].to_numpy(dtype=float))
    score_before = _int_text(rows["score_prev"].to_numpy(dtype=float))
    raw_now = _raw_text(kind, rows["raw_value"].to_numpy(dtype=float))
    raw_before = _raw_text(kind, rows["raw_value_prev"].to_numpy(dtype=float))
    prefix, suffix = _lookup(kind, _PREFIX, ""), _lookup(kind, _SUFFIX, "")
    observed_now, observed_before = rows["observed_on"], rows["observed_on_prev"]
    new_observation = np.isin(kind, list(_EVENT_TEXT)) & (
        observed_now.notna() & (observed_now != observed_before)
    ).to_numpy(dtype=bool)
    event = np.full(len(rows), "", dtype=object)
    event[new_observation] = _lookup(kind[new_observation], _EVENT_TEXT, "") + _date_text(observed_now[new_observation])

    went_up = rows["score"].to_numpy(dtype=float) > rows["score_prev"].to_numpy(dtype=float)
    worse_when_higher = np.isin(kind, _WORSE_WHEN_HIGHER)
    verb = np.select(
        [worse_when_higher & went_up, worse_when_higher, went_up], ["improved", "worsened", "rose"], default="fell"
    ).astype(object)
    # a pulse that is still the same recording but no longer counts has expired
    expired = (kind == ComponentKind.CSM_PULSE) & (observed_now == observed_before).to_numpy()

    out = np.full(len(rows), "", dtype=object)
    for case, build in (
        (now & before, lambda m: label[m] + " " + verb[m] + " from " + score_before[m] + " to " + score_now[m]
            + " (" + prefix[m] + raw_before[m] + " → " + raw_now[m] + suffix[m] + event[m] + ")"),
        (now & ~before, lambda m: label[m] + " now counted at " + score_now[m]
            + " (" + prefix[m] + raw_now[m] + suffix[m] + event[m] + ")"),
        (~now & before & expired, lambda m: label[m] + " expired (was " + score_before[m] + ": " + raw_before[m] + ")"),
        (~now & before & ~expired, lambda m: label[m] + " no longer counted (was " + score_before[m] + ")"),
    ):  # fmt: skip
        out[case] = build(case)  # four cases, each vectorised over its rows
    return out


def _lookup(kinds: np.ndarray, mapping: dict[str, str], default: str) -> np.ndarray:
    """``mapping[kind]`` for each kind (``default`` for unknown kinds), by one hash lookup per row."""
    table = np.array([*mapping.values(), default], dtype=object)
    return table[pd.Index(list(mapping)).get_indexer(kinds)]  # -1 (unknown) picks the default at the end


def _int_text(values: np.ndarray) -> np.ndarray:
    present = ~np.isnan(values)
    text = np.full(len(values), "?", dtype=object)
    text[present] = np.round(values[present]).astype(np.int64).astype(str).astype(object)
    return text


def _raw_text(kinds: np.ndarray, raw: np.ndarray) -> np.ndarray:
    style = _lookup(kinds, _STYLE, "int")
    number = _int_text(np.where(style == "pct", raw * 100.0, raw))
    signed = np.where(raw > 0, "+" + number, number)
    names = np.array([PULSE_NAMES[code] for code in sorted(PULSE_NAMES)] + ["?"], dtype=object)
    codes = np.where(np.isin(raw, list(PULSE_NAMES)), np.nan_to_num(raw, nan=-1), -1).astype(np.int64)
    pulse = names[codes]  # -1 → "?"
    return np.select(
        [np.isin(style, ["pct", "pct100"]), style == "signed", style == "pulse"],
        [number + "%", signed, pulse],
        default=number,
    ).astype(object)


_MONTHS = np.array(["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"], dtype=object)


def _date_text(dates: pd.Series) -> np.ndarray:
    """'3 May 2025' for each (present) date; vectorised, where strftime is per-element Python."""
    shown = dates.dt
    day = shown.day.to_numpy().astype(str).astype(object)
    year = shown.year.to_numpy().astype(str).astype(object)
    return day + " " + _MONTHS[shown.month.to_numpy() - 1] + " " + year
