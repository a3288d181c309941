"""Slack delivery against a real local HTTP server: retry then success, permanent failures, backoff, the sweep."""
import datetime as dt
import socket

import pytest
from django.utils import timezone

from csops.tenancy.context import tenant_context
from health.alert_tasks import deliver_slack, slack_deliveries_sweep_all_orgs
from health.models import DeliveryStatus, HealthAlert, SlackDelivery
from health.services.deliveries import (
    MAX_ATTEMPTS,
    organizations_with_due_deliveries,
    slack_deliveries_sweep,
    slack_delivery_attempt,
)
from health.slack import classify_status, mask_webhook_url, post_message
from tests.factories import AccountFactory

from .alert_helpers import DAY, WebhookServer


@pytest.fixture
def make_delivery(world):
    account = AccountFactory(organization=world.org, owner=world.csm, name="Initech")
    made = []

    def _make(url: str, **fields) -> SlackDelivery:
        """A delivery to ``url``, which becomes the organization's webhook (attempts post to the current one)."""
        made.append(url)
        if url:
            world.org.slack_webhook_url = url
            world.org.save()
        with tenant_context(world.org):
            alert = HealthAlert.objects.create(account=account, kind="entered_at_risk",
                                               date=DAY - dt.timedelta(days=len(made)),
                                               message="Initech entered At risk")
            return SlackDelivery.objects.create(alert=alert, webhook_url=url, payload={"text": "Initech at risk"},
                                                next_attempt_at=timezone.now(), **fields)

    return _make


def attempt(org, delivery) -> SlackDelivery | None:
    with tenant_context(org):
        return slack_delivery_attempt(delivery_id=delivery.pk)


def make_due(org, delivery) -> None:
    """Let the backoff pass (instead of sleeping minutes)."""
    with tenant_context(org):
        SlackDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now() - dt.timedelta(seconds=1))


def reload(org, delivery) -> SlackDelivery:
    with tenant_context(org):
        return SlackDelivery.objects.get(pk=delivery.pk)


def test_status_classification():
    assert classify_status(200) == (True, False)
    assert classify_status(204) == (True, False)
    assert classify_status(429) == (False, True)
    assert classify_status(500) == (False, True)
    assert classify_status(503) == (False, True)
    assert classify_status(400) == (False, False)
    assert classify_status(403) == (False, False)
    assert classify_status(404) == (False, False)
    assert classify_status(301) == (False, False)


def test_webhook_url_is_masked():
    assert mask_webhook_url("https://hooks.slack.com/services/T0/B0/abcdefSECRET") == "https://hooks.slack.com/…CRET"
    assert mask_webhook_url("") == ""


def test_post_message_sends_json_to_a_real_server():
    with WebhookServer([200]) as server:
        result = post_message(server.url, {"text": "hello"})
    assert result.ok and result.status_code == 200 and result.error == ""
    assert server.bodies == [{"text": "hello"}]


def test_post_message_timeout_is_retryable():
    with WebhookServer([200], delay=1.5) as server:
        result = post_message(server.url, {"text": "slow"}, timeout=0.3)
    assert not result.ok and result.retryable and "Timed out" in result.error


def test_post_message_refused_connection_is_retryable():
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    result = post_message(f"http://127.0.0.1:{port}/hook", {"text": "x"}, timeout=2)
    assert not result.ok and result.retryable and "Connection failed" in result.error


def test_post_message_refuses_other_schemes():
    result = post_message("file:///etc/passwd", {"text": "x"})
    assert not result.ok and not result.retryable


def test_failure_is_retried_with_backoff_then_succeeds(world, make_delivery):
    with WebhookServer([500, 200]) as server:
        delivery = make_delivery(server.url)

        first = attempt(world.org, delivery)
        assert first.status == DeliveryStatus.RETRYING and first.attempts == 1
        assert first.last_status_code == 500 and "HTTP 500" in first.last_error
        wait = first.next_attempt_at - timezone.now()
        assert dt.timedelta(seconds=50) < wait <= dt.timedelta(minutes=1)  # first backoff: 1 minute

        assert attempt(world.org, delivery) is None  # not due yet: nothing is sent
        assert len(server.bodies) == 1

        make_due(world.org, delivery)
        with tenant_context(world.org):
            assert slack_deliveries_sweep() == 1
    delivery = reload(world.org, delivery)
    assert delivery.status == DeliveryStatus.SENT and delivery.attempts == 2 and delivery.sent_at is not None
    assert delivery.last_status_code == 200 and delivery.next_attempt_at is None
    assert server.bodies == [{"text": "Initech at risk"}] * 2


