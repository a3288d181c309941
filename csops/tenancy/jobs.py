"""Helpers for Celery tasks and commands: run a service inside one organization's tenant context."""
from collections.abc import Iterator
from contextlib import contextmanager

from django.db import transaction

from .context import tenant_context
from .models import Organization


@contextmanager
def in_organization(organization_id: int) -> Iterator[Organization]:
    org = Organization.objects.get(pk=organization_id)
    with tenant_context(org):
        yield org


def for_each_organization(task) -> int:
    """The nightly/hourly fan-out: one task per organization, enqueued after commit."""
    ids = list(Organization.objects.values_list("id", flat=True))
    for org_id in ids:
        transaction.on_commit(lambda org_id=org_id: task.delay(org_id))
    return len(ids)
