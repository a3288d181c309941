import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from csops.tenancy.context import tenant_context
from csops.tenancy.models import AuditEvent
from tests.factories import AccountFactory, TouchpointFactory

from .conftest import api_url

pytestmark = pytest.mark.django_db

CALL = {"kind": "call", "summary": "Call"}


def _touchpoints(world, **query):
    return api_url("touchpoint", world.org.slug, **query)


def _touchpoint(world, pk):
    return api_url("touchpoint", world.org.slug, pk)


def test_logging_a_touchpoint_updates_the_accounts_last_touchpoint(rw, world, account):
    when = timezone.now() - dt.timedelta(hours=2)
    response = rw.post(_touchpoints(world), {
        "account": str(account.pk), "kind": "meeting", "summary": "Kickoff", "occurred_at": when.isoformat(),
        "attendees": ["ada@initech.example", "Bob"], "author_email": world.csm.email,
    }, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["author_email"] == world.csm.email and body["attendees"] == ["ada@initech.example", "Bob"]
    account.refresh_from_db()
    assert account.last_touchpoint_at == when


def test_token_touchpoint_has_no_author_by_default(rw, world, account):
    response = rw.post(_touchpoints(world), CALL | {"account": str(account.pk)}, format="json")
    assert response.status_code == 201
    assert response.json()["author_email"] is None


def test_session_touchpoint_is_authored_by_the_person(session_client, world, account):
    client = session_client(world.csm2)
    response = client.post(_touchpoints(world), CALL | {"account": str(account.pk)}, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["author_email"] == world.csm2.email
    with tenant_context(world.org):
        event = AuditEvent.objects.get(action="touchpoint.create")
    assert event.actor_user == world.csm2 and event.actor_token is None


def test_moving_and_deleting_touchpoints_keeps_last_touchpoint_right(rw, world, account):
    other = AccountFactory(organization=world.org)
    created = rw.post(_touchpoints(world), CALL | {"account": str(account.pk)}, format="json").json()
    response = rw.patch(_touchpoint(world, created["id"]), {"account": str(other.pk)}, format="json")
    assert response.status_code == 200, response.json()
    account.refresh_from_db()
    other.refresh_from_db()
    assert account.last_touchpoint_at is None and other.last_touchpoint_at is not None
    assert rw.delete(_touchpoint(world, created["id"])).status_code == 204
    other.refresh_from_db()
    assert other.last_touchpoint_at is None


def test_touchpoint_validation(rw, world, other_world, account):
    theirs = AccountFactory(organization=other_world.org)
    response = rw.post(_touchpoints(world), {
        "account": str(theirs.pk), "kind": "telepathy", "summary": "", "occurred_at": "yesterday",
    }, format="json")
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"account", "kind", "summary", "occurred_at"}
    assert "does not exist" in response.json()["errors"]["account"][0]


def test_touchpoint_filters(rw, world, account):
    other = AccountFactory(organization=world.org)
    now = timezone.now()
    TouchpointFactory(account=account, kind="call", occurred_at=now - dt.timedelta(days=10), summary="old call")
    TouchpointFactory(account=account, kind="qbr", occurred_at=now - dt.timedelta(days=1), summary="qbr")
    TouchpointFactory(account=other, kind="call", occurred_at=now - dt.timedelta(days=2), summary="other call")

    def summaries(**query):
        response = rw.get(_touchpoints(world, **query))
        assert response.status_code == 200, response.json()
        return sorted(r["summary"] for r in response.json()["results"])

    assert summaries(account=str(account.pk)) == ["old call", "qbr"]
    assert summaries(kind="call") == ["old call", "other call"]
    assert summaries(occurred_at_after=(now - dt.timedelta(days=3)).isoformat()) == ["other call", "qbr"]
    assert summaries(occurred_at_before=(now - dt.timedelta(days=5)).isoformat()) == ["old call"]


def test_touchpoint_list_query_count_does_not_grow_with_rows(rw, world, account):
    TouchpointFactory.create_batch(5, account=account, author=world.csm)
    url = _touchpoints(world)
    rw.get(url)
    with CaptureQueriesContext(connection) as small:
        rw.get(url)
    TouchpointFactory.create_batch(45, account=account, author=world.csm2)
    with CaptureQueriesContext(connection) as large:
        response = rw.get(url)
    assert len(response.json()["results"]) == 50
    assert len(small.captured_queries) == len(large.captured_queries)


def test_any_active_member_can_be_the_author(rw, world, other_world, account):
    response = rw.post(_touchpoints(world), CALL | {"account": str(account.pk), "author_email": world.leader.email},
                       format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["author_email"] == world.leader.email
    response = rw.post(_touchpoints(world), CALL | {"account": str(account.pk),
                                                    "author_email": other_world.leader.email}, format="json")
    assert response.status_code == 400
    assert response.json()["errors"] == {
        "author_email": [f"No active member of this organization has the email {other_world.leader.email}."]
    }
