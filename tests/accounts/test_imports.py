"""CSV import of accounts and contacts: parsing rules and the two-phase services."""
import csv
import io
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.imports.columns import COLUMN_NAMES
from accounts.imports.parsing import parse_import
from accounts.imports.services import ImportBlocked, import_commit, import_discard
from accounts.models import Account, Contact, ImportBatch, ImportStatus, OwnerAssignment
from csops.tenancy.context import tenant_context
from csops.tenancy.models import AuditEvent
from csops.tenancy.services import Actor
from playbooks.models import Task, TaskStatus
from tests.accounts.import_helpers import (
    account_row,
    assert_nothing_imported,
    make_csv,
    message_for,
    problems,
    validate,
    with_contact,
)
from tests.factories import AccountFactory, ContactFactory, TaskFactory

# --- the happy path and the upsert ------------------------------------------------------------------------

def test_good_file_creates_accounts_contacts_and_records_the_batch(world, tenant):
    data = make_csv([
        with_contact(account_row(world, "ACME-1")),
        with_contact(account_row(world, "ACME-1"), email="sam@acme.example", contact_name="Sam",
                     contact_is_primary="no", contact_role="User"),
        account_row(world, "BETA-2", name="Beta", tier="enterprise", owner_email=world.manager.email, arr="1,500.5"),
    ])
    batch = validate(world, data)
    assert (batch.status, batch.total_rows, batch.valid_rows, batch.error_rows) == ("validated", 3, 3, 0)
    assert Account.objects.count() == 0  # phase 1 changes nothing

    batch = import_commit(batch=batch, actor=Actor(user=world.admin))

    assert batch.status == ImportStatus.COMMITTED and batch.committed_at is not None
    assert (batch.created_count, batch.updated_count, batch.contacts_created, batch.contacts_updated) == (2, 0, 2, 0)
    acme = Account.objects.get(external_id="ACME-1")
    assert (acme.name, acme.tier, acme.lifecycle_stage, acme.owner, acme.arr, str(acme.renewal_date)) == (
        "Customer ACME-1", "mid_market", "adopting", world.csm, Decimal("12000.00"), "2027-03-31")
    beta = Account.objects.get(external_id="BETA-2")
    assert (beta.tier, beta.owner, beta.arr) == ("enterprise", world.manager, Decimal("1500.50"))
    contacts = {c.email: c for c in acme.contacts.all()}
    assert contacts["jane@acme.example"].is_primary and contacts["jane@acme.example"].role == "champion"
    assert not contacts["sam@acme.example"].is_primary and contacts["sam@acme.example"].role == "user"
    assert OwnerAssignment.objects.filter(account=acme, new_owner=world.csm, previous_owner=None).count() == 1
    event = AuditEvent.objects.get(action="import.commit")
    assert event.actor_user == world.admin and event.object_id == str(batch.pk)
    assert event.after["accounts_created"] == 2 and event.after["contacts_created"] == 2


def test_reimport_updates_on_external_id_and_empty_cells_leave_values_unchanged(world, tenant):
    existing = AccountFactory(organization=world.org, external_id="ACME-1", name="Old name", region="NA",
                              arr=Decimal("10"), owner=world.csm, industry="Retail")
    contact = ContactFactory(organization=world.org, account=existing, email="Jane@Acme.example", name="J",
                             title="CTO")
    untouched = AccountFactory(organization=world.org, external_id="OTHER")
    data = make_csv([
        {"external_id": "ACME-1", "name": "New name", "region": "", "arr": "20", "owner_email": "",
         "contact_name": "Jane Doe", "contact_email": "jane@acme.example", "contact_title": ""},
        {"external_id": "NEW-1", "name": "Brand new"},
    ])
    batch = import_commit(batch=validate(world, data), actor=Actor(user=world.admin))

    assert (batch.created_count, batch.updated_count, batch.contacts_created, batch.contacts_updated) == (1, 1, 0, 1)
    existing.refresh_from_db()
    assert (existing.name, existing.region, existing.arr, existing.owner, existing.industry) == (
        "New name", "NA", Decimal("20.00"), world.csm, "Retail")
    contact.refresh_from_db()
    assert (contact.name, contact.title, contact.email) == ("Jane Doe", "CTO", "Jane@Acme.example")
    new = Account.objects.get(external_id="NEW-1")
    assert (new.tier, new.lifecycle_stage, new.arr, new.owner) == ("smb", "onboarding", Decimal("0"), None)
    assert Account.objects.count() == 3 and Account.objects.get(pk=untouched.pk).name == untouched.name
    assert not OwnerAssignment.objects.filter(account=existing).exists()  # the owner did not change


