"""v1 API: contract lines (list, bulk upsert, delete), renewals (filter, PATCH the call, close), metrics."""
import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse

from csops.tenancy.context import tenant_context
from csops.tenancy.models import AuditEvent
from renewals.models import ContractLine, Renewal
from renewals.services import renewals_sync
from tests.factories import AccountFactory

from .conftest import api_url

D = dt.date


def metric_url(world, kind: str, **query) -> str:
    url = reverse(f"metric-{kind}", kwargs={"org_slug": world.org.slug})
    return url + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")


def bulk_url(world) -> str:
    return reverse("contract-bulk", kwargs={"org_slug": world.org.slug})


@pytest.fixture
def customers(world):
    a = AccountFactory(organization=world.org, external_id="A", owner=world.csm, tier="smb", name="Alpha")
    b = AccountFactory(organization=world.org, external_id="B", owner=world.csm2, tier="enterprise", name="Beta")
    return a, b


@pytest.fixture
def upcoming(world, customers):
    """Alpha: 1000 ARR ending in 40 days; Beta: 3000 ending in 100 days. Their renewals, synced."""
    today = world.org.today()
    a, b = customers
    with tenant_context(world.org):
        ContractLine.objects.create(account=a, external_id="LA", start_date=today - dt.timedelta(days=300),
                                    end_date=today + dt.timedelta(days=40), arr=Decimal("1000.00"), currency="USD")
        ContractLine.objects.create(account=b, external_id="LB", start_date=today - dt.timedelta(days=200),
                                    end_date=today + dt.timedelta(days=100), arr=Decimal("3000.00"), currency="USD")
        renewals_sync(as_of=today)
        return {r.account.external_id: r for r in Renewal.objects.select_related("account")}


def test_bulk_upsert_creates_lines_and_reports_row_errors(rw, world, customers):
    rows = [
        {"external_id": "L1", "account_external_id": "A", "start_date": "2020-01-01", "end_date": "2099-01-01",
         "arr": "1200.00"},
        {"external_id": "L2", "account_external_id": "nope", "start_date": "2020-01-01", "arr": "1.00"},
        {"external_id": "L3", "account_external_id": "A", "start_date": "2020-01-01", "arr": 12.5},
    ]
    response = rw.post(bulk_url(world), {"rows": rows}, format="json")
    assert response.status_code == 400
    body = response.json()
    assert body["written"] is False and body["rejected"] == 2
    assert [(e["row"], e["field"]) for e in body["errors"]] == [(1, "account_external_id"), (2, "arr")]
    response = rw.post(bulk_url(world), {"rows": rows, "only_valid": True}, format="json")
    assert response.status_code == 200
    body = response.json()
    assert (body["written"], body["created"], body["rejected"]) == (True, 1, 2)
    assert body["line_ids"][0] and body["line_ids"][1] is None
    line = rw.get(api_url("contract", world.org.slug, pk=body["line_ids"][0])).json()
    assert (line["arr"], line["mrr"], line["account_external_id"]) == ("1200.00", "100.00", "A")


def test_bulk_refuses_more_than_5000_rows(rw, world, customers):
    rows = [{"account_external_id": "A", "start_date": "2020-01-01", "arr": "1.00"}] * 5001
    response = rw.post(bulk_url(world), {"rows": rows}, format="json")
    assert response.status_code == 400 and "rows" in response.json()["errors"]


def test_contract_list_filters_and_delete_resyncs_arr(rw, world, upcoming):
    today = world.org.today()
    listed = rw.get(api_url("contract", world.org.slug, account_external_id="A")).json()["results"]
    assert [line["external_id"] for line in listed] == ["LA"]
    active = rw.get(api_url("contract", world.org.slug, active_on=(today + dt.timedelta(days=50)).isoformat()))
    assert [line["external_id"] for line in active.json()["results"]] == ["LB"]
    assert rw.post(api_url("contract", world.org.slug), {}, format="json").status_code == 405
    line_id = listed[0]["id"]
    assert rw.delete(api_url("contract", world.org.slug, pk=line_id)).status_code == 204
    with tenant_context(world.org):
        alpha = upcoming["A"].account
        alpha.refresh_from_db()
        assert alpha.arr == Decimal("0.00") and alpha.renewal_date is None
        assert not Renewal.objects.filter(account=alpha).exists()  # untouched open renewal went with its line
        assert AuditEvent.objects.filter(action="contract_line.delete").count() == 1


