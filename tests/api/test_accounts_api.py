import datetime as dt
from decimal import Decimal
from unittest import mock

import pytest
from django.db import IntegrityError, connection
from django.db.models import Max
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import Account, OwnerAssignment, Tier
from csops.tenancy.context import tenant_context
from csops.tenancy.models import ApiToken, AuditEvent
from playbooks.models import TaskStatus
from tests.factories import AccountFactory, TaskFactory, UserFactory

from .conftest import api_url

pytestmark = pytest.mark.django_db


def _accounts(world, **query):
    return api_url("account", world.org.slug, **query)


def _account(world, pk):
    return api_url("account", world.org.slug, pk)


def _all_pages(client, url):
    """Follow `next` links to the end; return every row and the number of pages."""
    rows, pages = [], 0
    while url:
        response = client.get(url)
        assert response.status_code == 200, response.content
        body = response.json()
        rows += body["results"]
        pages += 1
        url = body["next"]
    return rows, pages


# --- CRUD with a read-write token ------------------------------------------------------------------------------

def test_token_lists_only_its_organizations_accounts(rw, world, other_world, account):
    AccountFactory(organization=other_world.org, name="Globex customer")
    response = rw.get(_accounts(world))
    assert response.status_code == 200
    body = response.json()
    assert [row["name"] for row in body["results"]] == ["Initech"]
    assert set(body) == {"next", "previous", "results"}


