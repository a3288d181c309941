"""Signal ingestion under PostgreSQL row-level security, as production's role (not a superuser, owns nothing):
the raw INSERT … ON CONFLICT statements insert, update and skip rows of the organization in context only."""
import pytest
from django.db import connection

from accounts.models import SupportTicket, UsageRecord
from accounts.signals.services import signals_ingest
from csops.tenancy.context import tenant_context
from csops.tenancy.services import SYSTEM
from tests.factories import AccountFactory

from .conftest import require_services

pytestmark = [pytest.mark.integration]
ROLE = "csops_signals_probe"
TABLES = ("accounts_account", "accounts_contact", "accounts_usagerecord", "accounts_supportticket",
          "accounts_surveyresponse", "tenancy_auditevent")


@pytest.fixture
def app_role(db):
    """A role like production's (not a superuser, owns nothing, cannot bypass RLS) with the grants ingestion
    needs."""
    require_services()
    with connection.cursor() as cursor:
        cursor.execute(f"DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{ROLE}') "
                       f"THEN CREATE ROLE {ROLE} NOSUPERUSER NOBYPASSRLS; END IF; END $$")
        for table in TABLES:
            cursor.execute(f"GRANT SELECT, INSERT, UPDATE ON {table} TO {ROLE}")
        cursor.execute(f"GRANT USAGE ON SEQUENCE accounts_usagerecord_id_seq TO {ROLE}")
    return ROLE


def test_upserts_write_only_the_context_orgs_rows(world, other_world, app_role, monkeypatch):
    monkeypatch.setattr("health.tasks.health_recompute_accounts.delay_on_commit", lambda *args: None)
    ours = AccountFactory(organization=world.org, external_id="SAME")
    theirs = AccountFactory(organization=other_world.org, external_id="SAME")
    row = {"external_id": "T1", "account_external_id": "SAME", "opened_at": "2026-11-20T10:00:00Z"}
    signals_ingest(kind="tickets", organization=other_world.org, actor=SYSTEM, rows=[{**row, "subject": "theirs"}])
    usage = [{"account_external_id": "SAME", "metric": "logins", "date": "2026-11-20", "value": 3}]
    signals_ingest(kind="usage", organization=other_world.org, actor=SYSTEM, rows=usage)

    with connection.cursor() as cursor:
        cursor.execute(f"SET ROLE {ROLE}")
    try:
        first = signals_ingest(kind="tickets", organization=world.org, actor=SYSTEM, rows=[{**row, "subject": "a"}])
        changed = signals_ingest(kind="tickets", organization=world.org, actor=SYSTEM,
                                 rows=[{**row, "subject": "b", "status": "solved"}])
        same = signals_ingest(kind="tickets", organization=world.org, actor=SYSTEM,
                              rows=[{**row, "subject": "b", "status": "solved"}])
        added = signals_ingest(kind="usage", organization=world.org, actor=SYSTEM, rows=usage)
        fixed = signals_ingest(kind="usage", organization=world.org, actor=SYSTEM, rows=[{**usage[0], "value": 4}])
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET ROLE")
    assert (first.created, changed.updated, same.unchanged, added.created, fixed.updated) == (1, 1, 1, 1, 1)
    with tenant_context(world.org):
        assert SupportTicket.objects.get().subject == "b" and UsageRecord.objects.get().value == 4
        assert SupportTicket.objects.get().account_id == ours.pk
    with tenant_context(other_world.org):
        assert SupportTicket.objects.get().subject == "theirs" and UsageRecord.objects.get().value == 3
        assert UsageRecord.objects.get().account_id == theirs.pk
