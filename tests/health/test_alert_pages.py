"""Alert pages (delivery log, settings, notifications, the bell) and the alerts/notifications API."""
import datetime as dt

import pytest
from django.urls import reverse

from csops.tenancy.context import tenant_context
from csops.tenancy.models import AuditEvent, Notification
from health.models import DeliveryStatus, HealthAlert, SlackDelivery
from tests.budgets import budget
from tests.factories import AccountFactory

from .alert_helpers import DAY, WebhookServer, snap


@pytest.fixture
def alerted(world):
    """An account that entered At risk on DAY: an alert, a risk task, a notification for its owner, a delivery."""
    from health.services.alerts import alerts_detect

    account = AccountFactory(organization=world.org, owner=world.csm, name="Initech")
    snap(account, DAY - dt.timedelta(days=1), 55)
    snap(account, DAY, 35)
    assert alerts_detect(organization=world.org, day=DAY) == 1
    with tenant_context(world.org):
        return SlackDelivery.objects.select_related("alert").get()


def set_delivery(org, delivery, **fields):
    with tenant_context(org):
        SlackDelivery.objects.filter(pk=delivery.pk).update(**fields)
        return SlackDelivery.objects.get(pk=delivery.pk)


def url(name, world, **kwargs):
    return reverse(f"health:{name}", kwargs={"org_slug": world.org.slug, **kwargs})


# --- delivery log ---------------------------------------------------------------------------------------------

def test_delivery_log_lists_deliveries_with_status_attempts_and_error(world, alerted, login):
    set_delivery(world.org, alerted, status=DeliveryStatus.FAILED, attempts=4, last_status_code=500,
                 last_error="HTTP 500 Internal Server Error: server_error")
    response = login(world.admin).get(url("alert_deliveries", world))
    assert response.status_code == 200
    body = response.content.decode()
    assert "Initech" in body and "Failed" in body and "server_error" in body and ">Retry<" in body


def test_delivery_log_filters_by_status(world, alerted, login):
    client = login(world.admin)
    assert "Initech" in client.get(url("alert_deliveries", world) + "?status=recorded").content.decode()
    empty = client.get(url("alert_deliveries", world) + "?status=sent").content.decode()
    assert "Initech" not in empty and "No sent deliveries." in empty
    assert client.get(url("alert_deliveries", world) + "?status=bogus").status_code == 200  # unknown: all


def test_delivery_log_is_for_ops_admins(world, alerted, login):
    assert login(world.csm).get(url("alert_deliveries", world)).status_code == 403
    assert login(world.manager).get(url("alert_settings", world)).status_code == 403


def test_delivery_log_query_count_does_not_grow_with_rows(world, alerted, login, django_assert_max_num_queries):
    client = login(world.admin)
    client.get(url("alert_deliveries", world))  # warm the session/membership caches
    for _ in range(10):
        account = AccountFactory(organization=world.org, owner=world.csm)
        with tenant_context(world.org):
            alert = HealthAlert.objects.create(account=account, kind="entered_at_risk", date=DAY, message="x")
            SlackDelivery.objects.create(alert=alert, payload={"text": "x"}, status=DeliveryStatus.RECORDED)
    # session, user, organization, membership (x2: gate and org switcher), status counts, page, bell, and the
    # session save (savepoint, update, release): constant, whatever the number of deliveries.
    with django_assert_max_num_queries(budget(11)):
        assert client.get(url("alert_deliveries", world)).status_code == 200


