"""The daily recompute: stored signals → one health snapshot per account and day.

``snapshots_recompute`` loads an organization's signals set-wise (``health.selectors.scoring_inputs``),
groups the accounts by the published model version that scores them, runs the pure engine once per version
(vectorised over that version's accounts), explains each account's change against its snapshot of seven
days earlier, and upserts one ``HealthSnapshot`` per account together with the accounts' denormalised health
fields — in one transaction, or for a big organization on PostgreSQL in a few parts of contiguous accounts,
each its own transaction, written while the next part is prepared (``_write_postgres``). Then it raises that
day's alerts.

Idempotent and safe to run concurrently: the rows are a pure function of the stored signals, the models and
the day, written with INSERT … ON CONFLICT (organization, account, date) DO UPDATE in account order (two
runs at once serialise on the first row instead of deadlocking). On PostgreSQL a row whose content did not
change is not rewritten (its ``computed_at`` stays); the portable path rewrites it with a new ``computed_at``.
A crash mid-run leaves every account with its old snapshot or its new one, never half of either (a part that
did not commit is written by the next run).

Past days (``day`` < today) score what that day would have scored (the engine ignores rows after ``as_of``),
so ``snapshots_backfill`` fills history day by day, oldest first, each day's why-changed reading the
snapshots written seven days before.
"""
from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from decimal import Decimal

import numpy as np
import orjson
import pandas as pd
from django.db import connection, transaction
from django.utils import timezone

from accounts.services import accounts_health_set
from csops.tenancy.context import tenant_context
from csops.tenancy.models import Organization

from ..bulk import (
    TUNING,
    can_use_other_connections,
    copy_text_into_temp,
    is_postgres,
    on_own_connection,
)
from ..components import documents as component_documents
from ..components import documents_json, empty_document
from ..models import HealthSnapshot
from ..scoring import ScoringInputs, component_order_of, compute_signals, explain_change, score
from ..selectors import latest_snapshot_day, model_versions_for_accounts, published_versions, scoring_inputs
from ..selectors import snapshot_components as stored_components
from .models import health_model_ensure_default

WHY_LOOKBACK_DAYS = 7
WRITE_BATCH = 2000
_UPDATE_FIELDS = ["model_version", "score", "band", "components", "missing", "top_detractor",
                  "top_detractor_points", "why_changed", "computed_at"]


@dataclass
class RecomputeSummary:
    day: dt.date
    accounts: int = 0
    bands: dict[str, int] = field(default_factory=dict)
    versions: dict[str, int] = field(default_factory=dict)  # version id → accounts it scored
    unscored: int = 0  # accounts no published model applies to (no snapshot written)
    accounts_updated: int = 0  # accounts whose denormalised health changed (0 for a past day)
    alerts: int = 0
    seconds: dict[str, float] = field(default_factory=dict)


class _Clock:
    def __init__(self, summary: RecomputeSummary) -> None:
        self.summary, self.last = summary, time.perf_counter()

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.summary.seconds[name] = round(now - self.last, 3)
        self.last = now


def snapshots_recompute(
    *, organization: Organization, day: dt.date | None = None, account_ids: Iterable | None = None,
    detect_alerts: bool = True,
) -> RecomputeSummary:
    """Compute and store ``day``'s snapshot (default: the organization's local today) of every active
    account, or of exactly ``account_ids``. Returns what was written."""
    day = day or organization.today()
    account_ids = None if account_ids is None else [str(pk) for pk in account_ids]
    summary = RecomputeSummary(day=day)
    clock = _Clock(summary)
    previous_day = day - dt.timedelta(days=WHY_LOOKBACK_DAYS)
    with tenant_context(organization), ThreadPoolExecutor(max_workers=1) as pool:
        health_model_ensure_default(organization=organization)
        # Day − 7's components (for why-changed) do not depend on anything computed here: in a whole-organization
        # run on PostgreSQL, outside a transaction, they are read on a second connection while this one loads the
        # signals (at 100k accounts ~0.75 CPU-s of the database's and ~0.65 of ours: health.selectors).
        parallel = account_ids is None and can_use_other_connections()  # a few accounts: not worth a connection
        previous_read = (pool.submit(on_own_connection, organization, _stored_components, previous_day, account_ids)
                         if parallel else None)
        versions = {v.pk: v for v in published_versions()}
        configs = {pk: v.engine_config() for pk, v in versions.items()}
        inputs = scoring_inputs(organization=organization, as_of=day, account_ids=account_ids,
                                configs=list(configs.values()), parallel=parallel)
        clock.lap("load")
        assignment = model_versions_for_accounts(organization=organization, accounts=inputs.accounts)
        accounts_frame, components = _score_by_version(inputs, assignment.account_version, configs)
        summary.unscored = int(assignment.account_version.isna().sum())
        clock.lap("score")
        if accounts_frame.empty:
            return summary
        previous = (previous_read.result() if previous_read is not None
                    else stored_components(day=previous_day, account_ids=account_ids))
        write = _write_postgres if is_postgres() else _write_orm
        summary.accounts_updated = write(organization, day, accounts_frame, components, previous, clock)
    summary.accounts = len(accounts_frame)
    summary.bands = accounts_frame["band"].value_counts().sort_index().to_dict()
    summary.versions = {str(k): int(v) for k, v in accounts_frame["model_version"].value_counts().items()}
    if detect_alerts:
        summary.alerts = _detect_alerts(organization, day, account_ids)
        clock.lap("alerts")
    return summary


