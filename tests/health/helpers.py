"""Small builders for the pure health-engine tests (no database, no Django)."""

import datetime as dt

import numpy as np
import pandas as pd

from health.scoring import ComponentConfig, HealthModelConfig

AS_OF = dt.date(2025, 6, 30)  # "last 30 days" = 1–30 June; prior 30 = 2–31 May; last 180 days = 2 Jan – 30 Jun


def day(text: str) -> pd.Timestamp:
    return pd.Timestamp(text)


def frame(columns: list[str], rows: list[tuple]) -> pd.DataFrame:
    return pd.DataFrame.from_records(rows, columns=columns)


def accounts(ids, licensed_seats=None, renewal_dates=None) -> pd.DataFrame:
    data = {"account_id": list(ids)}
    if licensed_seats is not None:
        data["licensed_seats"] = licensed_seats
    if renewal_dates is not None:
        data["renewal_date"] = pd.to_datetime(pd.Series(renewal_dates, dtype=object))
    return pd.DataFrame(data)


def usage(rows: list[tuple]) -> pd.DataFrame:
    """rows: (account_id, 'YYYY-MM-DD', metric, value)"""
    result = frame(["account_id", "date", "metric", "value"], rows)
    result["date"] = pd.to_datetime(result["date"])
    return result


def surveys(rows: list[tuple]) -> pd.DataFrame:
    """rows: (account_id, contact_id or None, 'YYYY-MM-DD', kind, score)"""
    result = frame(["account_id", "contact_id", "responded_on", "kind", "score"], rows)
    result["responded_on"] = pd.to_datetime(result["responded_on"])
    return result


def tickets(rows: list[tuple]) -> pd.DataFrame:
    """rows: (account_id, opened 'YYYY-MM-DD', closed 'YYYY-MM-DD' or None, priority, escalated)"""
    result = frame(["account_id", "opened_on", "closed_on", "priority", "escalated"], rows)
    result["opened_on"] = pd.to_datetime(result["opened_on"])
    result["closed_on"] = pd.to_datetime(result["closed_on"])
    return result


def pulses(rows: list[tuple]) -> pd.DataFrame:
    """rows: (account_id, value, recorded 'YYYY-MM-DD', valid_days or None)"""
    result = frame(["account_id", "value", "recorded_on", "valid_days"], rows)
    result["recorded_on"] = pd.to_datetime(result["recorded_on"])
    return result


def signals(rows: dict, **observed) -> pd.DataFrame:
    """rows: {account_id: {component_key: raw, ...}}; observed: {key: {account_id: 'YYYY-MM-DD'}}."""
    result = pd.DataFrame.from_dict(rows, orient="index").astype(np.float64)
    result.index.name = "account_id"
    for key, dates in observed.items():
        result[f"{key}__observed_on"] = pd.to_datetime(pd.Series(dates, dtype=object)).reindex(result.index)
    return result


def three_part_model(**overrides) -> HealthModelConfig:
    """Seat utilisation 50 (20 % → 0, 80 % → 100), NPS 30 (−100 → 0, +100 → 100), CSM pulse 20 (good 100 /
    neutral 60 / concerned 20)."""
    return HealthModelConfig(
        version="test-1",
        components=(
            ComponentConfig(kind="seat_utilisation", weight=50),
            ComponentConfig(kind="nps", weight=30),
            ComponentConfig(kind="csm_pulse", weight=20),
        ),
        **overrides,
    )


def one_part_model(kind: str = "nps", **overrides) -> HealthModelConfig:
    return HealthModelConfig(version="one", components=(ComponentConfig(kind=kind, weight=100),), **overrides)


def single(kind: str, **params) -> HealthModelConfig:
    """A model of one component of ``kind`` with ``params`` — to look at one signal in isolation."""
    return HealthModelConfig(version="single", components=(ComponentConfig(kind=kind, weight=100, params=params),))
