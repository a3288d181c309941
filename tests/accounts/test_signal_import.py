"""CSV import of signals: the import page's kinds (usage, surveys, tickets) through validate → report → atomic
commit, and `manage.py import_signals` for big files (streamed in chunks, one transaction)."""
import csv
import io

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from accounts.imports.services import ImportBlocked, import_commit, import_validate
from accounts.imports.signal_columns import iter_signal_csv, read_signal_csv
from accounts.models import ImportBatch, ImportStatus, SupportTicket, SurveyResponse, UsageRecord
from csops.tenancy.context import tenant_context
from csops.tenancy.services import Actor
from tests.factories import AccountFactory

pytestmark = pytest.mark.django_db
USAGE_HEADER = ["account_external_id", "metric", "date", "value"]


def make_csv(header, rows) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode()


@pytest.fixture
def accounts(world):
    return [AccountFactory(organization=world.org, external_id=f"C{i}") for i in range(3)]


def _validate(world, kind, data, name="signals.csv"):
    return import_validate(organization=world.org, actor=Actor(user=world.admin), file_name=name, data=data, kind=kind)


def _errors(batch):
    return [(e["row"], e["column"]) for e in batch.errors if e["level"] == "error"]


# --- reading --------------------------------------------------------------------------------------------------

def test_header_problems_are_file_errors():
    csv_file, _ = read_signal_csv("usage", make_csv(["acount_external_id", "metric", "value", "value"], []))
    messages = " ".join(i.message for i in csv_file.file_errors)
    assert "Did you mean 'account_external_id'?" in messages and "appears twice" in messages
    assert "Missing required column 'date'" in messages and "Missing the account column" in messages


def test_streaming_reader_yields_chunks_with_spreadsheet_row_numbers():
    data = make_csv(USAGE_HEADER, [["C0", "logins", "2026-11-20", str(i)] for i in range(7)] + [[], ["C0", "x", "y",
                                                                                                     "1", "extra"]])
    chunks = list(iter_signal_csv("usage", io.BytesIO(b"\xef\xbb\xbf" + data), chunk_size=3))
    assert [numbers for numbers, _, _ in chunks] == [[2, 3, 4], [5, 6, 7], [8, 10]]
    assert chunks[0][1][0] == {"account_external_id": "C0", "metric": "logins", "date": "2026-11-20", "value": "0"}
    assert [p.row for p in chunks[2][2]] == [10]


# --- the import page's flow -------------------------------------------------------------------------------------

def test_usage_file_validates_then_commits_atomically(world, accounts):
    data = make_csv(USAGE_HEADER, [[f"C{i}", m, "2026-11-20", "5"] for i in range(3) for m in ("logins", "seats")])
    batch = _validate(world, "usage", data)
    assert (batch.kind, batch.total_rows, batch.valid_rows, batch.error_rows) == ("usage", 6, 6, 0)
    with tenant_context(world.org):
        assert UsageRecord.objects.count() == 0  # nothing until confirmed
    batch = import_commit(batch=batch, actor=Actor(user=world.admin))
    assert (batch.status, batch.created_count, batch.updated_count) == (ImportStatus.COMMITTED, 6, 0)
    again = import_commit(batch=_validate(world, "usage", data), actor=Actor(user=world.admin))
    assert (again.created_count, again.updated_count) == (0, 0)
    with tenant_context(world.org):
        assert UsageRecord.objects.count() == 6


def test_invalid_rows_block_the_commit_and_nothing_is_partially_written(world, accounts):
    data = make_csv(["external_id", "account_external_id", "kind", "score", "responded_at"], [
        ["r1", "C0", "nps", "9", "2026-11-20"],
        ["r2", "NOPE", "nps", "9", "2026-11-20"],
        ["r3", "C1", "csat", "6", "2026-11-20"],
        ["r1", "C2", "ces", "3", "2026-11-20"],
        ["r5", "C2", "ces", "3", "not a date"],
    ])
    batch = _validate(world, "surveys", data)
    assert _errors(batch) == [(3, "account_external_id"), (4, "score"), (5, "external_id"), (6, "responded_at")]
    assert (batch.valid_rows, batch.error_rows) == (1, 4)
    with pytest.raises(ImportBlocked):
        import_commit(batch=batch, actor=Actor(user=world.admin))
    with tenant_context(world.org):
        assert SurveyResponse.objects.count() == 0
    batch = import_commit(batch=batch, actor=Actor(user=world.admin), only_valid_rows=True)
    assert batch.created_count == 1 and batch.only_valid_rows


def test_commit_rechecks_rows_whose_account_was_deleted_since(world, accounts):
    data = make_csv(["external_id", "account_external_id", "opened_at"], [["T1", "C0", "2026-11-20"],
                                                                           ["T2", "C1", "2026-11-20"]])
    batch = _validate(world, "tickets", data)
    with tenant_context(world.org):
        accounts[1].delete()
    with pytest.raises(ImportBlocked, match="stopped being valid"):
        import_commit(batch=batch, actor=Actor(user=world.admin))
    with tenant_context(world.org):
        assert SupportTicket.objects.count() == 0


