"""`manage.py import_accounts FILE --org SLUG [--only-valid] [--dry-run]`."""
import csv
import io

import pytest
from django.core.management import CommandError, call_command

from accounts.imports.columns import COLUMN_NAMES
from accounts.models import Account, Contact, ImportBatch, ImportStatus
from csops.tenancy.context import tenant_context


def write_csv(path, rows):
    with path.open("w", newline="", encoding="utf-8") as stream:
        writer = csv.writer(stream)
        writer.writerow(COLUMN_NAMES)
        for row in rows:
            writer.writerow([row.get(h, "") for h in COLUMN_NAMES])
    return path


def run(*args):
    out, err = io.StringIO(), io.StringIO()
    call_command("import_accounts", *[str(a) for a in args], stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


@pytest.fixture
def good_file(tmp_path, world):
    return write_csv(tmp_path / "accounts.csv", [
        {"external_id": "A1", "name": "Acme", "owner_email": world.csm.email, "arr": "1000",
         "contact_name": "Jane", "contact_email": "jane@acme.example", "contact_is_primary": "yes"},
        {"external_id": "A1", "name": "Acme", "contact_name": "Sam", "contact_email": "sam@acme.example"},
        {"external_id": "B2", "name": "Beta", "tier": "Enterprise"},
    ])


@pytest.fixture
def bad_file(tmp_path, world):
    return write_csv(tmp_path / "mixed.csv", [
        {"external_id": "A1", "name": "Acme"},
        {"external_id": "B2", "name": "Beta", "arr": "-3"},
        {"external_id": "C3", "name": "=cmd()", "owner_email": "ghost@acme.example"},
    ])


def test_command_imports_a_good_file(world, good_file):
    out, _ = run(good_file, "--org", world.org.slug)
    assert "3 row(s), 3 valid, 0 with errors" in out
    assert "2 account(s) created, 0 updated; 2 contact(s) created" in out
    with tenant_context(world.org):
        assert Account.objects.count() == 2 and Contact.objects.count() == 2
        batch = ImportBatch.objects.get()
        assert batch.status == ImportStatus.COMMITTED and batch.created_by is None  # the system acted
    assert not (good_file.parent / "accounts.errors.csv").exists()


def test_command_reports_errors_writes_them_next_to_the_file_and_exits_non_zero(world, bad_file):
    with pytest.raises(CommandError, match="2 row\\(s\\) have errors, so nothing was imported.*--only-valid"):
        run(bad_file, "--org", world.org.slug)
    report = list(csv.reader((bad_file.parent / "mixed.errors.csv").open(encoding="utf-8-sig")))
    assert report[0] == ["row", "column", "value", "message", "level"]
    assert report[1][:3] == ["3", "arr", "'-3"]
    assert report[2][:3] == ["4", "owner_email", "ghost@acme.example"]
    rejected = list(csv.reader((bad_file.parent / "mixed.rejected.csv").open(encoding="utf-8-sig")))
    assert [r[0] for r in rejected[1:]] == ["3", "4"] and rejected[2][2] == "'=cmd()"
    with tenant_context(world.org):
        assert Account.objects.count() == 0
        assert ImportBatch.objects.get().status == ImportStatus.DISCARDED


def test_command_only_valid_imports_the_valid_rows(world, bad_file):
    out, _ = run(bad_file, "--org", world.org.slug, "--only-valid")
    assert "row 3 [arr] '-3': ARR can't be negative." in out
    assert "2 row(s) with errors were left out" in out
    with tenant_context(world.org):
        assert list(Account.objects.values_list("external_id", flat=True)) == ["A1"]


def test_command_dry_run_changes_nothing(world, good_file, bad_file):
    out, _ = run(good_file, "--org", world.org.slug, "--dry-run")
    assert "Dry run: the file is valid; nothing was imported." in out
    with pytest.raises(CommandError):
        run(bad_file, "--org", world.org.slug, "--dry-run")
    with tenant_context(world.org):
        assert Account.objects.count() == 0
        assert set(ImportBatch.objects.values_list("status", flat=True)) == {ImportStatus.DISCARDED}


def test_command_refuses_unknown_org_and_missing_file(world, good_file, tmp_path):
    with pytest.raises(CommandError, match="No organization"):
        run(good_file, "--org", "nope")
    with pytest.raises(CommandError, match="No such file"):
        run(tmp_path / "missing.csv", "--org", world.org.slug)


def test_command_file_level_error_exits_non_zero(world, tmp_path):
    path = tmp_path / "bad-header.csv"
    path.write_text("external_id,nom\nA1,Acme\n", encoding="utf-8")
    with pytest.raises(CommandError, match="block the whole import"):
        run(path, "--org", world.org.slug, "--only-valid")
    report = (tmp_path / "bad-header.errors.csv").read_text(encoding="utf-8-sig")
    assert "Unknown column 'nom'" in report and "Missing required column 'name'" in report