def test_owner_change_records_history_and_moves_open_tasks(world, tenant):
    account = AccountFactory(organization=world.org, external_id="ACME-1", owner=world.csm)
    open_task = TaskFactory(organization=world.org, account=account, owner=world.csm)
    done_task = TaskFactory(organization=world.org, account=account, owner=world.csm, status=TaskStatus.DONE)
    batch = import_commit(batch=validate(world, make_csv([account_row(world, "ACME-1", owner_email=world.csm2.email)])),
                          actor=Actor(user=world.admin))
    assert batch.updated_count == 1
    history = OwnerAssignment.objects.get(account=account)
    assert (history.previous_owner, history.new_owner, history.changed_by) == (world.csm, world.csm2, world.admin)
    assert "accounts.csv" in history.reason
    assert Task.objects.get(pk=open_task.pk).owner == world.csm2
    assert Task.objects.get(pk=done_task.pk).owner == world.csm


def test_new_primary_contact_replaces_the_old_one(world, tenant):
    account = AccountFactory(organization=world.org, external_id="ACME-1")
    old = ContactFactory(organization=world.org, account=account, email="old@acme.example", is_primary=True)
    data = make_csv([with_contact(account_row(world, "ACME-1"), email="new@acme.example")])
    import_commit(batch=validate(world, data), actor=Actor(user=world.admin))
    old.refresh_from_db()
    assert not old.is_primary
    assert Contact.objects.get(email="new@acme.example").is_primary


def test_unchanged_reimport_writes_nothing(world, tenant):
    data = make_csv([with_contact(account_row(world, "ACME-1"))])
    import_commit(batch=validate(world, data), actor=Actor(user=world.admin))
    again = import_commit(batch=validate(world, data), actor=Actor(user=world.admin))
    assert (again.created_count, again.updated_count, again.contacts_created, again.contacts_updated) == (0, 0, 0, 0)
    assert AuditEvent.objects.filter(action="import.commit").first().after["accounts_unchanged"] == 1


# --- encodings and file-level problems ----------------------------------------------------------------------

@pytest.mark.parametrize("bom", [True, False], ids=["bom", "no-bom"])
def test_utf8_with_or_without_bom_is_read_the_same(world, tenant, bom):
    data = make_csv([account_row(world, "ÉTÉ-1", name="Société Générale")], bom=bom)
    batch = validate(world, data)
    assert (batch.valid_rows, batch.error_rows, batch.errors) == (1, 0, [])
    assert batch.header[0] == "external_id"  # the BOM is not glued to the first column name
    import_commit(batch=batch, actor=Actor(user=world.admin))
    assert Account.objects.get(external_id="ÉTÉ-1").name == "Société Générale"


def test_windows_1252_file_is_read_with_a_warning(world, tenant):
    batch = validate(world, make_csv([account_row(world, "A1", name="Café Müller")], encoding="cp1252"))
    assert batch.valid_rows == 1 and batch.error_rows == 0
    warning = batch.errors[0]
    assert warning["level"] == "warning" and "Windows-1252" in warning["message"]
    import_commit(batch=batch, actor=Actor(user=world.admin))
    assert Account.objects.get(external_id="A1").name == "Café Müller"


def test_utf16_tab_separated_file_from_excel_is_accepted(world, tenant):
    data = make_csv([account_row(world, "A1", name="Zoë")], delimiter="\t").decode().encode("utf-16")
    batch = validate(world, data)
    assert (batch.valid_rows, batch.errors) == (1, [])


def test_semicolon_separated_file_is_accepted(world, tenant):
    batch = validate(world, make_csv([account_row(world, "A1", arr="1000")], delimiter=";"))
    assert (batch.valid_rows, batch.error_rows) == (1, 0)


