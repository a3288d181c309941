"""Bulk transfer between PostgreSQL and pandas for the daily recompute (hundreds of thousands of rows).

Reading: a queryset's SQL runs inside ``COPY (…) TO STDOUT WITH CSV`` and pandas parses the text in C — no
Python object per value (a UUID per row costs more than the whole query). Writing: frames go into a
temporary table with ``COPY … FROM STDIN`` and one INSERT/UPDATE … SELECT moves them into the real table
(COPY FROM cannot target a table under row-level security; INSERT … SELECT goes through its policies).
Other databases (SQLite in development and tests) take the ORM path; callers check ``is_postgres()``.
"""
from __future__ import annotations

import io
from collections.abc import Sequence

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


def copy_text_into_temp(cursor, table: str, columns_sql: str, columns: Sequence[Sequence[str | bytes | None]], *,
                        analyze: bool = True) -> None:
    """Create ``table`` (temporary, dropped at commit) and COPY the given columns (equal-length sequences of text —
    str, or UTF-8 bytes such as JSON documents — None for NULL) into it in PostgreSQL's text format. Each column is
    escaped in one pass over its joined text (text holds no NUL, so NUL separates the values): no per-value Python
    work, no CSV quoting of JSON. ``analyze=False`` skips the statistics when every plan reading the table is the
    same whatever its contents (ANALYZE of 25k rows of JSON documents costs ~0.1 s)."""
    escaped = [_copy_escaped(values) for values in columns]
    data = b"\n".join(map(b"\t".join, zip(*escaped, strict=True))) + b"\n"
    cursor.execute(f"DROP TABLE IF EXISTS {table}")
    cursor.execute(f"CREATE TEMPORARY TABLE {table} ({columns_sql}) ON COMMIT DROP")
    cursor.copy_expert(f"COPY {table} FROM STDIN", io.BytesIO(data))
    if analyze:
        cursor.execute(f"ANALYZE {table}")


_COPY_ESCAPES = ((b"\\", b"\\\\"), (b"\t", b"\\t"), (b"\n", b"\\n"), (b"\r", b"\\r"))


def _copy_escaped(values: Sequence[str | bytes | None]) -> list[bytes]:
    """One column's values, escaped for COPY's text format, as bytes (None → \\N)."""
    values = list(values)
    if not values:
        return []
    nulls = [i for i, v in enumerate(values) if v is None] if None in values else []
    blank = next((v for v in values if v is not None), "")[:0]  # b"" or "", as the column's other values
    for i in nulls:
        values[i] = blank
    try:  # bytes throughout (JSON documents), or text throughout: one join in C
        joined = b"\x00".join(values)
    except TypeError:
        try:
            joined = "\x00".join(values).encode()
        except TypeError:  # a mix
            joined = "\x00".join(v.decode() if isinstance(v, bytes) else v for v in values).encode()
    for raw, escaped in _COPY_ESCAPES:
        if raw in joined:
            joined = joined.replace(raw, escaped)
    out = joined.split(b"\x00")
    for i in nulls:
        out[i] = b"\\N"
    return out
