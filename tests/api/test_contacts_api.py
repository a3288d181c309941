import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import Contact
from csops.tenancy.context import tenant_context
from csops.tenancy.models import AuditEvent
from tests.factories import AccountFactory, ContactFactory

from .conftest import api_url

pytestmark = pytest.mark.django_db


def _contacts(world, **query):
    return api_url("contact", world.org.slug, **query)


def _contact(world, pk):
    return api_url("contact", world.org.slug, pk)


def test_contact_crud(rw, world, account):
    response = rw.post(_contacts(world), {
        "account": str(account.pk), "name": "Ada", "email": "ada@initech.example", "role": "champion",
        "is_primary": True,
    }, format="json")
    assert response.status_code == 201, response.json()
    contact_id = response.json()["id"]
    assert response.json()["account"] == str(account.pk)

    assert rw.get(_contact(world, contact_id)).json()["name"] == "Ada"
    response = rw.patch(_contact(world, contact_id), {"title": "VP Ops"}, format="json")
    assert response.status_code == 200 and response.json()["title"] == "VP Ops"
    response = rw.put(_contact(world, contact_id), {"account": str(account.pk), "name": "Ada L."}, format="json")
    assert response.status_code == 200 and response.json()["name"] == "Ada L."
    assert rw.delete(_contact(world, contact_id)).status_code == 204
    assert rw.get(_contact(world, contact_id)).status_code == 404
    with tenant_context(world.org):
        actions = list(AuditEvent.objects.filter(object_id=contact_id).order_by("created_at")
                       .values_list("action", flat=True))
    assert actions == ["contact.create", "contact.update", "contact.update", "contact.delete"]


def test_new_primary_contact_replaces_the_old_one(rw, world, account):
    old = ContactFactory(account=account, is_primary=True)
    response = rw.post(_contacts(world), {"account": str(account.pk), "name": "New", "is_primary": True},
                       format="json")
    assert response.status_code == 201, response.json()
    old.refresh_from_db()
    assert old.is_primary is False


def test_another_organizations_account_does_not_exist(rw, world, other_world):
    theirs = AccountFactory(organization=other_world.org)
    response = rw.post(_contacts(world), {"account": str(theirs.pk), "name": "Spy"}, format="json")
    assert response.status_code == 400
    assert response.json()["errors"] == {"account": [f'Account "{theirs.pk}" does not exist.']}


@pytest.mark.parametrize("value", ["not-a-uuid", 42, None, ""])
def test_malformed_account_reference_is_a_field_error(rw, world, value):
    response = rw.post(_contacts(world), {"account": value, "name": "X"}, format="json")
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["account"]


def test_duplicate_email_on_the_same_account_is_a_field_error(rw, world, account):
    ContactFactory(account=account, email="ada@initech.example")
    response = rw.post(_contacts(world), {"account": str(account.pk), "name": "Ada", "email": "ada@initech.example"},
                       format="json")
    assert response.status_code == 400
    assert response.json()["errors"] == {"email": ["This account already has a contact with this email."]}


def test_contact_filters(rw, world, account):
    other = AccountFactory(organization=world.org)
    ContactFactory(account=account, name="Ada", role="champion", email="ada@initech.example")
    ContactFactory(account=account, name="Bob", role="user")
    ContactFactory(account=other, name="Cy", role="champion")

    def names(**query):
        response = rw.get(_contacts(world, **query))
        assert response.status_code == 200, response.json()
        return sorted(r["name"] for r in response.json()["results"])

    assert names(account=str(account.pk)) == ["Ada", "Bob"]
    assert names(role="champion") == ["Ada", "Cy"]
    assert names(email="ADA@initech.example") == ["Ada"]
    assert names(account=str(account.pk), role="champion") == ["Ada"]


def test_contact_list_query_count_does_not_grow_with_rows(rw, world, account):
    ContactFactory.create_batch(5, account=account)
    url = _contacts(world)
    rw.get(url)
    with CaptureQueriesContext(connection) as small:
        rw.get(url)
    ContactFactory.create_batch(45, account=AccountFactory(organization=world.org))
    with CaptureQueriesContext(connection) as large:
        response = rw.get(url)
    assert len(response.json()["results"]) == 50
    assert len(small.captured_queries) == len(large.captured_queries)


def test_contacts_paginate(rw, world, account):
    ContactFactory.create_batch(5, account=account)
    first = rw.get(_contacts(world, page_size=2, ordering="name")).json()
    seen = [r["id"] for r in first["results"]]
    url = first["next"]
    while url:
        page = rw.get(url).json()
        seen += [r["id"] for r in page["results"]]
        url = page["next"]
    with tenant_context(world.org):
        expected = [str(pk) for pk in Contact.objects.order_by("name", "id").values_list("id", flat=True)]
    assert seen == expected