def test_create_account_returns_it_with_money_as_decimal_string(rw, world):
    response = rw.post(_accounts(world), {
        "name": "Hooli", "external_id": "crm-1", "domain": "hooli.example", "tier": "enterprise",
        "lifecycle_stage": "mature", "region": "EMEA", "owner_email": world.csm.email, "arr": "120000.5",
        "renewal_date": "2031-01-31",
    }, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["arr"] == "120000.50"
    assert body["owner_email"] == world.csm.email
    assert body["owner_name"] == world.csm.full_name
    assert body["tier"] == "enterprise"
    assert body["renewal_date"] == "2031-01-31"
    with tenant_context(world.org):
        account = Account.objects.get(pk=body["id"])
        assert account.arr == Decimal("120000.50")
        assert account.owner == world.csm
        assert OwnerAssignment.objects.filter(account=account, new_owner=world.csm).exists()


def test_owner_email_is_case_insensitive(rw, world):
    response = rw.post(_accounts(world), {"name": "Hooli", "owner_email": world.csm.email.upper()}, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["owner_email"] == world.csm.email


def test_every_write_leaves_an_audit_event_attributed_to_the_token(rw, world):
    created = rw.post(_accounts(world), {"name": "Hooli", "arr": "10"}, format="json").json()
    rw.patch(_account(world, created["id"]), {"arr": "20.00"}, format="json")
    rw.delete(_account(world, created["id"]))
    token = ApiToken.objects.get(organization=world.org, name="rw")
    with tenant_context(world.org):
        events = list(AuditEvent.objects.filter(object_id=created["id"]).order_by("created_at"))
    assert [e.action for e in events] == ["account.create", "account.update", "account.delete"]
    assert all(e.actor_token_id == token.pk and e.actor_user_id is None for e in events)
    assert events[1].before == {"arr": "10.00"} and events[1].after == {"arr": "20.00"}


def test_retrieve_account(rw, world, account):
    response = rw.get(_account(world, account.pk))
    assert response.status_code == 200
    assert response.json()["id"] == str(account.pk)
    assert response.json()["owner_email"] == world.csm.email


def test_patch_owner_records_history_and_moves_open_tasks(rw, world, account):
    task = TaskFactory(account=account, owner=world.csm)
    response = rw.patch(_account(world, account.pk), {"owner_email": world.csm2.email}, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["owner_email"] == world.csm2.email
    with tenant_context(world.org):
        history = OwnerAssignment.objects.get(account=account)
        assert (history.previous_owner, history.new_owner) == (world.csm, world.csm2)
        task.refresh_from_db()
    assert task.owner == world.csm2


def test_patch_owner_to_null_unassigns(rw, world, account):
    response = rw.patch(_account(world, account.pk), {"owner_email": None}, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["owner_email"] is None
    assert response.json()["owner_name"] is None


def test_put_replaces_the_account(rw, world, account):
    response = rw.put(_account(world, account.pk), {
        "name": "Initech 2", "tier": "smb", "lifecycle_stage": "churned", "arr": "0", "external_id": "",
    }, format="json")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["name"], body["tier"], body["lifecycle_stage"], body["arr"]) == ("Initech 2", "smb", "churned", "0.00")
    assert body["external_id"] is None  # "" is stored as no external id, so it never collides


def test_delete_account(rw, world, account):
    assert rw.delete(_account(world, account.pk)).status_code == 204
    assert rw.get(_account(world, account.pk)).status_code == 404


# --- Validation --------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("payload", "field", "fragment"), [
    ({"tier": "gold"}, "tier", "not a valid choice"),
    ({"lifecycle_stage": "teen"}, "lifecycle_stage", "not a valid choice"),
    ({"arr": "-1"}, "arr", "greater than or equal to 0"),
    ({"arr": "12.345"}, "arr", "decimal places"),
    ({"renewal_date": "31/01/2031"}, "renewal_date", "wrong format"),
    ({"owner_email": "nobody@acme.example"}, "owner_email", "No CSM or manager"),
    ({"name": ""}, "name", "may not be blank"),
])
def test_invalid_fields_give_per_field_errors(rw, world, payload, field, fragment):
    response = rw.post(_accounts(world), {"name": "Hooli", **payload}, format="json")
    assert response.status_code == 400
    body = response.json()
    assert body["detail"] == "Invalid input." and body["code"] == "invalid"
    assert list(body["errors"]) == [field]
    assert fragment in body["errors"][field][0]


def test_owner_must_be_a_member_of_this_organization(rw, world, other_world):
    response = rw.post(_accounts(world), {"name": "Hooli", "owner_email": other_world.csm.email}, format="json")
    assert response.status_code == 400
    assert "owner_email" in response.json()["errors"]
    outsider = UserFactory(email="stranger@example.com")
    response = rw.post(_accounts(world), {"name": "Hooli", "owner_email": outsider.email}, format="json")
    assert response.status_code == 400


def test_viewer_cannot_own_accounts(rw, world):
    response = rw.post(_accounts(world), {"name": "Hooli", "owner_email": world.viewer.email}, format="json")
    assert response.status_code == 400
    assert "owner_email" in response.json()["errors"]


def test_duplicate_external_id_is_a_field_error(rw, world, account):
    response = rw.post(_accounts(world), {"name": "Hooli", "external_id": account.external_id}, format="json")
    assert response.status_code == 400
    assert response.json()["errors"] == {
        "external_id": ["An account with this external id already exists in this organization."]
    }
    other = AccountFactory(organization=world.org)
    response = rw.patch(_account(world, other.pk), {"external_id": account.external_id}, format="json")
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["external_id"]


def test_external_id_may_repeat_across_organizations(rw, world, other_world):
    theirs = AccountFactory(organization=other_world.org)
    response = rw.post(_accounts(world), {"name": "Hooli", "external_id": theirs.external_id}, format="json")
    assert response.status_code == 201


def test_duplicate_external_id_lost_race_is_a_field_error_not_a_500(rw, world, account):
    """Two syncs insert the same external id at once: the database refuses the second, the API says 400."""
    with mock.patch("django.db.models.UniqueConstraint.validate", return_value=None):
        response = rw.post(_accounts(world), {"name": "Hooli", "external_id": account.external_id}, format="json")
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["external_id"]
    with tenant_context(world.org):
        assert Account.objects.count() == 1


def test_unrelated_integrity_errors_are_not_swallowed(rw, world):
    failure = IntegrityError("FOREIGN KEY constraint failed")
    with mock.patch("accounts.api.views.account_create", side_effect=failure), pytest.raises(IntegrityError):
        rw.post(_accounts(world), {"name": "Hooli"}, format="json")


# --- Filters, search, ordering, pagination -----------------------------------------------------------------------

@pytest.fixture
def book(world):
    today = timezone.localdate()
    return {
        "a": AccountFactory(organization=world.org, name="Alpha", tier=Tier.ENTERPRISE, owner=world.csm,
                            arr=Decimal("100000"), renewal_date=today + dt.timedelta(days=30), region="EMEA",
                            domain="alpha.example"),
        "b": AccountFactory(organization=world.org, name="Beta", tier=Tier.SMB, owner=world.csm2,
                            arr=Decimal("5000"), renewal_date=today + dt.timedelta(days=200), region="NA",
                            domain="beta.example"),
        "c": AccountFactory(organization=world.org, name="Gamma", tier=Tier.SMB, owner=None,
                            arr=Decimal("25000"), renewal_date=None, region="NA", domain="gamma.example"),
    }


def _names(response):
    assert response.status_code == 200, response.json()
    return sorted(row["name"] for row in response.json()["results"])


@pytest.mark.parametrize(("query", "expected"), [
    ({"tier": "smb"}, ["Beta", "Gamma"]),
    ({"lifecycle_stage": "adopting"}, ["Alpha", "Beta", "Gamma"]),
    ({"region": "EMEA"}, ["Alpha"]),
    ({"arr_min": "20000"}, ["Alpha", "Gamma"]),
    ({"arr_max": "25000"}, ["Beta", "Gamma"]),
    ({"arr_min": "10000", "arr_max": "50000"}, ["Gamma"]),
    ({"search": "beta.exa"}, ["Beta"]),
    ({"search": "gam"}, ["Gamma"]),
])
def test_account_filters(rw, world, book, query, expected):
    assert _names(rw.get(_accounts(world, **query))) == expected


def test_filter_by_owner_email(rw, world, book):
    assert _names(rw.get(_accounts(world, owner=world.csm2.email.upper()))) == ["Beta"]


def test_filter_by_external_id(rw, world, book):
    assert _names(rw.get(_accounts(world, external_id=book["c"].external_id))) == ["Gamma"]


def test_filter_by_renewal_date_range(rw, world, book):
    today = timezone.localdate()
    in_90_days = (today + dt.timedelta(days=90)).isoformat()
    assert _names(rw.get(_accounts(world, renewal_date_after=today.isoformat(), renewal_date_before=in_90_days))) == [
        "Alpha"
    ]
    after_alpha = (today + dt.timedelta(days=31)).isoformat()
    assert _names(rw.get(_accounts(world, renewal_date_after=after_alpha))) == ["Beta"]


def test_filter_updated_since_for_incremental_sync(rw, world, book):
    with tenant_context(world.org):
        Account.objects.filter(pk=book["a"].pk).update(updated_at=timezone.now() - dt.timedelta(days=2))
        Account.objects.filter(pk=book["b"].pk).update(updated_at=timezone.now() - dt.timedelta(days=2))
    since = (timezone.now() - dt.timedelta(days=1)).isoformat()
    assert _names(rw.get(_accounts(world, updated_since=since))) == ["Gamma"]


def test_invalid_filter_value_is_a_400_with_field_errors(rw, world):
    response = rw.get(_accounts(world, tier="gold", renewal_date_after="soon"))
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"tier", "renewal_date"}