def test_retry_sends_a_failed_delivery_to_the_configured_webhook(world, alerted, login,
                                                                 django_capture_on_commit_callbacks):
    with WebhookServer([200]) as server:
        world.org.slack_webhook_url = server.url
        world.org.save()
        set_delivery(world.org, alerted, status=DeliveryStatus.FAILED, attempts=4, last_error="HTTP 500")
        with django_capture_on_commit_callbacks(execute=True):
            response = login(world.admin).post(url("alert_delivery_retry", world, delivery_id=alerted.pk),
                                               HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and f'id="delivery-{alerted.pk}"' in response.content.decode()
    with tenant_context(world.org):
        delivery = SlackDelivery.objects.get(pk=alerted.pk)
        assert AuditEvent.objects.filter(action="slack_delivery.retry", object_id=str(alerted.pk)).exists()
    assert delivery.status == DeliveryStatus.SENT and delivery.attempts == 1
    assert len(server.bodies) == 1 and "Initech" in server.bodies[0]["text"]


def test_retry_without_a_webhook_explains_and_changes_nothing(world, alerted, login):
    response = login(world.admin).post(url("alert_delivery_retry", world, delivery_id=alerted.pk), follow=True)
    assert "No Slack webhook URL is configured" in response.content.decode()
    with tenant_context(world.org):
        assert SlackDelivery.objects.get(pk=alerted.pk).status == DeliveryStatus.RECORDED


def test_sent_delivery_cannot_be_retried(world, alerted, login):
    world.org.slack_webhook_url = "https://hooks.slack.example/x"
    world.org.save()
    set_delivery(world.org, alerted, status=DeliveryStatus.SENT)
    response = login(world.admin).post(url("alert_delivery_retry", world, delivery_id=alerted.pk),
                                       HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and "A sent delivery cannot be retried." in response.content.decode()


# --- settings -------------------------------------------------------------------------------------------------

def test_settings_save_and_audit_with_the_url_masked(world, login):
    client = login(world.admin)
    assert client.get(url("alert_settings", world)).status_code == 200
    response = client.post(url("alert_settings", world), {
        "slack_webhook_url": "https://hooks.slack.com/services/T0/B0/topSECRETvalue",
        "health_drop_alert_points": "20", "health_run_hour": "7",
    })
    assert response.status_code == 302
    world.org.refresh_from_db()
    assert world.org.slack_webhook_url.endswith("topSECRETvalue")
    assert (world.org.health_drop_alert_points, world.org.health_run_hour) == (20, 7)
    with tenant_context(world.org):
        event = AuditEvent.objects.get(action="organization.alert_settings")
    assert "topSECRET" not in str(event.after) and event.after["health_drop_alert_points"] == 20


@pytest.mark.parametrize("data,error", [
    ({"slack_webhook_url": "http://hooks.slack.com/x", "health_drop_alert_points": "15", "health_run_hour": "6"},
     "https://"),
    ({"slack_webhook_url": "", "health_drop_alert_points": "0", "health_run_hour": "6"}, "greater than or equal"),
    ({"slack_webhook_url": "", "health_drop_alert_points": "15", "health_run_hour": "24"}, "less than or equal"),
    ({"slack_webhook_url": "not a url", "health_drop_alert_points": "15", "health_run_hour": "6"}, "valid URL"),
])
def test_settings_reject_bad_input_and_save_nothing(world, login, data, error):
    response = login(world.admin).post(url("alert_settings", world), data)
    assert response.status_code == 400 and error in response.content.decode()
    world.org.refresh_from_db()
    assert (world.org.slack_webhook_url, world.org.health_drop_alert_points, world.org.health_run_hour) == ("", 15, 6)


def test_send_test_message_posts_to_the_saved_webhook(world, login):
    with WebhookServer([200]) as server:
        world.org.slack_webhook_url = server.url  # a local stand-in (the form itself asks for https)
        world.org.save()
        response = login(world.admin).post(url("alert_settings_test", world), {"slack_webhook_url": ""},
                                           HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and "Test message sent" in response.content.decode()
    assert "CS Ops test message" in server.bodies[0]["text"]


def test_send_test_message_reports_slack_refusal(world, login):
    with WebhookServer([404]) as server:
        world.org.slack_webhook_url = server.url
        world.org.save()
        response = login(world.admin).post(url("alert_settings_test", world), follow=True)
    assert "Slack did not accept the test message" in response.content.decode()
    assert "HTTP 404" in response.content.decode()


def test_send_test_message_without_any_url(world, login):
    response = login(world.admin).post(url("alert_settings_test", world), {"slack_webhook_url": ""},
                                       HTTP_HX_REQUEST="true")
    assert "Enter a Slack webhook URL first" in response.content.decode()


# --- notifications and the bell -------------------------------------------------------------------------------

def test_bell_shows_the_unread_count_in_one_query(world, alerted, login, django_assert_num_queries):
    from django.template import Context, Template
    from django.test import RequestFactory

    body = login(world.csm).get(url("notifications", world)).content.decode()
    assert 'id="notification-bell"' in body and 'badge badge-danger">1<' in body
    request = RequestFactory().get("/")
    request.user, request.organization = world.csm, world.org
    with tenant_context(world.org), django_assert_num_queries(1):
        rendered = Template("{% load health_notifications %}{% unread_notification_count as n %}{{ n }}").render(
            Context({"request": request}))
    assert rendered == "1"


def test_notifications_page_shows_only_ones_own(world, alerted, login):
    with tenant_context(world.org):
        Notification.objects.create(user=world.csm2, kind="health_alert", title="Someone else's alert")
    body = login(world.csm).get(url("notifications", world)).content.decode()
    assert "Initech entered At risk" in body and "Someone else" not in body


def test_opening_a_notification_marks_it_read_and_follows_its_link(world, alerted, login):
    with tenant_context(world.org):
        note = Notification.objects.get(user=world.csm)
    response = login(world.csm).get(url("notification_open", world, notification_id=note.pk))
    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:detail", kwargs={"org_slug": world.org.slug,
                                                                      "account_id": alerted.alert.account_id})
    note.refresh_from_db()
    assert note.read_at is not None


def test_someone_elses_notification_is_404(world, alerted, login):
    with tenant_context(world.org):
        note = Notification.objects.get(user=world.csm)
    assert login(world.csm2).get(url("notification_open", world, notification_id=note.pk)).status_code == 404
    note.refresh_from_db()
    assert note.read_at is None


def test_mark_all_read(world, alerted, login):
    client = login(world.csm)
    response = client.post(url("notifications_read_all", world), follow=True)
    assert "Marked 1 notification read." in response.content.decode()
    assert 'badge badge-danger' not in client.get(url("notifications", world)).content.decode().split("</header>")[0]


def test_notifications_empty_state(world, login):
    assert "No notifications yet." in login(world.viewer).get(url("notifications", world)).content.decode()


# --- API ------------------------------------------------------------------------------------------------------

def test_api_lists_alerts_with_delivery_status(world, alerted, api_client):
    client = api_client(world.token_ro)
    base = f"/api/v1/orgs/{world.org.slug}/alerts/"
    data = client.get(base).json()
    [row] = data["results"]
    assert row["kind"] == "entered_at_risk" and row["account_name"] == "Initech"
    assert row["score_before"] == "55.0" and row["score_after"] == "35.0" and row["task"]
    assert row["delivery"]["status"] == "recorded" and row["delivery"]["attempts"] == 0
    assert client.get(base + "?delivery_status=failed").json()["results"] == []
    assert client.get(base + "?kind=score_drop").json()["results"] == []
    assert client.get(f"{base}{row['id']}/").json()["id"] == row["id"]
    assert client.post(base, {}, format="json").status_code == 403  # read-only token
    assert api_client(world.token_rw).post(base, {}, format="json").status_code == 405  # alerts are read-only


def test_api_notifications_are_the_callers_own_and_can_be_marked_read(world, alerted, api_client):
    from rest_framework.test import APIClient

    base = f"/api/v1/orgs/{world.org.slug}/notifications/"
    mine, theirs = APIClient(), APIClient()
    mine.force_login(world.csm)
    theirs.force_login(world.csm2)
    [row] = mine.get(base + "?unread=true").json()["results"]
    assert row["read"] is False and row["url"].endswith(f"/accounts/a/{alerted.alert.account_id}/")
    assert theirs.get(base).json()["results"] == []
    assert theirs.post(f"{base}{row['id']}/read/").status_code == 404
    marked = mine.post(f"{base}{row['id']}/read/").json()
    assert marked["read"] is True and marked["read_at"]
    assert mine.get(base + "?unread=true").json()["results"] == []
    assert mine.post(base + "read-all/").json() == {"marked_read": 0}


def test_api_alert_list_queries_do_not_grow_with_rows(world, alerted, api_client):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = api_client(world.token_ro)
    base = f"/api/v1/orgs/{world.org.slug}/alerts/"
    client.get(base)  # the token's first use records last_used_at (one UPDATE), not counted below
    with CaptureQueriesContext(connection) as one:
        assert len(client.get(base).json()["results"]) == 1
    for _ in range(5):
        account = AccountFactory(organization=world.org, owner=world.csm)
        with tenant_context(world.org):
            alert = HealthAlert.objects.create(account=account, kind="score_drop", date=DAY, message="x")
            SlackDelivery.objects.create(alert=alert, payload={"text": "x"}, status=DeliveryStatus.RECORDED)
    with CaptureQueriesContext(connection) as six:
        assert len(client.get(base).json()["results"]) == 6
    assert len(six) == len(one)
