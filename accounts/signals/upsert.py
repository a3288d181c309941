"""INSERT … ON CONFLICT for the signal tables: one statement per batch, which says what it did.

`upsert` writes rows given as columns and returns, per account, how many of its rows it inserted and how many
it changed; rows equal to what is stored are neither written nor counted, so the caller knows created /
updated / unchanged and which accounts need a health recompute, without reading the table first.

PostgreSQL: one `WITH w AS (INSERT … SELECT FROM unnest(column arrays) ON CONFLICT … DO UPDATE … WHERE
(stored) IS DISTINCT FROM (sent) RETURNING account_id, xmax = 0) SELECT account_id, counts … GROUP BY
account_id` (xmax is 0 on a freshly inserted row version): a few hundred result rows, not 5,000.
SQLite (3.35+): the same with a multi-row VALUES list; inserted vs updated is told apart by the returned id
(ids we generated, or above the table's largest id before the statement: SQLite has one writer at a time).

Concurrent senders of the same key are safe: ON CONFLICT resolves the race in the database (the later
statement waits, then updates or skips), never a unique-violation error.

Tenant safety is kept by hand, as in accounts/imports/bulk.py: the organization id is the context's, and
the conflict target starts with it, so an update can only ever touch the organization's own rows.
"""
from __future__ import annotations

import uuid
from collections.abc import Sequence

from django.db import DEFAULT_DB_ALIAS, connections

from csops.pgarrays import array_literal
from csops.tenancy.context import current_organization

POSTGRES_ROWS_PER_STATEMENT = 5_000
SQLITE_MAX_VARIABLES = 32_000
# SAFE_SQL: statements are assembled from model metadata only (quoted table and column names, cast types)
# and placeholders; every value travels as a query parameter.


def upsert(
    model,
    columns: dict[str, list],
    *,
    conflict: Sequence[str],
    update: Sequence[str] = (),
    compare: Sequence[str] = (),
    touch: Sequence[str] = (),
) -> dict:
    """Insert the rows (`columns`: attname → one value per row; the organization is the context's).

    A row whose `conflict` key exists: with `update`, those columns are overwritten when any `compare` column
    differs (`touch` columns — received_at, updated_at — are then set too); without, the row is skipped.
    Returns {account_id: [rows inserted, rows changed]} for the accounts with rows inserted or changed."""
    org_id = current_organization().pk
    db = connections[DEFAULT_DB_ALIAS]
    meta = model._meta
    names = list(columns)
    count = len(columns[names[0]]) if names else 0
    if not count:
        return {}
    quote = db.ops.quote_name
    table = quote(meta.db_table)
    uuid_key = meta.pk.get_internal_type() == "UUIDField"
    insert_names = (["id"] if uuid_key else []) + ["organization_id", *names]
    column_sql = ", ".join(quote(meta.get_field(n).column) for n in insert_names)
    conflict_sql = ", ".join(quote(meta.get_field(n).column) for n in ["organization_id", *conflict])
    if update:
        sets = ", ".join(f"{quote(meta.get_field(n).column)} = excluded.{quote(meta.get_field(n).column)}"
                         for n in [*update, *touch])
        stored = ", ".join(f"{table}.{quote(meta.get_field(n).column)}" for n in compare)
        sent = ", ".join(f"excluded.{quote(meta.get_field(n).column)}" for n in compare)
        distinct = "IS DISTINCT FROM" if db.vendor == "postgresql" else "IS NOT"
        action = f"DO UPDATE SET {sets} WHERE ({stored}) {distinct} ({sent})"
    else:
        action = "DO NOTHING"
    account_column = quote(meta.get_field("account").column)
    if db.vendor == "postgresql":
        return _upsert_postgresql(db, meta, table, names, columns, count, org_id, uuid_key, column_sql,
                                  conflict_sql, action, account_column)
    return _upsert_sqlite(db, meta, table, names, columns, count, org_id, uuid_key, column_sql, conflict_sql,
                          action, account_column)


def _upsert_postgresql(db, meta, table, names, columns, count, org_id, uuid_key, column_sql, conflict_sql,
                       action, account_column) -> dict:
    arrays = ", ".join(f"%s::{meta.get_field(n).cast_db_type(db)}[]" for n in names)
    key = "gen_random_uuid(), " if uuid_key else ""
    sql = (
        f"WITH w AS (INSERT INTO {table} ({column_sql}) SELECT {key}%s, * FROM unnest({arrays}) "  # noqa: S608 -- see SAFE_SQL
        f"ON CONFLICT ({conflict_sql}) {action} RETURNING {account_column} AS a, (xmax = 0) AS created) "
        "SELECT a, count(*) FILTER (WHERE created), count(*) FILTER (WHERE NOT created) FROM w GROUP BY a"
    )
    fields = [meta.get_field(n) for n in names]
    out: dict = {}
    with db.cursor() as cursor:
        for start in range(0, count, POSTGRES_ROWS_PER_STATEMENT):
            stop = start + POSTGRES_ROWS_PER_STATEMENT
            arrays = [array_literal(f, columns[n][start:stop]) for f, n in zip(fields, names, strict=True)]
            cursor.execute(sql, [org_id, *arrays])
            for account_id, created, changed in cursor.fetchall():
                counts = out.setdefault(uuid.UUID(str(account_id)), [0, 0])
                counts[0] += created
                counts[1] += changed
    return out


def _upsert_sqlite(db, meta, table, names, columns, count, org_id, uuid_key, column_sql, conflict_sql, action,
                   account_column) -> dict:
    fields = [meta.get_field(n) for n in names]
    converted = [[None if v is None else f.get_db_prep_save(v, db) for v in columns[n]]
                 for f, n in zip(fields, names, strict=True)]
    pk_column = db.ops.quote_name(meta.pk.column)
    width = len(names) + 1 + (1 if uuid_key else 0)
    per_statement = max(1, SQLITE_MAX_VARIABLES // width)
    out: dict = {}
    with db.cursor() as cursor:
        largest_before = None
        if not uuid_key:
            cursor.execute(f"SELECT COALESCE(MAX({pk_column}), 0) FROM {table}")  # noqa: S608 -- see SAFE_SQL
            largest_before = cursor.fetchone()[0]
        for start in range(0, count, per_statement):
            stop = min(start + per_statement, count)
            params: list = []
            new_ids: set[str] = set()
            for i in range(start, stop):
                if uuid_key:
                    new_id = uuid.uuid4().hex
                    new_ids.add(new_id)
                    params.append(new_id)
                params.append(org_id)
                params.extend(values[i] for values in converted)
            one_row = "(" + ", ".join(["%s"] * width) + ")"
            sql = (
                f"INSERT INTO {table} ({column_sql}) VALUES {', '.join([one_row] * (stop - start))} "  # noqa: S608 -- see SAFE_SQL
                f"ON CONFLICT ({conflict_sql}) {action} RETURNING {account_column}, {pk_column}"
            )
            cursor.execute(sql, params)
            for account_id, pk in cursor.fetchall():
                created = pk in new_ids if uuid_key else pk > largest_before
                counts = out.setdefault(uuid.UUID(str(account_id)), [0, 0])
                counts[0 if created else 1] += 1
    return out