def _stored_components(day: dt.date, account_ids) -> pd.DataFrame:
    return stored_components(day=day, account_ids=account_ids)


def _detect_alerts(organization: Organization, day: dt.date, account_ids) -> int:
    from .alerts import alerts_detect

    with tenant_context(organization):
        return alerts_detect(organization=organization, day=day, account_ids=account_ids) or 0


def _score_by_version(inputs: ScoringInputs, account_version: pd.Series, configs: dict):
    """Run the engine once per model version over the accounts it scores; concatenated results."""
    frames, components = [], []
    for version_id, ids in account_version.dropna().groupby(account_version.dropna(), sort=True):
        subset = inputs.accounts[inputs.accounts["account_id"].isin(ids.index)]
        version_inputs = ScoringInputs(
            as_of=inputs.as_of, accounts=subset, usage=inputs.usage, surveys=inputs.surveys,
            tickets=inputs.tickets, touchpoints=inputs.touchpoints, pulses=inputs.pulses,
        )
        config = configs[version_id]
        result = score(compute_signals(version_inputs, config), config)
        frames.append(result.accounts.assign(model_version_id=version_id))
        components.append(result.components)
    if not frames:
        return pd.DataFrame(columns=["score", "band", "model_version", "missing"]), pd.DataFrame()
    return pd.concat(frames).sort_index(), pd.concat(components, ignore_index=True)


def _snapshot_rows(organization, day, accounts: pd.DataFrame, components: pd.DataFrame, why: pd.Series):
    by_account = component_documents(components)
    now = timezone.now()
    scores = accounts["score"].to_numpy(dtype=np.float64)
    points = accounts["top_detractor_points"].to_numpy(dtype=np.float64)
    rows = []
    for i, (account_id, band, version_id, missing, detractor, why_text) in enumerate(zip(
        accounts.index.tolist(), accounts["band"].tolist(), accounts["model_version_id"].tolist(),
        accounts["missing"].tolist(), accounts["top_detractor"].tolist(), why.tolist(), strict=True,
    )):
        rows.append(HealthSnapshot(
            organization_id=organization.pk, account_id=account_id, date=day, model_version_id=version_id,
            score=None if scores[i] != scores[i] else Decimal(f"{scores[i]:.1f}"), band=str(band),
            components=by_account.get(account_id) or empty_document(), missing=list(missing or ()),
            top_detractor=detractor or "", top_detractor_points=None if points[i] != points[i] else float(points[i]),
            why_changed=why_text if isinstance(why_text, str) else "", computed_at=now,
        ))
    return rows  # sorted by account id (the engine's order): concurrent upserts lock rows in the same order


def _denormalised(accounts: pd.DataFrame):
    scores = accounts["score"].to_numpy(dtype=np.float64)
    return ((account_id, None if score != score else Decimal(f"{score:.1f}"), band)
            for account_id, score, band in zip(accounts.index.tolist(), scores.tolist(), accounts["band"].tolist(),
                                               strict=True))


def _why_changed(previous: pd.DataFrame, components: pd.DataFrame, accounts: pd.DataFrame, **options) -> pd.Series:
    """Each account's why-changed sentence against its snapshot of ``WHY_LOOKBACK_DAYS`` earlier."""
    return explain_change(previous, components, **options).reindex(accounts.index)


def _write_orm(organization, day, accounts: pd.DataFrame, components: pd.DataFrame, previous: pd.DataFrame,
               clock) -> int:
    """Portable path (SQLite): model instances, INSERT … ON CONFLICT DO UPDATE in batches, one transaction."""
    why = _why_changed(previous, components, accounts)
    clock.lap("explain")
    snapshots = _snapshot_rows(organization, day, accounts, components, why)
    clock.lap("build")
    with transaction.atomic():
        HealthSnapshot.objects.bulk_create(
            snapshots, batch_size=WRITE_BATCH, update_conflicts=True,
            unique_fields=["organization", "account", "date"], update_fields=_UPDATE_FIELDS,
        )
        updated = _set_accounts_if_latest(day, accounts)
    clock.lap("write")
    return updated