@pytest.mark.parametrize(("data", "expected"), [
    (b"", "The file is empty"),
    (b"\xef\xbb\xbf\r\n\r\n", "The file is empty"),
    (b"external_id,name\r\n", "header but no data rows"),
    (b"PK\x03\x04\x14\x00\x06\x00binary", "Excel workbook"),
    (b"\x00\x01\x02garbage\x00", "binary"),
])
def test_empty_and_binary_files_are_reported_not_crashing(world, tenant, data, expected):
    batch = validate(world, data)
    assert batch.errors[0]["row"] is None and expected in batch.errors[0]["message"]
    assert_nothing_imported(world, batch)


def test_missing_required_column_is_a_file_error(world, tenant):
    data = make_csv([{"external_id": "A1", "domain": "a.example"}], header=["external_id", "domain"])
    batch = validate(world, data)
    assert problems(batch) == [(None, "name", "")]
    assert "Missing required column 'name'" in batch.errors[0]["message"]
    assert batch.valid_rows == 0 and batch.error_rows == 1
    with pytest.raises(ImportBlocked):
        import_commit(batch=batch, actor=Actor(user=world.admin), only_valid_rows=True)
    assert_nothing_imported(world, batch)


def test_unknown_column_is_named_with_the_accepted_ones(world, tenant):
    header = [*COLUMN_NAMES, "owner_emial"]
    batch = validate(world, make_csv([account_row(world, "A1")], header=header))
    error = batch.errors[0]
    assert (error["row"], error["column"], error["value"]) == (None, "owner_emial", "owner_emial")
    assert "Unknown column 'owner_emial'" in error["message"]
    assert "Did you mean 'owner_email'?" in error["message"]
    assert "Accepted columns: external_id, name, domain" in error["message"]
    assert_nothing_imported(world, batch)


def test_header_names_are_matched_loosely(world, tenant):
    header = ["External ID", " Name ", "Lifecycle-Stage", "OWNER_EMAIL"]
    batch = validate(world, make_csv([["A1", "Acme", "Mature", world.csm.email]], header=header))
    assert (batch.valid_rows, batch.errors) == (1, [])


# --- row errors: each class, with its report line, and nothing written ------------------------------------

@pytest.mark.parametrize(("column", "value", "message"), [
    ("arr", "-5", "can't be negative"),
    ("arr", "twelve", "Not a number"),
    ("arr", "12.345", "at most 2 decimal places"),
    ("arr", "1e5", "Not a number"),
    ("arr", "NaN", "Not a number"),
    ("renewal_date", "31/12/2027", "YYYY-MM-DD"),
    ("renewal_date", "2027-02-30", "Not a real date"),
    ("renewal_date", "next year", "Not a date"),
    ("tier", "Gold", "is not a valid tier. Use one of: enterprise, mid_market (Mid-market)"),
    ("lifecycle_stage", "dead", "is not a valid lifecycle_stage"),
    ("owner_email", "ghost@acme.example", "No active CSM or manager with the e-mail ghost@acme.example"),
    ("name", "x" * 201, "Too long: 201 characters, the limit is 200."),
    ("external_id", "x" * 101, "Too long: 101 characters, the limit is 100."),
    ("region", "r" * 65, "the limit is 64"),
])
def test_wrong_account_values_are_reported_and_nothing_changes(world, tenant, column, value, message):
    batch = validate(world, make_csv([account_row(world, "GOOD"), account_row(world, "BAD", **{column: value})]))
    assert problems(batch) == [(3, column, value)]
    assert message in message_for(batch, 3, column)
    assert (batch.valid_rows, batch.error_rows) == (1, 1)
    assert_nothing_imported(world, batch)


@pytest.mark.parametrize(("column", "value", "message"), [
    ("contact_email", "not-an-email", "Not a valid e-mail address."),
    ("contact_role", "boss", "is not a valid contact_role"),
    ("contact_is_primary", "maybe", "Write yes or no"),
    ("contact_title", "t" * 201, "Too long"),
])
def test_wrong_contact_values_are_reported_and_nothing_changes(world, tenant, column, value, message):
    batch = validate(world, make_csv([with_contact(account_row(world, "A1"), **{column: value})]))
    assert problems(batch) == [(2, column, value)]
    assert message in message_for(batch, 2, column)
    assert_nothing_imported(world, batch)


