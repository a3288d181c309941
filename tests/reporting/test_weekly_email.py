"""The weekly CSM email: what it says (on a small hand-built tenant), who gets it, when, and only once."""
import datetime as dt
from decimal import Decimal
from unittest import mock

import pytest
from django.core import mail
from django.utils import timezone

from csops.tenancy.context import tenant_context
from health.models import AlertKind, HealthAlert, HealthModelVersion, HealthSnapshot, VersionStatus
from playbooks.models import TaskStatus
from renewals.models import Renewal
from reporting.digests import weekly_csm_digests
from reporting.models import CompanyUpdate, EmailKind, EmailOptOut, OutboxMessage, OutboxStatus
from reporting.services.weekly import iso_period, weekly_csm_emails_enqueue
from reporting.tasks import email_dispatch
from tests.factories import AccountFactory, TaskFactory

TODAY = dt.date(2026, 11, 23)  # a Monday


@pytest.fixture
def book(world):
    """csm: 2 accounts (one newly at risk and falling, one rising), a renewal in 20 days and one in 60, two
    overdue tasks; csm2: one quiet account."""
    org = world.org
    with tenant_context(org):
        falling = AccountFactory(organization=org, owner=world.csm, name="Falling Co", arr=Decimal("30000"))
        rising = AccountFactory(organization=org, owner=world.csm, name="Rising Co", arr=Decimal("12000"))
        AccountFactory(organization=org, owner=world.csm, name="Gone Co", lifecycle_stage="churned")
        AccountFactory(organization=org, owner=world.csm2, name="Quiet Co", arr=Decimal("5000"))
        version = HealthModelVersion.objects.get(status=VersionStatus.PUBLISHED)
        for account, before, after in ((falling, "72.0", "35.5"), (rising, "50.0", "61.0")):
            for day, score in ((TODAY - dt.timedelta(days=7), before), (TODAY, after)):
                HealthSnapshot.objects.create(account=account, date=day, model_version=version,
                                              score=Decimal(score), band="stable")
        HealthAlert.objects.create(account=falling, kind=AlertKind.ENTERED_AT_RISK, date=TODAY - dt.timedelta(days=2),
                                   score_after=Decimal("35.5"), message="Entered At risk")
        Renewal.objects.create(account=falling, renewal_date=TODAY + dt.timedelta(days=20),
                               target_arr=Decimal("30000"), forecast_category="at_risk")
        Renewal.objects.create(account=rising, renewal_date=TODAY + dt.timedelta(days=60), target_arr=Decimal("12000"))
        TaskFactory(organization=org, account=falling, owner=world.csm, title="Call the sponsor",
                    due_on=TODAY - dt.timedelta(days=5))
        TaskFactory(organization=org, account=rising, owner=world.csm, title="Send QBR deck",
                    due_on=TODAY - dt.timedelta(days=1))
        TaskFactory(organization=org, account=rising, owner=world.csm, title="Done already",
                    due_on=TODAY - dt.timedelta(days=9), status=TaskStatus.DONE)
        CompanyUpdate.objects.create(kind="release", title="Workflows 2.0 is live", body="Automate renewals.")
    return world


def test_digest_numbers_match_the_hand_built_book(book):
    with tenant_context(book.org):
        digests = weekly_csm_digests(organization=book.org, today=TODAY)
    mine = digests[book.csm.pk]
    assert (mine.accounts, mine.arr) == (2, Decimal("42000.00"))  # the churned account is not in the book
    assert [a.name for a in mine.new_at_risk] == ["Falling Co"]
    assert [(a.name, a.delta) for a in mine.movers_down] == [("Falling Co", -36.5)]
    assert [(a.name, a.delta) for a in mine.movers_up] == [("Rising Co", 11.0)]
    assert [r.name for r in mine.renewals_30] == ["Falling Co"]
    assert [r.name for r in mine.renewals_90] == ["Falling Co", "Rising Co"]
    assert mine.renewals_90_arr == Decimal("42000.00")
    assert mine.overdue_count == 2
    assert [(t.detail, t.delta) for t in mine.overdue] == [("Call the sponsor", 5.0), ("Send QBR deck", 1.0)]
    quiet = digests[book.csm2.pk]
    assert quiet.accounts == 1 and quiet.is_quiet
    assert set(digests) == {book.csm.pk, book.csm2.pk}  # CSMs only: managers get the leader email


