"""v1 API: contract lines, renewals, and the revenue metrics of one organization.

Reads go through selectors and the metric modules (scoped by the tenant context), writes through
renewals.services with the acting token or person, so the API keeps the UI's rules and audit trail.
`serializer.save()` is never called.
"""
from dataclasses import asdict

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import MethodNotAllowed
from rest_framework.filters import SearchFilter
from rest_framework.response import Response

from accounts.api.filters import CursorOrderingFilter, OrgFilterBackend
from csops.tenancy.api.permissions import IsOrgMember
from csops.tenancy.api.viewsets import OrgScopedViewSet
from csops.tenancy.selectors import organization_members
from renewals import ledger
from renewals.forecast import contract_line_list, forecast_for_period, renewal_list
from renewals.periods import current_quarter, org_today, trailing_twelve_months
from renewals.selectors import lines_frame, segment_account_ids
from renewals.services import contract_line_delete, contract_line_upsert_bulk, renewal_close, renewal_update_forecast

from .filters import ContractLineFilter, RenewalFilter
from .serializers import (
    ContractBulkResultSerializer,
    ContractBulkSerializer,
    ContractLineSerializer,
    ForecastQuerySerializer,
    ForecastSerializer,
    MetricQuerySerializer,
    RenewalCloseSerializer,
    RenewalSerializer,
    RetentionSerializer,
)

DEFAULT_ORDERING = ("-created_at", "-id")  # newest first; `id` breaks ties for the cursor


class ContractLineViewSet(OrgScopedViewSet):
    """Contract (subscription) lines. Lists are cursor-paginated; `?ordering=` accepts start_date, end_date,
    arr, created_at, updated_at. Lines come in through `POST contracts/bulk/` (upsert on external_id); a line
    entered by mistake can be deleted. Every write re-derives the account's ARR and renewals."""

    serializer_class = ContractLineSerializer
    lookup_value_converter = "uuid"
    filter_backends = [OrgFilterBackend, SearchFilter, CursorOrderingFilter]
    filterset_class = ContractLineFilter
    search_fields = ["product", "plan", "external_id"]
    ordering_fields = ["start_date", "end_date", "arr", "created_at", "updated_at"]
    ordering = DEFAULT_ORDERING
    http_method_names = ["get", "post", "delete", "head", "options"]

    def scoped_queryset(self):
        return contract_line_list()

    def get_serializer_class(self):
        return ContractBulkSerializer if self.action == "bulk" else ContractLineSerializer

    @extend_schema(exclude=True)
    def create(self, request, *args, **kwargs):
        raise MethodNotAllowed("POST", detail="Send contract lines to contracts/bulk/.")

    def perform_destroy(self, instance):
        contract_line_delete(line=instance, actor=self.actor)

    @extend_schema(
        request=ContractBulkSerializer,
        responses={
            200: OpenApiResponse(ContractBulkResultSerializer, description="Written (see `errors` with only_valid)."),
            400: OpenApiResponse(ContractBulkResultSerializer, description="Some row is invalid; nothing written."),
        },
    )
    @action(detail=False, methods=["post"])
    def bulk(self, request, *args, **kwargs):
        """Create or update up to 5,000 contract lines in one request, matched on external_id."""
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        result = contract_line_upsert_bulk(
            organization=self.organization, actor=self.actor, rows=serializer.validated_data["rows"],
            only_valid=serializer.validated_data["only_valid"],
        )
        body = {
            "written": result.written, "created": result.created, "updated": result.updated,
            "unchanged": result.unchanged, "rejected": result.rejected,
            "accounts_arr_changed": result.accounts_arr_changed, "line_ids": result.line_ids,
            "errors": [e.as_dict() for e in result.errors],
        }
        return Response(ContractBulkResultSerializer(body).data,
                        status=status.HTTP_200_OK if result.written else status.HTTP_400_BAD_REQUEST)


