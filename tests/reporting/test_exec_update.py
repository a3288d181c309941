"""The Friday executive update: drafting, validation, scheduling, and Friday-afternoon delivery, once."""
import datetime as dt
from unittest import mock

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from csops.tenancy.context import tenant_context
from reporting.models import EmailKind, EmailOptOut, ExecUpdate, OutboxMessage
from reporting.tasks import email_dispatch

WEDNESDAY = dt.datetime(2026, 11, 25, 10, 0)
FRIDAY_AFTERNOON = dt.datetime(2026, 11, 27, 15, 5)


def _at(world, local):
    return mock.patch.object(timezone, "now", return_value=local.replace(tzinfo=world.org.tzinfo).astimezone(dt.UTC))


def _url(world, name="exec_update", **kw):
    return reverse(f"reporting:{name}", kwargs={"org_slug": world.org.slug, **kw})


def test_the_draft_opens_with_leaders_as_recipients(world, login):
    with _at(world, WEDNESDAY):
        page = login(world.admin).get(_url(world))
    assert page.status_code == 200
    with tenant_context(world.org):
        update = ExecUpdate.objects.get()
    assert update.period == "2026-W48" and update.status == "draft"
    assert update.recipient_ids == [world.leader.pk]


def test_bad_input_is_refused_with_clear_messages_and_nothing_saved(world, login):
    client = login(world.admin)
    with _at(world, WEDNESDAY):
        client.get(_url(world))
        response = client.post(_url(world), {"highlights": "Closed Initech", "extra_emails": "board@, cfo@x.com",
                                             "action": "schedule"})
        assert response.status_code == 200
        assert b"Not an email address: board@" in response.content
        response = client.post(_url(world), {"highlights": "", "action": "schedule",
                                             "recipient_ids": [world.leader.pk]})
        assert b"Write at least one section" in response.content
        outsider = client.post(_url(world), {"highlights": "x", "recipient_ids": [999999], "action": "save"})
        assert outsider.status_code == 200 and b"Select a valid choice" in outsider.content
    with tenant_context(world.org):
        update = ExecUpdate.objects.get()
    assert update.highlights == "" and update.status == "draft" and update.extra_emails == []


@pytest.mark.django_db(transaction=True)
def test_scheduled_update_goes_out_on_friday_afternoon_exactly_once(world, login):
    client = login(world.admin)
    with _at(world, WEDNESDAY):
        client.get(_url(world))
        response = client.post(_url(world), {
            "highlights": "Renewed Initech at 120%", "asks": "Approve a second onboarding specialist",
            "recipient_ids": [world.leader.pk, world.manager.pk], "extra_emails": "board@acme-investors.example",
            "action": "schedule",
        })
        assert response.status_code == 302
        assert email_dispatch(world.org.pk)["queued"] == 0  # not before Friday afternoon
    with tenant_context(world.org):
        EmailOptOut.objects.create(user=world.manager, kind=EmailKind.EXEC_UPDATE)
    with _at(world, FRIDAY_AFTERNOON):
        first = email_dispatch(world.org.pk)
        second = email_dispatch(world.org.pk)
    assert (first["queued"], first["sent"], second["queued"], second["sent"]) == (2, 2, 0, 0)
    assert sorted(m.to[0] for m in mail.outbox) == ["board@acme-investors.example", world.leader.email]
    body = mail.outbox[0].body
    assert "HIGHLIGHTS\nRenewed Initech at 120%" in body and "ASKS\nApprove a second" in body
    assert "LOWLIGHTS" not in body  # empty sections are left out
    with tenant_context(world.org):
        update = ExecUpdate.objects.get()
        assert update.status == "sent" and update.sent_at is not None
        assert OutboxMessage.objects.filter(kind=EmailKind.EXEC_UPDATE).count() == 2
    with _at(world, FRIDAY_AFTERNOON):
        locked = client.post(_url(world), {"highlights": "changed", "action": "save"})
    assert locked.status_code == 200 and b"already sent" in locked.content


def test_preview_renders_the_email(world, login):
    client = login(world.admin)
    with _at(world, WEDNESDAY):
        client.get(_url(world))
        client.post(_url(world), {"highlights": "A strong week", "recipient_ids": [world.leader.pk],
                                  "action": "save"})
        with tenant_context(world.org):
            update = ExecUpdate.objects.get()
        page = client.get(_url(world, "exec_update_preview", exec_update_id=update.pk))
    assert page.status_code == 200 and b"A strong week" in page.content
    assert b"Acme executive update, week of 23 Nov 2026" in page.content


@pytest.mark.parametrize("role", ["csm", "manager", "leader", "viewer"])
def test_only_ops_admins_write_the_update(world, login, role):
    assert login(getattr(world, role)).get(_url(world)).status_code == 403
