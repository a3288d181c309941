"""PostgreSQL row-level security holds even for raw SQL that bypasses the ORM's tenant manager."""
import pytest
from django.db import DatabaseError, connection, transaction

from csops.tenancy.context import dangerously_all_tenants, tenant_context
from csops.tenancy.rls import tenant_tables
from tests.factories import AccountFactory

from .conftest import require_services

pytestmark = [pytest.mark.integration]
PROBE_ROLE = "csops_rls_probe"


@pytest.fixture
def as_app_role(db):
    """Run raw SQL as a role like production's: not a superuser, owns nothing, cannot bypass RLS."""
    require_services()
    with connection.cursor() as cursor:
        cursor.execute(f"DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{PROBE_ROLE}') "
                       f"THEN CREATE ROLE {PROBE_ROLE} NOSUPERUSER NOBYPASSRLS; END IF; END $$")
        cursor.execute(f"GRANT SELECT, INSERT ON accounts_account TO {PROBE_ROLE}")

    def count_accounts():
        with connection.cursor() as cursor:
            cursor.execute(f"SET ROLE {PROBE_ROLE}")
            try:
                cursor.execute("SELECT count(*) FROM accounts_account")
                return cursor.fetchone()[0]
            finally:
                cursor.execute("RESET ROLE")

    return count_accounts


def test_every_tenant_table_has_forced_rls_and_the_policy(db):
    require_services()
    with connection.cursor() as cursor:
        cursor.execute("SELECT relname, relrowsecurity, relforcerowsecurity FROM pg_class WHERE relname = ANY(%s)",
                       [tenant_tables()])
        flags = {name: (enabled, forced) for name, enabled, forced in cursor.fetchall()}
        cursor.execute("SELECT tablename FROM pg_policies WHERE policyname = 'csops_tenant_isolation'")
        with_policy = {row[0] for row in cursor.fetchall()}
    assert set(flags) == set(tenant_tables())
    assert all(enabled and forced for enabled, forced in flags.values()), flags
    assert with_policy == set(tenant_tables())


def test_raw_sql_sees_only_the_context_org(world, other_world, as_app_role):
    AccountFactory.create_batch(2, organization=world.org)
    AccountFactory.create_batch(3, organization=other_world.org)
    assert as_app_role() == 0  # no tenant context: nothing, not everything
    with tenant_context(world.org):
        assert as_app_role() == 2
    with tenant_context(other_world.org):
        assert as_app_role() == 3
    with dangerously_all_tenants():
        assert as_app_role() == 5
    assert as_app_role() == 0  # leaving the context resets the session


def test_rls_refuses_inserting_another_orgs_row(world, other_world, as_app_role):
    with tenant_context(world.org), connection.cursor() as cursor:
        cursor.execute(f"SET ROLE {PROBE_ROLE}")
        try:
            with pytest.raises(DatabaseError, match="row-level security"), transaction.atomic():
                cursor.execute(
                    "INSERT INTO accounts_account (id, organization_id, name, tier, lifecycle_stage, region, domain,"
                    " industry, arr, created_at, updated_at) VALUES (gen_random_uuid(), %s, 'x', 'smb', 'mature', '',"
                    " '', '', 0, now(), now())", [other_world.org.pk])
        finally:
            cursor.execute("RESET ROLE")
