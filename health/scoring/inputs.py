"""The engine's input contract: raw signals for ALL accounts of one organization, as long DataFrames.

Every frame may carry extra columns (ignored). Date columns are calendar days in the organization's own
timezone: datetime64 columns are fastest, ``datetime.date`` objects and ISO strings are accepted; a
time-of-day part is dropped; timezone-aware values are refused (convert to the org's local date first).
``account_id`` is an integer or a string, the same type in every frame. Rows whose account is not in
``accounts`` are ignored, as are rows dated after ``as_of`` — so scoring a past day on today's data gives
the answer that day would have had (backfills, model validation on history).

``accounts`` (required, one row per account to score)
    account_id        int | str, unique
    licensed_seats    float, optional column; NaN or ≤ 0 = unknown
    renewal_date      date, optional column; NaT = none
``usage`` (product usage, one row per account, day and metric; days without a row count as zero)
    account_id, date, metric (str, matched exactly; a categorical column is fastest at tens of millions of
    rows — e.g. ``pd.Categorical.from_codes`` over metric ids), value (float, finite, ≥ 0)
``surveys``
    account_id, contact_id (null = anonymous: each such response is its own respondent), responded_on,
    kind ("nps" 0–10 | "csat" 1–5 | "ces" 1–7), score
``tickets`` (``None`` = the organization has no support feed: ticket components are missing for every
account; a frame, even empty, means the feed exists and an account without tickets has none open)
    account_id, opened_on, closed_on (NaT = still open), priority (str, case-insensitive), escalated (bool)
``touchpoints``
    account_id, occurred_on (one row per touchpoint, or just each account's latest)
``pulses`` (CSM pulses)
    account_id, value ("good" | "neutral" | "concerned"), recorded_on,
    valid_days (int ≥ 1, optional column; null = the component's ``validity_days``)
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .config import PULSE_CODES

SURVEY_SCALES: dict[str, tuple[float, float]] = {"nps": (0, 10), "csat": (1, 5), "ces": (1, 7)}

REQUIRED_COLUMNS: dict[str, tuple[str, ...]] = {
    "accounts": ("account_id",),
    "usage": ("account_id", "date", "metric", "value"),
    "surveys": ("account_id", "contact_id", "responded_on", "kind", "score"),
    "tickets": ("account_id", "opened_on", "closed_on", "priority", "escalated"),
    "touchpoints": ("account_id", "occurred_on"),
    "pulses": ("account_id", "value", "recorded_on"),
}
OPTIONAL_COLUMNS: dict[str, tuple[str, ...]] = {
    "accounts": ("licensed_seats", "renewal_date"),
    "pulses": ("valid_days",),
}
_DATE_COLUMNS: dict[str, tuple[str, ...]] = {
    "accounts": ("renewal_date",),
    "usage": ("date",),
    "surveys": ("responded_on",),
    "tickets": ("opened_on", "closed_on"),
    "touchpoints": ("occurred_on",),
    "pulses": ("recorded_on",),
}
_NULLABLE_DATES = {("accounts", "renewal_date"), ("tickets", "closed_on")}


class InputError(ValueError):
    """Inputs that break the contract; ``problems`` lists every problem found."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("invalid scoring inputs:\n- " + "\n- ".join(problems))


@dataclass(frozen=True, eq=False)
class ScoringInputs:
    """Raw signals of one organization and the calendar day to score them for.

    Frames are checked and normalised on construction (dates parsed, text values lower-cased where the
    contract says case-insensitive); a broken contract raises ``InputError`` listing every problem.
    """

    as_of: dt.date
    accounts: pd.DataFrame
    usage: pd.DataFrame | None = None
    surveys: pd.DataFrame | None = None
    tickets: pd.DataFrame | None = None
    touchpoints: pd.DataFrame | None = None
    pulses: pd.DataFrame | None = None

    def __post_init__(self) -> None:
        problems: list[str] = []
        if isinstance(self.as_of, dt.datetime) or not isinstance(self.as_of, dt.date):
            problems.append(f"as_of must be a calendar date (datetime.date), got {self.as_of!r}")
        for name in REQUIRED_COLUMNS:
            frame = getattr(self, name)
            if frame is None and name == "tickets":
                continue
            if frame is None:
                frame = empty_frame(name)
            normalised, frame_problems = _normalise(name, frame)
            problems.extend(frame_problems)
            object.__setattr__(self, name, normalised)
        if not problems:
            problems.extend(self._id_problems())
        if problems:
            raise InputError(problems)

    @property
    def has_ticket_feed(self) -> bool:
        return self.tickets is not None

    def _id_problems(self) -> list[str]:
        found = []
        ids = self.accounts["account_id"]
        if ids.isna().any():
            found.append("accounts.account_id has empty values")
        if ids.duplicated().any():
            found.append(f"accounts.account_id repeats: {list(ids[ids.duplicated()].unique()[:5])}")
        family = _id_family(ids)
        for name in ("usage", "surveys", "tickets", "touchpoints", "pulses"):
            frame = getattr(self, name)
            if frame is not None and len(frame) and _id_family(frame["account_id"]) != family:
                found.append(
                    f"{name}.account_id is {frame['account_id'].dtype} but accounts.account_id is {ids.dtype}; "
                    "use the same id type in every frame"
                )
        return found


def empty_frame(name: str) -> pd.DataFrame:
    """An empty frame with the contract's columns (dates typed), e.g. for an org without surveys yet."""
    columns = REQUIRED_COLUMNS[name] + OPTIONAL_COLUMNS.get(name, ())
    frame = pd.DataFrame({column: pd.Series([], dtype=object) for column in columns})
    for column in _DATE_COLUMNS.get(name, ()):
        frame[column] = pd.Series([], dtype="datetime64[s]")
    return frame


