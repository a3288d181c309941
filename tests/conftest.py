"""Shared fixtures: every view test has an organization with one member per role, and an outsider
organization with its own user, token and data (the three-user pattern, plus a second realm)."""
from dataclasses import dataclass

import pytest

from csops.tenancy.context import tenant_context
from csops.tenancy.models import Organization, Role, TokenScope, User
from csops.tenancy.services import SYSTEM, api_token_create

from .factories import PASSWORD, AccountFactory, MembershipFactory, OrganizationFactory, TeamFactory, UserFactory


@dataclass
class OrgWorld:
    org: Organization
    csm: User
    csm2: User
    manager: User
    leader: User
    admin: User
    viewer: User
    token_rw: str
    token_ro: str


def build_world(slug: str) -> OrgWorld:
    org = OrganizationFactory(slug=slug, name=slug.title())
    team = TeamFactory(organization=org, name=f"{slug} team")
    users = {}
    for role, key in [(Role.CSM, "csm"), (Role.CSM, "csm2"), (Role.MANAGER, "manager"), (Role.LEADER, "leader"),
                      (Role.OPS_ADMIN, "admin"), (Role.VIEWER, "viewer")]:
        user = UserFactory(email=f"{key}@{slug}.example")
        MembershipFactory(organization=org, user=user, role=role, team=team if key in ("csm", "manager") else None)
        users[key] = user
    team.manager = users["manager"]
    team.save()
    _, rw = api_token_create(organization=org, actor=SYSTEM, name="rw", scope=TokenScope.READ_WRITE)
    _, ro = api_token_create(organization=org, actor=SYSTEM, name="ro", scope=TokenScope.READ)
    return OrgWorld(org=org, token_rw=rw, token_ro=ro, **users)


@pytest.fixture(autouse=True)
def _jobs_in_process(request, monkeypatch):
    """Outside the integration tests, jobs run in-process (the embedded default), also when REDIS_URL is set:
    a unit test must give the same result on SQLite and on PostgreSQL + Redis, with or without a worker
    listening. The integration tests (real worker on Redis) keep the broker."""
    if request.node.get_closest_marker("integration") is None:
        from csops.celery import app

        monkeypatch.setitem(app.conf, "task_always_eager", True)
        monkeypatch.setitem(app.conf, "task_eager_propagates", True)


@pytest.fixture
def world(db) -> OrgWorld:
    return build_world("acme")


@pytest.fixture
def other_world(db) -> OrgWorld:
    """A second organization: its users and tokens must never see anything of `world`."""
    return build_world("globex")


@pytest.fixture
def tenant(world):
    """Run the test body inside `world.org`'s tenant context (as a request or task would)."""
    with tenant_context(world.org):
        yield world.org


@pytest.fixture
def login(client):
    def _login(user: User):
        client.force_login(user)
        return client

    return _login


@pytest.fixture
def api_client():
    from rest_framework.test import APIClient

    def _make(token: str | None = None):
        client = APIClient()
        if token:
            client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
        return client

    return _make


@pytest.fixture
def account(world):
    return AccountFactory(organization=world.org, owner=world.csm, name="Initech")


__all__ = ["PASSWORD"]
