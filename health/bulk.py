"""Bulk transfer between PostgreSQL and pandas for the daily recompute (hundreds of thousands of rows).

Reading: a queryset's SQL runs inside ``COPY (…) TO STDOUT WITH CSV`` and pandas parses the text in C — no
Python object per value (a UUID per row costs more than the whole query). Writing: frames go into a
temporary table with ``COPY … FROM STDIN`` and one INSERT/UPDATE … SELECT moves them into the real table
(COPY FROM cannot target a table under row-level security; INSERT … SELECT goes through its policies).
Other databases (SQLite in development and tests) take the ORM path; callers check ``is_postgres()``.
"""
from __future__ import annotations

import io

import numpy as np
import pandas as pd
from django.db import connection, transaction

# For the few big aggregates of a recompute (until the end of the enclosing transaction): enough memory to
# hash-aggregate a 100k-account tenant's usage in memory instead of sorting it on disk, and no JIT compile
# (hundreds of milliseconds, more than these queries gain from it).
TUNING = "SET LOCAL work_mem = '256MB'; SET LOCAL jit = off"


def is_postgres() -> bool:
    return connection.vendor == "postgresql"


def can_use_other_connections() -> bool:
    """Independent reads/writes may run on extra connections (worker threads) at once: PostgreSQL, and not inside
    a transaction (another connection would not see its uncommitted rows)."""
    return is_postgres() and not connection.in_atomic_block


def on_own_connection(organization, function, *args):
    """``function(*args)`` in the organization's tenant context, for a worker thread: Django gives the thread its
    own database connection, closed here when the function returns."""
    from csops.tenancy.context import tenant_context

    try:
        with tenant_context(organization):
            return function(*args)
    finally:
        connection.close()


def frame_from_sql(sql: str, params, columns: list[str], *, dates: tuple[str, ...] = (),
                   dtypes: dict | None = None) -> pd.DataFrame:
    """Run ``sql`` (with %s params) through COPY TO STDOUT; NULL → NaN, ``dates`` parsed to datetime64[s]."""
    buffer = io.StringIO()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(TUNING)
        query = cursor.mogrify(sql, params).decode()
        cursor.copy_expert(f"COPY ({query}) TO STDOUT WITH (FORMAT csv)", buffer)  # noqa: S608 -- mogrified
    buffer.seek(0)
    text_columns = {c: str for c in columns if c not in dates and c not in (dtypes or {})}
    frame = pd.read_csv(buffer, names=columns, header=None, dtype={**text_columns, **(dtypes or {})},
                        keep_default_na=False, na_values=[""])
    for column in dates:
        frame[column] = pd.to_datetime(frame[column]).astype("datetime64[s]")
    return frame


def frame_from_queryset(qs, columns: list[str], **kwargs) -> pd.DataFrame:
    """A ``values_list`` queryset, read through COPY (its compiled SQL, parameters bound)."""
    sql, params = qs.query.sql_with_params()
    return frame_from_sql(sql, params, columns, **kwargs)


def copy_into_temp(cursor, table: str, columns_sql: str, frame: pd.DataFrame) -> None:
    """Create ``table`` (temporary, dropped at commit) and COPY ``frame``'s rows into it (NaN/None → NULL)."""
    cursor.execute(f"DROP TABLE IF EXISTS {table}")  # a caller inside an outer transaction may run twice
    cursor.execute(f"CREATE TEMPORARY TABLE {table} ({columns_sql}) ON COMMIT DROP")
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False, header=False, na_rep="")
    buffer.seek(0)
    cursor.copy_expert(f"COPY {table} FROM STDIN WITH (FORMAT csv)", buffer)
    cursor.execute(f"ANALYZE {table}")  # temporary tables have no statistics: the planner would guess


_BINARY_HEADER = b"PGCOPY\n\xff\r\n\x00" + (0).to_bytes(4, "big") + (0).to_bytes(4, "big")
_BINARY_TRAILER = (-1).to_bytes(2, "big", signed=True)
_BINARY_SIZES = {"uuid": 16, "int4": 4, "float8": 8, "bool": 1}
_BINARY_DTYPES = {"uuid": "S16", "int4": ">i4", "float8": ">f8", "bool": "u1"}


def copy_binary_into_temp(cursor, table: str, columns: list[tuple[str, str, np.ndarray]]) -> None:
    """Create ``table`` (temporary, dropped at commit) and fill it with PostgreSQL's binary COPY format,
    built as one numpy structured array: no text formatting of hundreds of thousands of floats.

    ``columns``: (name, type, values) with type uuid (16-byte values), int4, float8 (NaN stays NaN; turn it
    into NULL in SQL with NULLIF(column, 'NaN')) or bool. No NULLs: every field has a fixed size."""
    n = len(columns[0][2]) if columns else 0
    fields = [("count", ">i2")]
    for position, (_name, kind, _values) in enumerate(columns):
        fields += [(f"length{position}", ">i4"), (f"value{position}", _BINARY_DTYPES[kind])]
    rows = np.empty(n, dtype=np.dtype(fields))
    rows["count"] = len(columns)
    for position, (_name, kind, values) in enumerate(columns):
        rows[f"length{position}"] = _BINARY_SIZES[kind]
        rows[f"value{position}"] = values
    cursor.execute(f"DROP TABLE IF EXISTS {table}")
    definition = ", ".join(f"{name} {kind}" for name, kind, _values in columns)
    cursor.execute(f"CREATE TEMPORARY TABLE {table} ({definition}) ON COMMIT DROP")
    cursor.copy_expert(f"COPY {table} FROM STDIN WITH (FORMAT binary)",
                       io.BytesIO(_BINARY_HEADER + rows.tobytes() + _BINARY_TRAILER))
    cursor.execute(f"ANALYZE {table}")