def _normalise(name: str, frame: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    if not isinstance(frame, pd.DataFrame):
        return frame, [f"{name} must be a pandas DataFrame, got {type(frame).__name__}"]
    missing = [c for c in REQUIRED_COLUMNS[name] if c not in frame.columns]
    if missing:
        return frame, [f"{name} lacks column(s): {', '.join(missing)}"]
    problems: list[str] = []
    changes: dict[str, pd.Series] = {}
    for column in _DATE_COLUMNS[name]:
        if column not in frame.columns:
            changes[column] = pd.Series(pd.NaT, index=frame.index, dtype="datetime64[s]")
            continue
        dates, problem = _as_dates(frame[column], f"{name}.{column}")
        if problem:
            problems.append(problem)
            continue
        if (name, column) not in _NULLABLE_DATES and dates.isna().any():
            problems.append(f"{name}.{column} has {int(dates.isna().sum())} empty value(s)")
        changes[column] = dates
    if name == "accounts":
        seats = frame["licensed_seats"] if "licensed_seats" in frame.columns else pd.Series(np.nan, index=frame.index)
        changes["licensed_seats"], problem = _as_float(seats, "accounts.licensed_seats")
        problems += [problem] if problem else []
    elif name == "usage":
        values, problem = _as_float(frame["value"], "usage.value")
        if problem:
            problems.append(problem)
        elif not (np.isfinite(values.to_numpy()) & (values.to_numpy() >= 0)).all():
            problems.append("usage.value must be finite and ≥ 0")
        changes["value"] = values
    elif name == "surveys":
        problems += _survey_problems(frame, changes)
    elif name == "tickets":
        changes["priority"] = _clean_text(frame["priority"])
        changes["escalated"] = frame["escalated"].fillna(False).astype(bool)
    elif name == "pulses":
        problems += _pulse_problems(frame, changes)
    return frame.assign(**changes), problems


def _survey_problems(frame: pd.DataFrame, changes: dict[str, pd.Series]) -> list[str]:
    problems = []
    kinds = _clean_text(frame["kind"])
    unknown = sorted(set(kinds.dropna().unique()) - set(SURVEY_SCALES))
    if unknown or kinds.isna().any():
        problems.append(f"surveys.kind must be one of {', '.join(SURVEY_SCALES)}; got {unknown or 'empty'}")
    scores, problem = _as_float(frame["score"], "surveys.score")
    if problem:
        return [*problems, problem]
    for kind, (low, high) in SURVEY_SCALES.items():
        bad = (kinds == kind).fillna(False).to_numpy() & ~((scores >= low) & (scores <= high)).to_numpy()
        if bad.any():
            problems.append(f"surveys.score for {kind} must be within {low}–{high}; {int(bad.sum())} row(s) are not")
    changes["kind"] = kinds
    changes["score"] = scores
    return problems


def _pulse_problems(frame: pd.DataFrame, changes: dict[str, pd.Series]) -> list[str]:
    problems = []
    values = _clean_text(frame["value"])
    unknown = sorted(set(values.dropna().unique()) - set(PULSE_CODES))
    if unknown or values.isna().any():
        problems.append(f"pulses.value must be one of {', '.join(PULSE_CODES)}; got {unknown or 'empty'}")
    changes["value"] = values
    valid_days = frame["valid_days"] if "valid_days" in frame.columns else pd.Series(np.nan, index=frame.index)
    valid_days, problem = _as_float(valid_days, "pulses.valid_days")
    if problem:
        problems.append(problem)
    elif (valid_days < 1).any():
        problems.append("pulses.valid_days must be ≥ 1 (or empty for the model's default)")
    changes["valid_days"] = valid_days
    return problems


def _clean_text(series: pd.Series) -> pd.Series:
    """Stripped, lower-cased text (missing stays missing). Works on the distinct values, then maps them back,
    so it costs one hash pass over the rows instead of two string operations per row."""
    codes, distinct = pd.factorize(series)
    cleaned = np.array([str(value).strip().lower() for value in distinct] + [None], dtype=object)
    return pd.Series(cleaned[codes], index=series.index, dtype=object)  # code -1 (missing) → None


def _as_dates(series: pd.Series, label: str) -> tuple[pd.Series, str | None]:
    if isinstance(series.dtype, pd.DatetimeTZDtype):
        return series, f"{label} is timezone-aware; pass calendar dates in the organization's timezone"
    if not pd.api.types.is_datetime64_dtype(series.dtype):
        try:
            series = pd.to_datetime(series)
        except (TypeError, ValueError) as error:
            return series, f"{label} is not a date column: {error}"
        if isinstance(series.dtype, pd.DatetimeTZDtype):
            return series, f"{label} is timezone-aware; pass calendar dates in the organization's timezone"
    return series, None


def _as_float(series: pd.Series, label: str) -> tuple[pd.Series, str | None]:
    if pd.api.types.is_float_dtype(series.dtype):
        return series.astype(np.float64), None  # no copy when already float64 (copy-on-write)
    try:
        return pd.to_numeric(series).astype(np.float64), None
    except (TypeError, ValueError) as error:
        return series, f"{label} must be numeric: {error}"


def _id_family(ids: pd.Series) -> str:
    if pd.api.types.is_integer_dtype(ids.dtype):
        return "integer"
    if pd.api.types.is_string_dtype(ids.dtype) or ids.dtype == object:
        return "string"
    return str(ids.dtype)
