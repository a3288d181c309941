"""The outbox: every email the product sends is first a row, then a claimed row, then a sent row.

Exactly once per (recipient, kind, period):
- ``outbox_enqueue`` inserts rows with ``ignore_conflicts`` on the unique (organization, kind, period,
  to_email): enqueuing twice, or two dispatchers at once, leaves one row per recipient.
- ``outbox_send_pending`` claims each row with a conditional UPDATE (pending → sending) that only one worker
  can win, sends it, and marks it sent, each step committed on its own (never inside one big transaction,
  so a crash loses at most the message in flight). A worker that dies mid-batch leaves the rest pending and
  its claimed row "sending"; once the claim is older than ``CLAIM_LEASE`` the next run takes it back. The
  only duplicate left possible is a crash between the SMTP server accepting a message and the row being
  marked sent; the stable Message-ID header lets the receiving server drop that copy.
"""
from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from csops.tenancy.context import current_organization

from ..models import OutboxMessage, OutboxStatus

logger = logging.getLogger(__name__)

CLAIM_LEASE = dt.timedelta(minutes=15)
MAX_ATTEMPTS = 5


@dataclass(frozen=True)
class Draft:
    """A rendered email for one recipient."""

    to_email: str
    subject: str
    body_text: str
    body_html: str = ""
    recipient_id: int | None = None


@dataclass(frozen=True)
class SendSummary:
    sent: int = 0
    failed: int = 0
    retrying: int = 0
    skipped: int = 0  # claimed by another worker first


def outbox_enqueue(*, kind: str, period: str, drafts: Iterable[Draft]) -> int:
    """Queue ``drafts`` in the current organization; rows that already exist are left alone. Returns how many
    rows were new."""
    org = current_organization(required=True)
    drafts = list(drafts)
    if not drafts:
        return 0
    emails = [d.to_email.lower() for d in drafts]
    before = OutboxMessage.objects.filter(kind=kind, period=period, to_email__in=emails).count()
    OutboxMessage.objects.bulk_create(
        [
            OutboxMessage(
                organization=org, kind=kind, period=period, recipient_id=d.recipient_id, to_email=d.to_email.lower(),
                subject=d.subject[:300], body_text=d.body_text, body_html=d.body_html,
            )
            for d in drafts
        ],
        ignore_conflicts=True,
        batch_size=500,
    )
    after = OutboxMessage.objects.filter(kind=kind, period=period, to_email__in=emails).count()
    return after - before


def outbox_existing_emails(*, kind: str, period: str) -> set[str]:
    """Recipients who already have a row for (kind, period): the dispatcher renders only the others."""
    return set(OutboxMessage.objects.filter(kind=kind, period=period).values_list("to_email", flat=True))


def _claim(pk) -> bool:
    """pending → sending, won by exactly one worker."""
    return bool(
        OutboxMessage.objects.filter(pk=pk, status=OutboxStatus.PENDING).update(
            status=OutboxStatus.SENDING, claimed_at=timezone.now(), attempts=F("attempts") + 1
        )
    )


def _as_email(message: OutboxMessage, connection) -> EmailMultiAlternatives:
    email = EmailMultiAlternatives(
        subject=message.subject, body=message.body_text, from_email=settings.DEFAULT_FROM_EMAIL,
        to=[message.to_email], connection=connection, headers={"Message-ID": message.message_id},
    )
    if message.body_html:
        email.attach_alternative(message.body_html, "text/html")
    return email


def outbox_release_stale(*, now: dt.datetime | None = None) -> int:
    """Take back claims whose worker died (older than the lease): they are pending again."""
    now = now or timezone.now()
    return OutboxMessage.objects.filter(status=OutboxStatus.SENDING, claimed_at__lt=now - CLAIM_LEASE).update(
        status=OutboxStatus.PENDING
    )


def outbox_send_pending(*, limit: int | None = None, connection=None) -> SendSummary:
    """Send the current organization's pending messages, oldest first, over one connection."""
    if transaction.get_connection().in_atomic_block:
        raise RuntimeError("outbox_send_pending must run outside a transaction: each claim and mark commits alone")
    outbox_release_stale()
    ids = list(
        OutboxMessage.objects.filter(status=OutboxStatus.PENDING).order_by("created_at", "to_email")
        .values_list("pk", flat=True)[:limit]
    )
    if not ids:
        return SendSummary()
    sent = failed = retrying = skipped = 0
    connection = connection or get_connection(fail_silently=False)
    with connection:
        for pk in ids:  # one email per recipient: the loop is the work itself
            if not _claim(pk):
                skipped += 1
                continue
            message = OutboxMessage.objects.get(pk=pk)
            try:
                _as_email(message, connection).send()
            except Exception as exc:  # SMTP errors, refused recipients, timeouts: logged on the row
                final = message.attempts >= MAX_ATTEMPTS
                OutboxMessage.objects.filter(pk=pk).update(
                    status=OutboxStatus.FAILED if final else OutboxStatus.PENDING,
                    last_error=f"{type(exc).__name__}: {exc}"[:2000],
                )
                logger.warning("outbox: %s to %s failed (attempt %s): %s", message.kind, message.to_email,
                               message.attempts, exc)
                failed += final
                retrying += not final
            else:
                OutboxMessage.objects.filter(pk=pk).update(
                    status=OutboxStatus.SENT, sent_at=timezone.now(), last_error=""
                )
                sent += 1
    return SendSummary(sent=sent, failed=failed, retrying=retrying, skipped=skipped)


def outbox_retry(*, message: OutboxMessage) -> OutboxMessage:
    """An ops admin sends a failed message again (it goes out with the next dispatch)."""
    if message.status == OutboxStatus.FAILED:
        OutboxMessage.objects.filter(pk=message.pk, status=OutboxStatus.FAILED).update(
            status=OutboxStatus.PENDING, attempts=0
        )
        message.refresh_from_db()
    return message
