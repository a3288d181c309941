"""v1 API of the customer signals: `signals/usage/`, `signals/surveys/`, `signals/tickets/`.

GET lists (filtered, cursor-paginated) and GET one row; POST takes up to 5,000 rows, checks all of them and
writes all of them in one transaction (idempotent: a row already received is ignored), or none with every
problem listed. Writes go through `accounts.signals.services`; read-only tokens and viewers get 403.
"""
import django_filters
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.response import Response

from accounts.models import SupportTicket, SurveyKind, SurveyResponse, TicketPriority, TicketStatus, UsageRecord
from accounts.signals.rows import MAX_ROWS_PER_REQUEST, SURVEYS, TICKETS, USAGE
from accounts.signals.selectors import support_ticket_list, survey_response_list, usage_record_list
from accounts.signals.services import SignalRowsInvalid, signals_ingest
from csops.tenancy.api.viewsets import OrgScopedViewSet

from .filters import CursorOrderingFilter, OrgFilterBackend
from .signal_serializers import (
    IngestResultSerializer,
    SignalErrorSerializer,
    SupportTicketSerializer,
    SurveyResponseSerializer,
    SurveyRowSerializer,
    TicketRowSerializer,
    UsageRecordSerializer,
    UsageRowSerializer,
)

ACCOUNT_HELP = "Account UUID."
ACCOUNT_EXTERNAL_HELP = "The account's CRM id (exact)."


class _AccountSignalFilter(django_filters.FilterSet):
    """The account filters every signal list has: by UUID or by the CRM id."""

    account = django_filters.UUIDFilter(field_name="account_id", help_text=ACCOUNT_HELP)
    account_external_id = django_filters.CharFilter(field_name="account__external_id", help_text=ACCOUNT_EXTERNAL_HELP)


class UsageFilter(_AccountSignalFilter):
    metric = django_filters.CharFilter(help_text="Metric name (exact).")
    date = django_filters.DateFromToRangeFilter(
        help_text="Day range, inclusive: date_after=YYYY-MM-DD and/or date_before=YYYY-MM-DD.")

    class Meta:
        model = UsageRecord
        fields = ["account", "account_external_id", "metric"]


class SurveyFilter(_AccountSignalFilter):
    kind = django_filters.ChoiceFilter(choices=SurveyKind.choices)
    responded_at = django_filters.IsoDateTimeFromToRangeFilter(
        help_text="Time range, inclusive: responded_at_after and/or responded_at_before (ISO 8601).")

    class Meta:
        model = SurveyResponse
        fields = ["account", "account_external_id", "kind"]


class TicketFilter(_AccountSignalFilter):
    status = django_filters.ChoiceFilter(choices=TicketStatus.choices)
    priority = django_filters.ChoiceFilter(choices=TicketPriority.choices)
    escalated = django_filters.BooleanFilter()
    opened_at = django_filters.IsoDateTimeFromToRangeFilter(
        help_text="Time range, inclusive: opened_at_after and/or opened_at_before (ISO 8601).")

    class Meta:
        model = SupportTicket
        fields = ["account", "account_external_id", "status", "priority", "escalated"]


def _error(detail: str, code: str, errors: list | None = None) -> Response:
    return Response({"detail": detail, "code": code, "errors": errors or []}, status=status.HTTP_400_BAD_REQUEST)


def _post_schema(row_serializer, example_row: dict):
    return extend_schema(
        request=row_serializer(many=True),
        responses={
            200: OpenApiResponse(IngestResultSerializer, description="Every row was written or already there."),
            400: OpenApiResponse(SignalErrorSerializer, description="Invalid rows (every problem is listed, "
                                 "nothing was written), or more than 5,000 rows."),
        },
        examples=[OpenApiExample("Rows", value=[example_row], request_only=True)],
    )