def test_required_cells_and_contact_needs_name_and_email(world, tenant):
    batch = validate(world, make_csv([
        {"external_id": "", "name": "No id"},
        {"external_id": "A2", "name": ""},
        {"external_id": "A3", "name": "Acme", "contact_name": "Jane"},
        {"external_id": "A4", "name": "Acme", "contact_email": "jane@a.example"},
    ]))
    assert problems(batch) == [(2, "external_id", ""), (3, "name", ""), (4, "contact_email", ""),
                               (5, "contact_name", "")]
    assert message_for(batch, 2, "external_id") == "external_id is required."
    assert_nothing_imported(world, batch)


@pytest.mark.parametrize("value", ["Mid-market", "mid_market", "MID-MARKET", "mid market", "Mid_Market"])
def test_choices_accept_values_and_labels_in_any_case(world, tenant, value):
    batch = validate(world, make_csv([with_contact(account_row(world, "A1", tier=value, lifecycle_stage="At renewal"),
                                                   contact_role="Decision maker")]))
    assert batch.errors == []
    import_commit(batch=batch, actor=Actor(user=world.admin))
    account = Account.objects.get(external_id="A1")
    assert (account.tier, account.lifecycle_stage) == ("mid_market", "at_renewal")
    assert account.contacts.get().role == "decision_maker"


def test_owner_must_be_an_active_csm_or_manager_of_this_org(world, other_world, tenant):
    batch = validate(world, make_csv([
        account_row(world, "A1", owner_email=world.viewer.email),
        account_row(world, "A2", owner_email=other_world.csm.email),
        account_row(world, "A3", owner_email=world.manager.email.upper()),
    ]))
    assert problems(batch) == [(2, "owner_email", world.viewer.email), (3, "owner_email", other_world.csm.email)]
    assert "member of this organization but not a CSM or manager" in message_for(batch, 2, "owner_email")
    assert "No active CSM or manager" in message_for(batch, 3, "owner_email")


def test_duplicate_external_id_without_a_new_contact_is_an_error(world, tenant):
    batch = validate(world, make_csv([account_row(world, "A1"), account_row(world, "A1")]))
    assert problems(batch) == [(3, "external_id", "A1")]
    assert "Duplicate external_id: A1 is already on row 2" in message_for(batch, 3, "external_id")
    assert (batch.valid_rows, batch.error_rows) == (1, 1)
    assert_nothing_imported(world, batch)


def test_repeated_rows_may_leave_account_cells_empty(world, tenant):
    first = with_contact(account_row(world, "A1"))
    repeat = with_contact({"external_id": "A1", "name": first["name"]}, email="sam@acme.example", contact_is_primary="")
    batch = import_commit(batch=validate(world, make_csv([first, repeat])), actor=Actor(user=world.admin))
    assert (batch.created_count, batch.contacts_created) == (1, 2)
    assert Account.objects.get().region == "EMEA"


def test_conflicting_account_values_reject_every_row_of_that_account(world, tenant):
    batch = validate(world, make_csv([
        with_contact(account_row(world, "A1", arr="100")),
        with_contact(account_row(world, "A1", arr="200"), email="sam@acme.example", contact_is_primary="no"),
        account_row(world, "B2"),
    ]))
    assert problems(batch) == [(2, "external_id", "A1"), (3, "arr", "200")]
    assert "Row 2 has the same external_id with arr '100.00'" in message_for(batch, 3, "arr")
    assert "Not imported: account A1 has errors on row 3" in message_for(batch, 2, "external_id")
    assert (batch.valid_rows, batch.error_rows) == (1, 2)


def test_one_contact_once_and_one_primary_per_account(world, tenant):
    batch = validate(world, make_csv([
        with_contact(account_row(world, "A1")),
        with_contact(account_row(world, "A1"), email="JANE@acme.example", contact_is_primary="no"),
        with_contact(account_row(world, "A1"), email="sam@acme.example", contact_is_primary="yes"),
    ]))
    assert problems(batch) == [(3, "contact_email", "JANE@acme.example"), (4, "contact_is_primary", "yes")]
    assert "already on row 2" in message_for(batch, 3, "contact_email")
    assert "one primary contact" in message_for(batch, 4, "contact_is_primary")


