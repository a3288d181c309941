"""Exactly-once sending: the outbox row is the ledger; claims are conditional updates; crashes resume."""
import datetime as dt

import pytest
from django.core import mail
from django.core.mail.backends.locmem import EmailBackend
from django.utils import timezone

from csops.tenancy.context import tenant_context
from reporting.models import EmailKind, OutboxMessage, OutboxStatus
from reporting.services.outbox import (
    CLAIM_LEASE,
    MAX_ATTEMPTS,
    Draft,
    outbox_enqueue,
    outbox_retry,
    outbox_send_pending,
)

pytestmark = pytest.mark.django_db(transaction=True)  # sending commits each claim on its own


def _drafts(n, domain="acme.example"):
    return [Draft(to_email=f"csm{i}@{domain}", subject=f"Week {i}", body_text=f"Hello {i}", body_html=f"<p>{i}</p>")
            for i in range(n)]


class DiesAfter(EmailBackend):
    """A backend whose worker 'dies' (an exception that is not an SMTP error) after ``limit`` messages."""

    limit = 2

    def send_messages(self, messages):
        if len(mail.outbox) >= self.limit:
            raise KeyboardInterrupt("worker killed")
        return super().send_messages(messages)


class AlwaysRefuses(EmailBackend):
    def send_messages(self, messages):
        raise OSError("connection refused")


def test_enqueue_twice_keeps_one_row_per_recipient(world):
    with tenant_context(world.org):
        assert outbox_enqueue(kind=EmailKind.WEEKLY_CSM, period="2026-W48", drafts=_drafts(3)) == 3
        assert outbox_enqueue(kind=EmailKind.WEEKLY_CSM, period="2026-W48", drafts=_drafts(3)) == 0
        assert OutboxMessage.objects.count() == 3
        # Another week, or another kind, is another email.
        assert outbox_enqueue(kind=EmailKind.WEEKLY_CSM, period="2026-W49", drafts=_drafts(1)) == 1
        assert outbox_enqueue(kind=EmailKind.WEEKLY_LEADER, period="2026-W48", drafts=_drafts(1)) == 1


def test_send_twice_sends_each_message_once(world):
    with tenant_context(world.org):
        outbox_enqueue(kind=EmailKind.WEEKLY_CSM, period="2026-W48", drafts=_drafts(3))
        first = outbox_send_pending()
        second = outbox_send_pending()
        assert (first.sent, second.sent) == (3, 0)
        assert len(mail.outbox) == 3
        assert sorted(m.to[0] for m in mail.outbox) == [f"csm{i}@acme.example" for i in range(3)]
        assert set(OutboxMessage.objects.values_list("status", flat=True)) == {OutboxStatus.SENT}
        sent = mail.outbox[0]
        assert sent.alternatives and sent.alternatives[0][1] == "text/html"
        assert sent.extra_headers["Message-ID"].endswith("@csops.outbox>")


def test_a_worker_killed_mid_batch_is_resumed_without_duplicates(world, settings):
    settings.EMAIL_BACKEND = "tests.reporting.test_outbox.DiesAfter"
    with tenant_context(world.org):
        outbox_enqueue(kind=EmailKind.WEEKLY_CSM, period="2026-W48", drafts=_drafts(5))
        with pytest.raises(KeyboardInterrupt):
            outbox_send_pending()
        statuses = sorted(OutboxMessage.objects.values_list("status", flat=True))
        assert statuses.count(OutboxStatus.SENT) == 2
        assert statuses.count(OutboxStatus.SENDING) == 1  # the message in flight when the worker died
        assert statuses.count(OutboxStatus.PENDING) == 2

        settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
        resumed = outbox_send_pending()  # within the lease: the in-flight claim is not taken back yet
        assert resumed.sent == 2 and len(mail.outbox) == 4

        # After the lease, the dead worker's claim is released and sent by the next run.
        OutboxMessage.objects.filter(status=OutboxStatus.SENDING).update(
            claimed_at=timezone.now() - CLAIM_LEASE - dt.timedelta(seconds=1)
        )
        assert outbox_send_pending().sent == 1
        assert len(mail.outbox) == 5
        assert sorted(m.to[0] for m in mail.outbox) == [f"csm{i}@acme.example" for i in range(5)]
        assert outbox_send_pending().sent == 0


def test_a_claimed_message_is_not_sent_by_a_second_worker(world):
    with tenant_context(world.org):
        outbox_enqueue(kind=EmailKind.WEEKLY_CSM, period="2026-W48", drafts=_drafts(2))
        # Another worker claimed one a moment ago (pending → sending): this run must leave it alone.
        claimed = OutboxMessage.objects.order_by("to_email").first()
        OutboxMessage.objects.filter(pk=claimed.pk).update(status=OutboxStatus.SENDING, claimed_at=timezone.now())
        assert outbox_send_pending().sent == 1
        assert [m.to[0] for m in mail.outbox] == ["csm1@acme.example"]


def test_failures_retry_then_fail_with_the_error_logged(world, settings):
    settings.EMAIL_BACKEND = "tests.reporting.test_outbox.AlwaysRefuses"
    with tenant_context(world.org):
        outbox_enqueue(kind=EmailKind.WEEKLY_CSM, period="2026-W48", drafts=_drafts(1))
        for attempt in range(1, MAX_ATTEMPTS + 1):
            summary = outbox_send_pending()
            message = OutboxMessage.objects.get()
            assert message.attempts == attempt
            assert "connection refused" in message.last_error
            if attempt < MAX_ATTEMPTS:
                assert (summary.retrying, message.status) == (1, OutboxStatus.PENDING)
        assert (summary.failed, message.status) == (1, OutboxStatus.FAILED)
        assert outbox_send_pending().sent == 0  # a failed message is not retried by itself

        settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
        assert outbox_retry(message=message).status == OutboxStatus.PENDING
        assert outbox_send_pending().sent == 1


def test_sending_refuses_to_run_inside_a_transaction(world):
    from django.db import transaction

    with tenant_context(world.org), transaction.atomic(), pytest.raises(RuntimeError, match="outside a transaction"):
        outbox_send_pending()


def test_each_organization_sends_only_its_own_messages(world, other_world):
    with tenant_context(world.org):
        outbox_enqueue(kind=EmailKind.WEEKLY_CSM, period="2026-W48", drafts=_drafts(2))
    with tenant_context(other_world.org):
        outbox_enqueue(kind=EmailKind.WEEKLY_CSM, period="2026-W48", drafts=_drafts(1, domain="globex.example"))
        assert outbox_send_pending().sent == 1
    assert [m.to[0] for m in mail.outbox] == ["csm0@globex.example"]
