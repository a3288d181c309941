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
    # Accounts as integer codes in sorted order, components as integer codes: every step below is integer work
    # (the account ids are text; hashing 2 × 800k of them per step was most of the cost at 100k accounts).
    account_code, accounts = _sorted_codes(np.concatenate([previous["account_id"].to_numpy(dtype=object),
                                                           current["account_id"].to_numpy(dtype=object)]))
    n_prev = len(previous)
    prev_account, cur_account = account_code[:n_prev], account_code[n_prev:]
    component_code, components = _sorted_codes(np.concatenate([previous["component"].to_numpy(dtype=object),
                                                               current["component"].to_numpy(dtype=object)]))
    prev_component, cur_component = component_code[:n_prev], component_code[n_prev:]
    n = len(accounts)
    previous_scored, current_scored = _scored(prev_account, previous, n), _scored(cur_account, current, n)

    # model order of the components (current model first), for ties between equally large movers
    order_of = pd.Index(component_order if component_order is not None
                        else component_order_of(previous, current)).get_indexer(components)

    # full outer join on (account, component): every current row, then the previous rows no current row matches
    width = max(len(components), 1)
    prev_key = prev_account * width + prev_component
    match = pd.Index(prev_key).get_indexer(cur_account * width + cur_component)  # -1: no previous row
    only_prev = np.ones(n_prev, dtype=bool)
    only_prev[match[match >= 0]] = False
    prev_rows = np.concatenate([match, np.flatnonzero(only_prev)])  # previous row per joined row (-1: none)
    cur_rows = np.concatenate([np.arange(len(current)), np.full(int(only_prev.sum()), -1)])
    account = np.concatenate([cur_account, prev_account[only_prev]])
    component = np.concatenate([cur_component, prev_component[only_prev]])
    cur, prev = _side(current, cur_rows), _side(previous, prev_rows)

    both_scored = previous_scored[account] & current_scored[account]
    missing = np.where(cur_rows >= 0, cur["missing"], True)
    missing_prev = np.where(prev_rows >= 0, prev["missing"], True)
    # a component absent from one model version contributes 0 there
    delta = np.nan_to_num(cur["contribution"], nan=0.0) - np.nan_to_num(prev["contribution"], nan=0.0)
    both = ~missing & ~missing_prev
    with np.errstate(invalid="ignore"):
        score_moved = both & (np.abs(cur["score"] - prev["score"]) > 1e-9)
    moved = score_moved | (missing != missing_prev)
    picked = np.flatnonzero(both_scored & moved & (np.abs(delta) >= min_points))

    texts = np.full(n, NO_CHANGE, dtype=object)
    if len(picked):
        # per account, the biggest |Δ contribution| first; ties in model order, then by component key
        abs_delta = np.abs(delta[picked])
        picked = picked[np.lexsort((component[picked], order_of[component[picked]], -abs_delta, account[picked]))]
        group = account[picked]
        first = np.r_[True, group[1:] != group[:-1]]
        rank = np.arange(len(picked)) - np.maximum.accumulate(np.where(first, np.arange(len(picked)), 0))
        picked, rank, group = picked[rank < max_items], rank[rank < max_items], group[rank < max_items]
        phrase = _phrases(pd.DataFrame({
            "kind": _filled(cur["kind"][picked], prev["kind"][picked]),
            "label": _filled(cur["label"][picked], prev["label"][picked]),
            "missing": missing[picked], "missing_prev": missing_prev[picked],
            **{f"{name}{suffix}": side[name][picked] for name in ("score", "raw_value", "observed_on")
               for suffix, side in (("", cur), ("_prev", prev))},
        }))
        for r in range(max_items):
            at = rank == r
            texts[group[at]] = phrase[at] if r == 0 else texts[group[at]] + "; " + phrase[at]
    texts[~previous_scored] = NO_PREVIOUS
    texts[~current_scored] = NO_CURRENT
    return pd.Series(texts, index=pd.Index(accounts, name="account_id"), dtype=object, name="explanation")


def _sorted_codes(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Integer codes of ``values`` numbered in sorted order of the distinct values, and those values sorted.
    Runs of equal neighbours (a frame's rows come account by account) are hashed once per run."""
    if not len(values):
        return np.zeros(0, dtype=np.int64), np.empty(0, dtype=object)
    starts = np.flatnonzero(np.r_[True, values[1:] != values[:-1]])
    run_codes, distinct = pd.factorize(values[starts])
    sorter = np.argsort(np.asarray(distinct, dtype=object), kind="stable")
    rank = np.empty(len(sorter), dtype=np.int64)
    rank[sorter] = np.arange(len(sorter))
    codes = np.repeat(rank[run_codes], np.diff(np.r_[starts, len(values)]))
    return codes, np.asarray(distinct, dtype=object)[sorter]


def _scored(account: np.ndarray, components: pd.DataFrame, n: int) -> np.ndarray:
    """Per account code: has a score (an unscored account has every effective weight at 0; an absent one has none)."""
    weights = np.nan_to_num(components["effective_weight"].to_numpy(dtype=np.float64), nan=0.0)
    return np.bincount(account, weights=weights, minlength=n) > 0


def _side(frame: pd.DataFrame, rows: np.ndarray) -> dict[str, np.ndarray]:
    """One side's columns for the joined rows (``rows``: that side's row per joined row, -1 for none → NaN/NaT)."""
    present = rows >= 0
    at = np.where(present, rows, 0)
    out = {}
    for name in ("score", "raw_value", "contribution"):
        values = frame[name].to_numpy(dtype=np.float64)
        out[name] = np.where(present, values[at] if len(values) else np.nan, np.nan)
    observed = frame["observed_on"].to_numpy(dtype="datetime64[s]")
    out["observed_on"] = np.where(present, observed[at] if len(observed) else np.datetime64("NaT"),
                                  np.datetime64("NaT", "s"))
    missing = frame["missing"].to_numpy(dtype=bool)
    out["missing"] = np.where(present, missing[at] if len(missing) else True, True)
    for name in ("kind", "label"):
        values = frame[name].to_numpy(dtype=object)
        picked = values[at] if len(values) else np.full(len(rows), None, dtype=object)
        out[name] = np.where(present, picked, None)
    return out


def _filled(values: np.ndarray, fallback: np.ndarray) -> np.ndarray:
    """``values`` with the missing ones (None/NaN) taken from ``fallback``."""
    return np.where(pd.isna(values), fallback, values)


def component_order_of(previous: pd.DataFrame, current: pd.DataFrame) -> list[str]:
    """The components in order of appearance (the current model's first): ``explain_change``'s tie-break."""
    return pd.unique(pd.concat([current["component"], previous["component"]])).tolist()


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