class RenewalViewSet(OrgScopedViewSet):
    """Renewals (one per contract end). Lists are cursor-paginated; filter by date range, stage, forecast
    category, owner, account, tier; `?ordering=` accepts renewal_date, target_arr, created_at, updated_at.
    PATCH records the CSM's call; `POST renewals/{id}/close/` closes with the outcome. Renewals are created
    and their targets kept current by the daily sync from the contract lines, never by hand."""

    serializer_class = RenewalSerializer
    lookup_value_converter = "uuid"
    filter_backends = [OrgFilterBackend, SearchFilter, CursorOrderingFilter]
    filterset_class = RenewalFilter
    search_fields = ["account__name"]
    ordering_fields = ["renewal_date", "target_arr", "created_at", "updated_at"]
    ordering = DEFAULT_ORDERING
    http_method_names = ["get", "patch", "post", "head", "options"]

    def scoped_queryset(self):
        return renewal_list()

    def get_serializer_class(self):
        return RenewalCloseSerializer if self.action == "close" else RenewalSerializer

    @extend_schema(exclude=True)
    def create(self, request, *args, **kwargs):
        raise MethodNotAllowed("POST", detail="Renewals follow the contract lines; send those to contracts/bulk/.")

    def perform_update(self, serializer):
        serializer.instance = renewal_update_forecast(
            renewal=serializer.instance, actor=self.actor, **serializer.validated_data
        )

    @extend_schema(request=RenewalCloseSerializer, responses=RenewalSerializer)
    @action(detail=True, methods=["post"])
    def close(self, request, *args, **kwargs):
        """Close the renewal with its outcome and final ARR (and book the next term's contract line)."""
        renewal = self.get_object()
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        closed = renewal_close(renewal=renewal, actor=self.actor, **serializer.validated_data)
        return Response(RenewalSerializer(renewal_list().get(pk=closed.pk), context=self.get_serializer_context()).data)


class MetricViewSet(viewsets.ViewSet):
    """Revenue metrics of the organization, or of a segment (tier, owner, region; by current account)."""

    permission_classes = [IsOrgMember]

    def _segment(self, query: dict):
        owner_ids = None
        if query.get("owner"):
            members = organization_members(organization=self.request.organization).filter(
                user__email__iexact=query["owner"])
            owner_ids = list(members.values_list("user_id", flat=True))
            if not owner_ids:
                raise serializers.ValidationError({"owner": ["No member of this organization has this email."]})
        return segment_account_ids(owner_ids=owner_ids, tiers=[query["tier"]] if query.get("tier") else None,
                                   region=query.get("region", ""))

    @extend_schema(parameters=[MetricQuerySerializer], responses=RetentionSerializer)
    @action(detail=False, methods=["get"])
    def retention(self, request, *args, **kwargs):
        """GRR, NRR, logo churn and the ARR movements of the accounts active on `start`, measured on `end`.
        Without start/end: the trailing twelve months to today (the organization's time zone)."""
        query = MetricQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        start, end = query.validated_data.get("start"), query.validated_data.get("end")
        if start is None:
            start, end, _label = trailing_twelve_months(org_today(request.organization))
        # One read of the lines serves both the retention numbers and the waterfall.
        frame = lines_frame(account_ids=self._segment(query.validated_data), uuids=False)
        body = {"start": start, "end": end, **asdict(ledger.retention(frame, start, end)),
                "movements": asdict(ledger.waterfall(frame, start, end))}
        return Response(RetentionSerializer(body).data)

    @extend_schema(parameters=[ForecastQuerySerializer], responses=ForecastSerializer)
    @action(detail=False, methods=["get"])
    def forecast(self, request, *args, **kwargs):
        """The renewal forecast of the renewals dated in [start, end) — by default (or `quarter=current`)
        the organization's current fiscal quarter: renewals due, forecast, at-risk ARR, breakdowns by
        category and risk reason, and the closed-to-date renewal rates."""
        query = ForecastQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        start, end = query.validated_data.get("start"), query.validated_data.get("end")
        if start is None:
            start, end, _label = current_quarter(request.organization)
        summary = forecast_for_period(start=start, end_exclusive=end,
                                      account_filter=self._segment(query.validated_data))
        return Response(ForecastSerializer(summary).data)
