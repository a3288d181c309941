"""Fast column-wise inserts for generated data (the demo seed), inside the tenant context.

`Model.objects.bulk_create` costs ~150 µs a row here (model instances, per-field preparation), which
makes a 100k-account tenant (~1M rows) take minutes. The seed writes its big tables through
`TenantBulkWriter` instead: values arrive as columns, are encoded once per column for the database
(multi-row `executemany` on SQLite, `COPY` on PostgreSQL) and every row gets the organization of the
current tenant context — rows are still born inside a tenant, exactly as `TenantManager` wants.
"""
from __future__ import annotations

import datetime as dt
import io
import json
import queue
import threading
import time
import zlib
from collections import Counter
from collections.abc import Sequence
from itertools import repeat

import numpy as np
from django.apps import apps
from django.db import IntegrityError, connections
from django.db.models.fields import AutoFieldMixin
from django.utils import timezone

from csops.tenancy.context import current_organization


class RawJSON(str):
    """A value already serialised as JSON (many rows share one attendee list)."""


def ordered_uuid_hex(rng: np.random.Generator, *, prefix: int, start: int, count: int) -> list[str]:
    """`count` UUIDs (RFC 9562 version 8, as 32 hex digits) that sort in creation order.

    Layout: 16-bit prefix (organization × table) | 32-bit sequence | version | 12 + 62 random bits.
    Ordered keys make index inserts appends instead of random page splits, and a given seed gives
    the same ids, so demo URLs survive a reseed. The 74 random bits keep them unguessable."""
    seq = np.arange(start, start + count, dtype=np.uint64)
    high = (np.uint64(prefix & 0xFFFF) << np.uint64(48)) | (seq << np.uint64(16)) | np.uint64(0x8000)
    high |= rng.integers(0, 1 << 12, size=count, dtype=np.uint64)
    low = rng.integers(0, 1 << 62, size=count, dtype=np.uint64) | np.uint64(1 << 63)
    text = np.stack([high, low], axis=1).astype(">u8").tobytes().hex()
    return [text[i:i + 32] for i in range(0, 32 * count, 32)]


def id_prefix(org_code: int, label: str) -> int:
    """The 16-bit id prefix of one table of one demo organization."""
    return ((org_code & 0xFF) << 8) | (zlib.crc32(label.encode()) & 0xFF)


def epoch_to_datetime64(epoch_seconds: np.ndarray) -> np.ndarray:
    """UTC epoch seconds (0 = none) → datetime64[s] with NaT for none."""
    out = epoch_seconds.astype("datetime64[s]")
    out[epoch_seconds == 0] = np.datetime64("NaT")
    return out


def days_to_datetime64(today: dt.date, offsets: np.ndarray, *, missing: int | None = None) -> np.ndarray:
    """Day offsets from `today` → datetime64[D]; offsets equal to `missing` become NaT."""
    out = np.datetime64(today, "D") + offsets.astype("timedelta64[D]")
    if missing is not None:
        out[offsets == missing] = np.datetime64("NaT")
    return out


def _datetime_strings(values, vendor: str) -> list:
    """Timestamps as the backend stores them: naive UTC text on SQLite (as Django writes it),
    explicit UTC offset on PostgreSQL. Accepts datetime64 arrays (stored to the second) or lists of
    aware datetimes/None."""
    if isinstance(values, np.ndarray):
        text = np.datetime_as_string(values.astype("datetime64[s]"), unit="s").tolist()
        text = [None if s == "NaT" else s for s in text]
    else:
        text = [None if v is None else timezone.make_naive(v, dt.UTC).isoformat() for v in values]
    if vendor == "postgresql":
        return [None if s is None else s + "+00:00" for s in text]
    return [None if s is None else s.replace("T", " ") for s in text]


def _date_strings(values) -> list:
    if isinstance(values, np.ndarray):
        text = np.datetime_as_string(values.astype("datetime64[D]")).tolist()
        return [None if s == "NaT" else s for s in text]
    return [None if v is None else v.isoformat() for v in values]


