"""CSV import pages, downloads and exports, and who may reach them."""
import csv
import io
from decimal import Decimal

import pytest
from django.urls import reverse

from accounts.imports import forms as import_forms
from accounts.imports.columns import COLUMN_NAMES
from accounts.imports.parsing import template_rows
from accounts.models import Account, ImportBatch, ImportStatus
from csops.exports import csv_response, safe_cell
from tests.accounts.import_helpers import account_row, make_csv, validate

# --- exports ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("value", "expected"), [
    ("=SUM(A1:A2)", "'=SUM(A1:A2)"), ("+1", "'+1"), ("-1", "'-1"), ("@cmd", "'@cmd"), ("\tx", "'\tx"),
    ("\rx", "'\rx"), ("plain", "plain"), ("a=b", "a=b"), ("", ""), (None, ""), (-5, -5),
    (Decimal("-1.5"), Decimal("-1.5")),
])
def test_safe_cell_neutralises_formulas(value, expected):
    assert safe_cell(value) == expected


def test_csv_response_neutralises_every_cell_and_is_excel_friendly():
    response = csv_response("report", ["=h"], [["=cmd|' /C calc'!A0", "ok"]])
    assert response["Content-Disposition"] == 'attachment; filename="report.csv"'
    text = response.content.decode("utf-8")
    assert text.startswith("\ufeff'=h")
    assert "'=cmd|' /C calc'!A0" in text


def test_error_report_csv_lists_problems_and_neutralises_values(world, tenant, login):
    batch = validate(world, make_csv([account_row(world, "A1", tier="=evil()")]))
    url = reverse("accounts:import_errors", args=[world.org.slug, batch.pk]) + "?kind=report"
    rows = list(csv.reader(io.StringIO(login(world.admin).get(url).content.decode("utf-8-sig"))))
    assert rows[0] == ["row", "column", "value", "message", "level"]
    assert rows[1][:3] == ["2", "tier", "'=evil()"]


def test_template_download_has_header_and_two_valid_example_rows(world, tenant, login):
    response = login(world.admin).get(reverse("accounts:import_template", args=[world.org.slug]))
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0] == list(COLUMN_NAMES) and len(rows) == 3
    batch = validate(world, response.content)
    assert (batch.valid_rows, batch.errors) == (2, [])
    assert template_rows("x@y.z")[0] == list(COLUMN_NAMES)


# --- pages --------------------------------------------------------------------------------------------------

def upload(client, world, data, name="accounts.csv"):
    file = io.BytesIO(data)
    file.name = name
    return client.post(reverse("accounts:import", args=[world.org.slug]), {"file": file})


def test_upload_report_confirm_flow(world, tenant, login):
    client = login(world.admin)
    response = upload(client, world, make_csv([account_row(world, "A1"), account_row(world, "A2")]))
    batch = ImportBatch.objects.get()
    assert response.status_code == 302 and response.url == reverse("accounts:import_detail",
                                                                   args=[world.org.slug, batch.pk])
    page = client.get(response.url)
    assert page.status_code == 200
    assert "Import 2 rows" in page.content.decode() and "Discard" in page.content.decode()
    assert Account.objects.count() == 0

    response = client.post(reverse("accounts:import_commit", args=[world.org.slug, batch.pk]), follow=True)
    assert "Imported accounts.csv: 2 account(s) created" in response.content.decode()
    assert Account.objects.count() == 2
    response = client.post(reverse("accounts:import_commit", args=[world.org.slug, batch.pk]), follow=True)
    assert "already imported" in response.content.decode()
    history = client.get(reverse("accounts:import", args=[world.org.slug]))
    assert "accounts.csv" in history.content.decode() and "Imported" in history.content.decode()


def test_report_page_shows_errors_and_the_only_valid_button(world, tenant, login):
    client = login(world.admin)
    rows = [account_row(world, f"A{i}", arr="-1" if i % 2 else "1") for i in range(250)]
    upload(client, world, make_csv(rows))
    batch = ImportBatch.objects.get()
    page = client.get(reverse("accounts:import_detail", args=[world.org.slug, batch.pk])).content.decode()
    assert "Import only the 125 valid rows" in page
    assert "Import 250 rows" not in page
    assert "ARR can&#x27;t be negative." in page
    assert page.count("<tr><td class=\"num\">") == 100  # capped per page; the rest is paginated and downloadable
    page2 = client.get(reverse("accounts:import_detail", args=[world.org.slug, batch.pk]) + "?page=2").content.decode()
    assert "Page 2 of 2" in page2
    response = client.post(reverse("accounts:import_commit", args=[world.org.slug, batch.pk]), follow=True)
    assert "125 row(s) have errors" in response.content.decode() and Account.objects.count() == 0
    client.post(reverse("accounts:import_commit", args=[world.org.slug, batch.pk]), {"only_valid": "1"})
    assert Account.objects.count() == 125


