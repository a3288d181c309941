"""v1 API representations of the customer signals (usage, survey responses, support tickets).

The read serializers render stored rows. The row serializers only document the POST body in the OpenAPI
schema: 5,000 rows are checked by `accounts.signals.rows` (column-wise, a few milliseconds) rather than by
5,000 serializer instances, with the same rules the CSV import applies.
"""
from rest_framework import serializers

from accounts.models import SupportTicket, SurveyKind, SurveyResponse, TicketPriority, TicketStatus, UsageRecord
from accounts.signals.rows import MAX_ROWS_PER_REQUEST


class _SignalSerializer(serializers.ModelSerializer):
    account = serializers.UUIDField(source="account_id", read_only=True, help_text="The account's UUID.")
    account_external_id = serializers.CharField(
        source="account.external_id", read_only=True, allow_null=True, help_text="The account's CRM id.")


class UsageRecordSerializer(_SignalSerializer):
    """One day of one usage metric of an account."""

    class Meta:
        model = UsageRecord
        fields = ["id", "account", "account_external_id", "metric", "date", "value", "received_at"]
        read_only_fields = fields


class SurveyResponseSerializer(_SignalSerializer):
    """One survey answer (NPS 0–10, CSAT 1–5, CES 1–7)."""

    contact = serializers.UUIDField(source="contact_id", read_only=True, allow_null=True)
    contact_email = serializers.CharField(source="contact.email", read_only=True, allow_null=True)

    class Meta:
        model = SurveyResponse
        fields = ["id", "external_id", "account", "account_external_id", "contact", "contact_email", "kind", "score",
                  "responded_at", "comment", "received_at"]
        read_only_fields = fields


class SupportTicketSerializer(_SignalSerializer):
    """A support ticket, as last sent by the help desk."""

    class Meta:
        model = SupportTicket
        fields = ["id", "external_id", "account", "account_external_id", "subject", "priority", "status",
                  "escalated", "opened_at", "closed_at", "received_at", "updated_at"]
        read_only_fields = fields


# --- POST bodies (documentation of one row) ------------------------------------------------------------------

class _AccountRefRow(serializers.Serializer):
    account_id = serializers.UUIDField(required=False, help_text="The account's UUID; or give account_external_id.")
    account_external_id = serializers.CharField(
        required=False, max_length=100, help_text="The account's CRM id (its external_id); or give account_id.")


class UsageRowSerializer(_AccountRefRow):
    """A usage row. The key is (account, metric, date): sent again with the same value it is ignored, with
    another value it corrects that day."""

    metric = serializers.CharField(max_length=64, help_text="e.g. active_users, licensed_seats, logins.")
    date = serializers.DateField(help_text="The day (YYYY-MM-DD, the organization's time zone).")
    value = serializers.FloatField(min_value=0)


class SurveyRowSerializer(_AccountRefRow):
    """A survey response. The key is external_id: a response already received is ignored."""

    external_id = serializers.CharField(max_length=100, help_text="The response's id in your survey tool.")
    contact_id = serializers.UUIDField(required=False, help_text="Optional: a contact of that account.")
    contact_email = serializers.EmailField(
        required=False, help_text="Optional: matched to a contact of that account; kept without one otherwise.")
    kind = serializers.ChoiceField(choices=SurveyKind.choices)
    score = serializers.IntegerField(help_text="NPS 0–10, CSAT 1–5, CES 1–7.")
    responded_at = serializers.DateTimeField(help_text="ISO 8601; a time without offset is the organization's.")
    comment = serializers.CharField(required=False, allow_blank=True, max_length=10_000)


class TicketRowSerializer(_AccountRefRow):
    """A ticket's whole current state. The key is external_id: sent again with changes it is updated, unchanged
    it is ignored; optional fields left out take their defaults."""

    external_id = serializers.CharField(max_length=100, help_text="The ticket's id in your help desk.")
    subject = serializers.CharField(required=False, allow_blank=True, max_length=300)
    priority = serializers.ChoiceField(choices=TicketPriority.choices, required=False, default="normal")
    status = serializers.ChoiceField(choices=TicketStatus.choices, required=False, default="open")
    escalated = serializers.BooleanField(required=False, default=False)
    opened_at = serializers.DateTimeField()
    closed_at = serializers.DateTimeField(required=False, allow_null=True, help_text="Not before opened_at.")


class IngestResultSerializer(serializers.Serializer):
    received = serializers.IntegerField(help_text="Rows in the request.")
    created = serializers.IntegerField(help_text="New rows stored.")
    updated = serializers.IntegerField(help_text="Stored rows changed by this request.")
    unchanged = serializers.IntegerField(help_text="Rows already received as they are: ignored.")
    accounts_changed = serializers.IntegerField(help_text="Accounts whose signals changed (health is recomputed).")


class SignalRowErrorSerializer(serializers.Serializer):
    row = serializers.IntegerField(help_text="Index of the row in the request, from 0.")
    field = serializers.CharField(allow_null=True, help_text="The field at fault; null for the row as a whole.")
    message = serializers.CharField()


class SignalErrorSerializer(serializers.Serializer):
    detail = serializers.CharField()
    code = serializers.CharField(help_text="invalid (see errors), too_many_rows, or parse_error.")
    errors = SignalRowErrorSerializer(many=True, help_text=f"Every problem (up to {MAX_ROWS_PER_REQUEST:,} rows).")