def _set_accounts_if_latest(day, accounts: pd.DataFrame) -> int:
    latest = latest_snapshot_day()
    if latest is None or day >= latest:
        return accounts_health_set(as_of=day, rows=_denormalised(accounts))
    return 0


_PG_UPSERT = """
INSERT INTO {snapshot} AS s (id, organization_id, account_id, date, model_version_id, score, band, components,
                             missing, top_detractor, top_detractor_points, why_changed, computed_at)
SELECT gen_random_uuid(), %(org)s, a.account_id, %(day)s, a.model_version_id, a.score, a.band, a.components::jsonb,
       a.missing::jsonb, COALESCE(a.top_detractor, ''), a.top_detractor_points, COALESCE(a.why_changed, ''), %(now)s
FROM health_tmp_snapshots a
ORDER BY a.account_id
ON CONFLICT (organization_id, account_id, date) DO UPDATE SET
    model_version_id = EXCLUDED.model_version_id, score = EXCLUDED.score, band = EXCLUDED.band,
    components = EXCLUDED.components, missing = EXCLUDED.missing, top_detractor = EXCLUDED.top_detractor,
    top_detractor_points = EXCLUDED.top_detractor_points, why_changed = EXCLUDED.why_changed,
    computed_at = EXCLUDED.computed_at
WHERE (s.model_version_id, s.score, s.band, s.missing, s.top_detractor, s.top_detractor_points, s.why_changed,
       s.components)
      IS DISTINCT FROM (EXCLUDED.model_version_id, EXCLUDED.score, EXCLUDED.band, EXCLUDED.missing,
                        EXCLUDED.top_detractor, EXCLUDED.top_detractor_points, EXCLUDED.why_changed,
                        EXCLUDED.components)
"""


PARALLEL_WRITE_MIN_ACCOUNTS = 20_000  # below this, one transaction on one connection is fast enough
PARALLEL_WRITE_CONNECTIONS = 2  # the database server's cores on the reference machine
# Where the parts end, as fractions of the accounts: while the database writes a part, the next is explained and
# serialised. The first part is small, so the database starts writing after a tenth of the explaining; the last two
# are smaller than the middle ones, so both connections are still busy when the explaining ends (measured at 100k
# accounts: 4 equal-ish parts left one connection writing alone for ~0.8 s at the end).
PARALLEL_WRITE_CUTS = (0.1, 0.35, 0.6, 0.8)


def _write_postgres(organization, day, accounts: pd.DataFrame, components: pd.DataFrame, previous: pd.DataFrame,
                    clock) -> int:
    """PostgreSQL path: per part of the accounts, the why-changed sentences, one COPY (CSV) of the rows and one
    (text) of their components documents (``health.components``, serialised here) into temporary tables, one
    INSERT … SELECT … ON CONFLICT DO UPDATE in account order, then the accounts' denormalised health — all in one
    transaction per part. A row whose content did not change is left alone (its computed_at stays: the earlier
    computation of the same day said the same thing), so a re-run writes nothing.

    A big organization is written in parts (contiguous runs of account ids, ``PARALLEL_WRITE_CUTS``) as a
    pipeline: while ``PARALLEL_WRITE_CONNECTIONS`` connections write the parts ready so far, each in its own
    transaction, this thread explains and serialises the next (client and database work at once instead of in
    turn). Every part words its sentences with the whole run's component order, so the rows do not depend on
    the cut. An account's snapshot and its denormalised fields always commit together, so a crash leaves each
    account with its old or its new snapshot, never half; a part that failed is redone by the next run. Inside
    a caller's transaction (or below ``PARALLEL_WRITE_MIN_ACCOUNTS``) everything is one transaction."""
    if not (len(accounts) >= PARALLEL_WRITE_MIN_ACCOUNTS and can_use_other_connections()):
        why = _why_changed(previous, components, accounts)
        clock.lap("explain")
        rows = _pg_rows(accounts, components, why)
        clock.lap("build")
        updated = _pg_write(organization, day, accounts, rows)
        clock.lap("write")
        return updated
    order = component_order_of(previous, components)
    with ThreadPoolExecutor(max_workers=PARALLEL_WRITE_CONNECTIONS) as pool:
        writes = []
        for part, part_components, part_previous in _parts(accounts, components, previous, PARALLEL_WRITE_CUTS):
            why = _why_changed(part_previous, part_components, part, component_order=order)
            writes.append(pool.submit(on_own_connection, organization, _pg_write, organization, day, part,
                                      _pg_rows(part, part_components, why)))
        clock.lap("explain+build")  # while the first parts were being written
        updated = sum(write.result() for write in writes)
    clock.lap("write")
    return updated


