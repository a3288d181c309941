"""A real SMTP round trip: the dispatcher's sender talks SMTP to a local aiosmtpd server, which reads the
messages back — the production path (EMAIL_URL=smtp://…), not the test backend."""
import datetime as dt
import email
import socket
from email import policy

import pytest
from aiosmtpd.controller import Controller
from django.core.mail import get_connection

from csops.tenancy.context import tenant_context
from reporting.models import EmailKind, OutboxMessage, OutboxStatus
from reporting.services.outbox import Draft, outbox_enqueue, outbox_send_pending

pytestmark = pytest.mark.django_db(transaction=True)


class Inbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 -- aiosmtpd's hook name
        self.messages.append((envelope.rcpt_tos, email.message_from_bytes(envelope.content, policy=policy.default)))
        return "250 Message accepted for delivery"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def smtp_server():
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=_free_port())
    controller.start()
    try:
        yield controller, inbox
    finally:
        controller.stop()


def test_weekly_emails_round_trip_through_a_real_smtp_server(world, smtp_server):
    controller, inbox = smtp_server
    connection = get_connection("django.core.mail.backends.smtp.EmailBackend", host="127.0.0.1",
                                port=controller.port, timeout=10)
    drafts = [Draft(to_email=f"csm{i}@acme.example", subject=f"Your week {i}", body_text=f"Plain {i}",
                    body_html=f"<p>Rich {i}</p>") for i in range(3)]
    with tenant_context(world.org):
        outbox_enqueue(kind=EmailKind.WEEKLY_CSM, period="2026-W48", drafts=drafts)
        summary = outbox_send_pending(connection=connection)
        again = outbox_send_pending(connection=connection)
        rows = {m.to_email: m for m in OutboxMessage.objects.all()}
    assert (summary.sent, again.sent) == (3, 0)
    assert len(inbox.messages) == 3
    for rcpt, message in inbox.messages:
        row = rows[rcpt[0]]
        assert row.status == OutboxStatus.SENT and row.sent_at is not None
        assert message["Subject"] == row.subject
        assert message["Message-ID"] == row.message_id
        assert message.get_body(("plain",)).get_content().strip() == row.body_text
        assert message.get_body(("html",)).get_content().strip() == row.body_html
    assert rows["csm0@acme.example"].sent_at.date() >= dt.date(2026, 1, 1)
