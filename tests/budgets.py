"""Query budgets for pages, with the database's fixed per-request overhead made explicit."""
from django.db import connection


def rls_overhead() -> int:
    """Queries PostgreSQL adds per request: set_config of the row-level-security tenant on entering the
    tenant context and its reset on leaving (csops/tenancy/rls.py). None on SQLite."""
    return 2 if connection.vendor == "postgresql" else 0


def budget(queries: int) -> int:
    return queries + rls_overhead()