class _SignalViewSet(OrgScopedViewSet):
    kind = ""
    filter_backends = [OrgFilterBackend, CursorOrderingFilter]
    http_method_names = ["get", "post", "head", "options"]

    def create(self, request, *args, **kwargs):
        data = request.data
        rows = data.get("rows") if isinstance(data, dict) else data
        if not isinstance(rows, list):
            return _error('Send a JSON array of rows, or an object {"rows": [...]}.', "invalid")
        if not rows:
            return _error("No rows: send at least one.", "invalid")
        if len(rows) > MAX_ROWS_PER_REQUEST:
            return _error(f"At most {MAX_ROWS_PER_REQUEST:,} rows per request; got {len(rows):,}. Split them into "
                          "several requests.", "too_many_rows")
        try:
            result = signals_ingest(kind=self.kind, organization=self.organization, actor=self.actor, rows=rows)
        except SignalRowsInvalid as exc:
            return _error(exc.messages[0], "invalid", [e.as_dict() for e in exc.row_errors])
        return Response(result.as_dict(), status=status.HTTP_200_OK)


class UsageViewSet(_SignalViewSet):
    """Daily product usage per account and metric. Lists are cursor-paginated, newest day first; filter by
    account, account_external_id, metric and date range. POST a JSON array (or `{"rows": [...]}`) of up to
    5,000 rows: every row is checked, then all are written in one transaction (or none, with every problem
    listed). Idempotent on (account, metric, date): the same value again is ignored, a new one corrects the day."""

    kind = USAGE
    serializer_class = UsageRecordSerializer
    lookup_value_converter = "int"
    filterset_class = UsageFilter
    ordering_fields = ["date", "received_at"]
    ordering = ("-date", "-id")

    def scoped_queryset(self):
        return usage_record_list()

    @_post_schema(UsageRowSerializer, {"account_external_id": "ACME-001", "metric": "active_users",
                                       "date": "2026-11-20", "value": 42})
    def create(self, request, *args, **kwargs):
        """Send up to 5,000 usage rows (all written, or none)."""
        return super().create(request, *args, **kwargs)


class SurveyViewSet(_SignalViewSet):
    """Survey responses (NPS 0–10, CSAT 1–5, CES 1–7). Lists are cursor-paginated, newest answer first; filter
    by account, account_external_id, kind and responded_at range. POST up to 5,000 responses: idempotent on
    external_id (a response already received is ignored). The contact is optional, by contact_id or
    contact_email (an e-mail matching no contact of the account is kept without one)."""

    kind = SURVEYS
    serializer_class = SurveyResponseSerializer
    lookup_value_converter = "uuid"
    filterset_class = SurveyFilter
    ordering_fields = ["responded_at", "received_at"]
    ordering = ("-responded_at", "-id")

    def scoped_queryset(self):
        return survey_response_list()

    @_post_schema(SurveyRowSerializer, {"external_id": "resp-8812", "account_external_id": "ACME-001",
                                        "contact_email": "jane.doe@acme.example", "kind": "nps", "score": 9,
                                        "responded_at": "2026-11-20T14:30:00Z", "comment": "Great support"})
    def create(self, request, *args, **kwargs):
        """Send up to 5,000 survey responses (all written, or none)."""
        return super().create(request, *args, **kwargs)


class TicketViewSet(_SignalViewSet):
    """Support tickets. Lists are cursor-paginated, newest opened first; filter by account, account_external_id,
    status, priority, escalated and opened_at range. POST up to 5,000 tickets, each its whole current state:
    upserted on external_id (changed tickets are updated, unchanged ones ignored)."""

    kind = TICKETS
    serializer_class = SupportTicketSerializer
    lookup_value_converter = "uuid"
    filterset_class = TicketFilter
    ordering_fields = ["opened_at", "updated_at"]
    ordering = ("-opened_at", "-id")

    def scoped_queryset(self):
        return support_ticket_list()

    @_post_schema(TicketRowSerializer, {"external_id": "ZD-10442", "account_external_id": "ACME-001",
                                        "subject": "SSO login fails", "priority": "high", "status": "open",
                                        "escalated": True, "opened_at": "2026-11-19T09:12:00Z"})
    def create(self, request, *args, **kwargs):
        """Send up to 5,000 tickets (all written, or none)."""
        return super().create(request, *args, **kwargs)
