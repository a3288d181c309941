"""The signals API: bulk POST of usage, survey responses and tickets (all or nothing, idempotent), lists and
details, the 5,000-row limit, read-only callers, the health recompute enqueued once per request."""
import datetime as dt
from unittest import mock

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import SupportTicket, SurveyResponse, UsageRecord
from csops.tenancy.context import tenant_context
from tests.factories import AccountFactory, ContactFactory

from .conftest import api_url

pytestmark = pytest.mark.django_db
YESTERDAY = (dt.date.today() - dt.timedelta(days=1)).isoformat()


@pytest.fixture
def accounts(world):
    return [AccountFactory(organization=world.org, external_id=f"CRM-{i}") for i in range(3)]


def _count(world, model):
    with tenant_context(world.org):
        return model.objects.count()


def _usage_rows(accounts, n_days=2):
    days = [(dt.date.today() - dt.timedelta(days=d)).isoformat() for d in range(n_days)]
    return [{"account_external_id": a.external_id, "metric": m, "date": day, "value": 10 + d}
            for a in accounts for m in ("logins", "active_users") for d, day in enumerate(days)]


def test_usage_post_creates_then_is_idempotent_then_corrects(rw, world, accounts):
    url = api_url("usage", world.org.slug)
    rows = _usage_rows(accounts)
    first = rw.post(url, rows, format="json")
    assert first.status_code == 200, first.content
    assert first.json() == {"received": 12, "created": 12, "updated": 0, "unchanged": 0, "accounts_changed": 3}
    again = rw.post(url, {"rows": rows}, format="json")
    assert again.json() == {"received": 12, "created": 0, "updated": 0, "unchanged": 12, "accounts_changed": 0}
    rows[0]["value"] = 99
    fixed = rw.post(url, rows[:2], format="json").json()
    assert (fixed["created"], fixed["updated"], fixed["unchanged"], fixed["accounts_changed"]) == (0, 1, 1, 1)
    assert _count(world, UsageRecord) == 12
    with tenant_context(world.org):
        assert UsageRecord.objects.get(account=accounts[0], metric="logins", date=rows[0]["date"]).value == 99


def test_usage_accepts_account_uuid_and_crm_id(rw, world, accounts):
    rows = [{"account_id": str(accounts[0].pk), "metric": "logins", "date": YESTERDAY, "value": 1},
            {"account_external_id": accounts[1].external_id, "metric": "logins", "date": YESTERDAY, "value": "2.5"}]
    response = rw.post(api_url("usage", world.org.slug), rows, format="json")
    assert response.status_code == 200 and response.json()["created"] == 2


def test_invalid_rows_reject_the_whole_request_with_row_errors(rw, world, accounts):
    rows = [
        {"account_external_id": "CRM-0", "metric": "logins", "date": YESTERDAY, "value": 3},  # fine
        {"account_id": "not-a-uuid", "metric": "logins", "date": YESTERDAY, "value": 3},
        {"account_external_id": "NOPE", "metric": "logins", "date": YESTERDAY, "value": 3},
        {"account_external_id": "CRM-1", "metric": "logins", "date": "20/11/2026", "value": -1},
        {"account_external_id": "CRM-0", "metric": "logins", "date": YESTERDAY, "value": 4},  # duplicate of row 0
        {"metric": "logins", "date": YESTERDAY, "value": 3, "colour": "red"},
        "not an object",
    ]
    response = rw.post(api_url("usage", world.org.slug), rows, format="json")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid" and "nothing was written" in body["detail"]
    found = {(e["row"], e["field"]) for e in body["errors"]}
    assert {(1, "account_id"), (2, "account_external_id"), (3, "date"), (3, "value"), (4, "metric"),
            (5, "colour"), (5, "account_id"), (6, None)} <= found
    assert not any(e["row"] == 0 for e in body["errors"])
    assert _count(world, UsageRecord) == 0


def test_another_organizations_account_is_unknown(rw, world, other_world):
    theirs = AccountFactory(organization=other_world.org, external_id="THEIRS")
    rows = [{"account_id": str(theirs.pk), "metric": "logins", "date": YESTERDAY, "value": 1},
            {"account_external_id": "THEIRS", "metric": "logins", "date": YESTERDAY, "value": 1}]
    response = rw.post(api_url("usage", world.org.slug), rows, format="json")
    assert response.status_code == 400
    assert [e["field"] for e in response.json()["errors"]] == ["account_id", "account_external_id"]
    assert _count(other_world, UsageRecord) == 0


