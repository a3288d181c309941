"""Health alerts in a real browser: the owner's bell and notification, and an ops admin retrying a failed Slack
delivery in place (htmx) against a local webhook server."""
import datetime as dt
import os

import pytest

from csops.tenancy.context import tenant_context
from health.models import DeliveryStatus, SlackDelivery
from health.services.alerts import alerts_detect
from tests.factories import AccountFactory
from tests.health.alert_helpers import DAY, WebhookServer, snap

from .test_portfolio_browser import log_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
SHOTS = os.environ.get("E2E_SCREENSHOTS")  # a folder to save screenshots in, when set


def shot(page, name):
    if SHOTS:
        page.screenshot(path=os.path.join(SHOTS, f"{name}.png"), full_page=True)


@pytest.fixture
def alerted(world):
    account = AccountFactory(organization=world.org, owner=world.csm, name="Umbrella Corp")
    snap(account, DAY - dt.timedelta(days=7), 78)
    snap(account, DAY - dt.timedelta(days=1), 52)
    snap(account, DAY, 34)
    assert alerts_detect(organization=world.org, day=DAY) == 2
    return account


def test_owner_sees_the_bell_and_opening_the_notification_clears_it(live_server, page, world, alerted):
    log_in(page, live_server.url, world.csm.email)
    bell = page.locator("#notification-bell")
    assert bell.locator(".badge").inner_text() == "1"
    bell.click()
    page.wait_for_selector("text=Umbrella Corp entered At risk")
    shot(page, "notifications")
    page.locator("a:has-text('Umbrella Corp entered At risk')").click()
    page.wait_for_load_state("networkidle")
    assert f"/accounts/a/{alerted.pk}/" in page.url
    assert page.locator("#notification-bell .badge").count() == 0
    assert page.problems == []


def test_admin_retries_a_failed_delivery_in_place(live_server, page, world, alerted):
    with WebhookServer([200]) as server:
        world.org.slack_webhook_url = server.url
        world.org.save()
        with tenant_context(world.org):
            delivery = SlackDelivery.objects.get()
            SlackDelivery.objects.filter(pk=delivery.pk).update(
                status=DeliveryStatus.FAILED, attempts=4, last_status_code=500, last_error="HTTP 500: server_error")
        log_in(page, live_server.url, world.admin.email)
        page.goto(f"{live_server.url}/o/{world.org.slug}/health/alerts/deliveries/")
        shot(page, "deliveries_failed")
        page.evaluate("window.__marker = 'still here'")
        page.locator(f"#delivery-{delivery.pk} button:has-text('Retry')").click()
        page.wait_for_selector(f"#delivery-{delivery.pk} >> text=Sent")
        shot(page, "deliveries_sent")
        assert page.evaluate("window.__marker") == "still here"
        page.goto(f"{live_server.url}/o/{world.org.slug}/health/alerts/settings/")
        shot(page, "alert_settings")
    assert len(server.bodies) == 1 and "Umbrella Corp" in server.bodies[0]["text"]
    assert page.problems == []