def test_discard_from_the_page(world, tenant, login):
    client = login(world.admin)
    upload(client, world, make_csv([account_row(world, "A1")]))
    batch = ImportBatch.objects.get()
    response = client.post(reverse("accounts:import_discard", args=[world.org.slug, batch.pk]))
    assert response.status_code == 302 and response.url == reverse("accounts:import", args=[world.org.slug])
    assert ImportBatch.objects.get().status == ImportStatus.DISCARDED and Account.objects.count() == 0


@pytest.mark.parametrize(("data", "name", "message"), [
    (None, None, "This field is required."),
    (b"", "empty.csv", "The submitted file is empty."),
    (b"external_id,name\nA,B\n", "accounts.xlsx", "is not a .csv file"),
    (b"PK\x03\x04\x14\x00\x00\x00", "accounts.csv", "Excel workbook"),
    (b"abc\x00def\x00", "accounts.csv", "binary"),
])
def test_bad_uploads_show_a_form_error(world, tenant, login, data, name, message):
    client = login(world.admin)
    if data is None:
        response = client.post(reverse("accounts:import", args=[world.org.slug]), {})
    else:
        response = upload(client, world, data, name)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert ImportBatch.objects.count() == 0


def test_too_big_upload_shows_a_form_error(world, tenant, login, monkeypatch):
    monkeypatch.setattr(import_forms, "MAX_UPLOAD_BYTES", 10)
    response = upload(login(world.admin), world, make_csv([account_row(world, "A1")]))
    assert response.status_code == 200 and "the limit is 10" in response.content.decode()
    assert ImportBatch.objects.count() == 0


def test_commit_and_discard_need_post(world, tenant, login):
    batch = validate(world, make_csv([account_row(world, "A1")]))
    client = login(world.admin)
    for name in ("accounts:import_commit", "accounts:import_discard"):
        assert client.get(reverse(name, args=[world.org.slug, batch.pk])).status_code == 405
    assert Account.objects.count() == 0


# --- access ------------------------------------------------------------------------------------------------

def import_urls(slug, batch_id):
    return [
        ("get", reverse("accounts:import", args=[slug])),
        ("get", reverse("accounts:import_template", args=[slug])),
        ("get", reverse("accounts:import_detail", args=[slug, batch_id])),
        ("get", reverse("accounts:import_errors", args=[slug, batch_id])),
        ("post", reverse("accounts:import", args=[slug])),
        ("post", reverse("accounts:import_commit", args=[slug, batch_id])),
        ("post", reverse("accounts:import_discard", args=[slug, batch_id])),
    ]


@pytest.mark.parametrize("role", ["csm", "csm2", "manager", "leader", "viewer"])
def test_members_who_are_not_ops_admins_get_403(world, tenant, login, role):
    batch = validate(world, make_csv([account_row(world, "A1")]))
    client = login(getattr(world, role))
    for method, url in import_urls(world.org.slug, batch.pk):
        assert getattr(client, method)(url).status_code == 403, (method, url)
    assert ImportBatch.objects.get().status == ImportStatus.VALIDATED and Account.objects.count() == 0


def test_outsiders_get_404_everywhere_even_with_a_real_batch_id(world, other_world, tenant, login):
    batch = validate(world, make_csv([account_row(world, "A1")]))
    client = login(other_world.admin)
    # Under the victim's slug: not a member → 404.
    for method, url in import_urls(world.org.slug, batch.pk):
        assert getattr(client, method)(url).status_code == 404, (method, url)
    # Under their own slug, with the other organization's batch id → 404 too.
    for method, url in import_urls(other_world.org.slug, batch.pk):
        if str(batch.pk) in url:
            assert getattr(client, method)(url).status_code == 404, (method, url)
    assert ImportBatch.objects.get().status == ImportStatus.VALIDATED and Account.objects.count() == 0


def test_admin_pages_render(world, tenant, login):
    client = login(world.admin)
    page = client.get(reverse("accounts:import", args=[world.org.slug]))
    assert page.status_code == 200
    text = page.content.decode()
    assert "No imports yet." in text and "contact_is_primary" in text and "leave unchanged" in text
