"""PostgreSQL row-level security: the second isolation layer under the ORM's tenant manager.

Every TenantModel table gets ENABLE + FORCE ROW LEVEL SECURITY and one policy: a row is visible and
writable only when its organization_id equals the session's `csops.org_id`, or when `csops.all_tenants`
is 'on' (set by `dangerously_all_tenants()`). The tenant context mirrors itself into those settings.

Superusers and table owners with BYPASSRLS skip policies, so production connects as a role that owns
nothing (see README, "PostgreSQL roles"); migrations run as the owner.
"""
from django.apps import apps
from django.db import connections

POLICY = "csops_tenant_isolation"


def tenant_tables() -> list[str]:
    from .models import TenantModel

    return sorted(
        m._meta.db_table for m in apps.get_models() if issubclass(m, TenantModel) and not m._meta.proxy
    )


def apply_rls_policies(using: str = "default") -> list[str]:
    connection = connections[using]
    if connection.vendor != "postgresql":
        return []
    tables = tenant_tables()
    with connection.cursor() as cursor:
        for table in tables:
            quoted = connection.ops.quote_name(table)
            cursor.execute(f"ALTER TABLE {quoted} ENABLE ROW LEVEL SECURITY")
            cursor.execute(f"ALTER TABLE {quoted} FORCE ROW LEVEL SECURITY")
            cursor.execute(f"DROP POLICY IF EXISTS {POLICY} ON {quoted}")
            cursor.execute(
                f"CREATE POLICY {POLICY} ON {quoted} USING ("  # noqa: S608 -- table names come from our models
                "organization_id = NULLIF(current_setting('csops.org_id', true), '')::bigint"
                " OR current_setting('csops.all_tenants', true) = 'on')"
            )
    return tables


def on_post_migrate(sender, using="default", **kwargs):
    apply_rls_policies(using)


def sync_session(org_id: int | None, all_tenants: bool) -> None:
    """Mirror the tenant context into the PostgreSQL session (no-op on SQLite)."""
    connection = connections["default"]
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT set_config('csops.org_id', %s, false), set_config('csops.all_tenants', %s, false)",
            [str(org_id) if org_id else "", "on" if all_tenants else "off"],
        )