def test_upload_page_offers_signal_kinds_and_commits(world, login, accounts):
    client = login(world.admin)
    page = client.get(reverse("accounts:import", args=[world.org.slug]) + "?type=usage").content.decode()
    assert "Import product usage" in page and "Survey responses" in page and "Support tickets" in page
    assert "<code>metric</code>" in page
    template = client.get(reverse("accounts:import_template", args=[world.org.slug]) + "?type=tickets")
    assert template.content.decode("utf-8-sig").splitlines()[0].startswith("external_id,account_external_id")

    file = io.BytesIO(make_csv(USAGE_HEADER, [["C0", "logins", "2026-11-20", "3"], ["ZZ", "logins", "2026-11-20",
                                                                                    "3"]]))
    file.name = "usage.csv"
    response = client.post(reverse("accounts:import", args=[world.org.slug]), {"file": file, "kind": "usage"})
    with tenant_context(world.org):
        batch = ImportBatch.objects.get()
    assert batch.kind == "usage" and response.status_code == 302
    detail = client.get(response.url).content.decode()
    assert "No account with account_external_id ZZ" in detail and "Import only the 1 valid row" in detail
    rejected = client.get(reverse("accounts:import_errors", args=[world.org.slug, batch.pk]))
    lines = rejected.content.decode("utf-8-sig").splitlines()
    assert lines[0].startswith("import_row,account_external_id") and lines[1].startswith("3,ZZ")
    done = client.post(reverse("accounts:import_commit", args=[world.org.slug, batch.pk]), {"only_valid": "1"},
                       follow=True).content.decode()
    assert "1 usage row created, 0 updated" in done


def test_viewer_cannot_reach_the_signal_import(world, login):
    client = login(world.viewer)
    assert client.get(reverse("accounts:import", args=[world.org.slug]) + "?type=usage").status_code == 403


# --- manage.py import_signals -------------------------------------------------------------------------------------

def run(*args):
    out, err = io.StringIO(), io.StringIO()
    call_command("import_signals", *[str(a) for a in args], stdout=out, stderr=err)
    return out.getvalue()


def test_command_loads_a_file_in_chunks_in_one_transaction(world, accounts, tmp_path):
    path = tmp_path / "usage.csv"
    path.write_bytes(make_csv(USAGE_HEADER, [[f"C{i % 3}", f"m{i}", "2026-11-20", str(i)] for i in range(25)]))
    out = run("usage", path, "--org", world.org.slug, "--chunk-size", 4)
    assert "Loaded 25 usage row(s)" in out and "25 created" in out
    out = run("usage", path, "--org", world.org.slug, "--chunk-size", 10)
    assert "25 already received (ignored)" in out
    with tenant_context(world.org):
        assert UsageRecord.objects.count() == 25


def test_command_with_errors_writes_nothing_and_a_report(world, accounts, tmp_path):
    path = tmp_path / "tickets.csv"
    rows = [[f"T{i}", "C0", "2026-11-20T10:00:00Z", "urgent"] for i in range(9)] + [["T9", "GONE", "2026-11-20", "low"]]
    path.write_bytes(make_csv(["external_id", "account_external_id", "opened_at", "priority"], rows))
    with pytest.raises(CommandError, match="1 of 10 row"):
        run("tickets", path, "--org", world.org.slug, "--chunk-size", 3)
    report = (tmp_path / "tickets.errors.csv").read_text(encoding="utf-8-sig").splitlines()
    assert report[0] == "row,column,value,message" and report[1].startswith("11,account_external_id,GONE")
    with tenant_context(world.org):
        assert SupportTicket.objects.count() == 0
    out = run("tickets", path, "--org", world.org.slug, "--dry-run", "--only-valid")
    assert "Dry run: 9 valid row(s)" in out
    out = run("tickets", path, "--org", world.org.slug, "--only-valid")
    assert "9 created" in out and "1 row(s) with errors were left out" in out


def test_command_refuses_a_bad_header_or_unknown_org(world, tmp_path):
    path = tmp_path / "x.csv"
    path.write_bytes(make_csv(["metric", "date"], [["a", "2026-11-20"]]))
    with pytest.raises(CommandError, match="Missing required column 'value'"):
        run("usage", path, "--org", world.org.slug)
    with pytest.raises(CommandError, match="No organization"):
        run("usage", path, "--org", "nope")
    huge_cell = b"C0," + b"x" * 200_000 + b",2026-11-20,1\n"  # past the csv module's field size limit
    path.write_bytes(make_csv(USAGE_HEADER, [["C0", "logins", "2026-11-20", "1"]]) + huge_cell)
    with pytest.raises(CommandError, match="could not be read as CSV near line 3"):
        run("usage", path, "--org", world.org.slug)
    path.write_bytes(b"\xff\xfe" + "account_external_id,metric,date,value\n".encode("utf-16-le"))
    with pytest.raises(CommandError, match="--encoding"):
        run("usage", path, "--org", world.org.slug)
