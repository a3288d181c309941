"""v1 API representations of health snapshots and CSM pulses. Serializers validate and render; pulses are
written through ``health.services.pulses.pulse_record``."""
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from ..components import component_rows
from ..models import HealthSnapshot, Pulse, PulseValue
from ..services.pulses import REASON_MAX_LENGTH, pulse_stale_on


class SnapshotComponentSerializer(serializers.Serializer):
    """One component of a snapshot: what it read, what it scored and what it contributed. A missing input
    has no score and weight 0 (``effective_weight``): its weight was redistributed over the present ones."""

    component = serializers.CharField(help_text="The component's key in the health model.")
    kind = serializers.CharField()
    label = serializers.CharField()
    raw_value = serializers.FloatField(allow_null=True, help_text="The signal (ratio, NPS, days, pulse code…).")
    score = serializers.FloatField(allow_null=True, help_text="0–100; null when the input was missing.")
    weight = serializers.FloatField(help_text="The configured weight (the weights of a model sum to 100).")
    effective_weight = serializers.FloatField(help_text="The weight after redistributing missing inputs' weight.")
    contribution = serializers.FloatField(help_text="Points of the total score: score × effective_weight ÷ 100.")
    missing = serializers.BooleanField()
    observed_on = serializers.DateField(allow_null=True, help_text="Date of the newest input the component read.")


class SnapshotSerializer(serializers.ModelSerializer):
    """An account's health on one day (the organization's local date): score 0–100 (null when too little
    input), band (healthy / stable / at_risk / unknown), every component, the component costing the most
    points, and why the score moved since the snapshot 7 days earlier."""

    account = serializers.UUIDField(source="account_id", read_only=True)
    account_name = serializers.CharField(source="account.name", read_only=True)
    account_external_id = serializers.CharField(source="account.external_id", read_only=True, allow_null=True)
    model_version = serializers.UUIDField(source="model_version_id", read_only=True)
    components = serializers.SerializerMethodField()

    class Meta:
        model = HealthSnapshot
        fields = ["id", "account", "account_name", "account_external_id", "date", "score", "band", "model_version",
                  "components", "missing", "top_detractor", "top_detractor_points", "why_changed", "computed_at"]
        read_only_fields = fields

    @extend_schema_field(SnapshotComponentSerializer(many=True))
    def get_components(self, snapshot):
        return component_rows(snapshot.components, snapshot.model_version.config)


class PulseSerializer(serializers.ModelSerializer):
    """A CSM's own read of an account (good / neutral / concerned, with a reason). It counts in the score for
    ``valid_days`` days from the day it was recorded (default: the account's health model's pulse validity,
    30 days in the seed model); ``stale_on`` is the first day it no longer counts."""

    account = serializers.UUIDField(source="account_id", help_text="Account UUID.")
    account_name = serializers.CharField(source="account.name", read_only=True)
    value = serializers.ChoiceField(choices=PulseValue.choices)
    reason = serializers.CharField(max_length=REASON_MAX_LENGTH, help_text="Why: what was seen or heard.")
    valid_days = serializers.IntegerField(min_value=1, max_value=365, required=False, allow_null=True,
                                          help_text="Days it counts; omit for the model's default.")
    recorded_by = serializers.EmailField(source="recorded_by.email", read_only=True, allow_null=True,
                                         help_text="The person who recorded it (null for an API token).")
    stale_on = serializers.SerializerMethodField()
    is_stale = serializers.SerializerMethodField()

    class Meta:
        model = Pulse
        fields = ["id", "account", "account_name", "value", "reason", "valid_days", "recorded_by", "recorded_at",
                  "stale_on", "is_stale"]
        read_only_fields = ["id", "account_name", "recorded_by", "recorded_at", "stale_on", "is_stale"]

    def _organization(self):
        return self.context["request"].organization

    @extend_schema_field(serializers.DateField())
    def get_stale_on(self, pulse):
        return pulse_stale_on(pulse=pulse, organization=self._organization())

    def get_is_stale(self, pulse) -> bool:
        return pulse_stale_on(pulse=pulse, organization=self._organization()) <= self._organization().today()
