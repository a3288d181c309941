"""Writes on customer accounts. One transaction each, an audit event for each write by a person or token."""
import datetime as dt

from django.db import transaction
from django.db.models import Max, Q
from django.utils import timezone

from csops.tenancy.context import current_organization
from csops.tenancy.models import AuditEvent, User
from csops.tenancy.services import Actor, audit_record, model_snapshot

from .models import Account, Contact, OwnerAssignment, Touchpoint

ACCOUNT_FIELDS = [
    "name", "external_id", "domain", "industry", "tier", "lifecycle_stage", "region", "owner", "arr", "renewal_date",
]
CONTACT_FIELDS = ["account", "name", "email", "title", "role", "is_primary", "phone"]
TOUCHPOINT_FIELDS = ["account", "kind", "occurred_at", "summary", "attendees"]


def _clean_and_save(obj, **save_kwargs):
    """Validate fields and the org-scoped unique constraints (hence the organization first), then save."""
    if obj.organization_id is None:
        obj.organization = current_organization()
    obj.full_clean()
    obj.save(**save_kwargs)


@transaction.atomic
def account_create(*, actor: Actor, **fields) -> Account:
    fields.setdefault("external_id", None)
    if fields["external_id"] == "":
        fields["external_id"] = None
    account = Account(**fields)
    _clean_and_save(account)
    if account.owner_id:
        OwnerAssignment.objects.create(account=account, new_owner_id=account.owner_id, changed_by=actor.user,
                                       reason="Account created")
    audit_record(actor=actor, action="account.create", obj=account, after=model_snapshot(account, ACCOUNT_FIELDS))
    return account


@transaction.atomic
def account_update(*, account: Account, actor: Actor, **fields) -> Account:
    before = model_snapshot(account, ACCOUNT_FIELDS)
    previous_owner_id = account.owner_id
    if fields.get("external_id") == "":
        fields["external_id"] = None
    for name, value in fields.items():
        setattr(account, name, value)
    _clean_and_save(account)
    if account.owner_id != previous_owner_id:
        _record_owner_change(account=account, previous_owner_id=previous_owner_id, actor=actor, reason="Edited")
    audit_record(actor=actor, action="account.update", obj=account, before=before,
                 after=model_snapshot(account, ACCOUNT_FIELDS))
    return account


@transaction.atomic
def account_delete(*, account: Account, actor: Actor) -> None:
    audit_record(actor=actor, action="account.delete", obj=account, before=model_snapshot(account, ACCOUNT_FIELDS))
    account.delete()


def _record_owner_change(*, account: Account, previous_owner_id, actor: Actor, reason: str) -> None:
    OwnerAssignment.objects.create(
        account=account, previous_owner_id=previous_owner_id, new_owner_id=account.owner_id,
        changed_by=actor.user, reason=reason,
    )
    _move_open_tasks(account_ids=[account.pk], from_owner_ids={previous_owner_id}, to_owner_id=account.owner_id)


def _move_open_tasks(*, account_ids: list, from_owner_ids: set, to_owner_id) -> None:
    """Open work follows the account: the previous owner's open tasks go to the new owner."""
    from playbooks.services import tasks_reassign_for_accounts

    tasks_reassign_for_accounts(account_ids=account_ids, from_owner_ids=from_owner_ids, to_owner_id=to_owner_id)


@transaction.atomic
def accounts_reassign(*, account_ids: list, new_owner: User | None, actor: Actor, reason: str = "") -> int:
    """Bulk owner change: a constant number of queries however many accounts are moved."""
    accounts = list(Account.objects.filter(pk__in=account_ids).exclude(owner=new_owner).only("id", "name", "owner_id"))
    if not accounts:
        return 0
    new_owner_id = new_owner.pk if new_owner else None
    now = timezone.now()
    Account.objects.filter(pk__in=[a.pk for a in accounts]).update(owner_id=new_owner_id, updated_at=now)
    OwnerAssignment.objects.bulk_create([
        OwnerAssignment(account_id=a.pk, organization_id=a.organization_id, previous_owner_id=a.owner_id,
                        new_owner_id=new_owner_id, changed_by=actor.user, reason=reason or "Bulk reassignment")
        for a in accounts
    ])
    AuditEvent.objects.bulk_create([
        AuditEvent(organization_id=a.organization_id, actor_user=actor.user, actor_token=actor.token,
                   action="account.reassign", object_type="account", object_id=str(a.pk), object_repr=a.name[:200],
                   before={"owner": a.owner_id}, after={"owner": new_owner_id}, created_at=now)
        for a in accounts
    ])
    _move_open_tasks(account_ids=[a.pk for a in accounts], from_owner_ids={a.owner_id for a in accounts},
                     to_owner_id=new_owner_id)
    return len(accounts)


@transaction.atomic
def contact_create(*, actor: Actor, **fields) -> Contact:
    contact = Contact(**fields)
    if contact.is_primary:
        Contact.objects.filter(account=contact.account, is_primary=True).update(is_primary=False)
    _clean_and_save(contact)
    audit_record(actor=actor, action="contact.create", obj=contact, after=model_snapshot(contact, CONTACT_FIELDS))
    return contact


