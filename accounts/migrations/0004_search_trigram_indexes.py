"""Trigram indexes for the accounts search (name/domain `icontains`) on PostgreSQL; nothing on SQLite.

Django's icontains on PostgreSQL is `UPPER(col::text) LIKE UPPER(%s)`, so the indexes are on that
expression. pg_trgm is a trusted extension (PostgreSQL 13+): the database owner can create it."""
from django.db import migrations

INDEXES = {
    "accounts_account_name_trgm": "name",
    "accounts_account_domain_trgm": "domain",
}


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for index, column in INDEXES.items():
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {index} ON accounts_account USING gin (UPPER({column}::text) gin_trgm_ops)"
        )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for index in INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {index}")


class Migration(migrations.Migration):
    dependencies = [("accounts", "0003_constraint_messages")]
    operations = [migrations.RunPython(create, drop)]
