"""A snapshot's components as stored: one JSON object of parallel arrays per snapshot.

    {"component": ["seat_utilisation", "usage_trend", …],    # the model version's component keys, model order
     "raw_value": [0.83, -0.12, …], "score": [83.0, 41.5, …],  # null where the input was missing
     "effective_weight": [20.0, 25.0, …], "contribution": [16.6, 10.4, …],
     "missing": [false, false, …], "observed_on": ["2026-11-20", null, …]}

What a component *is* — its kind, label and configured weight — belongs to the model version that scored the
snapshot (``HealthSnapshot.model_version.config``, frozen once published) and is not repeated in every row:
``component_rows`` and ``components_frame`` put it back. One JSON object per snapshot, not one per component,
is what keeps 100k snapshots a day cheap: PostgreSQL builds a jsonb object for every JSON object it stores,
and that, not the numbers, was most of the daily write (≈ 6 of 11 CPU-seconds at 100k accounts).

Pure functions of frames, documents and configs (no queries): the recompute writes with ``documents`` /
``documents_json``, the pages, the API, alerts and why-changed read with ``component_rows`` /
``components_frame``.
"""
from __future__ import annotations

import io
from collections.abc import Iterable, Mapping, Sequence
from itertools import chain, repeat
from typing import Any

import numpy as np
import orjson
import pandas as pd

STORED_FIELDS = ("component", "raw_value", "score", "effective_weight", "contribution", "missing", "observed_on")
VERSION_FIELDS = ("kind", "label", "weight")
# A component as the engine gives it (``ScoreResult.components``) and as readers get it back.
FIELDS = ("component", "kind", "label", "raw_value", "score", "weight", "effective_weight", "contribution",
          "missing", "observed_on")
FLOAT_FIELDS = ("raw_value", "score", "effective_weight", "contribution")
# Separates snapshots' component arrays in ``aggregated_frame``'s ``keys``: a control character, which JSON text
# never holds unescaped.
KEYS_SEPARATOR = "\x1e"