def _plain_list(values) -> list:
    return values.tolist() if isinstance(values, np.ndarray) else list(values)


_PG_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
_TEXT_TYPES = ("CharField", "TextField", "EmailField", "SlugField", "URLField", "JSONField")


class TenantBulkWriter:
    """Insert column-wise rows of tenant models for the organization of the current tenant context.

    Use it as a context manager. On PostgreSQL each batch goes out as one COPY on a background thread
    (the server works while Python builds the next batch), and:
    - a role subject to row-level security cannot COPY into the table (PostgreSQL refuses COPY FROM
      under RLS), so batches go through a temporary staging table and `INSERT … SELECT`, which the
      tenant policy checks row by row;
    - a role allowed to set `session_replication_role` (superusers, or granted) skips the per-row
      foreign-key triggers, which cost more than the COPY itself, and every foreign key of the written
      rows is then validated set-wise (one anti-join per key, as `ALTER TABLE … VALIDATE` does)
      before the transaction can commit;
    - `analyze()` (called after each demo phase, and at the end) refreshes the statistics of the
      tables written, so the planner knows their new size.
    On SQLite batches are `executemany` calls on the calling thread (sqlite3 releases the GIL per row,
    so a writer thread would mostly wait for it).
    """

    def __init__(self, *, using: str = "default", background: bool | None = None):
        self.organization = current_organization()
        self.connection = connections[using]
        self.vendor = self.connection.vendor
        if self.vendor not in ("sqlite", "postgresql"):
            raise NotImplementedError(f"TenantBulkWriter supports SQLite and PostgreSQL, not {self.vendor}")
        if not self.connection.in_atomic_block:
            raise RuntimeError("TenantBulkWriter writes inside transaction.atomic()")
        self.counts: Counter = Counter()
        self.seconds: Counter = Counter()  # time spent in the database, per model
        self.now = timezone.now()
        self.background = self.vendor == "postgresql" if background is None else background
        self.copy_direct = True
        self.fk_triggers_skipped = False
        self._staged: set[str] = set()
        self._unanalyzed: set[str] = set()
        self._jobs: queue.Queue | None = None
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None

    # --- lifecycle
    def __enter__(self) -> TenantBulkWriter:
        if self.vendor == "postgresql":
            self._postgres_prepare()
        if self.background:
            self._jobs = queue.Queue(maxsize=2)  # bounded: memory stays flat however big the seed
            self._thread = threading.Thread(target=self._work, name="tenant-bulk-writer", daemon=True)
            self._thread.start()
        return self

    def __exit__(self, exc_type, exc, tb) -> bool:
        self._stop()
        if exc_type is None:
            if self._error is not None:
                raise self._error
            if self.fk_triggers_skipped:
                self._postgres_finish()
            self.analyze()
        return False

    def wait(self) -> None:
        """Make everything submitted readable: block until it is written (re-raising a failure of the
        writer thread), then refresh the statistics of the tables written (see `analyze`), so the
        queries that follow get plans for the tables as they now are."""
        self._drain()
        self.analyze()

    def _drain(self) -> None:
        if self._jobs is not None:
            self._jobs.join()
        if self._error is not None:
            raise self._error

    def _stop(self) -> None:
        if self._thread is not None:
            self._jobs.put(None)
            self._thread.join()
            self._thread = self._jobs = None

    def _work(self) -> None:
        while True:
            job = self._jobs.get()
            try:
                if job is None:
                    return
                if self._error is None:  # after a failure, drain without writing
                    job()
            except BaseException as exc:  # noqa: BLE001 -- handed to the submitting thread by wait()
                self._error = exc
            finally:
                self._jobs.task_done()

    # --- inserting
    def insert(self, model, columns: dict[str, Sequence]) -> int:
        """Insert one batch. `columns` maps field names to equal-length sequences (lists or numpy
        arrays): UUIDs as 32-hex strings, timestamps as datetime64 (UTC) or aware datetimes, dates as
        datetime64[D] or dates, money as Decimal/str, JSON fields as Python values or `RawJSON`.
        Fields left out get their model default (evaluated once per batch), else NULL, else ""."""
        if self._error is not None:
            raise self._error
        lengths = {len(v) for v in columns.values()}
        if len(lengths) != 1:
            raise ValueError(f"{model.__name__}: columns of different lengths {sorted(lengths)}")
        count = lengths.pop()
        if count == 0:
            return 0
        fields, encoded = [], []
        given = dict(columns)
        for field in model._meta.concrete_fields:
            if field.primary_key and isinstance(field, AutoFieldMixin) and field.name not in given:
                continue  # an integer key the database numbers (its sequence stays right on PostgreSQL)
            if field.name == "organization":
                fields.append(field)
                org_id = self.organization.pk
                encoded.append(repeat(str(org_id) if self.vendor == "postgresql" else org_id, count))
                continue
            if field.name in given or field.attname in given:
                values = given.pop(field.name if field.name in given else field.attname)
                fields.append(field)
                encoded.append(self._encode(field, values))
                continue
            # one value for every row, encoded once
            if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
                value = self.now
            elif not field.primary_key and (field.has_default() or field.null or field.empty_strings_allowed):
                value = field.get_default()  # as Django does: the default, else NULL, else "" for text
            else:
                raise ValueError(f"{model.__name__}.{field.name} has no value, default or NULL")
            fields.append(field)
            encoded.append(repeat(self._encode(field, [value])[0], count))
        if given:
            raise ValueError(f"{model.__name__} has no fields {sorted(given)}")
        if self.vendor == "sqlite":
            self._timed(model, self._sqlite_job(model, fields, encoded))
        else:
            job = self._postgres_job(model, fields, encoded)
            if self._jobs is not None:
                self._jobs.put(lambda: self._timed(model, job))
            else:
                self._timed(model, job)
        self.counts[model._meta.label] += count
        self._unanalyzed.add(model._meta.label)
        return count

    def _timed(self, model, job) -> None:
        started = time.perf_counter()
        job()
        self.seconds[model._meta.label] += time.perf_counter() - started

    def _encode(self, field, values) -> list:
        kind = field.get_internal_type()
        if kind == "ForeignKey":
            kind = field.target_field.get_internal_type()
        pg = self.vendor == "postgresql"
        if kind == "DateTimeField":
            out = _datetime_strings(values, self.vendor)
        elif kind == "DateField":
            out = _date_strings(values)
        elif kind == "UUIDField":
            out = [v if v is None or isinstance(v, str) else v.hex for v in _plain_list(values)]
        elif kind == "JSONField":
            out = [v if isinstance(v, RawJSON) else json.dumps(v) for v in _plain_list(values)]
        elif kind == "BooleanField":
            truth = ("t", "f") if pg else (1, 0)
            out = [None if v is None else truth[0] if v else truth[1] for v in _plain_list(values)]
        elif kind == "DecimalField":
            out = [None if v is None else str(v) for v in _plain_list(values)]
        else:
            out = _plain_list(values)
        if not pg:
            return out
        # COPY text format: \N is NULL; backslash, tab and newlines are escaped in free text
        if kind in _TEXT_TYPES:
            return ["\\N" if v is None else v.translate(_PG_ESCAPES) for v in out]
        return ["\\N" if v is None else str(v) for v in out]

    def _sqlite_job(self, model, fields, encoded):
        quote = self.connection.ops.quote_name
        names = ", ".join(quote(f.column) for f in fields)
        marks = ", ".join(["%s"] * len(fields))
        sql = f"INSERT INTO {quote(model._meta.db_table)} ({names}) VALUES ({marks})"  # noqa: S608 -- model names

        def job():
            with self.connection.cursor() as cursor:
                cursor.executemany(sql, zip(*encoded, strict=False))

        return job

    # --- PostgreSQL
    def _postgres_prepare(self) -> None:
        with self.connection.cursor() as cursor:
            cursor.execute(
                "SELECT r.rolsuper OR r.rolbypassrls, "
                "r.rolsuper OR has_parameter_privilege('session_replication_role', 'SET') "
                "FROM pg_roles r WHERE r.rolname = current_user"
            )
            bypasses_rls, may_skip_triggers = cursor.fetchone()
            self.copy_direct = bool(bypasses_rls)
            if may_skip_triggers:
                cursor.execute("SET LOCAL session_replication_role = replica")
                self.fk_triggers_skipped = True

    def _postgres_finish(self) -> None:
        """Restore trigger firing, then check every foreign key of the rows written (set-wise)."""
        quote = self.connection.ops.quote_name
        with self.connection.cursor() as cursor:
            cursor.execute("SET LOCAL session_replication_role = origin")
            self.fk_triggers_skipped = False
            for label in self.counts:
                model = apps.get_model(label)
                table = quote(model._meta.db_table)
                for field in model._meta.concrete_fields:
                    if not field.many_to_one:
                        continue
                    parent = field.related_model._meta.db_table
                    column, target = quote(field.column), quote(field.target_field.column)
                    cursor.execute(
                        f"SELECT count(*) FROM {table} c WHERE c.organization_id = %s AND c.{column} IS NOT NULL "  # noqa: S608
                        f"AND NOT EXISTS (SELECT 1 FROM {quote(parent)} p WHERE p.{target} = c.{column})",
                        [self.organization.pk],
                    )
                    orphans = cursor.fetchone()[0]
                    if orphans:
                        raise IntegrityError(f"{orphans} {label} rows point at a missing {parent} ({field.name})")

    def analyze(self, *models) -> None:
        """Refresh PostgreSQL's planner statistics of the tables written since the last call (and of
        `models`, e.g. tables a phase filled through the ORM). After a bulk load the statistics still
        describe the tables as they were (empty, or another tenant's small demo), and the next query
        joining them gets a nested loop over the whole tenant. Runs inside the transaction: ANALYZE
        counts the transaction's own new rows. A role that does not own a table gets a warning only."""
        self._drain()
        labels = self._unanalyzed | {m._meta.label for m in models}
        self._unanalyzed = set()
        if self.vendor != "postgresql" or not labels:
            return
        quote = self.connection.ops.quote_name
        tables = ", ".join(sorted(quote(apps.get_model(label)._meta.db_table) for label in labels))
        with self.connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {tables}")

    def _postgres_job(self, model, fields, encoded):
        quote = self.connection.ops.quote_name
        body = "\n".join(map("\t".join, zip(*encoded, strict=False))) + "\n"
        table = model._meta.db_table
        names = ", ".join(quote(f.column) for f in fields)
        stage = quote(f"csops_stage_{table}")
        raw_connection = self.connection.connection

        def job():
            with raw_connection.cursor() as cursor:
                if self.copy_direct:
                    _copy_in(cursor, f"COPY {quote(table)} ({names}) FROM STDIN", body)
                    return
                if table not in self._staged:
                    cursor.execute(f"CREATE TEMPORARY TABLE {stage} (LIKE {quote(table)}) ON COMMIT DROP")
                    if model._meta.pk not in fields:  # the key the table numbers is not staged
                        cursor.execute(f"ALTER TABLE {stage} ALTER COLUMN {quote(model._meta.pk.column)} DROP NOT NULL")
                    self._staged.add(table)
                _copy_in(cursor, f"COPY {stage} ({names}) FROM STDIN", body)
                cursor.execute(f"INSERT INTO {quote(table)} ({names}) SELECT {names} FROM {stage}")  # noqa: S608
                cursor.execute(f"TRUNCATE {stage}")

        return job


def _copy_in(cursor, sql: str, body: str) -> None:
    if hasattr(cursor, "copy_expert"):  # psycopg2: one read of the whole batch, so one GIL hand-off
        cursor.copy_expert(sql, io.StringIO(body), size=len(body) + 1)
    else:  # psycopg 3
        with cursor.copy(sql) as copy:
            copy.write(body)
