"""v1 API representations of health models and their versions.

A version's ``config`` is the engine's ``HealthModelConfig.to_dict()``: ``components`` (each ``key``, ``kind``,
``label``, ``weight`` in % — the weights sum to 100 —, ``points`` as ``[raw, score]`` pairs, empty for the
kind's default curve, and kind ``params``), ``healthy_min``, ``at_risk_below`` and ``min_present_weight``.
Serializers only validate shapes; what makes a model valid is the engine's (400 with every problem listed).
"""
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from ..models import HealthModel, HealthModelVersion, SegmentField, VersionStatus
from ..scoring import KIND_SPECS
from ..services.models import health_model_segment_label


class HealthModelVersionSerializer(serializers.ModelSerializer):
    created_by = serializers.EmailField(source="created_by.email", read_only=True, allow_null=True, default=None)
    published_by = serializers.EmailField(source="published_by.email", read_only=True, allow_null=True, default=None)
    config = serializers.JSONField(read_only=True, help_text="HealthModelConfig.to_dict() (see the module doc).")
    status = serializers.CharField(read_only=True, help_text="draft | published (in use) | retired")

    class Meta:
        model = HealthModelVersion
        fields = ["id", "number", "status", "notes", "config", "created_by", "created_at", "published_by",
                  "published_at"]
        read_only_fields = fields


class HealthModelVersionSummarySerializer(HealthModelVersionSerializer):
    class Meta(HealthModelVersionSerializer.Meta):
        fields = ["id", "number", "status", "notes", "created_at", "published_at"]
        read_only_fields = fields


def _version(model: HealthModel, status: str):
    return next((v for v in model.versions.all() if v.status == status), None)  # prefetched, newest first


class HealthModelSerializer(serializers.ModelSerializer):
    """A health model: the segment it scores (``segment_field`` tier | lifecycle_stage, or empty for the
    default model), the published version in use with its configuration, the draft if any, and every version
    (newest first; their configurations in the detail view)."""

    is_default = serializers.BooleanField(read_only=True)
    segment_label = serializers.SerializerMethodField()
    published = serializers.SerializerMethodField()
    draft = serializers.SerializerMethodField()
    versions = serializers.SerializerMethodField()

    class Meta:
        model = HealthModel
        fields = ["id", "name", "description", "segment_field", "segment_value", "segment_label", "is_default",
                  "published", "draft", "versions", "created_at", "updated_at"]
        read_only_fields = fields

    def get_segment_label(self, model) -> str:
        return health_model_segment_label(model.segment_field, model.segment_value)

    @extend_schema_field(HealthModelVersionSerializer(allow_null=True))
    def get_published(self, model):
        version = _version(model, VersionStatus.PUBLISHED)
        return HealthModelVersionSerializer(version).data if version else None

    @extend_schema_field(HealthModelVersionSerializer(allow_null=True))
    def get_draft(self, model):
        version = _version(model, VersionStatus.DRAFT)
        return HealthModelVersionSerializer(version).data if version else None

    @extend_schema_field(HealthModelVersionSerializer(many=True))
    def get_versions(self, model):
        serializer = HealthModelVersionSerializer if self.context.get("with_configs") else \
            HealthModelVersionSummarySerializer
        return serializer(model.versions.all(), many=True).data


class HealthModelCreateSerializer(serializers.Serializer):
    """A new segment model. It starts with a draft copied from the default model's published configuration
    and scores nothing until that draft is published."""

    name = serializers.CharField(max_length=100)
    segment_field = serializers.ChoiceField(choices=[SegmentField.TIER, SegmentField.LIFECYCLE_STAGE])
    segment_value = serializers.CharField(max_length=32, help_text="A tier (enterprise, mid_market, smb, "
                                          "tech_touch) or a lifecycle stage (onboarding, adopting, mature, "
                                          "at_renewal, churned).")
    description = serializers.CharField(required=False, allow_blank=True, default="")


class HealthModelUpdateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    description = serializers.CharField(required=False, allow_blank=True, default="")


class ComponentInputSerializer(serializers.Serializer):
    kind = serializers.CharField(max_length=32, help_text="One of: " + ", ".join(KIND_SPECS) + ".")
    weight = serializers.FloatField(help_text="Percent of the score; all weights sum to 100.")
    key = serializers.CharField(required=False, allow_blank=True, default="", max_length=64,
                                help_text="Keep an existing component's key; empty for a new one.")
    label = serializers.CharField(required=False, allow_blank=True, default="", max_length=80)
    points = serializers.ListField(
        child=serializers.ListField(child=serializers.FloatField(), min_length=2, max_length=2),
        required=False, default=list, help_text="[[raw, score], …], raw increasing; empty = the kind's default.",
    )
    params = serializers.DictField(required=False, default=dict, help_text="Kind parameters (see KIND_SPECS).")


class DraftInputSerializer(serializers.Serializer):
    """The draft's whole configuration (it replaces the draft's; a draft is started if there is none)."""

    components = ComponentInputSerializer(many=True, allow_empty=False)
    healthy_min = serializers.FloatField(default=70.0)
    at_risk_below = serializers.FloatField(default=40.0)
    min_present_weight = serializers.FloatField(default=0.0)
    notes = serializers.CharField(required=False, allow_blank=True, allow_null=True, default=None)


class PublishInputSerializer(serializers.Serializer):
    notes = serializers.CharField(required=False, allow_blank=True, allow_null=True, default=None,
                                  help_text="What changed and why (kept with the version).")