def test_row_with_extra_cells_is_reported(world, tenant):
    data = make_csv([["A1", "Acme, Inc", "x"]], header=["external_id", "name"])
    batch = validate(world, data)
    assert problems(batch) == [(2, "", "x")]
    assert "3 cells but the header has 2 columns" in batch.errors[0]["message"]


def test_blank_rows_are_skipped_with_a_warning_and_numbers_stay_spreadsheet_rows(world, tenant):
    data = b"external_id,name,arr\r\nA1,Acme,1\r\n,,\r\n\r\nA2,Beta,-1\r\n"
    batch = validate(world, data)
    assert batch.total_rows == 2
    assert problems(batch) == [(5, "arr", "-1")]
    warning = next(e for e in batch.errors if e["level"] == "warning")
    assert "Skipped 2 empty row(s): 3, 4" in warning["message"]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(st.binary(max_size=300), st.text(max_size=300).map(lambda t: ("external_id,name,arr\n" + t).encode())))
def test_parser_never_raises_and_reports_every_row(data):
    result = parse_import(data, owner_emails={"csm@acme.example"})
    assert result.total_rows == result.valid_rows + result.error_rows
    rows_with_errors = {e.row for e in result.issues if e.level == "error" and e.row is not None}
    if not result.file_errors:
        assert rows_with_errors == {r.row for r in result.rows if not r.ok}


# --- only the valid rows, refusals, discard ----------------------------------------------------------------

def test_only_valid_rows_imports_exactly_those_and_keeps_the_rejected_ones(world, tenant, login):
    data = make_csv([
        account_row(world, "OK-1"),
        account_row(world, "BAD-1", arr="-1"),
        with_contact(account_row(world, "OK-2")),
        account_row(world, "BAD-2", renewal_date="31/12/2027", name="=HYPERLINK(\"http://x\")"),
    ])
    batch = validate(world, data)
    with pytest.raises(ImportBlocked, match="2 row\\(s\\) have errors"):
        import_commit(batch=batch, actor=Actor(user=world.admin))

    batch = import_commit(batch=batch, actor=Actor(user=world.admin), only_valid_rows=True)

    assert batch.only_valid_rows and (batch.created_count, batch.contacts_created) == (2, 1)
    assert sorted(Account.objects.values_list("external_id", flat=True)) == ["OK-1", "OK-2"]
    response = login(world.admin).get(reverse("accounts:import_errors", args=[world.org.slug, batch.pk]))
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0] == ["import_row", *COLUMN_NAMES, "import_errors"]
    assert [r[0] for r in rows[1:]] == ["3", "5"]
    assert rows[1][1:3] == ["BAD-1", "Customer BAD-1"] and "arr: ARR can't be negative." in rows[1][-1]
    assert rows[2][2] == "'=HYPERLINK(\"http://x\")"  # neutralised for spreadsheets
    assert rows[1][COLUMN_NAMES.index("arr") + 1] == "'-1"


def test_rejected_rows_file_can_be_fixed_and_uploaded_again(world, tenant, login):
    batch = validate(world, make_csv([account_row(world, "A1", arr="-1", name="=1+1")]))
    client = login(world.admin)
    content = client.get(reverse("accounts:import_errors", args=[world.org.slug, batch.pk])).content
    fixed = content.decode("utf-8-sig").replace("'-1", "100")
    again = validate(world, fixed.encode())
    assert again.errors == [] and again.valid_rows == 1
    import_commit(batch=again, actor=Actor(user=world.admin))
    assert Account.objects.get().name == "=1+1"  # the apostrophe added on export is undone on import


def test_commit_twice_is_refused(world, tenant):
    batch = validate(world, make_csv([account_row(world, "A1")]))
    import_commit(batch=batch, actor=Actor(user=world.admin))
    with pytest.raises(ImportBlocked, match="already imported"):
        import_commit(batch=batch, actor=Actor(user=world.admin))
    assert Account.objects.count() == 1 and OwnerAssignment.objects.count() == 1
    with pytest.raises(ValidationError, match="nothing to discard"):
        import_discard(batch=batch, actor=Actor(user=world.admin))