def _parts(accounts: pd.DataFrame, components: pd.DataFrame, previous: pd.DataFrame, cuts: Iterable[float]):
    """Contiguous runs of the (id-sorted) accounts ending at the given fractions of them (and at the end), each with
    its current and previous components; empty runs are skipped."""
    current_at = accounts.index.get_indexer(components["account_id"])
    previous_at = accounts.index.get_indexer(previous["account_id"]) if len(previous) else np.empty(0, np.int64)
    n = len(accounts)
    bounds = [0, *(round(n * fraction) for fraction in cuts), n]
    for first, end in zip(bounds, bounds[1:], strict=False):
        if end > first:
            last = end - 1
            yield (accounts.iloc[first:last + 1], components[(current_at >= first) & (current_at <= last)],
                   previous[(previous_at >= first) & (previous_at <= last)])


_PG_COLUMNS = ("account_id uuid, model_version_id uuid, score numeric(4, 1), band text, components text, "
               "missing text, top_detractor text, top_detractor_points float8, why_changed text")


def _pg_rows(accounts: pd.DataFrame, components: pd.DataFrame, why: pd.Series) -> list[list]:
    """The snapshot rows for COPY as columns of text (None = NULL) in ``_PG_COLUMNS`` order, in the order of
    ``accounts`` (sorted by id); each account's components as its JSON document."""
    scores = accounts["score"].to_numpy(dtype=np.float64)
    points = accounts["top_detractor_points"].to_numpy(dtype=np.float64)
    ids, texts = documents_json(components)
    where = pd.Index(ids).get_indexer(accounts.index)
    documents = np.append(texts, orjson.dumps(empty_document()))[where]  # -1: no components, the empty document
    return [
        _as_text(accounts.index),
        _as_text(accounts["model_version_id"]),
        _text_or_none(scores, np.char.mod("%.1f", np.nan_to_num(scores))),
        accounts["band"].astype(str).tolist(),
        documents.tolist(),  # JSON bytes
        _missing_json(accounts["missing"]),
        [d if isinstance(d, str) else None for d in accounts["top_detractor"].tolist()],
        _text_or_none(points, [repr(p) for p in points.tolist()]),
        [w if isinstance(w, str) else None for w in why.tolist()],
    ]


def _as_text(values) -> list[str]:
    """Ids (UUIDs or their text) as text, each distinct one converted once."""
    codes, distinct = pd.factorize(np.asarray(values, dtype=object))
    return np.array([str(v) for v in distinct], dtype=object)[codes].tolist()


def _text_or_none(values: np.ndarray, texts) -> list:
    """``texts`` with None where ``values`` is NaN."""
    out = np.asarray(texts, dtype=object)
    out[np.isnan(values)] = None
    return out.tolist()


def _missing_json(missing: pd.Series) -> list[str]:
    """Each account's missing components as JSON text; the engine gives a handful of distinct tuples."""
    texts: dict = {}
    return [texts.get(m) or texts.setdefault(m, json.dumps(list(m or ()))) for m in missing.tolist()]


# A transaction of the recompute's own does not wait for its WAL to reach the disk at commit (the WAL writer
# flushes it within a fraction of a second): a crash in that window loses only rows the next run writes again —
# the hourly fan-out re-runs a day until its snapshots cover every active account (health/tasks.py). Consistency
# is unaffected, and rows are visible to other sessions at commit as usual. Never set inside a caller's transaction.
_OWN_TRANSACTION_TUNING = "SET LOCAL synchronous_commit = off"


def _pg_write(organization, day, accounts: pd.DataFrame, rows: list[list]) -> int:
    own_transaction = not connection.in_atomic_block
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(TUNING)
        if own_transaction:
            cursor.execute(_OWN_TRANSACTION_TUNING)
        # no statistics: the upsert reads the whole table in account order whatever it holds
        copy_text_into_temp(cursor, "health_tmp_snapshots", _PG_COLUMNS, rows, analyze=False)
        cursor.execute(_PG_UPSERT.format(snapshot=HealthSnapshot._meta.db_table),
                       {"org": organization.pk, "day": day, "now": timezone.now()})
        return _set_accounts_if_latest(day, accounts)


def snapshots_backfill(
    *, organization: Organization, days: Iterable[dt.date], account_ids: Iterable | None = None,
    detect_alerts: bool = False, progress: Callable[[dt.date, RecomputeSummary], None] | None = None,
) -> list[RecomputeSummary]:
    """Recompute several days, oldest first (each day's why-changed reads the one seven days before).
    Alerts are off by default: history should not page anyone today."""
    summaries = []
    account_ids = None if account_ids is None else list(account_ids)
    for day in sorted(set(days)):
        summary = snapshots_recompute(organization=organization, day=day, account_ids=account_ids,
                                      detect_alerts=detect_alerts)
        summaries.append(summary)
        if progress:
            progress(day, summary)
    return summaries