def test_renewal_list_filters(rw, world, upcoming):
    today = world.org.today()
    url = api_url("renewal", world.org.slug, renewal_date_before=(today + dt.timedelta(days=90)).isoformat())
    assert [r["account_name"] for r in rw.get(url).json()["results"]] == ["Alpha"]
    by_owner = rw.get(api_url("renewal", world.org.slug, owner=world.csm2.email)).json()["results"]
    assert [(r["account_name"], r["target_arr"], r["owner_email"]) for r in by_owner] == [
        ("Beta", "3000.00", world.csm2.email)]
    assert rw.get(api_url("renewal", world.org.slug, tier="enterprise")).json()["results"][0]["account_name"] == "Beta"
    assert rw.get(api_url("renewal", world.org.slug, stage="closed")).json()["results"] == []


def test_patch_records_the_call_and_ignores_read_only_fields(rw, world, upcoming):
    renewal = upcoming["A"]
    url = api_url("renewal", world.org.slug, pk=renewal.pk)
    response = rw.patch(url, {"forecast_arr": "800.00", "forecast_category": "at_risk", "probability": 70,
                              "risk_reason": "budget", "stage": "engaged", "target_arr": "1.00"}, format="json")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["forecast_arr"], body["forecast_category"], body["probability"], body["stage"],
            body["target_arr"]) == ("800.00", "at_risk", 70, "engaged", "1000.00")


@pytest.mark.parametrize("payload,field", [
    ({"probability": 120}, "probability"),
    ({"forecast_arr": "-3.00"}, "forecast_arr"),
    ({"stage": "closed"}, "stage"),
    ({"forecast_category": "maybe"}, "forecast_category"),
])
def test_patch_validation(rw, world, upcoming, payload, field):
    response = rw.patch(api_url("renewal", world.org.slug, pk=upcoming["A"].pk), payload, format="json")
    assert response.status_code == 400 and field in response.json()["errors"], response.json()


def test_put_create_and_delete_of_renewals_are_not_allowed(rw, world, upcoming):
    url = api_url("renewal", world.org.slug, pk=upcoming["A"].pk)
    assert rw.put(url, {}, format="json").status_code == 405
    assert rw.delete(url).status_code == 405
    assert rw.post(api_url("renewal", world.org.slug), {}, format="json").status_code == 405


def test_close_upsell_then_closed_renewal_is_read_only(rw, world, upcoming):
    renewal = upcoming["A"]
    close_url = api_url("renewal", world.org.slug, pk=renewal.pk, action="close")
    bad = rw.post(close_url, {"outcome": "renewed", "final_arr": "1500.00"}, format="json")
    assert bad.status_code == 400 and "final_arr" in bad.json()["errors"]
    response = rw.post(close_url, {"outcome": "upsell", "final_arr": "1500.00"}, format="json")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["stage"], body["outcome"], body["final_arr"], body["is_open"]) == (
        "closed", "upsell", "1500.00", False)
    with tenant_context(world.org):
        assert ContractLine.objects.get(start_date=renewal.renewal_date).arr == Decimal("1500.00")
    again = rw.patch(api_url("renewal", world.org.slug, pk=renewal.pk), {"notes": "x"}, format="json")
    assert again.status_code == 400 and "closed" in str(again.json()["errors"])


def test_read_only_token_and_viewer_cannot_patch_or_close(ro, session_client, world, upcoming):
    renewal = upcoming["A"]
    for client in (ro, session_client(world.viewer)):
        assert client.get(api_url("renewal", world.org.slug, pk=renewal.pk)).status_code == 200
        assert client.patch(api_url("renewal", world.org.slug, pk=renewal.pk), {"notes": "x"},
                            format="json").status_code == 403
        assert client.post(api_url("renewal", world.org.slug, pk=renewal.pk, action="close"),
                           {"outcome": "churned"}, format="json").status_code == 403
        assert client.post(bulk_url(world), {"rows": []}, format="json").status_code == 403


