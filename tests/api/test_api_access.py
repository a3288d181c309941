"""Who may call the v1 API, for every resource: members and their tokens in, outsiders out with 404, read-only
callers out of writes with 403, unauthenticated callers out with a JSON 401."""
import datetime as dt

import pytest
from django.utils import timezone

from csops.tenancy.context import tenant_context
from csops.tenancy.models import ApiToken, AuditEvent, TokenScope
from csops.tenancy.services import SYSTEM, api_token_create, api_token_revoke
from tests.factories import AccountFactory, ContactFactory, TaskFactory, TouchpointFactory

from .conftest import api_url

pytestmark = pytest.mark.django_db

RESOURCES = ["account", "contact", "touchpoint", "task"]
WRITE_METHODS = ["post", "put", "patch", "delete"]


class Objects:
    """One object of each resource in an organization, and a valid payload to create one more."""

    def __init__(self, world):
        self.account = AccountFactory(organization=world.org, owner=world.csm)
        self.by_resource = {
            "account": self.account,
            "contact": ContactFactory(account=self.account),
            "touchpoint": TouchpointFactory(account=self.account),
            "task": TaskFactory(account=self.account),
        }
        self.payloads = {
            "account": {"name": "New account"},
            "contact": {"account": str(self.account.pk), "name": "New contact"},
            "touchpoint": {"account": str(self.account.pk), "kind": "note", "summary": "New note"},
            "task": {"account": str(self.account.pk), "title": "New task"},
        }

    def detail_url(self, resource, slug):
        return api_url(resource, slug, self.by_resource[resource].pk)


@pytest.fixture
def acme(world):
    return Objects(world)


@pytest.fixture
def globex(other_world):
    return Objects(other_world)


def _call(client, method, url, payload=None):
    return getattr(client, method)(url, payload or {}, format="json")


@pytest.mark.parametrize("resource", RESOURCES)
def test_read_write_token_can_list_read_create(rw, world, acme, resource):
    assert rw.get(api_url(resource, world.org.slug)).status_code == 200
    assert rw.get(acme.detail_url(resource, world.org.slug)).status_code == 200
    response = _call(rw, "post", api_url(resource, world.org.slug), acme.payloads[resource])
    assert response.status_code == 201, response.json()


@pytest.mark.parametrize("resource", RESOURCES)
def test_member_session_can_read_and_write(session_client, world, acme, resource):
    client = session_client(world.csm)
    assert client.get(api_url(resource, world.org.slug)).status_code == 200
    assert client.get(acme.detail_url(resource, world.org.slug)).status_code == 200
    response = _call(client, "post", api_url(resource, world.org.slug), acme.payloads[resource])
    assert response.status_code == 201, response.json()
    with tenant_context(world.org):
        event = AuditEvent.objects.filter(action=f"{resource}.create").latest("created_at")
    assert event.actor_user == world.csm and event.actor_token is None


@pytest.mark.parametrize("resource", RESOURCES)
def test_read_only_token_and_viewer_can_read_but_not_write(ro, session_client, world, acme, resource):
    viewer = session_client(world.viewer)
    for client in (ro, viewer):
        assert client.get(api_url(resource, world.org.slug)).status_code == 200
        assert client.get(acme.detail_url(resource, world.org.slug)).status_code == 200
        response = _call(client, "post", api_url(resource, world.org.slug), acme.payloads[resource])
        assert response.status_code == 403
        assert response.json()["code"] == "permission_denied"
        for method in ("put", "patch", "delete"):
            response = _call(client, method, acme.detail_url(resource, world.org.slug), acme.payloads[resource])
            assert response.status_code == 403, method
    with tenant_context(world.org):
        assert not AuditEvent.objects.exclude(action__startswith="api_token").exists()


@pytest.mark.parametrize("resource", RESOURCES)
def test_other_organizations_token_and_members_get_404(api_client, session_client, world, other_world, acme,
                                                        resource):
    outsiders = [api_client(other_world.token_rw), session_client(other_world.admin)]
    for client in outsiders:
        for url in (api_url(resource, world.org.slug), acme.detail_url(resource, world.org.slug)):
            for method in ("get", *WRITE_METHODS):
                response = _call(client, method, url, acme.payloads[resource])
                assert response.status_code == 404, (method, url)
                assert response.json()["code"] == "not_found"


@pytest.mark.parametrize("resource", RESOURCES)
def test_ids_of_another_organization_under_ones_own_slug_give_404(api_client, world, other_world, acme, resource):
    client = api_client(other_world.token_rw)
    url = acme.detail_url(resource, other_world.org.slug)  # acme's id, globex's slug and token
    for method in ("get", "put", "patch", "delete"):
        assert _call(client, method, url, {}).status_code == 404, method
    assert client.get(api_url(resource, other_world.org.slug)).json()["results"] == []


@pytest.mark.parametrize("resource", RESOURCES)
def test_anonymous_gets_json_401(api_client, world, acme, resource):
    client = api_client()
    for url in (api_url(resource, world.org.slug), acme.detail_url(resource, world.org.slug)):
        for method in ("get", "post", "delete"):
            response = _call(client, method, url)
            assert response.status_code == 401
            assert response.json() == {
                "detail": "Authentication credentials were not provided.", "code": "not_authenticated", "errors": {},
            }
            assert response["WWW-Authenticate"].startswith("Bearer")


@pytest.fixture
def bad_tokens(world):
    _, expired = api_token_create(organization=world.org, actor=SYSTEM, name="old", scope=TokenScope.READ_WRITE,
                                  expires_at=timezone.now() - dt.timedelta(minutes=1))
    revoked_token, revoked = api_token_create(organization=world.org, actor=SYSTEM, name="gone",
                                              scope=TokenScope.READ_WRITE)
    api_token_revoke(token=revoked_token, actor=SYSTEM)
    prefix = world.token_rw.split("_")[1]
    return {
        "garbage": "not-a-token",
        "wrong secret": f"csops_{prefix}_wrongsecret",
        "unknown prefix": "csops_00000000_secret",
        "expired": expired,
        "revoked": revoked,
    }


@pytest.mark.parametrize("kind", ["garbage", "wrong secret", "unknown prefix", "expired", "revoked"])
def test_invalid_expired_or_revoked_token_gets_401(api_client, world, bad_tokens, kind):
    response = api_client(bad_tokens[kind]).get(api_url("account", world.org.slug))
    assert response.status_code == 401
    assert response.json()["code"] == "authentication_failed"
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_token_use_is_recorded(rw, world):
    rw.get(api_url("account", world.org.slug))
    assert ApiToken.objects.get(organization=world.org, name="rw").last_used_at is not None


def test_unknown_organization_is_404(rw):
    assert rw.get(api_url("account", "no-such-org")).status_code == 404
