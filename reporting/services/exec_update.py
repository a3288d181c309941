"""The Friday executive update: an ops admin drafts it during the week (sections pre-filled with the week's
numbers), schedules it, and the dispatcher queues it on Friday afternoon (the org's local time) for every
recipient through the outbox — once per recipient and week, whatever runs twice."""
from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from csops.tenancy.models import Membership, Organization
from csops.tenancy.services import Actor, audit_record, model_snapshot

from ..leader_digest import executive_week_numbers
from ..models import EmailKind, EmailOptOut, ExecUpdate, ExecUpdateStatus
from .outbox import Draft, outbox_enqueue
from .weekly import iso_period, week_start

FRIDAY = 4
EXEC_SEND_HOUR = 15
SECTIONS = ["highlights", "lowlights", "blockers", "asks", "next_week", "okr_status"]
_AUDITED = [*SECTIONS, "recipient_ids", "extra_emails", "status"]


def week_numbers(*, organization: Organization, day: dt.date) -> dict:
    """The numbers the update opens with (the executive dashboard's, org-wide, with week-over-week change).
    Empty until the dashboard aggregates exist; the update then reads without a numbers block."""
    return executive_week_numbers(organization=organization, day=day)


def exec_update_for_week(*, organization: Organization, today: dt.date, actor: Actor) -> ExecUpdate:
    """This week's update, created as a draft (leaders pre-selected as recipients) the first time it is opened."""
    period = iso_period(today)
    update = ExecUpdate.objects.filter(period=period).first()
    if update is not None:
        return update
    leaders = list(Membership.objects.filter(organization=organization, role="leader", is_active=True)
                   .values_list("user_id", flat=True))
    update, _ = ExecUpdate.objects.get_or_create(
        organization=organization, period=period,
        defaults={"author": actor.user, "recipient_ids": leaders},
    )
    return update


def _clean_recipients(organization: Organization, recipient_ids, extra_emails) -> tuple[list[int], list[str]]:
    ids = sorted({int(pk) for pk in recipient_ids})
    members = set(Membership.objects.filter(organization=organization, user_id__in=ids, is_active=True)
                  .values_list("user_id", flat=True))
    if set(ids) - members:
        raise ValidationError({"recipient_ids": "Recipients must be active members of this organization."})
    emails, bad = [], []
    for raw in extra_emails:
        address = raw.strip().lower()
        if not address:
            continue
        try:
            validate_email(address)
        except ValidationError:
            bad.append(raw.strip())
        else:
            emails.append(address)
    if bad:
        raise ValidationError({"extra_emails": f"Not an email address: {', '.join(bad)}"})
    return ids, sorted(set(emails))


@transaction.atomic
def exec_update_save(*, update: ExecUpdate, actor: Actor, recipient_ids=(), extra_emails=(), **sections) -> ExecUpdate:
    if update.status == ExecUpdateStatus.SENT:
        raise ValidationError("This update was already sent; it can no longer be edited.")
    before = model_snapshot(update, _AUDITED)
    ids, emails = _clean_recipients(update.organization, recipient_ids, extra_emails)
    for name in SECTIONS:
        if name in sections:
            setattr(update, name, (sections[name] or "").strip())
    update.recipient_ids, update.extra_emails = ids, emails
    update.save()
    audit_record(actor=actor, action="exec_update.update", obj=update, before=before,
                 after=model_snapshot(update, _AUDITED))
    return update


@transaction.atomic
def exec_update_schedule(*, update: ExecUpdate, actor: Actor, today: dt.date) -> ExecUpdate:
    """Ready to go: it is queued on Friday afternoon (or at the next dispatch if that has passed)."""
    if update.status == ExecUpdateStatus.SENT:
        raise ValidationError("This update was already sent.")
    if not (update.recipient_ids or update.extra_emails):
        raise ValidationError("Choose at least one recipient before scheduling.")
    if not any(getattr(update, name).strip() for name in SECTIONS):
        raise ValidationError("Write at least one section (highlights, lowlights, …) before scheduling.")
    before = model_snapshot(update, _AUDITED)
    update.numbers = week_numbers(organization=update.organization, day=today)
    update.status = ExecUpdateStatus.SCHEDULED
    update.save()
    audit_record(actor=actor, action="exec_update.schedule", obj=update, before=before,
                 after=model_snapshot(update, _AUDITED))
    return update


@transaction.atomic
def exec_update_unschedule(*, update: ExecUpdate, actor: Actor) -> ExecUpdate:
    if update.status == ExecUpdateStatus.SCHEDULED:
        before = model_snapshot(update, _AUDITED)
        update.status = ExecUpdateStatus.DRAFT
        update.save()
        audit_record(actor=actor, action="exec_update.unschedule", obj=update, before=before,
                     after=model_snapshot(update, _AUDITED))
    return update


def render_exec_update(*, update: ExecUpdate, to_email: str, recipient_id: int | None = None) -> Draft:
    org = update.organization
    monday = dt.date.fromisocalendar(*map(int, update.period.replace("W", "").split("-")), 1)
    context = {
        "org": org, "update": update, "numbers": update.numbers, "week_of": monday, "friday": monday + dt.timedelta(4),
        "sections": [(label, getattr(update, name)) for name, label in SECTION_LABELS if getattr(update, name)],
        "dashboard_url": settings.SITE_URL + reverse("accounts:portfolio", kwargs={"org_slug": org.slug}),
    }
    return Draft(
        to_email=to_email, recipient_id=recipient_id,
        subject=f"{org.name} executive update, week of {monday:%-d %b %Y}",
        body_text=render_to_string("reporting/emails/exec_update.txt", context),
        body_html=render_to_string("reporting/emails/exec_update.html", context),
    )


SECTION_LABELS = [("highlights", "Highlights"), ("lowlights", "Lowlights"), ("blockers", "Blockers"),
                  ("asks", "Asks"), ("next_week", "Next week"), ("okr_status", "OKR status")]


def exec_updates_enqueue_due(*, organization: Organization, local_now: dt.datetime) -> int:
    """Friday from ``EXEC_SEND_HOUR`` on (local), queue this week's scheduled update for its recipients.
    Idempotent: the outbox keeps one row per recipient; the update is marked sent once queued."""
    today = local_now.date()
    if local_now.weekday() < FRIDAY or (local_now.weekday() == FRIDAY and local_now.hour < EXEC_SEND_HOUR):
        return 0
    period = iso_period(today)
    queued = 0
    for update in ExecUpdate.objects.filter(period=period, status=ExecUpdateStatus.SCHEDULED):
        opted_out = set(EmailOptOut.objects.filter(kind=EmailKind.EXEC_UPDATE).values_list("user_id", flat=True))
        members = Membership.objects.filter(organization=organization, user_id__in=update.recipient_ids,
                                            is_active=True).exclude(user_id__in=opted_out).select_related("user")
        drafts = [render_exec_update(update=update, to_email=m.user.email, recipient_id=m.user_id) for m in members]
        member_emails = {d.to_email.lower() for d in drafts}
        drafts += [render_exec_update(update=update, to_email=e) for e in update.extra_emails if e not in member_emails]
        queued += outbox_enqueue(kind=EmailKind.EXEC_UPDATE, period=period, drafts=drafts)
        if update.status == ExecUpdateStatus.SCHEDULED:
            ExecUpdate.objects.filter(pk=update.pk).update(status=ExecUpdateStatus.SENT, sent_at=timezone.now())
    return queued


def current_week(today: dt.date) -> tuple[str, dt.date]:
    return iso_period(today), week_start(today)