def test_other_org_token_gets_404(api_client, world, other_world, upcoming):
    outsider = api_client(other_world.token_rw)
    renewal = upcoming["A"]
    assert outsider.get(api_url("renewal", world.org.slug, pk=renewal.pk)).status_code == 404
    assert outsider.get(metric_url(world, "forecast")).status_code == 404
    # Their own slug with our id: 404 too.
    assert outsider.patch(api_url("renewal", other_world.org.slug, pk=renewal.pk), {"notes": "x"},
                          format="json").status_code == 404


@pytest.fixture
def history(world, customers):
    """Retention by hand over [2025-01-01, 2026-01-01]:
    Alpha 1000 → 1300 (expansion), Beta 3000 → 0 (churn: its only line ends 2025-07-01), Gamma new in 2025-06
    (not in the cohort)."""
    a, b = customers
    gamma = AccountFactory(organization=world.org, external_id="C", owner=world.csm, tier="smb")
    with tenant_context(world.org):
        for account, start, end, arr in [
            (a, D(2024, 6, 1), D(2025, 6, 1), "1000.00"), (a, D(2025, 6, 1), D(2026, 6, 1), "1300.00"),
            (b, D(2024, 7, 1), D(2025, 7, 1), "3000.00"), (gamma, D(2025, 6, 1), D(2026, 6, 1), "500.00"),
        ]:
            ContractLine.objects.create(account=account, start_date=start, end_date=end, arr=Decimal(arr),
                                        currency="USD")


def test_retention_metrics_by_hand(rw, world, history):
    body = rw.get(metric_url(world, "retention", start="2025-01-01", end="2026-01-01")).json()
    # Cohort: Alpha (R0 1000, R1 1300) and Beta (R0 3000, R1 0). GRR = (1000 + 0) / 4000; NRR = 1300 / 4000.
    assert (body["grr"], body["nrr"], body["logo_churn_rate"], body["cohort_size"]) == (
        "0.250000", "0.325000", "0.500000", 2)
    assert body["movements"] == {"start_arr": "4000.00", "new": "500.00", "expansion": "300.00",
                                 "contraction": "0.00", "churn": "3000.00", "reactivation": "0.00",
                                 "end_arr": "1800.00"}
    smb = rw.get(metric_url(world, "retention", start="2025-01-01", end="2026-01-01", tier="smb")).json()
    assert (smb["grr"], smb["nrr"], smb["cohort_size"]) == ("1.000000", "1.300000", 1)
    by_owner = rw.get(metric_url(world, "retention", start="2025-01-01", end="2026-01-01",
                                 owner=world.csm2.email)).json()
    assert (by_owner["grr"], by_owner["churned_logos"]) == ("0.000000", 1)
    assert rw.get(metric_url(world, "retention")).status_code == 200  # trailing twelve months by default


@pytest.mark.parametrize("query", [
    {"start": "2025-01-01"}, {"start": "2025-01-01", "end": "2024-01-01"}, {"owner": "nobody@x.example"},
    {"start": "bad", "end": "2026-01-01"},
])
def test_metric_query_validation(rw, world, query):
    assert rw.get(metric_url(world, "retention", **query)).status_code == 400


def test_forecast_metrics(rw, world, upcoming):
    today = world.org.today()
    start, end = today.isoformat(), (today + dt.timedelta(days=365)).isoformat()
    rw.patch(api_url("renewal", world.org.slug, pk=upcoming["B"].pk), {"forecast_category": "at_risk"}, format="json")
    body = rw.get(metric_url(world, "forecast", start=start, end=end)).json()
    # Due 1000 + 3000; forecast = 1000 × 75 % (no call) + 3000 × 40 % (at risk) = 750 + 1200 = 1950.
    assert (body["renewals_due"], body["forecast"], body["at_risk_arr"], body["at_risk_count"]) == (
        "4000.00", "1950.00", "3000.00", 1)
    assert body["forecast_pct_of_due"] == "0.487500"
    assert {b["key"]: b["count"] for b in body["by_category"]}["at_risk"] == 1
    only_csm = rw.get(metric_url(world, "forecast", start=start, end=end, owner=world.csm.email)).json()
    assert only_csm["renewals_due"] == "1000.00"
    current = rw.get(metric_url(world, "forecast", quarter="current"))
    assert current.status_code == 200 and current.json() == rw.get(metric_url(world, "forecast")).json()
    assert rw.get(metric_url(world, "forecast", quarter="current", start=start, end=end)).status_code == 400
