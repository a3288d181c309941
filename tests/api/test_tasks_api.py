import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from csops.tenancy.context import tenant_context
from csops.tenancy.models import ApiToken, AuditEvent
from playbooks.models import Task, TaskStatus
from tests.factories import AccountFactory, TaskFactory

from .conftest import api_url

pytestmark = pytest.mark.django_db


def _tasks(world, **query):
    return api_url("task", world.org.slug, **query)


def _task(world, pk, action=None):
    return api_url("task", world.org.slug, pk, action=action)


def _today(world):
    return world.org.today()


def test_create_task_defaults_owner_to_the_account_owner(rw, world, account):
    response = rw.post(_tasks(world), {"account": str(account.pk), "title": "Kickoff call", "type": "onboarding",
                                       "priority": 3, "due_on": "2031-02-01"}, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["owner_email"] == world.csm.email
    assert (body["status"], body["source"], body["priority"], body["due_on"]) == ("open", "manual", 3, "2031-02-01")
    token = ApiToken.objects.get(organization=world.org, name="rw")
    with tenant_context(world.org):
        event = AuditEvent.objects.get(object_id=body["id"])
    assert event.action == "task.create" and event.actor_token == token


def test_posting_a_duplicate_active_task_returns_the_existing_one_with_200(rw, world, account):
    payload = {"account": str(account.pk), "title": "Renewal in 90 days", "type": "renewal", "reason": "renewal-t90"}
    first = rw.post(_tasks(world), payload, format="json")
    assert first.status_code == 201
    second = rw.post(_tasks(world), {**payload, "title": "Renewal again"}, format="json")
    assert second.status_code == 200
    assert second.json()["id"] == first.json()["id"]
    assert second.json()["title"] == "Renewal in 90 days"
    with tenant_context(world.org):
        assert Task.objects.count() == 1


def test_a_closed_duplicate_does_not_block_a_new_task(rw, world, account):
    TaskFactory(account=account, type="renewal", reason="renewal-t90", status=TaskStatus.DONE)
    payload = {"account": str(account.pk), "title": "Renewal", "type": "renewal", "reason": "renewal-t90"}
    assert rw.post(_tasks(world), payload, format="json").status_code == 201


def test_tasks_without_reason_are_never_deduplicated(rw, world, account):
    payload = {"account": str(account.pk), "title": "Call", "type": "activity"}
    assert rw.post(_tasks(world), payload, format="json").status_code == 201
    assert rw.post(_tasks(world), payload, format="json").status_code == 201


def test_task_crud(rw, world, account):
    created = rw.post(_tasks(world), {"account": str(account.pk), "title": "Call"}, format="json").json()
    response = rw.patch(_task(world, created["id"]), {"title": "Call back", "owner_email": world.csm2.email,
                                                      "priority": 4}, format="json")
    assert response.status_code == 200, response.json()
    assert (response.json()["title"], response.json()["owner_email"], response.json()["priority"]) == (
        "Call back", world.csm2.email, 4)
    response = rw.put(_task(world, created["id"]), {"account": str(account.pk), "title": "Call 3"}, format="json")
    assert response.status_code == 200 and response.json()["title"] == "Call 3"
    assert rw.get(_task(world, created["id"])).json()["title"] == "Call 3"
    assert rw.delete(_task(world, created["id"])).status_code == 204
    assert rw.get(_task(world, created["id"])).status_code == 404


def test_status_is_not_writable_directly(rw, world, account):
    task = TaskFactory(account=account)
    response = rw.patch(_task(world, task.pk), {"status": "done"}, format="json")
    assert response.status_code == 200
    assert response.json()["status"] == "open"


def test_editing_into_a_duplicate_is_a_field_error(rw, world, account):
    TaskFactory(account=account, type="risk", reason="usage-drop")
    task = TaskFactory(account=account, type="risk", reason="other")
    response = rw.patch(_task(world, task.pk), {"reason": "usage-drop"}, format="json")
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["reason"]


@pytest.mark.parametrize(("payload", "field"), [
    ({"type": "chore"}, "type"),
    ({"priority": 9}, "priority"),
    ({"due_on": "tomorrow"}, "due_on"),
    ({"owner_email": "ghost@acme.example"}, "owner_email"),
    ({"title": ""}, "title"),
])
def test_task_validation(rw, world, account, payload, field):
    response = rw.post(_tasks(world), {"account": str(account.pk), "title": "Call", **payload}, format="json")
    assert response.status_code == 400
    assert list(response.json()["errors"]) == [field]


def test_task_on_another_organizations_account_does_not_exist(rw, world, other_world):
    theirs = AccountFactory(organization=other_world.org)
    response = rw.post(_tasks(world), {"account": str(theirs.pk), "title": "Spy"}, format="json")
    assert response.status_code == 400
    assert "does not exist" in response.json()["errors"]["account"][0]


# --- Actions ------------------------------------------------------------------------------------------------------

def test_complete_snooze_and_reopen(rw, world, account):
    task = TaskFactory(account=account, owner=world.csm, reason="usage-drop")
    until = (_today(world) + dt.timedelta(days=7)).isoformat()

    response = rw.post(_task(world, task.pk, "snooze"), {"until": until}, format="json")
    assert response.status_code == 200, response.json()
    assert (response.json()["status"], response.json()["snoozed_until"]) == ("snoozed", until)

    response = rw.post(_task(world, task.pk, "reopen"))
    assert response.status_code == 200, response.json()
    assert (response.json()["status"], response.json()["snoozed_until"]) == ("open", None)

    response = rw.post(_task(world, task.pk, "complete"))
    assert response.status_code == 200
    assert response.json()["status"] == "done" and response.json()["completed_at"]

    response = rw.post(_task(world, task.pk, "reopen"))
    assert response.status_code == 200
    assert response.json()["status"] == "open" and response.json()["completed_at"] is None
    with tenant_context(world.org):
        actions = list(AuditEvent.objects.filter(object_id=str(task.pk)).order_by("created_at")
                       .values_list("action", flat=True))
    assert actions == ["task.snooze", "task.reopen", "task.complete", "task.reopen"]


def test_session_user_completing_a_task_is_recorded(session_client, world, account):
    task = TaskFactory(account=account, owner=world.csm)
    response = session_client(world.csm).post(_task(world, task.pk, "complete"))
    assert response.status_code == 200
    assert response.json()["completed_by_email"] == world.csm.email


@pytest.mark.parametrize("until", ["today", "past", "garbage", None])
def test_snooze_needs_a_future_date(rw, world, account, until):
    task = TaskFactory(account=account)
    value = {"today": _today(world).isoformat(), "past": "2020-01-01", "garbage": "next week", None: None}[until]
    response = rw.post(_task(world, task.pk, "snooze"), {"until": value} if value else {}, format="json")
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["until"]
    task.refresh_from_db()
    assert task.status == TaskStatus.OPEN


def test_closed_tasks_cannot_be_snoozed(rw, world, account):
    task = TaskFactory(account=account, status=TaskStatus.DONE)
    until = (_today(world) + dt.timedelta(days=7)).isoformat()
    response = rw.post(_task(world, task.pk, "snooze"), {"until": until}, format="json")
    assert response.status_code == 400
    assert response.json()["errors"] == {"non_field_errors": ["Only open or snoozed tasks can be snoozed."]}


def test_reopen_refused_when_an_active_duplicate_exists(rw, world, account):
    done = TaskFactory(account=account, type="risk", reason="usage-drop", status=TaskStatus.DONE)
    TaskFactory(account=account, type="risk", reason="usage-drop")
    response = rw.post(_task(world, done.pk, "reopen"))
    assert response.status_code == 400
    assert "already exists" in response.json()["errors"]["non_field_errors"][0]


def test_reopening_an_open_task_changes_nothing(rw, world, account):
    task = TaskFactory(account=account, reason="usage-drop")
    response = rw.post(_task(world, task.pk, "reopen"))
    assert response.status_code == 200 and response.json()["status"] == "open"
    with tenant_context(world.org):
        assert not AuditEvent.objects.filter(object_id=str(task.pk)).exists()


def test_read_only_callers_cannot_use_actions(ro, session_client, world, account):
    task = TaskFactory(account=account)
    for client in (ro, session_client(world.viewer)):
        for action in ("complete", "reopen", "snooze"):
            assert client.post(_task(world, task.pk, action), {}, format="json").status_code == 403
    task.refresh_from_db()
    assert task.status == TaskStatus.OPEN


def test_actions_on_another_organizations_task_are_404(world, other_world, api_client):
    theirs = TaskFactory(account=AccountFactory(organization=other_world.org))
    client = api_client(world.token_rw)
    for action in ("complete", "reopen", "snooze"):
        assert client.post(_task(world, theirs.pk, action), {}, format="json").status_code == 404
    theirs.refresh_from_db()
    assert theirs.status == TaskStatus.OPEN


# --- Filters, pagination, query budget ------------------------------------------------------------------------------

@pytest.fixture
def task_board(world, account):
    today = _today(world)
    other = AccountFactory(organization=world.org, owner=world.csm2)
    return {
        "overdue": TaskFactory(account=account, owner=world.csm, title="overdue", type="risk",
                               due_on=today - dt.timedelta(days=3)),
        "due_soon": TaskFactory(account=account, owner=world.csm, title="due soon", type="renewal",
                                due_on=today + dt.timedelta(days=2)),
        "snoozed_past_due": TaskFactory(account=other, owner=world.csm2, title="snoozed", type="risk",
                                        due_on=today - dt.timedelta(days=1), status=TaskStatus.SNOOZED,
                                        snoozed_until=today + dt.timedelta(days=5)),
        "done_late": TaskFactory(account=other, owner=world.csm2, title="done", type="activity",
                                 due_on=today - dt.timedelta(days=10), status=TaskStatus.DONE),
        "undated": TaskFactory(account=other, owner=None, title="undated", due_on=None),
    }


def _titles(client, url):
    response = client.get(url)
    assert response.status_code == 200, response.json()
    return sorted(r["title"] for r in response.json()["results"])


def test_task_filters(rw, world, account, task_board):
    today = _today(world)
    assert _titles(rw, _tasks(world, account=str(account.pk))) == ["due soon", "overdue"]
    assert _titles(rw, _tasks(world, owner=world.csm2.email)) == ["done", "snoozed"]
    assert _titles(rw, _tasks(world, status="snoozed")) == ["snoozed"]
    assert _titles(rw, _tasks(world, status="open")) == ["due soon", "overdue", "undated"]
    assert _titles(rw, _tasks(world, type="risk")) == ["overdue", "snoozed"]
    assert _titles(rw, _tasks(world, due_on_after=today.isoformat())) == ["due soon"]
    assert _titles(rw, _tasks(world, due_on_before=(today - dt.timedelta(days=2)).isoformat())) == ["done", "overdue"]


def test_overdue_filter_matches_the_task_list_definition(rw, world, task_board):
    assert _titles(rw, _tasks(world, overdue="true")) == ["overdue"]
    assert _titles(rw, _tasks(world, overdue="false")) == ["done", "due soon", "snoozed", "undated"]


def test_ordering_by_due_date_pages_through_undated_tasks(rw, world, task_board):
    rows, url = [], _tasks(world, ordering="due_on", page_size=2)
    while url:
        body = rw.get(url).json()
        rows += body["results"]
        url = body["next"]
    assert [r["title"] for r in rows] == ["done", "overdue", "snoozed", "due soon", "undated"]


def test_task_list_query_count_does_not_grow_with_rows(rw, world, account):
    TaskFactory.create_batch(5, account=account, owner=world.csm, completed_by=world.csm)
    url = _tasks(world, overdue="false")
    rw.get(url)
    with CaptureQueriesContext(connection) as small:
        rw.get(url)
    TaskFactory.create_batch(45, account=AccountFactory(organization=world.org), owner=world.csm2,
                             completed_by=world.csm2)
    with CaptureQueriesContext(connection) as large:
        response = rw.get(url)
    assert len(response.json()["results"]) == 50
    assert len(small.captured_queries) == len(large.captured_queries)
