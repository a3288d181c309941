"""Per-user email opt-outs and the company updates ops admins write for the weekly CSM email."""
from django.db import transaction

from csops.tenancy.services import Actor, audit_record, model_snapshot

from ..models import CompanyUpdate, EmailKind, EmailOptOut

UPDATE_FIELDS = ["kind", "title", "body", "url"]


@transaction.atomic
def email_preferences_set(*, user, receive: set[str]) -> set[str]:
    """``receive`` = the kinds the user wants; every other kind is opted out. Returns the opted-out kinds."""
    unknown = receive - set(EmailKind.values)
    if unknown:
        raise ValueError(f"unknown email kinds: {sorted(unknown)}")
    opted_out = set(EmailKind.values) - receive
    EmailOptOut.objects.filter(user=user).exclude(kind__in=opted_out).delete()
    have = set(EmailOptOut.objects.filter(user=user).values_list("kind", flat=True))
    for kind in sorted(opted_out - have):
        EmailOptOut.objects.create(user=user, kind=kind)
    return opted_out


@transaction.atomic
def company_update_create(*, actor: Actor, kind: str, title: str, body: str = "", url: str = "") -> CompanyUpdate:
    update = CompanyUpdate(kind=kind, title=title, body=body, url=url, author=actor.user)
    update.full_clean()
    update.save()
    audit_record(actor=actor, action="company_update.create", obj=update, after=model_snapshot(update, UPDATE_FIELDS))
    return update


@transaction.atomic
def company_update_delete(*, actor: Actor, update: CompanyUpdate) -> None:
    audit_record(actor=actor, action="company_update.delete", obj=update, before=model_snapshot(update, UPDATE_FIELDS))
    update.delete()