def test_server_errors_fail_after_the_last_attempt_with_the_last_error_logged(world, make_delivery):
    waits = []
    with WebhookServer([500, 502, 503, 500]) as server:
        delivery = make_delivery(server.url)
        for _ in range(MAX_ATTEMPTS):
            result = attempt(world.org, delivery)
            if result.status == DeliveryStatus.RETRYING:
                waits.append(round((result.next_attempt_at - timezone.now()).total_seconds() / 60))
                make_due(world.org, delivery)
    delivery = reload(world.org, delivery)
    assert waits == [1, 5, 25]
    assert delivery.status == DeliveryStatus.FAILED and delivery.attempts == MAX_ATTEMPTS == 4
    assert delivery.last_status_code == 500 and "HTTP 500" in delivery.last_error
    assert delivery.next_attempt_at is None
    assert len(server.bodies) == 4
    with tenant_context(world.org):
        assert slack_deliveries_sweep() == 0  # failed deliveries are not swept again


def test_client_error_is_a_permanent_failure_logged_at_once(world, make_delivery):
    with WebhookServer([400]) as server:
        delivery = make_delivery(server.url)
        result = attempt(world.org, delivery)
        make_due(world.org, delivery)
        assert attempt(world.org, delivery) is None
    assert result.status == DeliveryStatus.FAILED and result.attempts == 1
    assert result.last_status_code == 400
    assert "invalid_payload" in result.last_error and "permanent" in result.last_error
    assert len(server.bodies) == 1


def test_rate_limited_is_retried(world, make_delivery):
    with WebhookServer([429, 200]) as server:
        delivery = make_delivery(server.url)
        assert attempt(world.org, delivery).status == DeliveryStatus.RETRYING
        make_due(world.org, delivery)
        assert attempt(world.org, delivery).status == DeliveryStatus.SENT


def test_sent_and_recorded_deliveries_are_never_attempted(world, make_delivery):
    with WebhookServer([200]) as server:
        sent = make_delivery(server.url, status=DeliveryStatus.SENT)
        recorded = make_delivery("", status=DeliveryStatus.RECORDED)
        assert attempt(world.org, sent) is None
        assert attempt(world.org, recorded) is None
    assert server.bodies == []


def test_task_delivers_and_is_idempotent(world, make_delivery):
    with WebhookServer([200]) as server:
        delivery = make_delivery(server.url)
        assert deliver_slack.apply(args=(world.org.pk, str(delivery.pk))).get() == "sent"
        assert deliver_slack.apply(args=(world.org.pk, str(delivery.pk))).get() == "not due"
    assert len(server.bodies) == 1


def test_sweep_fans_out_only_to_organizations_with_due_deliveries(world, other_world, make_delivery):
    with WebhookServer([200]) as server:
        delivery = make_delivery(server.url)
        assert organizations_with_due_deliveries() == [world.org.pk]
        assert slack_deliveries_sweep_all_orgs.apply().get() == 1  # eager: the org's sweep ran in-process
        assert organizations_with_due_deliveries() == []
    assert reload(world.org, delivery).status == DeliveryStatus.SENT


def test_retries_follow_a_rotated_webhook_and_stop_when_it_is_removed(world, make_delivery):
    with WebhookServer([500]) as old, WebhookServer([200]) as new:
        world.org.slack_webhook_url = old.url
        world.org.save()
        delivery = make_delivery(old.url)
        assert attempt(world.org, delivery).status == DeliveryStatus.RETRYING
        world.org.slack_webhook_url = new.url  # an admin rotates the webhook
        world.org.save()
        make_due(world.org, delivery)
        sent = attempt(world.org, delivery)
    assert sent.status == DeliveryStatus.SENT and sent.webhook_url == new.url
    assert len(old.bodies) == 1 and len(new.bodies) == 1

    with WebhookServer([500]) as server:
        world.org.slack_webhook_url = server.url
        world.org.save()
        other = make_delivery(server.url)
        assert attempt(world.org, other).status == DeliveryStatus.RETRYING
        world.org.slack_webhook_url = ""  # removed (say it leaked)
        world.org.save()
        make_due(world.org, other)
        recorded = attempt(world.org, other)
    assert recorded.status == DeliveryStatus.RECORDED and "removed" in recorded.last_error
    assert len(server.bodies) == 1
