"""Outbox, preview, preferences and company-update pages: who may see what, and that they work."""
import pytest
from django.urls import reverse

from csops.tenancy.context import tenant_context
from reporting.models import CompanyUpdate, EmailKind, EmailOptOut, OutboxMessage
from tests.factories import AccountFactory


def _url(name, world, **kwargs):
    return reverse(f"reporting:{name}", kwargs={"org_slug": world.org.slug, **kwargs})


@pytest.fixture
def message(world):
    with tenant_context(world.org):
        return OutboxMessage.objects.create(
            kind=EmailKind.WEEKLY_CSM, period="2026-W48", to_email=world.csm.email, recipient=world.csm,
            subject="Your week at Acme: a quiet week", body_text="Plain body", body_html="<p>Rich <b>body</b></p>",
            status="failed", attempts=5, last_error="SMTPServerDisconnected: gone",
        )


def test_ops_admin_reads_the_outbox_and_a_message(world, login, message):
    client = login(world.admin)
    page = client.get(_url("outbox", world))
    assert page.status_code == 200
    assert b"Your week at Acme: a quiet week" in page.content and b"SMTPServerDisconnected" in page.content
    assert client.get(_url("outbox", world), {"status": "sent"}).content.count(b"a quiet week") == 0
    detail = client.get(_url("outbox_message", world, message_id=message.pk))
    assert b"Plain body" in detail.content and b"srcdoc=" in detail.content
    assert b"&lt;p&gt;Rich" in detail.content  # the HTML body is escaped into a sandboxed iframe, never inlined


def test_failed_message_can_be_sent_again(world, login, message):
    response = login(world.admin).post(_url("outbox_retry", world, message_id=message.pk))
    assert response.status_code == 302
    message.refresh_from_db()
    assert (message.status, message.attempts) == ("pending", 0)


@pytest.mark.parametrize("role", ["csm", "manager", "leader", "viewer"])
def test_only_ops_admins_open_the_outbox(world, login, role, message):
    assert login(getattr(world, role)).get(_url("outbox", world)).status_code == 403


def test_csm_previews_own_weekly_email(world, login):
    AccountFactory(organization=world.org, owner=world.csm, name="Preview Co")
    response = login(world.csm).get(_url("email_preview", world))
    assert response.status_code == 200
    assert b"Your week at Acme: a quiet week" in response.content
    assert b"1 account, $25,000 ARR" in response.content
    assert b'srcdoc="&lt;!doctype html&gt;' in response.content  # the rendered email is escaped into the iframe
    # …but not a colleague's.
    assert login(world.csm).get(_url("email_preview", world), {"user": world.csm2.pk}).status_code == 404


def test_manager_previews_team_members_only(world, login):
    client = login(world.manager)
    csm_email = {"kind": "weekly_csm"}
    assert client.get(_url("email_preview", world), {**csm_email, "user": world.csm.pk}).status_code == 200
    assert client.get(_url("email_preview", world), {**csm_email, "user": world.csm2.pk}).status_code == 404
    leader = login(world.leader)
    assert leader.get(_url("email_preview", world), {**csm_email, "user": world.csm2.pk}).status_code == 200
    # Their own leader email is the default; another manager's or leader's is not theirs to read.
    client = login(world.manager)
    own = client.get(_url("email_preview", world))
    assert own.status_code == 200 and b"Weekly leader email preview" in own.content
    theirs = {"kind": "weekly_leader", "user": world.leader.pk}
    assert client.get(_url("email_preview", world), theirs).status_code == 404


def test_preferences_opt_out_and_back_in(world, login):
    client = login(world.csm)
    assert client.post(_url("email_preferences", world), {"receive": ["weekly_leader"]}).status_code == 302
    with tenant_context(world.org):
        assert set(EmailOptOut.objects.filter(user=world.csm).values_list("kind", flat=True)) == {
            "weekly_csm", "exec_update"}
    client.post(_url("email_preferences", world), {"receive": ["weekly_csm", "weekly_leader", "exec_update"]})
    with tenant_context(world.org):
        assert not EmailOptOut.objects.filter(user=world.csm).exists()
    page = client.get(_url("email_preferences", world))
    assert page.content.count(b"checked") == 3


def test_ops_admin_publishes_and_removes_company_updates(world, login):
    client = login(world.admin)
    bad = client.post(_url("company_updates", world), {"kind": "release", "title": "", "url": "not a url"})
    assert bad.status_code == 200 and b"This field is required" in bad.content
    with tenant_context(world.org):
        assert not CompanyUpdate.objects.exists()
    ok = client.post(_url("company_updates", world), {"kind": "battlecard", "title": "Beating Gainsight",
                                                        "body": "Three talking points", "url": "example.com/bc"})
    assert ok.status_code == 302
    with tenant_context(world.org):
        update = CompanyUpdate.objects.get()
    assert update.url == "https://example.com/bc" and update.author == world.admin
    assert b"Beating Gainsight" in login(world.csm).get(_url("company_updates", world)).content
    assert login(world.csm).post(_url("company_updates", world), {"kind": "release", "title": "x"}).status_code == 403
    client = login(world.admin)
    assert client.post(_url("company_update_delete", world, update_id=update.pk)).status_code == 302
    with tenant_context(world.org):
        assert not CompanyUpdate.objects.exists()
