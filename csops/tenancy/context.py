"""The tenant context: which organization the current request, task or command works for.

Every query on a tenant-owned model reads it (see `TenantManager`). With no context set, such a query
raises `TenantContextMissing` instead of returning every tenant's rows. The one way to work across
tenants is `dangerously_all_tenants()`, named to be easy to grep for and hard to use by accident.
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from csops.tenancy.models import Organization


class TenantContextMissing(RuntimeError):
    """A tenant-owned model was queried with no organization in context."""


_current_org: ContextVar[Organization | None] = ContextVar("csops_current_org", default=None)
_all_tenants: ContextVar[bool] = ContextVar("csops_all_tenants", default=False)


@contextmanager
def tenant_context(organization: Organization) -> Iterator[Organization]:
    """Scope every tenant query inside the block to `organization`."""
    if organization is None or organization.pk is None:
        raise ValueError("tenant_context needs a saved Organization")
    token = _current_org.set(organization)
    all_token = _all_tenants.set(False)
    try:
        _sync_database()
        yield organization
    finally:
        _all_tenants.reset(all_token)
        _current_org.reset(token)
        _sync_database()


@contextmanager
def dangerously_all_tenants() -> Iterator[None]:
    """Escape hatch for cross-tenant work (nightly fan-out, Django admin, migrations of data).

    Inside it, tenant managers return rows of every organization. Keep blocks tiny and greppable."""
    token = _all_tenants.set(True)
    try:
        _sync_database()
        yield
    finally:
        _all_tenants.reset(token)
        _sync_database()


def current_organization(*, required: bool = True) -> Organization | None:
    org = _current_org.get()
    if org is None and required:
        raise TenantContextMissing("no organization in the tenant context")
    return org


def all_tenants_allowed() -> bool:
    return _all_tenants.get()


def _sync_database() -> None:
    """Keep PostgreSQL's row-level security settings equal to the context (see csops/tenancy/rls.py)."""
    from .rls import sync_session

    org = _current_org.get()
    sync_session(org.pk if org is not None else None, _all_tenants.get())
