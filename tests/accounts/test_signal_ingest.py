"""Signal ingestion services: row checks (bad ids, out-of-range scores, unknown accounts, duplicates) reject
the whole batch with nothing written; valid batches are upserted set-wise and idempotently."""
import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import SupportTicket, SurveyResponse, UsageRecord
from accounts.signals.rows import validate_rows
from accounts.signals.services import (
    SignalRowsInvalid,
    signals_ingest,
    signals_ingest_chunks,
    signals_prepare,
    usage_ingest,
)
from csops.tenancy.context import tenant_context
from csops.tenancy.models import AuditEvent
from csops.tenancy.services import SYSTEM
from tests.factories import AccountFactory, ContactFactory

pytestmark = pytest.mark.django_db
NOW = dt.datetime(2026, 11, 23, 12, tzinfo=dt.UTC)
DAY = "2026-11-22"


@pytest.fixture
def acme(world):
    return AccountFactory(organization=world.org, external_id="ACME")


def _counts(world):
    with tenant_context(world.org):
        return UsageRecord.objects.count(), SurveyResponse.objects.count(), SupportTicket.objects.count()


# --- pure row checks -----------------------------------------------------------------------------------------

def test_validate_rows_cleans_values_and_names_each_problem():
    rows = [
        {"account_external_id": "A", "metric": " logins ", "date": "2026-11-20", "value": "3.5"},
        {"account_id": "zzz", "metric": "logins", "date": "2026-02-30", "value": "1,5"},
        {"account_external_id": "A", "metric": "x" * 65, "date": "2026-11-20", "value": True},
        {"account_external_id": "A", "account_id": "6c3f0b8e-6f0b-4f4f-9d7e-1a2b3c4d5e6f", "metric": "m",
         "date": "2026-11-20", "value": float("inf")},
        {"account_external_id": "A", "metric": "logins", "date": "2027-01-01", "value": 1},
    ]
    cleaned, errors = validate_rows("usage", rows, now=NOW)
    assert cleaned[0] == {"account": ("external_id", "A"), "metric": "logins", "date": dt.date(2026, 11, 20),
                          "value": 3.5}
    assert cleaned[1:] == [None] * 4
    assert [(e.row, e.field) for e in errors] == [
        (1, "account_id"), (1, "date"), (1, "value"), (2, "metric"), (2, "value"), (3, "account_id"), (3, "value"),
        (4, "date")]
    assert "future" in errors[-1].message


def test_survey_scale_depends_on_kind_and_datetimes_take_the_org_time_zone():
    tz = dt.timezone(dt.timedelta(hours=2))
    rows = [{"external_id": "1", "account_external_id": "A", "kind": "NPS (0–10)", "score": 10,
             "responded_at": "2026-11-20 09:00"},
            {"external_id": "2", "account_external_id": "A", "kind": "csat", "score": 0, "responded_at": "2026-11-20"},
            {"external_id": "3", "account_external_id": "A", "kind": "ces", "score": "x",
             "responded_at": "yesterday"}]
    cleaned, errors = validate_rows("surveys", rows, tz=tz, now=NOW)
    assert cleaned[0]["kind"] == "nps" and cleaned[0]["responded_at"] == dt.datetime(2026, 11, 20, 9, tzinfo=tz)
    assert [(e.row, e.field) for e in errors] == [(1, "score"), (2, "score"), (2, "responded_at")]
    assert "CSAT scale (1–5)" in errors[0].message


def test_text_with_a_nul_character_is_refused_not_a_database_error():
    rows = [{"external_id": "T\x001", "account_external_id": "A", "opened_at": "2026-11-20"}]
    _, errors = validate_rows("tickets", rows, now=NOW)
    assert [(e.row, e.field) for e in errors] == [(0, "external_id")] and "NUL" in errors[0].message


# --- checks against the database -----------------------------------------------------------------------------

def test_unknown_accounts_and_bad_ids_reject_the_batch_and_nothing_is_written(world, acme):
    rows = [{"account_external_id": "ACME", "metric": "logins", "date": DAY, "value": 1},
            {"account_external_id": "GHOST", "metric": "logins", "date": DAY, "value": 1},
            {"account_id": "4b6f0c1e-0000-4000-8000-000000000000", "metric": "logins", "date": DAY, "value": 1},
            {"account_id": 12, "metric": "logins", "date": DAY, "value": 1}]
    with pytest.raises(SignalRowsInvalid) as caught:
        signals_ingest(kind="usage", organization=world.org, actor=SYSTEM, rows=rows)
    assert [(e.row, e.field) for e in caught.value.row_errors] == [
        (1, "account_external_id"), (2, "account_id"), (3, "account_id")]
    assert "GHOST" in caught.value.row_errors[0].message
    assert _counts(world) == (0, 0, 0)