def test_cursor_pagination_walks_every_row_once(rw, world):
    for i in range(7):
        AccountFactory(organization=world.org, name=f"Account {i}")
    rows, pages = _all_pages(rw, _accounts(world, page_size=3))
    assert pages == 3
    assert len(rows) == 7 and len({r["id"] for r in rows}) == 7
    created = [r["created_at"] for r in rows]
    assert created == sorted(created, reverse=True)  # default: newest first


@pytest.mark.parametrize("ordering", ["name", "-name", "arr", "-arr", "created_at", "-updated_at"])
def test_cursor_pagination_with_ordering(rw, world, ordering):
    for i in range(8):
        # Duplicate ARR values across page boundaries: the id tiebreaker keeps pages exact.
        AccountFactory(organization=world.org, name=f"Account {i % 5}{i}", arr=Decimal(1000 * (i % 3)))
    rows, pages = _all_pages(rw, _accounts(world, page_size=3, ordering=ordering))
    assert pages == 3 and len({r["id"] for r in rows}) == 8
    field = ordering.lstrip("-")
    values = [Decimal(r[field]) if field == "arr" else r[field] for r in rows]
    assert values == sorted(values, reverse=ordering.startswith("-"))


@pytest.mark.parametrize("ordering", ["renewal_date", "-renewal_date"])
def test_ordering_by_nullable_renewal_date_pages_through_empty_dates(rw, world, ordering):
    today = timezone.localdate()
    for i in range(7):
        AccountFactory(organization=world.org, renewal_date=None if i % 2 else today + dt.timedelta(days=i))
    rows, pages = _all_pages(rw, _accounts(world, page_size=2, ordering=ordering))
    assert pages == 4 and len({r["id"] for r in rows}) == 7
    dates = [r["renewal_date"] for r in rows]
    assert dates[4:] == [None, None, None]  # empty dates last, in both directions
    assert dates[:4] == sorted(dates[:4], reverse=ordering.startswith("-"))


def test_previous_link_goes_back(rw, world):
    for _ in range(5):
        AccountFactory(organization=world.org)
    first = rw.get(_accounts(world, page_size=2, ordering="name")).json()
    second = rw.get(first["next"]).json()
    back = rw.get(second["previous"]).json()
    assert [r["id"] for r in back["results"]] == [r["id"] for r in first["results"]]


def _list_query_count(client, url) -> int:
    client.get(url)  # warm up: the token's last-used stamp is written at most once a minute
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries)


def test_account_list_query_count_does_not_grow_with_rows(rw, world):
    AccountFactory.create_batch(5, organization=world.org, owner=world.csm)
    small = _list_query_count(rw, _accounts(world))
    AccountFactory.create_batch(45, organization=world.org, owner=world.csm2)
    large = _list_query_count(rw, _accounts(world))
    assert small == large
    assert large <= 6  # org, token, the page (+ the tenant setting on PostgreSQL)


def test_last_touchpoint_at_is_read_only(rw, world, account):
    response = rw.patch(_account(world, account.pk), {"last_touchpoint_at": "2020-01-01T00:00:00Z"}, format="json")
    assert response.status_code == 200
    assert response.json()["last_touchpoint_at"] is None
    with tenant_context(world.org):
        assert Account.objects.aggregate(m=Max("last_touchpoint_at"))["m"] is None


def test_task_status_of_moved_tasks_untouched(rw, world, account):
    done = TaskFactory(account=account, owner=world.csm, status=TaskStatus.DONE)
    rw.patch(_account(world, account.pk), {"owner_email": world.csm2.email}, format="json")
    done.refresh_from_db()
    assert done.owner == world.csm  # closed work stays with who did it
