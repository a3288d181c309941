"""The weekly emails: render each recipient's email and queue it in the outbox (sent by the dispatcher)."""
from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.template.loader import render_to_string
from django.urls import reverse

from csops.tenancy.models import Organization
from csops.tenancy.templatetags.csops import CURRENCY_SYMBOLS

from ..digests import CsmDigest, company_updates_since, csm_recipients, weekly_csm_digests
from ..leader_digest import LeaderDigest, weekly_leader_digests
from ..models import CompanyUpdate, EmailKind, EmailOptOut
from .outbox import Draft, outbox_enqueue, outbox_existing_emails


def iso_period(day: dt.date) -> str:
    """The ISO week a day belongs to, e.g. 2026-W48: the once-per-week key of weekly emails."""
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def week_start(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


def _subject(digest: CsmDigest, org: Organization) -> str:
    parts = []
    if digest.new_at_risk:
        parts.append(f"{len(digest.new_at_risk)} new at risk")
    if digest.renewals_30:
        parts.append(f"{len(digest.renewals_30)} renewal{'s' if len(digest.renewals_30) != 1 else ''} in 30 days")
    if digest.overdue_count:
        parts.append(f"{digest.overdue_count} overdue task{'s' if digest.overdue_count != 1 else ''}")
    summary = ", ".join(parts) if parts else "a quiet week"
    return f"Your week at {org.name}: {summary}"


def render_weekly_csm(*, organization: Organization, digest: CsmDigest, updates: list[CompanyUpdate],
                      today: dt.date) -> Draft:
    base = settings.SITE_URL
    context = {
        "org": organization, "digest": digest, "updates": updates, "today": today,
        "week_of": week_start(today), "base_url": base,
        "portfolio_url": base + reverse("accounts:portfolio", kwargs={"org_slug": organization.slug}),
        "account_url": base + f"/o/{organization.slug}/accounts/a/",
        "tasks_url": base + reverse("playbooks:tasks", kwargs={"org_slug": organization.slug}),
        "preferences_url": base + reverse("reporting:email_preferences", kwargs={"org_slug": organization.slug}),
        "currency": CURRENCY_SYMBOLS.get(organization.reporting_currency, f"{organization.reporting_currency} "),
    }
    return Draft(
        to_email=digest.email, recipient_id=digest.user_id, subject=_subject(digest, organization),
        body_text=render_to_string("reporting/emails/weekly_csm.txt", context),
        body_html=render_to_string("reporting/emails/weekly_csm.html", context),
    )


def weekly_csm_preview(*, organization: Organization, user_id: int, today: dt.date) -> Draft | None:
    """The email ``user_id`` would get this week, rendered now (the in-app preview); None if not a CSM."""
    digest = weekly_csm_digests(organization=organization, today=today, user_ids=[user_id]).get(user_id)
    if digest is None:
        return None
    updates = company_updates_since(since=_since(organization, today))
    return render_weekly_csm(organization=organization, digest=digest, updates=updates, today=today)


def _since(organization: Organization, today: dt.date) -> dt.datetime:
    start = dt.datetime.combine(today - dt.timedelta(days=7), dt.time.min)
    return start.replace(tzinfo=organization.tzinfo)


def weekly_csm_emails_enqueue(*, organization: Organization, today: dt.date) -> int:
    """Queue this week's CSM email for every active CSM who has not opted out and has none yet. Idempotent."""
    kind, period = EmailKind.WEEKLY_CSM, iso_period(today)
    existing = outbox_existing_emails(kind=kind, period=period)
    opted_out = set(EmailOptOut.objects.filter(kind=kind).values_list("user_id", flat=True))
    todo = [
        m.user_id for m in csm_recipients(organization=organization)
        if m.user.email.lower() not in existing and m.user_id not in opted_out
    ]
    if not todo:
        return 0
    digests = weekly_csm_digests(organization=organization, today=today, user_ids=todo)
    updates = company_updates_since(since=_since(organization, today))
    drafts = [render_weekly_csm(organization=organization, digest=d, updates=updates, today=today)
              for d in digests.values()]
    return outbox_enqueue(kind=kind, period=period, drafts=drafts)


# --- the weekly leader email -------------------------------------------------------------------------------


def _leader_subject(digest: LeaderDigest, org: Organization) -> str:
    at_risk = next((n for n in digest.numbers if n["label"].startswith("At-risk ARR")), None)
    grr = next((n for n in digest.numbers if n["label"].startswith("GRR")), None)
    parts = [f"GRR {grr['value']}" if grr else None, f"at-risk ARR {at_risk['value']}" if at_risk else None]
    summary = ", ".join(p for p in parts if p) or "your weekly numbers"
    return f"{digest.scope_label} this week: {summary}"


def render_weekly_leader(*, organization: Organization, digest: LeaderDigest, today: dt.date) -> Draft:
    base = settings.SITE_URL
    context = {
        "org": organization, "digest": digest, "today": today, "week_of": week_start(today),
        "account_url": base + f"/o/{organization.slug}/accounts/a/",
        "portfolio_url": base + reverse("accounts:portfolio", kwargs={"org_slug": organization.slug}),
        "preferences_url": base + reverse("reporting:email_preferences", kwargs={"org_slug": organization.slug}),
    }
    return Draft(
        to_email=digest.email, recipient_id=digest.user_id, subject=_leader_subject(digest, organization),
        body_text=render_to_string("reporting/emails/weekly_leader.txt", context),
        body_html=render_to_string("reporting/emails/weekly_leader.html", context),
    )


def weekly_leader_preview(*, organization: Organization, user_id: int, today: dt.date) -> Draft | None:
    digest = weekly_leader_digests(organization=organization, today=today, user_ids=[user_id]).get(user_id)
    return None if digest is None else render_weekly_leader(organization=organization, digest=digest, today=today)


def weekly_leader_emails_enqueue(*, organization: Organization, today: dt.date) -> int:
    """Queue this week's leader email for every active leader and manager without one. Idempotent."""
    kind, period = EmailKind.WEEKLY_LEADER, iso_period(today)
    existing = outbox_existing_emails(kind=kind, period=period)
    opted_out = set(EmailOptOut.objects.filter(kind=kind).values_list("user_id", flat=True))
    digests = weekly_leader_digests(organization=organization, today=today)
    drafts = [render_weekly_leader(organization=organization, digest=d, today=today) for uid, d in digests.items()
              if d.email.lower() not in existing and uid not in opted_out]
    return outbox_enqueue(kind=kind, period=period, drafts=drafts)