@transaction.atomic
def contact_update(*, contact: Contact, actor: Actor, **fields) -> Contact:
    before = model_snapshot(contact, CONTACT_FIELDS)
    for name, value in fields.items():
        setattr(contact, name, value)
    if contact.is_primary:
        Contact.objects.filter(account_id=contact.account_id, is_primary=True).exclude(pk=contact.pk).update(
            is_primary=False
        )
    _clean_and_save(contact)
    audit_record(actor=actor, action="contact.update", obj=contact, before=before,
                 after=model_snapshot(contact, CONTACT_FIELDS))
    return contact


@transaction.atomic
def contact_delete(*, contact: Contact, actor: Actor) -> None:
    audit_record(actor=actor, action="contact.delete", obj=contact, before=model_snapshot(contact, CONTACT_FIELDS))
    contact.delete()


def _refresh_last_touchpoint(account_id) -> None:
    latest = Touchpoint.objects.filter(account_id=account_id).aggregate(m=Max("occurred_at"))["m"]
    Account.objects.filter(pk=account_id).update(last_touchpoint_at=latest)


@transaction.atomic
def touchpoint_log(
    *, account: Account, actor: Actor, kind: str, summary: str, occurred_at: dt.datetime | None = None,
    attendees: list[str] | None = None, author: User | None = None,
) -> Touchpoint:
    touchpoint = Touchpoint(
        account=account, kind=kind, summary=summary, occurred_at=occurred_at or timezone.now(),
        attendees=attendees or [], author=author or actor.user,
    )
    _clean_and_save(touchpoint)
    _refresh_last_touchpoint(account.pk)
    audit_record(actor=actor, action="touchpoint.create", obj=touchpoint,
                 after=model_snapshot(touchpoint, TOUCHPOINT_FIELDS))
    return touchpoint


@transaction.atomic
def touchpoint_update(*, touchpoint: Touchpoint, actor: Actor, **fields) -> Touchpoint:
    before = model_snapshot(touchpoint, TOUCHPOINT_FIELDS)
    old_account_id = touchpoint.account_id
    for name, value in fields.items():
        setattr(touchpoint, name, value)
    _clean_and_save(touchpoint)
    _refresh_last_touchpoint(touchpoint.account_id)
    if old_account_id != touchpoint.account_id:
        _refresh_last_touchpoint(old_account_id)
    audit_record(actor=actor, action="touchpoint.update", obj=touchpoint, before=before,
                 after=model_snapshot(touchpoint, TOUCHPOINT_FIELDS))
    return touchpoint


@transaction.atomic
def touchpoint_delete(*, touchpoint: Touchpoint, actor: Actor) -> None:
    audit_record(actor=actor, action="touchpoint.delete", obj=touchpoint,
                 before=model_snapshot(touchpoint, TOUCHPOINT_FIELDS))
    account_id = touchpoint.account_id
    touchpoint.delete()
    _refresh_last_touchpoint(account_id)


# --- Health denormalisation (written by the health app's daily recompute) ---------------------------------


def accounts_health_set(*, as_of: dt.date, rows) -> int:
    """Set health_score / health_band / health_as_of of many accounts at once from their ``as_of`` snapshot.

    ``rows``: iterable of (account_id, score Decimal | None, band). An account already showing a later day
    keeps it (a backfill of a past day never overwrites today's). Set-wise: one UPDATE … FROM unnest(…) per
    20,000 accounts on PostgreSQL, each column sent as one array literal (accounts already showing these values
    are not rewritten); bulk updates elsewhere. Runs in the caller's transaction; returns how many accounts changed."""
    from django.db import connection

    rows = list(rows)
    if not rows:
        return 0
    org = current_organization()
    newer_or_same = Q(health_as_of__isnull=True) | Q(health_as_of__lte=as_of)
    if connection.vendor != "postgresql":
        changed = 0
        for start in range(0, len(rows), 5000):
            chunk = rows[start:start + 5000]
            by_id = {str(pk): (score, band) for pk, score, band in chunk}
            accounts = list(Account.objects.filter(newer_or_same, pk__in=list(by_id)).only("pk"))
            for account in accounts:
                account.health_score, account.health_band = by_id[str(account.pk)]
                account.health_as_of = as_of
            changed += Account.objects.bulk_update(accounts, ["health_score", "health_band", "health_as_of"])
        return changed
    from csops.pgarrays import array_literal

    table = Account._meta.db_table
    fields = [Account._meta.pk, Account._meta.get_field("health_score"), Account._meta.get_field("health_band")]
    changed = 0
    with connection.cursor() as cursor:
        for start in range(0, len(rows), 20_000):
            columns = list(zip(*rows[start:start + 20_000], strict=True))
            cursor.execute(
                f"UPDATE {table} AS a SET health_score = v.score, health_band = v.band, "  # noqa: S608
                "health_as_of = %s FROM unnest(%s::uuid[], %s::numeric[], %s::text[]) AS v(id, score, band) "
                "WHERE a.id = v.id AND a.organization_id = %s AND (a.health_as_of IS NULL OR a.health_as_of <= %s) "
                "AND (a.health_score, a.health_band, a.health_as_of) IS DISTINCT FROM (v.score, v.band, %s)",
                [as_of, *(array_literal(f, list(c)) for f, c in zip(fields, columns, strict=True)), org.pk, as_of,
                 as_of],
            )
            changed += cursor.rowcount
    return changed
