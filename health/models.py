"""Health models (versioned configuration), daily snapshots, CSM pulses, alerts and their Slack deliveries.

The scoring itself is the pure engine in ``health/scoring/``; these tables hold what configures it and what
it produced. A snapshot is one row per (account, day) with every component inside it (JSON), so writing an
account's snapshot is a single-row write: a crashed run leaves the old row or the new one, never half.
"""
from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

from csops.tenancy.models import Organization, TenantModel

from .scoring import HealthModelConfig


class SegmentField(models.TextChoices):
    DEFAULT = "", "Default (every account without a segment model)"
    TIER = "tier", "Tier"
    LIFECYCLE_STAGE = "lifecycle_stage", "Lifecycle stage"


class HealthModel(TenantModel):
    """A named health model applied to one segment (a tier or a lifecycle stage) or, as the default, to every
    account no segment model claims. Its configuration lives in versions; the published one is in use.

    Which model scores an account: the one for its lifecycle stage, else the one for its tier, else the default.
    """

    name = models.CharField(max_length=100)
    description = models.TextField(blank=True)
    segment_field = models.CharField(max_length=16, choices=SegmentField.choices, blank=True, default="")
    segment_value = models.CharField(max_length=32, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["segment_field", "segment_value", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "name"], name="healthmodel_unique_name",
                violation_error_message="A health model with this name already exists.",
            ),
            models.UniqueConstraint(
                fields=["organization", "segment_field", "segment_value"], name="healthmodel_one_per_segment",
                violation_error_message="Another health model already applies to this segment.",
            ),
            models.CheckConstraint(
                condition=Q(segment_field="", segment_value="") | (~Q(segment_field="") & ~Q(segment_value="")),
                name="healthmodel_segment_complete",
                violation_error_message="Choose both a segment and its value, or neither for the default model.",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_default(self) -> bool:
        return self.segment_field == ""


class VersionStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    PUBLISHED = "published", "Published"
    RETIRED = "retired", "Retired"


class HealthModelVersion(TenantModel):
    """One version of a model's configuration (``HealthModelConfig.to_dict()``). Drafts are edited and
    previewed; publishing one retires the previous published version. Published and retired versions are
    never edited: snapshots point at the exact version that scored them."""

    model = models.ForeignKey(HealthModel, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    status = models.CharField(max_length=16, choices=VersionStatus.choices, default=VersionStatus.DRAFT)
    config = models.JSONField(help_text="HealthModelConfig.to_dict(): components, weights, curves, band edges.")
    notes = models.TextField(blank=True, help_text="What changed in this version, and why.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    published_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["model", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "model", "number"], name="healthversion_unique_number"),
            models.UniqueConstraint(
                fields=["organization", "model"], condition=Q(status="published"), name="healthversion_one_published",
                violation_error_message="This model already has a published version.",
            ),
            models.UniqueConstraint(
                fields=["organization", "model"], condition=Q(status="draft"), name="healthversion_one_draft",
                violation_error_message="This model already has a draft.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.model.name} v{self.number}"

    def engine_config(self) -> HealthModelConfig:
        """The frozen engine config; its ``version`` is this row's id (what snapshots record)."""
        return HealthModelConfig.from_dict({**self.config, "version": str(self.pk)})


class HealthSnapshot(TenantModel):
    """An account's health on one day (the organization's local date).

    ``components`` is ``ScoreResult.components`` for the account as one object of parallel arrays (component,
    raw_value, score, effective_weight, contribution, missing, observed_on); each component's kind, label and
    weight are its model version's (``health.components``: ``component_rows`` reads it back whole).
    """

    # 100k rows a day at 100k accounts: no index of its own on the organization (every query on the table starts
    # with it, and the unique and composite indexes below all lead with it), one index less to fill daily.
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+", editable=False,
                                     db_index=False)
    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE, related_name="health_snapshots")
    date = models.DateField()
    model_version = models.ForeignKey(HealthModelVersion, on_delete=models.PROTECT, related_name="snapshots")
    score = models.DecimalField(max_digits=4, decimal_places=1, null=True, blank=True)
    band = models.CharField(max_length=16)
    components = models.JSONField(default=dict)  # health.components.documents
    missing = models.JSONField(default=list, help_text="Keys of the components whose input was missing.")
    top_detractor = models.CharField(max_length=64, blank=True)
    top_detractor_points = models.FloatField(null=True, blank=True)
    why_changed = models.TextField(blank=True, help_text="What moved the score since the snapshot 7 days earlier.")
    computed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-date"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "account", "date"], name="snapshot_unique_account_day"),
        ]
        indexes = [
            models.Index(fields=["organization", "date", "band"]),
            models.Index(fields=["organization", "model_version", "date"]),
        ]

    def __str__(self) -> str:
        return f"{self.score} ({self.band}) on {self.date}"


class PulseValue(models.TextChoices):
    GOOD = "good", "Good"
    NEUTRAL = "neutral", "Neutral"
    CONCERNED = "concerned", "Concerned"


class Pulse(TenantModel):
    """A CSM's own read of an account. It counts in the score for ``valid_days`` days from the day it was
    recorded (the model's pulse component decides the default), then it is stale."""

    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE, related_name="pulses")
    value = models.CharField(max_length=16, choices=PulseValue.choices)
    reason = models.TextField()
    valid_days = models.PositiveSmallIntegerField(default=30, validators=[MinValueValidator(1), MaxValueValidator(365)])
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-recorded_at"]
        indexes = [models.Index(fields=["organization", "account", "recorded_at"])]

    def __str__(self) -> str:
        return f"{self.get_value_display()} on {self.recorded_at:%Y-%m-%d}"


class AlertKind(models.TextChoices):
    ENTERED_AT_RISK = "entered_at_risk", "Entered At risk"
    SCORE_DROP = "score_drop", "Score dropped"


class HealthAlert(TenantModel):
    """One health event on an account (entered At risk, or fell more than the org's threshold in 7 days),
    raised at most once per (account, kind, day). It produces a risk task, a notification and a Slack post."""

    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE, related_name="health_alerts")
    kind = models.CharField(max_length=32, choices=AlertKind.choices)
    date = models.DateField(help_text="The snapshot day on which the event was detected.")
    model_version = models.ForeignKey(
        HealthModelVersion, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    score_before = models.DecimalField(max_digits=4, decimal_places=1, null=True, blank=True)
    score_after = models.DecimalField(max_digits=4, decimal_places=1, null=True, blank=True)
    band_before = models.CharField(max_length=16, blank=True)
    band_after = models.CharField(max_length=16, blank=True)
    message = models.TextField()
    task = models.ForeignKey("playbooks.Task", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "account", "kind", "date"], name="alert_once_per_event"),
        ]
        indexes = [models.Index(fields=["organization", "date"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.account_id} on {self.date}"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SENT = "sent", "Sent"
    RETRYING = "retrying", "Retrying"
    FAILED = "failed", "Failed"
    RECORDED = "recorded", "Recorded (no webhook configured)"


class SlackDelivery(TenantModel):
    """The Slack message of one alert and every attempt to deliver it (the delivery log ops admins read)."""

    alert = models.ForeignKey(HealthAlert, on_delete=models.CASCADE, related_name="slack_deliveries")
    webhook_url = models.CharField(max_length=500, blank=True)
    payload = models.JSONField()
    status = models.CharField(max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "alert"], name="slack_one_delivery_per_alert"),
        ]
        indexes = [models.Index(fields=["organization", "status", "next_attempt_at"])]

    def __str__(self) -> str:
        return f"Slack {self.get_status_display()} ({self.attempts} attempts)"
