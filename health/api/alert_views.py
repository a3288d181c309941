"""v1 API: health alerts with their Slack delivery status (read-only), and the caller's own notifications.

An API token has no person behind it: its notifications are those of the user who created it.
"""
import django_filters
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.exceptions import MethodNotAllowed
from rest_framework.response import Response

from accounts.api.filters import OrgFilterBackend
from csops.tenancy.api.viewsets import OrgScopedViewSet
from csops.tenancy.models import Notification

from ..alert_selectors import alert_list, notification_list
from ..models import AlertKind, DeliveryStatus, HealthAlert, SlackDelivery
from ..services.notifications import notification_mark_read


class SlackDeliverySerializer(serializers.ModelSerializer):
    class Meta:
        model = SlackDelivery
        fields = ["id", "status", "attempts", "last_status_code", "last_error", "next_attempt_at", "sent_at",
                  "created_at"]
        read_only_fields = fields


class AlertSerializer(serializers.ModelSerializer):
    account = serializers.UUIDField(source="account_id", read_only=True)
    account_name = serializers.CharField(source="account.name", read_only=True)
    task = serializers.UUIDField(source="task_id", read_only=True, allow_null=True)
    model_version = serializers.UUIDField(source="model_version_id", read_only=True, allow_null=True)
    delivery = serializers.SerializerMethodField(help_text="The Slack message of this alert (null when the "
                                                           "account's other alert of the day carried it).")

    class Meta:
        model = HealthAlert
        fields = ["id", "account", "account_name", "kind", "date", "score_before", "score_after", "band_before",
                  "band_after", "message", "task", "model_version", "delivery", "created_at"]
        read_only_fields = fields

    @extend_schema_field(SlackDeliverySerializer(allow_null=True))
    def get_delivery(self, alert):
        deliveries = list(alert.slack_deliveries.all())  # prefetched
        return SlackDeliverySerializer(deliveries[0]).data if deliveries else None


class AlertFilter(django_filters.FilterSet):
    account = django_filters.UUIDFilter(field_name="account_id", help_text="Account UUID.")
    kind = django_filters.ChoiceFilter(choices=AlertKind.choices)
    date = django_filters.DateFromToRangeFilter(
        help_text="Detection day range, inclusive: date_after=YYYY-MM-DD and/or date_before=YYYY-MM-DD."
    )
    delivery_status = django_filters.ChoiceFilter(
        field_name="slack_deliveries__status", choices=DeliveryStatus.choices,
        help_text="Status of the alert's Slack delivery.",
    )

    class Meta:
        model = HealthAlert
        fields = ["account", "kind", "date", "delivery_status"]


class AlertViewSet(OrgScopedViewSet):
    """Health alerts (an account entered At risk, or its score dropped), newest first, cursor-paginated, each
    with its risk task and the status of its Slack delivery. Read-only: alerts are raised by the daily run."""

    serializer_class = AlertSerializer
    lookup_value_converter = "uuid"
    filter_backends = [OrgFilterBackend]
    filterset_class = AlertFilter
    http_method_names = ["get", "head", "options"]

    def scoped_queryset(self):
        return alert_list()


class NotificationSerializer(serializers.ModelSerializer):
    read = serializers.SerializerMethodField()

    class Meta:
        model = Notification
        fields = ["id", "kind", "title", "body", "url", "created_at", "read_at", "read"]
        read_only_fields = fields

    def get_read(self, notification) -> bool:
        return notification.read_at is not None


class MarkedReadSerializer(serializers.Serializer):
    marked_read = serializers.IntegerField()


class NotificationFilter(django_filters.FilterSet):
    unread = django_filters.BooleanFilter(field_name="read_at", lookup_expr="isnull",
                                          help_text="true: only unread notifications.")

    class Meta:
        model = Notification
        fields = ["unread"]


class NotificationViewSet(OrgScopedViewSet):
    """The caller's own in-app notifications, newest first; mark one read, or all of them."""

    serializer_class = NotificationSerializer
    lookup_value_converter = "uuid"
    filter_backends = [OrgFilterBackend]
    filterset_class = NotificationFilter
    http_method_names = ["get", "post", "head", "options"]

    def _person(self):
        token = getattr(self.request.user, "token", None)
        return token.created_by if token is not None else self.request.user

    def scoped_queryset(self):
        person = self._person()
        if person is None:
            return Notification.objects.none()
        return notification_list(user=person)

    @extend_schema(exclude=True)
    def create(self, request, *args, **kwargs):
        raise MethodNotAllowed("POST", detail="Notifications are created by the product, not over the API.")

    @extend_schema(request=None, responses={200: NotificationSerializer})
    @action(detail=True, methods=["post"])
    def read(self, request, *args, **kwargs):
        """Mark this notification read."""
        notification = self.get_object()
        notification_mark_read(user=notification.user, notification_ids=[notification.pk])
        notification.refresh_from_db(fields=["read_at"])
        return Response(NotificationSerializer(notification).data)

    @extend_schema(request=None, responses={200: OpenApiResponse(MarkedReadSerializer)})
    @action(detail=False, methods=["post"], url_path="read-all")
    def read_all(self, request, *args, **kwargs):
        """Mark every unread notification of the caller read."""
        person = self._person()
        changed = notification_mark_read(user=person) if person is not None else 0
        return Response({"marked_read": changed})