def test_duplicates_within_a_batch_are_errors_even_when_named_two_ways(world, acme):
    rows = [{"account_external_id": "ACME", "metric": "logins", "date": DAY, "value": 1},
            {"account_id": str(acme.pk), "metric": "logins", "date": DAY, "value": 2}]
    _, errors = signals_prepare(kind="usage", organization=world.org, rows=rows)
    assert [(e.row, e.field) for e in errors] == [(1, "metric")] and "row 0" in errors[0].message
    surveys = [{"external_id": "s", "account_external_id": "ACME", "kind": "nps", "score": 1, "responded_at": DAY}] * 2
    _, errors = signals_prepare(kind="surveys", organization=world.org, rows=surveys)
    assert [(e.row, e.field) for e in errors] == [(1, "external_id")]


def test_out_of_range_scores_write_nothing(world, acme):
    rows = [{"external_id": f"r{i}", "account_external_id": "ACME", "kind": "nps", "score": s, "responded_at": DAY}
            for i, s in enumerate([0, 10, 11])]
    with pytest.raises(SignalRowsInvalid) as caught:
        signals_ingest(kind="surveys", organization=world.org, actor=SYSTEM, rows=rows)
    assert [(e.row, e.field) for e in caught.value.row_errors] == [(2, "score")]
    assert _counts(world) == (0, 0, 0)


def test_contacts_resolve_by_id_or_email_within_the_account(world, acme):
    other = AccountFactory(organization=world.org)
    jane = ContactFactory(account=acme, organization=world.org, email="jane@acme.example")
    stranger = ContactFactory(account=other, organization=world.org)
    rows = [{"external_id": "1", "account_external_id": "ACME", "contact_email": "JANE@acme.example", "kind": "nps",
             "score": 9, "responded_at": DAY},
            {"external_id": "2", "account_external_id": "ACME", "contact_id": str(stranger.pk), "kind": "nps",
             "score": 9, "responded_at": DAY},
            {"external_id": "3", "account_external_id": "ACME", "contact_id": str(jane.pk),
             "contact_email": "jane@acme.example", "kind": "nps", "score": 9, "responded_at": DAY}]
    prepared, errors = signals_prepare(kind="surveys", organization=world.org, rows=rows)
    assert prepared[0]["contact_id"] == jane.pk
    assert [(e.row, e.field) for e in errors] == [(1, "contact_id"), (2, "contact_id")]


# --- writes ---------------------------------------------------------------------------------------------------

def test_usage_upsert_counts_and_audits(world, acme):
    rows = [{"account_id": acme.pk, "metric": m, "date": dt.date(2026, 11, d), "value": float(d)}
            for m in ("logins", "seats") for d in (1, 2)]
    first = usage_ingest(organization=world.org, actor=SYSTEM, rows=rows, recompute=False)
    assert (first.created, first.updated, first.unchanged, first.account_ids) == (4, 0, 0, {acme.pk})
    rows[0] = {**rows[0], "value": 7.0}
    second = usage_ingest(organization=world.org, actor=SYSTEM, rows=rows, recompute=False)
    assert (second.created, second.updated, second.unchanged) == (0, 1, 3)
    with tenant_context(world.org):
        assert AuditEvent.objects.filter(action="signals.usage_ingest").count() == 2


def test_ticket_upsert_updates_changes_and_ignores_repeats(world, acme):
    row = {"external_id": "T1", "account_external_id": "ACME", "subject": "Down", "opened_at": "2026-11-20T10:00:00Z"}
    assert signals_ingest(kind="tickets", organization=world.org, actor=SYSTEM, rows=[row]).created == 1
    assert signals_ingest(kind="tickets", organization=world.org, actor=SYSTEM, rows=[row]).unchanged == 1
    moved = AccountFactory(organization=world.org, external_id="NEW")
    changed = signals_ingest(kind="tickets", organization=world.org, actor=SYSTEM, rows=[
        {**row, "account_external_id": "NEW", "status": "closed", "closed_at": "2026-11-21T10:00:00Z"}])
    assert (changed.updated, changed.account_ids) == (1, {moved.pk})
    with tenant_context(world.org):
        ticket = SupportTicket.objects.get()
        assert (ticket.account_id, ticket.status, ticket.priority) == (moved.pk, "closed", "normal")


