"""The demo's email phase: a few company updates, and last Monday's CSM and leader emails plus last Friday's
executive update as the outbox shows them once sent — so the outbox, the preview and the update pages open
on something real. Runs after the dashboard phase (the leader email reads its aggregates)."""
from __future__ import annotations

import datetime as dt

from django.utils import timezone

from accounts.demo import DemoContext, register_phase
from csops.tenancy.models import Membership, Role

from .models import CompanyUpdate, EmailKind, ExecUpdate, ExecUpdateStatus, OutboxMessage, OutboxStatus
from .services.exec_update import render_exec_update, week_numbers
from .services.outbox import outbox_enqueue
from .services.weekly import iso_period, week_start, weekly_csm_emails_enqueue, weekly_leader_emails_enqueue

UPDATES = [
    ("release", 2, "Renewal forecasting is live in the pipeline",
     "Set the forecast category and amount right on the renewals page; the board view updates as you type.",
     "https://example.com/releases/forecasting"),
    ("battlecard", 4, "Battlecard: when the customer mentions a cheaper competitor",
     "Three questions to ask, the ROI numbers that land, and when to bring in your manager.", ""),
    ("announcement", 5, "QBR season starts next week",
     "Book QBRs for every Enterprise account renewing in the next two quarters; templates are in the drive.", ""),
    ("playbook", 12, "New playbook: onboarding stalled after 30 days",
     "Triggered when seat utilisation stays under 30 % a month after go-live.", ""),
]
EXEC_TEXT = {
    "highlights": "Renewed two Enterprise accounts ahead of their dates, one with a 20 % expansion.\n"
                  "Health coverage held at 100 % all week.",
    "lowlights": "Lost a mid-market renewal to budget cuts; the health score flagged it 9 weeks early.",
    "blockers": "Product usage feed for the EU region arrived a day late twice.",
    "asks": "Approve a second onboarding specialist for Q1.",
    "next_week": "QBR prep for the top 20 renewals; rollout of the stalled-onboarding playbook.",
    "okr_status": "GRR ≥ 90 %: on track · NRR ≥ 110 %: at risk · Time-to-value < 30 days: on track",
}


def _sent_at(day: dt.date, hour: int, ctx: DemoContext) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, 5), tzinfo=ctx.org.tzinfo)


def seed_emails(ctx: DemoContext) -> None:
    admin_id = ctx.admin_id
    CompanyUpdate.objects.bulk_create([
        CompanyUpdate(organization=ctx.org, kind=kind, title=title, body=body, url=url, author_id=admin_id,
                      created_at=timezone.now() - dt.timedelta(days=days_ago))
        for kind, days_ago, title, body, url in UPDATES
    ])
    monday = week_start(ctx.today) - dt.timedelta(days=7)
    queued = weekly_csm_emails_enqueue(organization=ctx.org, today=monday)
    queued += weekly_leader_emails_enqueue(organization=ctx.org, today=monday)

    friday = monday + dt.timedelta(days=4)
    leaders = list(Membership.objects.filter(organization=ctx.org, role=Role.LEADER, is_active=True)
                   .select_related("user"))
    update = ExecUpdate.objects.create(
        organization=ctx.org, period=iso_period(friday), author_id=admin_id, status=ExecUpdateStatus.SENT,
        recipient_ids=[m.user_id for m in leaders], extra_emails=["board@northwind-investors.example"]
        if ctx.org.slug == "northwind" else [], numbers=week_numbers(organization=ctx.org, day=friday),
        sent_at=_sent_at(friday, 15, ctx), **EXEC_TEXT,
    )
    drafts = [render_exec_update(update=update, to_email=m.user.email, recipient_id=m.user_id) for m in leaders]
    drafts += [render_exec_update(update=update, to_email=e) for e in update.extra_emails]
    queued += outbox_enqueue(kind=EmailKind.EXEC_UPDATE, period=update.period, drafts=drafts)

    # The embedded default sends to files; the demo shows them as the dispatcher left them: sent on time.
    OutboxMessage.objects.filter(kind__in=[EmailKind.WEEKLY_CSM, EmailKind.WEEKLY_LEADER]).update(
        status=OutboxStatus.SENT, attempts=1, sent_at=_sent_at(monday, 7, ctx), created_at=_sent_at(monday, 7, ctx))
    OutboxMessage.objects.filter(kind=EmailKind.EXEC_UPDATE).update(
        status=OutboxStatus.SENT, attempts=1, sent_at=_sent_at(friday, 15, ctx), created_at=_sent_at(friday, 15, ctx))
    ctx.counts["emails sent last week"] = queued
    ctx.counts["company updates"] = len(UPDATES)


register_phase(seed_emails)
