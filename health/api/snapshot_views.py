"""v1 API: health snapshots (current and historical, with their components) and CSM pulses.

Reads go through ``health.page_selectors`` (scoped by the tenant context); a pulse is written by
``pulse_record`` with the acting token or person, like the account page does. ``serializer.save()`` is never
called.
"""
import django_filters
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from accounts.api.filters import OrgFilterBackend
from accounts.models import HealthBand
from accounts.selectors import account_get
from csops.tenancy.api.pagination import DefaultCursorPagination
from csops.tenancy.api.viewsets import OrgScopedViewSet

from ..models import HealthSnapshot, Pulse, PulseValue
from ..page_selectors import latest_snapshots, pulse_list, snapshot_list
from ..services.pulses import pulse_record
from .snapshot_serializers import PulseSerializer, SnapshotSerializer


class SnapshotFilter(django_filters.FilterSet):
    account = django_filters.UUIDFilter(field_name="account_id", help_text="Account UUID.")
    account_external_id = django_filters.CharFilter(
        field_name="account__external_id", help_text="The account's id in your CRM or billing system (exact)."
    )
    date = django_filters.DateFilter(help_text="Snapshots of this day only (YYYY-MM-DD).")
    date_after = django_filters.DateFilter(field_name="date", lookup_expr="gte", help_text="On or after this day.")
    date_before = django_filters.DateFilter(field_name="date", lookup_expr="lte", help_text="On or before this day.")
    band = django_filters.MultipleChoiceFilter(choices=HealthBand.choices, distinct=False,  # no join: no duplicates
                                               help_text="Repeat for several.")
    latest = django_filters.BooleanFilter(
        method="filter_latest", help_text="true: only each account's current snapshot (its latest day).",
    )

    class Meta:
        model = HealthSnapshot
        fields = ["account", "date", "band"]

    def filter_latest(self, queryset, name, value):
        return latest_snapshots(queryset) if value else queryset


class SnapshotPagination(DefaultCursorPagination):
    ordering = ("-date", "-id")


class SnapshotViewSet(OrgScopedViewSet):
    """Daily health snapshots, newest day first, cursor-paginated: one per account per day, each with every
    component's input, score, weight and contribution. `?latest=true` gives each account's current snapshot;
    filter by account, day (`date`, `date_after`, `date_before`) and band. Read-only: the daily run and the
    recompute after new signals write them."""

    serializer_class = SnapshotSerializer
    lookup_value_converter = "uuid"
    filter_backends = [OrgFilterBackend]
    filterset_class = SnapshotFilter
    pagination_class = SnapshotPagination
    http_method_names = ["get", "head", "options"]

    def scoped_queryset(self):
        return snapshot_list()


class PulseFilter(django_filters.FilterSet):
    account = django_filters.UUIDFilter(field_name="account_id", help_text="Account UUID.")
    value = django_filters.ChoiceFilter(choices=PulseValue.choices)
    recorded_at = django_filters.IsoDateTimeFromToRangeFilter(
        help_text="Time range, inclusive: recorded_at_after and/or recorded_at_before as ISO 8601 timestamps."
    )

    class Meta:
        model = Pulse
        fields = ["account", "value"]


class PulsePagination(DefaultCursorPagination):
    ordering = ("-recorded_at", "-id")


class PulseViewSet(OrgScopedViewSet):
    """CSM pulses, newest first, cursor-paginated. POST records one (a read-write token or a member who may
    write); the account is re-scored shortly after. Pulses are not edited or deleted: record a new one."""

    serializer_class = PulseSerializer
    lookup_value_converter = "uuid"
    filter_backends = [OrgFilterBackend]
    filterset_class = PulseFilter
    pagination_class = PulsePagination
    http_method_names = ["get", "post", "head", "options"]

    def scoped_queryset(self):
        return pulse_list()

    @extend_schema(request=PulseSerializer, responses={201: PulseSerializer})
    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        account = account_get(account_id=data["account_id"])
        if account is None:
            raise serializers.ValidationError({"account": ["No account with this id in this organization."]})
        pulse = pulse_record(account=account, actor=self.actor, value=data["value"], reason=data["reason"],
                             valid_days=data.get("valid_days"))
        body = self.get_serializer(pulse_list().get(pk=pulse.pk)).data
        return Response(body, status=status.HTTP_201_CREATED)