def test_more_than_5000_rows_is_refused_saying_so(rw, world, accounts):
    rows = [{"account_external_id": "CRM-0", "metric": f"m{i}", "date": YESTERDAY, "value": 1} for i in range(5001)]
    response = rw.post(api_url("usage", world.org.slug), rows, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "too_many_rows" and "5,000" in response.json()["detail"]


@pytest.mark.parametrize("body", [{}, {"rows": "x"}, [], "text"])
def test_body_must_be_rows(rw, world, body):
    response = rw.post(api_url("usage", world.org.slug), body, format="json")
    assert response.status_code == 400 and response.json()["code"] == "invalid"


def test_5000_rows_in_one_request_use_a_constant_number_of_queries(rw, world):
    accounts = [AccountFactory(organization=world.org, external_id=f"B-{i}") for i in range(50)]
    rows = [{"account_external_id": a.external_id, "metric": f"feature_{m}", "date": YESTERDAY, "value": m}
            for a in accounts for m in range(100)]
    with CaptureQueriesContext(connection) as queries:
        response = rw.post(api_url("usage", world.org.slug), rows, format="json")
    assert response.status_code == 200 and response.json()["created"] == 5000
    assert len(queries) <= 16, [q["sql"][:120] for q in queries]


def test_read_only_token_and_viewer_cannot_post(ro, session_client, world, accounts):
    rows = _usage_rows(accounts[:1], 1)
    assert ro.post(api_url("usage", world.org.slug), rows, format="json").status_code == 403
    viewer = session_client(world.viewer)
    assert viewer.post(api_url("survey", world.org.slug), rows, format="json").status_code == 403
    assert _count(world, UsageRecord) == 0


def test_recompute_is_enqueued_once_per_request_for_changed_accounts(rw, world, accounts,
                                                                       django_capture_on_commit_callbacks):
    url = api_url("usage", world.org.slug)
    with mock.patch("health.tasks.health_recompute_accounts.delay_on_commit") as enqueue:
        rw.post(url, _usage_rows(accounts), format="json")
        assert enqueue.call_count == 1
        org_id, ids = enqueue.call_args.args
        assert org_id == world.org.id and sorted(ids) == sorted(str(a.pk) for a in accounts)
        enqueue.reset_mock()
        rw.post(url, _usage_rows(accounts), format="json")  # nothing changed: nothing to recompute
        assert enqueue.call_count == 0


def test_surveys_post_ignores_a_response_already_received(rw, world, accounts):
    contact = ContactFactory(account=accounts[0], organization=world.org, email="Jane@Acme.example")
    rows = [
        {"external_id": "r-1", "account_external_id": "CRM-0", "contact_email": "jane@acme.example", "kind": "nps",
         "score": 10, "responded_at": "2026-11-01T10:00:00Z", "comment": "Love it"},
        {"external_id": "r-2", "account_id": str(accounts[1].pk), "kind": "csat", "score": "4",
         "responded_at": "2026-11-02", "contact_email": "unknown@x.example"},
        {"external_id": "r-3", "account_external_id": "CRM-0", "contact_id": str(contact.pk), "kind": "CES",
         "score": 7, "responded_at": "2026-11-03T09:00:00+01:00"},
    ]
    url = api_url("survey", world.org.slug)
    assert rw.post(url, rows, format="json").json()["created"] == 3
    rows[0]["score"] = 2
    assert rw.post(url, rows, format="json").json() == {
        "received": 3, "created": 0, "updated": 0, "unchanged": 3, "accounts_changed": 0}
    with tenant_context(world.org):
        first = SurveyResponse.objects.get(external_id="r-1")
        assert (first.score, first.contact_id) == (10, contact.pk)
        assert SurveyResponse.objects.get(external_id="r-2").contact_id is None
        assert SurveyResponse.objects.get(external_id="r-3").kind == "ces"
    listed = rw.get(api_url("survey", world.org.slug, kind="nps")).json()["results"]
    assert [r["external_id"] for r in listed] == ["r-1"] and listed[0]["contact_email"] == "Jane@Acme.example"


@pytest.mark.parametrize("kind,score,ok", [("nps", 0, True), ("nps", 11, False), ("csat", 0, False), ("csat", 5, True),
                                          ("ces", 8, False), ("ces", 1, True), ("nps", 9.5, False)])
def test_survey_scores_must_be_on_the_kinds_scale(rw, world, accounts, kind, score, ok):
    rows = [{"external_id": "r", "account_external_id": "CRM-0", "kind": kind, "score": score,
             "responded_at": "2026-11-01"}]
    response = rw.post(api_url("survey", world.org.slug), rows, format="json")
    assert response.status_code == (200 if ok else 400)
    if not ok:
        assert response.json()["errors"][0]["field"] == "score"


def test_survey_contact_of_another_account_is_refused(rw, world, accounts):
    contact = ContactFactory(account=accounts[1], organization=world.org)
    rows = [{"external_id": "r", "account_external_id": "CRM-0", "contact_id": str(contact.pk), "kind": "nps",
             "score": 5, "responded_at": "2026-11-01"}]
    response = rw.post(api_url("survey", world.org.slug), rows, format="json")
    assert response.status_code == 400 and response.json()["errors"][0]["field"] == "contact_id"


def test_tickets_are_upserted_changed_updated_unchanged_ignored(rw, world, accounts):
    url = api_url("ticket", world.org.slug)
    rows = [{"external_id": f"T-{i}", "account_external_id": "CRM-0", "subject": f"Issue {i}", "priority": "high",
             "opened_at": "2026-11-01T08:00:00Z"} for i in range(3)]
    assert rw.post(url, rows, format="json").json()["created"] == 3
    rows[1].update(status="solved", closed_at="2026-11-02T08:00:00Z", escalated="yes")
    result = rw.post(url, rows, format="json").json()
    assert (result["created"], result["updated"], result["unchanged"]) == (0, 1, 2)
    with tenant_context(world.org):
        ticket = SupportTicket.objects.get(external_id="T-1")
        assert (ticket.status, ticket.escalated, ticket.priority) == ("solved", True, "high")
        assert SupportTicket.objects.get(external_id="T-0").status == "open"
    detail = rw.get(api_url("ticket", world.org.slug, ticket.pk)).json()
    assert detail["status"] == "solved" and detail["account_external_id"] == "CRM-0"
    assert [t["external_id"] for t in rw.get(api_url("ticket", world.org.slug, status="solved")).json()["results"]] \
        == ["T-1"]


def test_ticket_closed_before_opened_is_refused(rw, world, accounts):
    rows = [{"external_id": "T", "account_external_id": "CRM-0", "opened_at": "2026-11-05",
             "closed_at": "2026-11-01", "status": "closed"}]
    response = rw.post(api_url("ticket", world.org.slug), rows, format="json")
    assert response.status_code == 400 and response.json()["errors"][0]["field"] == "closed_at"


def test_usage_list_filters_and_pages_with_a_cursor(rw, world, accounts):
    rw.post(api_url("usage", world.org.slug), _usage_rows(accounts, n_days=5), format="json")
    url = api_url("usage", world.org.slug, account=str(accounts[0].pk), metric="logins", page_size=2)
    seen, pages = [], 0
    while url:
        body = rw.get(url).json()
        seen += body["results"]
        pages += 1
        url = body["next"]
    assert pages == 3 and len(seen) == 5 and len({r["id"] for r in seen}) == 5
    assert [r["date"] for r in seen] == sorted((r["date"] for r in seen), reverse=True)
    start = (dt.date.today() - dt.timedelta(days=1)).isoformat()
    ranged = rw.get(api_url("usage", world.org.slug, account_external_id="CRM-1", date_after=start)).json()
    assert len(ranged["results"]) == 4  # 2 metrics × (today, yesterday)
    one = rw.get(api_url("usage", world.org.slug, seen[0]["id"])).json()
    assert one["metric"] == "logins" and one["account"] == str(accounts[0].pk)


def test_schema_documents_the_signal_endpoints(rw, world):
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    paths = schema["paths"]
    post = paths["/api/v1/orgs/{org_slug}/signals/usage/"]["post"]
    assert post["requestBody"]["content"]["application/json"]["schema"]["type"] == "array"
    assert "400" in post["responses"] and "/api/v1/orgs/{org_slug}/signals/tickets/{id}/" in paths
