"""Exactly-once email sending when the worker PROCESS dies mid-batch (SIGKILL, not an exception).

A real Celery worker runs the hourly dispatcher with EMAIL_URL pointing at a local SMTP server (aiosmtpd, in
this process). The server holds the third message before answering; while it is held, the worker is killed.
Then: two messages are sent, the one in flight is still claimed ("sending"), the rest pending, and nothing
was delivered twice. Once the dead worker's claim is older than the lease, a new worker resumes: every
recipient ends up with exactly one message, and a further run sends nothing.
"""
import asyncio
import datetime as dt
import socket
import threading
import uuid

import pytest
from aiosmtpd.controller import Controller
from django.utils import timezone

from csops.tenancy.context import tenant_context
from reporting.models import EmailKind, OutboxMessage, OutboxStatus
from reporting.services.outbox import CLAIM_LEASE, Draft, outbox_enqueue
from reporting.tasks import email_dispatch
from tests.factories import OrganizationFactory

from .conftest import celery_worker_process, require_services
from .test_celery_worker import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]
RECIPIENTS = [f"csm{i}@killed.example" for i in range(6)]


class HoldingInbox:
    """Accepts messages, except that it holds the ``hold_at``-th one (1-based) without answering until released."""

    def __init__(self, hold_at: int):
        self.hold_at, self.seen = hold_at, 0
        self.delivered: list[str] = []
        self.holding, self.release = threading.Event(), threading.Event()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 -- aiosmtpd's hook name
        self.seen += 1
        if self.seen == self.hold_at:
            self.holding.set()
            while not self.release.is_set():
                await asyncio.sleep(0.05)
            return "451 4.3.0 held, not delivered"
        self.delivered.extend(envelope.rcpt_tos)
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _statuses(org) -> dict:
    with tenant_context(org):
        return dict(OutboxMessage.objects.values_list("to_email", "status"))


def test_a_killed_worker_is_resumed_and_every_recipient_gets_one_message():
    require_services()
    org = OrganizationFactory(slug="killed-mid-batch")
    with tenant_context(org):
        drafts = [Draft(to_email=to, subject="Your week", body_text="Hello", body_html="<p>Hello</p>")
                  for to in RECIPIENTS]
        assert outbox_enqueue(kind=EmailKind.WEEKLY_CSM, period="2026-W48", drafts=drafts) == len(RECIPIENTS)

    inbox = HoldingInbox(hold_at=3)
    port = _free_port()
    server = Controller(inbox, hostname="127.0.0.1", port=port)
    server.start()
    email_url = f"smtp://127.0.0.1:{port}"
    try:
        queue = f"ci-{uuid.uuid4().hex[:8]}"
        with celery_worker_process(queue, EMAIL_URL=email_url) as worker:
            email_dispatch.apply_async(args=[org.pk], queue=queue)
            assert inbox.holding.wait(60), "the worker never reached the third message"
            worker.kill()  # SIGKILL while message 3 is on the wire: no cleanup, no exception handler
            worker.wait(20)
        inbox.release.set()

        statuses = _statuses(org)
        assert sorted(statuses.values()).count(OutboxStatus.SENT) == 2
        assert sorted(statuses.values()).count(OutboxStatus.SENDING) == 1  # the claim the dead worker held
        assert sorted(statuses.values()).count(OutboxStatus.PENDING) == 3
        assert sorted(inbox.delivered) == sorted(to for to, st in statuses.items() if st == OutboxStatus.SENT)

        # The dead worker's claim expires after the lease; the next hourly run resumes where it stopped.
        with tenant_context(org):
            OutboxMessage.objects.filter(status=OutboxStatus.SENDING).update(
                claimed_at=timezone.now() - CLAIM_LEASE - dt.timedelta(seconds=1))
        queue = f"ci-{uuid.uuid4().hex[:8]}"
        with celery_worker_process(queue, EMAIL_URL=email_url):
            email_dispatch.apply_async(args=[org.pk], queue=queue)
            assert wait_for(lambda: set(_statuses(org).values()) == {OutboxStatus.SENT})
            # One more hourly run: nothing left to send. The solo worker runs tasks in order, so once a
            # sentinel organization's email (queued after it) is sent, that run has finished.
            email_dispatch.apply_async(args=[org.pk], queue=queue)
            sentinel = OrganizationFactory(slug="sentinel")
            with tenant_context(sentinel):
                outbox_enqueue(kind=EmailKind.WEEKLY_CSM, period="2026-W48", drafts=[
                    Draft(to_email="sentinel@other.example", subject="s", body_text="s", body_html="<p>s</p>")])
            email_dispatch.apply_async(args=[sentinel.pk], queue=queue)
            assert wait_for(lambda: "sentinel@other.example" in inbox.delivered)
    finally:
        inbox.release.set()
        server.stop()

    assert sorted(inbox.delivered) == sorted([*RECIPIENTS, "sentinel@other.example"])  # each exactly once
    with tenant_context(org):
        assert OutboxMessage.objects.filter(status=OutboxStatus.SENT, sent_at__isnull=False).count() == len(RECIPIENTS)
