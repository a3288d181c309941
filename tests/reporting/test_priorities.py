"""Today's priorities on the CSM daily page: the five reasons, their order, one line per account, scope."""
import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from csops.tenancy.context import tenant_context
from health.models import AlertKind, HealthAlert
from renewals.models import Renewal
from reporting.priorities import todays_priorities
from tests.factories import AccountFactory, TaskFactory, TouchpointFactory


@pytest.fixture
def book(world):
    org, csm = world.org, world.csm
    today = org.today()
    now = timezone.now()
    with tenant_context(org):
        silent = AccountFactory(organization=org, owner=csm, name="Silent Risk", arr=Decimal("90000"))
        called = AccountFactory(organization=org, owner=csm, name="Called Risk", arr=Decimal("80000"))
        renewing = AccountFactory(organization=org, owner=csm, name="Renewing Soon", arr=Decimal("20000"))
        qbr = AccountFactory(organization=org, owner=csm, name="QBR Next Week", arr=Decimal("15000"))
        dropped = AccountFactory(organization=org, owner=csm, name="Dropped Co", arr=Decimal("10000"))
        late = AccountFactory(organization=org, owner=csm, name="Late Task Co", arr=Decimal("5000"))
        AccountFactory(organization=org, owner=world.csm2, name="Someone Else's Risk", arr=Decimal("99000"))
        from accounts.models import Account
        Account.objects.filter(name__in=["Silent Risk", "Called Risk", "Someone Else's Risk"]).update(
            health_band="at_risk", health_score=Decimal("31.0"))
        TouchpointFactory(organization=org, account=called, author=csm, occurred_at=now - dt.timedelta(days=3))
        Account.objects.filter(pk=called.pk).update(last_touchpoint_at=now - dt.timedelta(days=3))
        Renewal.objects.create(account=renewing, renewal_date=today + dt.timedelta(days=12),
                               target_arr=Decimal("20000"), forecast_category="likely")
        Renewal.objects.create(account=silent, renewal_date=today + dt.timedelta(days=20), target_arr=Decimal("90000"))
        TouchpointFactory(organization=org, account=qbr, author=csm, kind="qbr", occurred_at=now + dt.timedelta(days=2))
        HealthAlert.objects.create(account=dropped, kind=AlertKind.SCORE_DROP, date=today - dt.timedelta(days=1),
                                   score_before=Decimal("74.0"), score_after=Decimal("52.0"), message="drop")
        TaskFactory(organization=org, account=late, owner=csm, title="Send the contract",
                    due_on=today - dt.timedelta(days=4))
    return world


def test_priorities_are_ranked_and_each_account_appears_once(book):
    org = book.org
    with tenant_context(org):
        items = todays_priorities(owner_ids=[book.csm.pk], today=org.today(), tz=org.tzinfo)
    assert [(p.verb, p.account_name) for p in items] == [
        ("Call", "Silent Risk"),          # at risk, never called; its renewal is not listed a second time
        ("Renew", "Renewing Soon"),
        ("Prepare", "QBR Next Week"),
        ("Recover", "Dropped Co"),
        ("Follow up", "Late Task Co"),
    ]
    assert items[0].reason == "At risk (score 31.0), no touchpoint logged yet"
    assert items[1].reason == "Renewal in 12 days, forecast likely"
    assert items[3].reason.startswith("Health fell from 74.0 to 52.0")
    assert items[4].reason == "Send the contract — 4 days overdue"


def test_priorities_take_a_constant_number_of_queries(book, django_assert_max_num_queries):
    with tenant_context(book.org), django_assert_max_num_queries(5):
        todays_priorities(owner_ids=None, today=book.org.today(), tz=book.org.tzinfo)


def test_portfolio_loads_the_panel_for_its_subject(book, login):
    client = login(book.csm)
    page = client.get(reverse("accounts:portfolio", kwargs={"org_slug": book.org.slug}))
    assert b'hx-get="/o/acme/reports/priorities/"' in page.content
    panel = client.get(reverse("reporting:priorities", kwargs={"org_slug": book.org.slug}))
    assert b"Silent Risk" in panel.content and b"Someone Else" not in panel.content
    # A leader sees the whole organization, or one CSM's when switching.
    leader = login(book.leader)
    assert b"Someone Else" in leader.get(reverse("reporting:priorities", kwargs={"org_slug": book.org.slug})).content
    one = leader.get(reverse("reporting:priorities", kwargs={"org_slug": book.org.slug}), {"csm": book.csm2.pk})
    assert b"Someone Else" in one.content and b"Silent Risk" not in one.content


def test_portfolio_summary_counts_accounts_by_band(book, login):
    page = login(book.csm).get(reverse("accounts:portfolio", kwargs={"org_slug": book.org.slug}))
    assert b'class="band-count band-at_risk" title="At risk">2</a>' in page.content
