from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

from csops.tenancy.models import TenantModel


class Tier(models.TextChoices):
    ENTERPRISE = "enterprise", "Enterprise"
    MID_MARKET = "mid_market", "Mid-market"
    SMB = "smb", "SMB"
    TECH_TOUCH = "tech_touch", "Tech-touch"


class LifecycleStage(models.TextChoices):
    ONBOARDING = "onboarding", "Onboarding"
    ADOPTING = "adopting", "Adopting"
    MATURE = "mature", "Mature"
    AT_RENEWAL = "at_renewal", "At renewal"
    CHURNED = "churned", "Churned"


class Account(TenantModel):
    """A customer of the tenant."""

    name = models.CharField(max_length=200)
    external_id = models.CharField(
        max_length=100, null=True, blank=True,
        help_text="The id in your CRM or billing system; unique per organization.",
    )
    domain = models.CharField(max_length=200, blank=True)
    industry = models.CharField(max_length=100, blank=True)
    tier = models.CharField(max_length=16, choices=Tier.choices, default=Tier.SMB)
    lifecycle_stage = models.CharField(max_length=16, choices=LifecycleStage.choices, default=LifecycleStage.ONBOARDING)
    region = models.CharField(max_length=64, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="owned_accounts"
    )
    # Typed by hand or imported for now; the renewals app keeps it in sync from contract lines.
    arr = models.DecimalField(
        "ARR", max_digits=14, decimal_places=2, default=Decimal("0"), validators=[MinValueValidator(Decimal("0"))]
    )
    renewal_date = models.DateField(null=True, blank=True)
    # Denormalised by touchpoint_log so list pages sort and filter without scanning the timeline.
    last_touchpoint_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "external_id"], name="account_unique_external_id_per_org",
                condition=Q(external_id__isnull=False),
                violation_error_message="An account with this external id already exists in this organization.",
            )
        ]
        indexes = [
            models.Index(fields=["organization", "owner", "name"]),
            models.Index(fields=["organization", "name"]),
            models.Index(fields=["organization", "arr"]),
            models.Index(fields=["organization", "renewal_date"]),
            models.Index(fields=["organization", "tier", "lifecycle_stage"]),
        ]

    def __str__(self) -> str:
        return self.name


class ContactRole(models.TextChoices):
    CHAMPION = "champion", "Champion"
    DECISION_MAKER = "decision_maker", "Decision maker"
    EXECUTIVE_SPONSOR = "executive_sponsor", "Executive sponsor"
    USER = "user", "User"


class Contact(TenantModel):
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="contacts")
    name = models.CharField(max_length=200)
    email = models.EmailField(blank=True)
    title = models.CharField(max_length=200, blank=True)
    role = models.CharField(max_length=20, choices=ContactRole.choices, default=ContactRole.USER)
    is_primary = models.BooleanField(default=False)
    phone = models.CharField(max_length=50, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-is_primary", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "account", "email"], name="contact_unique_email_per_account",
                condition=~Q(email=""),
                violation_error_message="This account already has a contact with this email.",
            ),
            models.UniqueConstraint(
                fields=["organization", "account"], name="contact_one_primary_per_account",
                condition=Q(is_primary=True),
                violation_error_message="This account already has a primary contact.",
            ),
        ]
        indexes = [models.Index(fields=["organization", "account", "name"])]

    def __str__(self) -> str:
        return self.name


class TouchpointKind(models.TextChoices):
    CALL = "call", "Call"
    MEETING = "meeting", "Meeting"
    EMAIL = "email", "Email"
    QBR = "qbr", "QBR"
    NOTE = "note", "Note"


class Touchpoint(TenantModel):
    """One entry of an account's activity timeline."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="touchpoints")
    kind = models.CharField(max_length=16, choices=TouchpointKind.choices, default=TouchpointKind.CALL)
    occurred_at = models.DateTimeField(default=timezone.now)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    summary = models.TextField()
    attendees = models.JSONField(default=list, blank=True, help_text="Names or emails of the people present.")
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-occurred_at"]
        indexes = [
            models.Index(fields=["organization", "account", "occurred_at"]),
            models.Index(fields=["organization", "occurred_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} on {self.occurred_at:%Y-%m-%d}"


class OwnerAssignment(TenantModel):
    """History of an account's owner CSM: one row per change."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="owner_history")
    previous_owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    new_owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reason = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["organization", "account", "created_at"])]


class ImportStatus(models.TextChoices):
    VALIDATED = "validated", "Validated, awaiting confirmation"
    COMMITTED = "committed", "Imported"
    DISCARDED = "discarded", "Discarded"


class ImportBatch(TenantModel):
    """One CSV import: the validation report, then (on confirmation) what was written."""

    kind = models.CharField(max_length=32, default="accounts")
    file_name = models.CharField(max_length=255)
    status = models.CharField(max_length=16, choices=ImportStatus.choices, default=ImportStatus.VALIDATED)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    committed_at = models.DateTimeField(null=True, blank=True)
    total_rows = models.PositiveIntegerField(default=0)
    valid_rows = models.PositiveIntegerField(default=0)
    error_rows = models.PositiveIntegerField(default=0)
    created_count = models.PositiveIntegerField(default=0)
    updated_count = models.PositiveIntegerField(default=0)
    contacts_created = models.PositiveIntegerField(default=0)
    contacts_updated = models.PositiveIntegerField(default=0)
    only_valid_rows = models.BooleanField(default=False)
    # The parsed upload and its report, kept so confirmation imports exactly what was validated.
    rows = models.JSONField(default=list, blank=True)
    errors = models.JSONField(default=list, blank=True)
    header = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["organization", "created_at"])]

    def __str__(self) -> str:
        return f"{self.file_name} ({self.get_status_display()})"
