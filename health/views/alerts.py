"""Alert pages: the Slack delivery log and the alert settings (ops admins), and everyone's notifications.

The delivery log's retry button answers htmx with the re-rendered row. Opening a notification is a GET that
marks it read and follows its link, so every member, viewers included, can clear their own bell.
"""
from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from csops.tenancy.access import org_view
from csops.tenancy.models import Organization
from csops.tenancy.services import Actor

from ..alert_selectors import (
    delivery_get,
    delivery_list,
    delivery_status_counts,
    notification_get,
    notification_list,
    unread_notification_count,
)
from ..models import DeliveryStatus
from ..services.deliveries import (
    RETRYABLE_BY_HAND,
    organization_alert_settings_update,
    slack_delivery_retry,
    slack_send_test,
)
from ..services.notifications import notification_mark_read
from ..slack import mask_webhook_url

PAGE_SIZE = 50


class AlertSettingsForm(forms.Form):
    slack_webhook_url = forms.URLField(
        label="Slack incoming-webhook URL", required=False, max_length=500, assume_scheme="https",
        help_text="Create one in Slack (Apps → Incoming Webhooks) for the channel that should hear about at-risk "
                  "accounts. Empty: alerts are only recorded in the delivery log.",
        widget=forms.URLInput(attrs={"placeholder": "https://hooks.slack.com/services/…", "autocomplete": "off"}),
    )
    health_drop_alert_points = forms.IntegerField(
        label="Score drop alert (points in 7 days)", min_value=1, max_value=100,
        help_text="Alert when an account's score falls more than this many points below its score 7 days earlier.",
    )
    health_run_hour = forms.IntegerField(
        label="Daily run hour (organization's local time)", min_value=0, max_value=23,
        help_text="Hour (0–23) at which health scores are recomputed and alerts raised.",
    )

    def clean_slack_webhook_url(self):
        return _https_only(self.cleaned_data["slack_webhook_url"])


def _https_only(url: str) -> str:
    url = (url or "").strip()
    if url and not url.lower().startswith("https://"):
        raise ValidationError("Use the https:// URL Slack gives you.")
    return url


def _settings_initial(org: Organization) -> dict:
    return {"slack_webhook_url": org.slack_webhook_url, "health_drop_alert_points": org.health_drop_alert_points,
            "health_run_hour": org.health_run_hour}


@org_view(admin=True)
def alert_settings(request, org_slug):
    org = request.organization
    if request.method == "POST":
        form = AlertSettingsForm(request.POST)
        if form.is_valid():
            try:
                organization_alert_settings_update(organization=org, actor=Actor.from_request(request),
                                                   **form.cleaned_data)
            except ValidationError as exc:
                for field, errors in exc.message_dict.items():
                    form.add_error(field if field in form.fields else None, errors)
            else:
                messages.success(request, "Alert settings saved.")
                return redirect("health:alert_settings", org_slug=org_slug)
        org.refresh_from_db(fields=["slack_webhook_url", "health_drop_alert_points", "health_run_hour"])
    else:
        form = AlertSettingsForm(initial=_settings_initial(org))
    return render(request, "health/alerts_settings.html", {
        "form": form, "masked_url": mask_webhook_url(org.slack_webhook_url),
    }, status=400 if form.is_bound and form.errors else 200)


@org_view(admin=True)
@require_POST
def alert_settings_test(request, org_slug):
    """Send a test message to the URL in the form (not saved yet), else to the saved one."""
    org = request.organization
    field = AlertSettingsForm.base_fields["slack_webhook_url"]
    try:
        url = _https_only(field.clean(request.POST.get("slack_webhook_url", ""))) or org.slack_webhook_url
    except ValidationError as exc:
        result_ok, text = False, " ".join(exc.messages)
    else:
        if not url:
            result_ok, text = False, "Enter a Slack webhook URL first."
        else:
            result = slack_send_test(organization=org, url=url)
            result_ok = result.ok
            text = ("Test message sent: check the channel." if result.ok
                    else f"Slack did not accept the test message: {result.error}")
    if request.htmx:
        return render(request, "health/partials/_alert_test_result.html", {"ok": result_ok, "text": text})
    (messages.success if result_ok else messages.error)(request, text)
    return redirect("health:alert_settings", org_slug=org_slug)


@org_view(admin=True)
def alert_deliveries(request, org_slug):
    status = request.GET.get("status", "")
    if status not in DeliveryStatus.values:
        status = ""
    counts = delivery_status_counts()
    paginator = Paginator(delivery_list(status=status), PAGE_SIZE)
    paginator.count = counts[status] if status else sum(counts.values())  # known already: no second COUNT
    page = paginator.get_page(request.GET.get("page"))
    return render(request, "health/alerts_deliveries.html", {
        "page": page, "status": status, "counts": counts, "total": sum(counts.values()),
        "statuses": DeliveryStatus.choices, "retryable": RETRYABLE_BY_HAND,
        "masked_url": mask_webhook_url(request.organization.slack_webhook_url),
    })


@org_view(admin=True)
@require_POST
def alert_delivery_retry(request, org_slug, delivery_id):
    delivery = delivery_get(delivery_id=delivery_id)
    if delivery is None:
        raise Http404("No such delivery")
    flash, error = "", ""
    try:
        slack_delivery_retry(delivery=delivery, organization=request.organization, actor=Actor.from_request(request))
    except ValueError as exc:
        error = str(exc)
    delivery = delivery_get(delivery_id=delivery_id)  # the attempt may already have run (no broker: in-process)
    if not error:
        flash = {DeliveryStatus.SENT: "Sent.", DeliveryStatus.PENDING: "Queued: sending now."}.get(
            delivery.status, "Attempted: see the status.")
    if request.htmx:
        # 200 even when refused: htmx swaps only 2xx answers, and the row says why.
        return render(request, "health/partials/_alert_delivery_row.html", {
            "d": delivery, "retryable": RETRYABLE_BY_HAND, "flash": flash, "error": error,
        })
    (messages.error if error else messages.success)(request, error or flash)
    return redirect("health:alert_deliveries", org_slug=org_slug)


@org_view()
def notifications(request, org_slug):
    unread_only = request.GET.get("unread") == "1"
    page = Paginator(notification_list(user=request.user, unread_only=unread_only), PAGE_SIZE).get_page(
        request.GET.get("page"))
    return render(request, "health/notifications.html", {
        "page": page, "unread_only": unread_only, "unread": unread_notification_count(user=request.user),
    })


@org_view()
def notification_open(request, org_slug, notification_id):
    """Mark one's notification read and follow its link (a plain link in the list and the bell)."""
    notification = notification_get(user=request.user, notification_id=notification_id)
    if notification is None:
        raise Http404("No such notification")
    notification_mark_read(user=request.user, notification_ids=[notification.pk])
    if notification.url and url_has_allowed_host_and_scheme(notification.url, allowed_hosts={request.get_host()}):
        return redirect(notification.url)
    return redirect("health:notifications", org_slug=org_slug)


@org_view()
@require_POST
def notifications_read_all(request, org_slug):
    changed = notification_mark_read(user=request.user)
    messages.success(request, f"Marked {changed} notification{'s' if changed != 1 else ''} read.")
    return redirect("health:notifications", org_slug=org_slug)