def _contiguous(components: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """The rows grouped by account (model order kept inside each account), the accounts in first-seen order and
    where each account's rows start (plus the end)."""
    codes, accounts = pd.factorize(components["account_id"], sort=False)
    if len(codes) and (np.diff(codes) < 0).any():  # the engine's frames are account-major; a concat may not be
        order = np.argsort(codes, kind="stable")
        components, codes = components.iloc[order], codes[order]
    bounds = np.flatnonzero(np.diff(codes)) + 1 if len(codes) else np.zeros(0, dtype=np.int64)
    starts = np.concatenate([[0], bounds, [len(codes)]]).astype(np.int64) if len(codes) else np.zeros(1, np.int64)
    return components, np.asarray(accounts, dtype=object), starts


def _iso_dates(values: pd.Series) -> np.ndarray:
    """Dates → 'YYYY-MM-DD' text objects, NaT → None; each distinct day formatted once (a few hundred)."""
    days = values.to_numpy(dtype="datetime64[D]")
    codes, distinct = pd.factorize(days.view(np.int64))
    text = np.datetime_as_string(distinct.view("datetime64[D]")).astype(object)
    text[np.isnat(distinct.view("datetime64[D]"))] = None
    return text[codes] if len(codes) else np.empty(0, dtype=object)


def _json_values(values: np.ndarray) -> list:
    """float64 → Python floats with NaN → None (JSON has no NaN)."""
    out = values.astype(object)
    out[np.isnan(values)] = None
    return out.tolist()


def documents(components: pd.DataFrame) -> dict[Any, dict[str, list]]:
    """``ScoreResult.components`` → per account, its stored document (see the module docstring). Vectorised
    per column; one dict per account."""
    if components.empty:
        return {}
    components, accounts, starts = _contiguous(components)
    observed_text = _iso_dates(components["observed_on"])
    columns = {
        "component": components["component"].astype(str).tolist(),
        **{name: _json_values(components[name].to_numpy(dtype=np.float64)) for name in FLOAT_FIELDS},
        "missing": components["missing"].to_numpy(dtype=bool).tolist(),
        "observed_on": observed_text.tolist(),
    }
    bounds = list(zip(starts[:-1].tolist(), starts[1:].tolist(), strict=True))
    sliced = [[values[a:b] for a, b in bounds] for values in (columns[name] for name in STORED_FIELDS)]
    return {account: dict(zip(STORED_FIELDS, parts, strict=True))
            for account, *parts in zip(accounts.tolist(), *sliced, strict=True)}


def documents_json(components: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """``documents`` as JSON text, without a Python dict per account: (account ids, documents as bytes).

    Accounts with the same number of components are serialised together, one field at a time: numbers,
    booleans and ISO dates as one (accounts × components) array (orjson; NaN → null) cut into rows at its
    "],[" seams (none of them holds a bracket); component keys (free text) once per distinct row."""
    if components.empty:
        return np.empty(0, dtype=object), np.empty(0, dtype=object)
    components, accounts, starts = _contiguous(components)
    observed_text = _iso_dates(components["observed_on"])
    columns = {
        "component": components["component"].astype(str).to_numpy(dtype=object),
        **{name: components[name].to_numpy(dtype=np.float64) for name in FLOAT_FIELDS},
        "missing": components["missing"].to_numpy(dtype=bool),
        "observed_on": observed_text,
    }
    counts = np.diff(starts)
    out = np.empty(len(accounts), dtype=object)
    for count in np.unique(counts).tolist():
        which = np.flatnonzero(counts == count)
        rows = starts[which][:, None] + np.arange(count)  # (accounts, components) row positions
        pieces, close = [], b"{"
        for name in STORED_FIELDS:
            values = columns[name][rows]
            if name == "component":  # free text may hold "],[": each distinct row on its own
                pieces += [repeat(close + f'"{name}":'.encode()), _json_rows(values)]
                close = b","
            else:  # one array, cut at its seams; the brackets go into the repeated pieces
                dumped = orjson.dumps(values.tolist() if values.dtype == object else values,
                                      option=orjson.OPT_SERIALIZE_NUMPY)
                pieces += [repeat(close + f'"{name}":['.encode()), dumped[2:-2].split(b"],[")]
                close = b"],"
        pieces.append(repeat(b"]}" if close == b"]," else b"}"))
        out[which] = list(map(b"".join, zip(*pieces, strict=False)))  # repeat() pieces are endless
    return accounts, out


def _json_rows(values: np.ndarray) -> list[bytes]:
    """One JSON array per row of a 2-D object array, each distinct row serialised once."""
    if len(values) and (values == values[0]).all():  # one model version: every row the same keys
        return [orjson.dumps(values[0].tolist())] * len(values)
    codes, distinct = pd.factorize(pd.Series(list(map(tuple, values.tolist())), dtype=object))
    return np.array([orjson.dumps(list(row)) for row in distinct], dtype=object)[codes].tolist()


def empty_document() -> dict[str, list]:
    return {name: [] for name in STORED_FIELDS}


def version_meta(config: Mapping) -> dict[str, tuple[str, str, float | None]]:
    """Component key → (kind, label, weight) from a model version's stored config."""
    meta = {}
    for c in config.get("components", []) if isinstance(config, Mapping) else []:
        key = c.get("key") or c.get("kind", "")
        meta[key] = (c.get("kind", ""), c.get("label") or key, c.get("weight"))
    return meta


def component_rows(document: Any, config: Mapping) -> list[dict[str, Any]]:
    """A stored document and its model version's config → one dict per component with every key of
    ``FIELDS``, in model order. A component its version does not know keeps its key as label."""
    if not isinstance(document, Mapping):
        return []
    keys = document.get("component") or []
    meta = version_meta(config)
    rows = []
    for i, key in enumerate(keys):
        kind, label, weight = meta.get(key, ("", key, None))
        row = {"component": key, "kind": kind, "label": label, "weight": weight}
        for name in STORED_FIELDS[1:]:
            values = document.get(name) or []
            row[name] = values[i] if i < len(values) else None
        row["missing"] = bool(row["missing"])
        rows.append(row)
    return [{name: row[name] for name in FIELDS} for row in rows]


def components_frame(account_ids: Sequence, version_ids: Sequence, stored: Iterable,
                     configs: Mapping[Any, Mapping]) -> pd.DataFrame:
    """Stored documents (dicts, or their JSON text) of many snapshots → a ``ScoreResult.components`` frame
    (``account_id`` plus ``FIELDS``), kind/label/weight taken from ``configs`` (version id → config)."""
    docs = [orjson.loads(d) if isinstance(d, str | bytes) else d for d in stored]
    docs = [d if isinstance(d, Mapping) else empty_document() for d in docs]
    lengths = np.array([len(d.get("component") or []) for d in docs], dtype=np.int64)
    column = {name: list(chain.from_iterable(d.get(name) or [None] * n for d, n in zip(docs, lengths, strict=True)))
              for name in STORED_FIELDS}
    frame = pd.DataFrame({
        "account_id": np.repeat(np.asarray([str(a) for a in account_ids], dtype=object), lengths),
        "model_version_id": np.repeat(np.asarray([str(v) for v in version_ids], dtype=object), lengths),
        "component": np.asarray(column["component"], dtype=object),
        **{name: np.asarray(column[name], dtype=np.float64) for name in FLOAT_FIELDS},
        "missing": np.asarray([bool(m) for m in column["missing"]], dtype=bool),
        "observed_on": pd.to_datetime(pd.Series(column["observed_on"], dtype=object), format="ISO8601"),
    })
    return hydrated(frame, configs)


def aggregated_frame(accounts: str, versions: str, keys: str, fields: Mapping[str, str],
                     configs: Mapping[Any, Mapping]) -> pd.DataFrame:
    """Many snapshots' documents as the database aggregates them, one text per field over every snapshot (the
    selector's ``string_agg``), → the frame ``components_frame`` gives, without a Python object per value:
    ``accounts`` and ``versions`` comma-separated ids, ``keys`` each snapshot's component array (JSON) separated
    by ``KEYS_SEPARATOR``, ``fields`` the other ``STORED_FIELDS``' arrays comma-separated ("[1.5, null],[…]").
    Numbers are parsed by pandas' C reader, dates once per distinct value, and each distinct pair of version and
    key array is looked up once (kind, label and weight as in ``hydrated``).
    Raises ValueError when the fields do not line up (a document lacking a field): read those documents with
    ``components_frame``."""
    key_codes, key_rows = pd.factorize(np.asarray(keys.split(KEYS_SEPARATOR), dtype=object))
    version_codes, version_ids = pd.factorize(np.asarray(versions.split(","), dtype=object))
    # a few distinct (version, key array) pairs: each one's components looked up once, in a table
    pair_codes, pairs = pd.factorize(version_codes.astype(np.int64) * len(key_rows) + key_codes)
    table: list[tuple] = []  # (component, kind, label, weight)
    offsets, sizes = [], []
    for pair in pairs.tolist():
        version, row = version_ids[pair // len(key_rows)], orjson.loads(key_rows[pair % len(key_rows)])
        meta = version_meta(configs.get(version, {}))
        offsets.append(len(table))
        sizes.append(len(row))
        table += [(key, *meta.get(key, ("", key, None))) for key in row]
    lengths = np.asarray(sizes, dtype=np.int64)[pair_codes]
    total = int(lengths.sum())
    starts = np.cumsum(lengths) - lengths
    at = np.repeat(np.asarray(offsets, dtype=np.int64)[pair_codes] - starts, lengths) + np.arange(total)
    looked_up = list(zip(*table, strict=True)) if table else [(), (), (), ()]
    columns = {name: np.asarray(values, dtype=np.float64 if name == "weight" else object)[at]
               for name, values in zip(("component", *VERSION_FIELDS), looked_up, strict=True)}
    for name in STORED_FIELDS[1:]:
        if fields.get(name) is None:
            raise ValueError(f"no snapshot stores the component field {name!r}")
        text = fields[name].encode().translate(None, b'[] "')  # one comma-separated list of JSON scalars
        if name in FLOAT_FIELDS:
            values = pd.read_csv(io.BytesIO(text.replace(b",", b"\n")), header=None, names=[name],
                                 dtype=np.float64, na_values=["null"], keep_default_na=False)[name].to_numpy()
        elif name == "missing":
            values = np.frombuffer(text.replace(b"true", b"1").replace(b"false", b"0").replace(b"null", b"0")
                                   .replace(b",", b""), dtype=np.uint8) == ord("1")
        else:  # ISO dates: a few hundred distinct
            day_codes, days = pd.factorize(np.asarray(text.split(b","), dtype=object))
            parsed = np.array([None if d == b"null" else d.decode() for d in days], dtype="datetime64[D]")
            values = parsed[day_codes]
        if len(values) != total:
            raise ValueError(f"stored component field {name!r} holds {len(values)} values for {total} components")
        columns[name] = values
    columns["observed_on"] = columns["observed_on"].astype("datetime64[s]")
    return pd.DataFrame({"account_id": np.repeat(np.asarray(accounts.split(","), dtype=object), lengths),
                         **{name: columns[name] for name in FIELDS}})


def hydrated(rows: pd.DataFrame, configs: Mapping[Any, Mapping]) -> pd.DataFrame:
    """Rows of stored components (``account_id``, ``model_version_id`` and the ``STORED_FIELDS``, one row per
    account and component, in model order) → a ``ScoreResult.components`` frame: kind, label and weight
    looked up in the configs of the versions (version id → config), observed_on as datetime64[s]."""
    meta = pd.DataFrame(
        [(str(version), key, *values) for version, config in configs.items()
         for key, values in version_meta(config).items()],
        columns=["version", "component", *VERSION_FIELDS],
    )
    frame = rows.copy()
    if len(meta) and len(frame):
        where = pd.MultiIndex.from_frame(meta[["version", "component"]]).get_indexer(pd.MultiIndex.from_arrays(
            [frame["model_version_id"].astype(str).to_numpy(), frame["component"].astype(str).to_numpy()]))
    else:
        where = np.full(len(frame), -1)
    found = where >= 0
    for name in VERSION_FIELDS:
        values = meta[name].to_numpy(dtype=np.float64 if name == "weight" else object)
        picked = np.full(len(frame), np.nan if name == "weight" else "", dtype=values.dtype)
        picked[found] = values[where[found]]
        frame[name] = picked
    frame.loc[~found, "label"] = frame.loc[~found, "component"]
    frame["observed_on"] = pd.to_datetime(frame["observed_on"]).astype("datetime64[s]")
    return frame[["account_id", *FIELDS]]
