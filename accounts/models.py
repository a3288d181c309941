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


class HealthBand(models.TextChoices):
    """The account's current health band (kept in step with its latest health snapshot by the health app)."""

    HEALTHY = "healthy", "Healthy"
    STABLE = "stable", "Stable"
    AT_RISK = "at_risk", "At risk"
    UNKNOWN = "unknown", "No score"


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
    # Denormalised by the health app from the latest snapshot, so lists filter and sort by health cheaply.
    health_score = models.DecimalField(max_digits=4, decimal_places=1, null=True, blank=True, editable=False)
    health_band = models.CharField(
        max_length=16, choices=HealthBand.choices, default=HealthBand.UNKNOWN, editable=False
    )
    health_as_of = models.DateField(null=True, blank=True, editable=False)
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
            # The band is indexed (filters, counts; it changes for a few accounts a day). The score is not: the
            # daily recompute rewrites every account's score and health_as_of, and with no index on what it
            # writes PostgreSQL updates the rows in place (HOT; the table keeps free space for it, see
            # migration 0006) instead of inserting into all of the table's indexes — 0.5 s instead of 6.5 s
            # for 100k accounts. Sorting a page by score sorts the organization's rows (top-N, in memory).
            models.Index(fields=["organization", "health_band"]),
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


# --- Raw customer signals (ARCHITECTURE.md: accounts holds them; the health app reads them) -------------


LICENSED_SEATS_METRIC = "licensed_seats"  # the usage metric whose latest reading is an account's licensed seats


class UsageRecord(TenantModel):
    """One day of one product-usage metric for an account (e.g. active_users, licensed_seats, logins).

    The natural key (account, metric, date) is the idempotency key: a row sent again with the same value
    changes nothing, with a new value it corrects the day. Millions of rows a month, never addressed by URL:
    a bigint key keeps the table and its indexes small.
    """

    id = models.BigAutoField(primary_key=True)
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="+")
    date = models.DateField(help_text="The day the usage happened, in the organization's timezone.")
    metric = models.CharField(max_length=64)
    value = models.FloatField(validators=[MinValueValidator(0)])
    received_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "account", "metric", "date"], name="usage_unique_account_metric_day",
                violation_error_message="This account already has a value for this metric on this day.",
            ),
        ]
        indexes = [
            models.Index(fields=["organization", "date"]),
            # An account's latest licensed-seats reading (the health score's seat utilisation) for every account
            # each day: a probe into this small index instead of the whole table's (0.26 s for 100k accounts
            # against 1.6 s); only seat readings, a sliver of the rows, pay for it at ingestion.
            models.Index(fields=["organization", "account", "date"], condition=Q(metric=LICENSED_SEATS_METRIC),
                         name="usage_licensed_seats"),
        ]

    def __str__(self) -> str:
        return f"{self.metric}={self.value:g} on {self.date}"


class SurveyKind(models.TextChoices):
    NPS = "nps", "NPS (0–10)"
    CSAT = "csat", "CSAT (1–5)"
    CES = "ces", "CES (1–7)"


SURVEY_SCALES = {SurveyKind.NPS: (0, 10), SurveyKind.CSAT: (1, 5), SurveyKind.CES: (1, 7)}


class SurveyResponse(TenantModel):
    """One survey answer. `external_id` (the survey tool's response id) makes ingestion idempotent."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="survey_responses")
    contact = models.ForeignKey(Contact, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    external_id = models.CharField(max_length=100, help_text="The response's id in your survey tool; unique.")
    kind = models.CharField(max_length=8, choices=SurveyKind.choices)
    score = models.PositiveSmallIntegerField()
    responded_at = models.DateTimeField()
    comment = models.TextField(blank=True)
    received_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-responded_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "external_id"], name="survey_unique_external_id",
                violation_error_message="A survey response with this id was already received.",
            ),
            models.CheckConstraint(
                condition=(Q(kind="nps", score__lte=10) | Q(kind="csat", score__gte=1, score__lte=5)
                           | Q(kind="ces", score__gte=1, score__lte=7)),
                name="survey_score_in_scale",
                violation_error_message="The score is outside the survey's scale (NPS 0–10, CSAT 1–5, CES 1–7).",
            ),
        ]
        indexes = [
            models.Index(fields=["organization", "account", "responded_at"]),
            models.Index(fields=["organization", "responded_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.score}"


class TicketPriority(models.TextChoices):
    LOW = "low", "Low"
    NORMAL = "normal", "Normal"
    HIGH = "high", "High"
    URGENT = "urgent", "Urgent"


class TicketStatus(models.TextChoices):
    OPEN = "open", "Open"
    PENDING = "pending", "Pending"
    SOLVED = "solved", "Solved"
    CLOSED = "closed", "Closed"


class SupportTicket(TenantModel):
    """A support ticket from the help desk. Sent again with the same `external_id`, it is updated in place
    (tickets change state); sent again unchanged, it is ignored."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="support_tickets")
    external_id = models.CharField(max_length=100, help_text="The ticket's id in your help desk; unique.")
    subject = models.CharField(max_length=300, blank=True)
    priority = models.CharField(max_length=8, choices=TicketPriority.choices, default=TicketPriority.NORMAL)
    status = models.CharField(max_length=8, choices=TicketStatus.choices, default=TicketStatus.OPEN)
    escalated = models.BooleanField(default=False)
    opened_at = models.DateTimeField()
    closed_at = models.DateTimeField(null=True, blank=True)
    received_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-opened_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "external_id"], name="ticket_unique_external_id",
                violation_error_message="A ticket with this id already exists.",
            ),
        ]
        indexes = [
            models.Index(fields=["organization", "account", "opened_at"]),
            models.Index(fields=["organization", "opened_at"]),
        ]

    def __str__(self) -> str:
        return self.subject or self.external_id
