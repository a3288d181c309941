"""Helpers for the v1 API tests: URLs, and clients for each kind of caller."""
from urllib.parse import urlencode

import pytest
from django.urls import reverse


def api_url(basename: str, org_slug: str, pk=None, action: str | None = None, **query) -> str:
    if pk is None:
        url = reverse(f"{basename}-list", kwargs={"org_slug": org_slug})
    elif action:
        url = reverse(f"{basename}-{action}", kwargs={"org_slug": org_slug, "id": pk})
    else:
        url = reverse(f"{basename}-detail", kwargs={"org_slug": org_slug, "id": pk})
    if query:
        url = f"{url}?{urlencode(query)}"
    return url


@pytest.fixture
def rw(api_client, world):
    """A client with acme's read-write token."""
    return api_client(world.token_rw)


@pytest.fixture
def ro(api_client, world):
    """A client with acme's read-only token."""
    return api_client(world.token_ro)


@pytest.fixture
def session_client(api_client):
    """A session-authenticated API client for a person."""

    def _make(user):
        client = api_client()
        client.force_login(user)
        return client

    return _make