def test_other_organizations_rows_with_the_same_keys_are_untouched(world, other_world, acme):
    theirs = AccountFactory(organization=other_world.org, external_id="ACME")
    row = {"external_id": "T1", "account_external_id": "ACME", "opened_at": "2026-11-20T10:00:00Z"}
    signals_ingest(kind="tickets", organization=other_world.org, actor=SYSTEM, rows=[{**row, "subject": "theirs"}])
    result = signals_ingest(kind="tickets", organization=world.org, actor=SYSTEM, rows=[{**row, "subject": "ours"}])
    assert result.created == 1
    with tenant_context(other_world.org):
        assert SupportTicket.objects.get().subject == "theirs" and SupportTicket.objects.get().account_id == theirs.pk


def test_chunked_ingest_is_one_transaction_rolled_back_by_a_bad_row(world, acme):
    good = [{"account_external_id": "ACME", "metric": f"m{i}", "date": DAY, "value": i} for i in range(10)]
    bad = [{"account_external_id": "GHOST", "metric": "m", "date": DAY, "value": 1}]
    with pytest.raises(SignalRowsInvalid):
        signals_ingest_chunks(kind="usage", organization=world.org, actor=SYSTEM,
                              chunks=[(range(2, 12), good), ([12], bad)])
    assert _counts(world) == (0, 0, 0)
    result = signals_ingest_chunks(kind="usage", organization=world.org, actor=SYSTEM,
                                   chunks=[(range(2, 12), good), ([12], bad)], only_valid=True)
    assert (result.received, result.created) == (10, 10)


def test_recompute_enqueued_after_commit_for_changed_accounts_only(world, acme, django_capture_on_commit_callbacks,
                                                                   monkeypatch):
    calls = []
    monkeypatch.setattr("health.tasks.health_recompute_accounts.delay_on_commit",
                        lambda org_id, ids: calls.append((org_id, ids)))
    rows = [{"account_external_id": "ACME", "metric": "logins", "date": DAY, "value": 1}]
    signals_ingest(kind="usage", organization=world.org, actor=SYSTEM, rows=rows)
    signals_ingest(kind="usage", organization=world.org, actor=SYSTEM, rows=rows)
    assert calls == [(world.org.id, [str(acme.pk)])]


def test_5000_survey_rows_take_a_constant_number_of_queries(world):
    accounts = [AccountFactory(organization=world.org, external_id=f"A{i}") for i in range(20)]
    rows = [{"external_id": f"r{i}", "account_external_id": f"A{i % 20}", "contact_email": f"p{i}@x.example",
             "kind": "csat", "score": 1 + i % 5, "responded_at": "2026-11-01T08:00:00Z"} for i in range(5000)]
    with CaptureQueriesContext(connection) as queries:
        result = signals_ingest(kind="surveys", organization=world.org, actor=SYSTEM, rows=rows)
    assert result.created == 5000 and len(accounts) == 20
    assert len(queries) <= 14, [q["sql"][:100] for q in queries]


def test_text_with_quotes_backslashes_commas_and_braces_is_stored_exactly(world, acme):
    awkward = 'say "hi", {x} \\ NULL'
    rows = [{"external_id": "e,1{\"}", "account_external_id": "ACME", "subject": awkward, "opened_at": DAY},
            {"external_id": "NULL", "account_external_id": "ACME", "subject": "", "opened_at": DAY}]
    assert signals_ingest(kind="tickets", organization=world.org, actor=SYSTEM, rows=rows).created == 2
    with tenant_context(world.org):
        assert SupportTicket.objects.get(external_id='e,1{"}').subject == awkward
        assert SupportTicket.objects.get(external_id="NULL").subject == ""
    usage = [{"account_external_id": "ACME", "metric": awkward, "date": DAY, "value": 1e-7}]
    assert signals_ingest(kind="usage", organization=world.org, actor=SYSTEM, rows=usage).created == 1
    with tenant_context(world.org):
        assert UsageRecord.objects.get().metric == awkward and UsageRecord.objects.get().value == 1e-7