def test_digest_query_count_does_not_grow_with_the_number_of_csms(book, django_assert_max_num_queries):
    with tenant_context(book.org), django_assert_max_num_queries(8):
        weekly_csm_digests(organization=book.org, today=TODAY)


def test_the_email_reads_well_in_text_and_html(book):
    with tenant_context(book.org):
        assert weekly_csm_emails_enqueue(organization=book.org, today=TODAY) == 2
        message = OutboxMessage.objects.get(to_email=book.csm.email)
    assert message.period == "2026-W48" == iso_period(TODAY)
    assert message.subject == "Your week at Acme: 1 new at risk, 1 renewal in 30 days, 2 overdue tasks"
    text = message.body_text
    for expected in ("NEW AT RISK (1)", "Falling Co: entered At risk on 21 Nov", "▼ Falling Co: 72.0 → 35.5 (-36.5)",
                     "▲ Rising Co: 50.0 → 61.0 (+11.0)", "RENEWALS: 1 in the next 30 days, 2 in 90 days",
                     "Call the sponsor (Falling Co), 5 days overdue", "[Product release] Workflows 2.0 is live",
                     "/o/acme/accounts/a/"):
        assert expected in text, expected
    assert "Gone Co" not in text and "Done already" not in text
    assert "Falling Co" in message.body_html and "Stop these emails" in message.body_html


def test_opted_out_csms_get_no_email(book):
    with tenant_context(book.org):
        EmailOptOut.objects.create(user=book.csm2, kind=EmailKind.WEEKLY_CSM)
        weekly_csm_emails_enqueue(organization=book.org, today=TODAY)
        assert list(OutboxMessage.objects.values_list("to_email", flat=True)) == [book.csm.email]


def test_an_email_never_carries_another_organizations_data(book, other_world):
    with tenant_context(other_world.org):
        AccountFactory(organization=other_world.org, owner=other_world.csm, name="Globex Secret Account")
        weekly_csm_emails_enqueue(organization=other_world.org, today=TODAY)
        theirs = list(OutboxMessage.objects.all())
    with tenant_context(book.org):
        weekly_csm_emails_enqueue(organization=book.org, today=TODAY)
        ours = list(OutboxMessage.objects.all())
    assert {m.to_email.split("@")[1] for m in theirs} == {"globex.example"}
    assert all("Globex Secret" not in m.body_text + m.body_html for m in ours)
    assert all("Falling Co" not in m.body_text for m in theirs)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("local_time,queued", [
    (dt.datetime(2026, 11, 23, 6, 59), False),   # Monday, before the send hour
    (dt.datetime(2026, 11, 23, 7, 0), True),     # Monday 07:00 local
    (dt.datetime(2026, 11, 24, 9, 0), False),    # Tuesday
])
def test_dispatcher_sends_on_monday_morning_local_time_once(world, local_time, queued):
    world.org.timezone = "America/New_York"
    world.org.save()
    AccountFactory(organization=world.org, owner=world.csm)
    now = local_time.replace(tzinfo=world.org.tzinfo)
    with mock.patch.object(timezone, "now", return_value=now.astimezone(dt.UTC)):
        first = email_dispatch(world.org.pk)
        second = email_dispatch(world.org.pk)
    # Monday: both CSMs get the CSM email, the leader and the manager the leader email.
    assert first["queued"] == (4 if queued else 0) and second["queued"] == 0
    assert len(mail.outbox) == (4 if queued else 0)
    with tenant_context(world.org):
        assert set(OutboxMessage.objects.values_list("status", flat=True)) <= {OutboxStatus.SENT}