def test_discarded_batch_cannot_be_committed(world, tenant):
    batch = validate(world, make_csv([account_row(world, "A1")]))
    discarded = import_discard(batch=batch, actor=Actor(user=world.admin))
    assert discarded.status == ImportStatus.DISCARDED
    with pytest.raises(ImportBlocked, match="discarded"):
        import_commit(batch=batch, actor=Actor(user=world.admin))
    assert Account.objects.count() == 0
    assert AuditEvent.objects.filter(action="import.discard").count() == 1


def test_owner_who_left_between_check_and_commit_blocks_the_commit(world, tenant):
    batch = validate(world, make_csv([account_row(world, "A1", owner_email=world.csm2.email)]))
    world.csm2.memberships.update(is_active=False)
    with pytest.raises(ImportBlocked, match=world.csm2.email):
        import_commit(batch=batch, actor=Actor(user=world.admin))
    assert Account.objects.count() == 0


def test_account_created_elsewhere_during_the_commit_is_refused_cleanly(world, tenant, monkeypatch):
    batch = validate(world, make_csv([account_row(world, "A1"), account_row(world, "A2")]))
    AccountFactory(organization=world.org, external_id="A2", name="Created meanwhile")
    # Simulate the race: the commit's lookup ran before the other writer's insert.
    monkeypatch.setattr("accounts.imports.services.account_states_by_external_id", lambda **kwargs: {})
    with pytest.raises(ImportBlocked, match="changed while the import was writing"):
        import_commit(batch=batch, actor=Actor(user=world.admin))
    assert list(Account.objects.values_list("name", flat=True)) == ["Created meanwhile"]
    assert ImportBatch.objects.get(pk=batch.pk).status == ImportStatus.VALIDATED


def test_import_is_scoped_to_its_organization(world, other_world):
    with tenant_context(other_world.org):
        theirs = AccountFactory(organization=other_world.org, external_id="A1", name="Theirs")
    import_commit(batch=validate(world, make_csv([account_row(world, "A1", name="Ours")])),
                  actor=Actor(user=world.admin))
    with tenant_context(world.org):
        assert Account.objects.get(external_id="A1").name == "Ours"
    with tenant_context(other_world.org):
        assert Account.objects.get(pk=theirs.pk).name == "Theirs"
        assert Account.objects.count() == 1


def test_bulk_writes_stay_inside_the_organization_in_context(world, other_world):
    from accounts.imports.bulk import insert_rows, update_rows

    theirs = AccountFactory(organization=other_world.org, name="Theirs")
    with tenant_context(world.org), pytest.raises(ValueError, match="do not belong"):
        insert_rows(Account, [{"organization_id": other_world.org.pk, "name": "Sneaky"}])
    with tenant_context(world.org):
        update_rows(Account, [{"id": theirs.pk, "name": "Hijacked"}], ["name"])
    with tenant_context(other_world.org):
        assert Account.objects.get(pk=theirs.pk).name == "Theirs"


# --- query budget ------------------------------------------------------------------------------------------

def test_two_thousand_rows_validate_and_commit_with_a_bounded_number_of_queries(
    world, tenant, django_assert_max_num_queries
):
    owners = [world.csm.email, world.csm2.email, world.manager.email]
    AccountFactory(organization=world.org, external_id="ACC-00010", owner=world.csm)  # an update among creates
    rows = []
    for i in range(1500):
        row = account_row(world, f"ACC-{i:05d}", owner_email=owners[i % 3])
        rows.append(with_contact(row, email=f"a{i}@x.example"))
        if i % 3 == 0 and len(rows) < 2000:
            rows.append(with_contact(row, email=f"b{i}@x.example", contact_is_primary="no"))
    rows = rows[:2000]
    data = make_csv(rows)
    with django_assert_max_num_queries(10):
        batch = validate(world, data)
    assert batch.valid_rows == 2000
    with django_assert_max_num_queries(20):
        batch = import_commit(batch=batch, actor=Actor(user=world.admin))
    assert (batch.created_count, batch.updated_count) == (1499, 1)
    assert Contact.objects.count() == 2000
