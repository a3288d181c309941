"""Contracts: the subscription lines every revenue number is computed from (see renewals/ledger.py).

Money model (METRICS.md, "Revenue basis"): a line's **ARR is the one stored amount**; MRR is derived as
ARR / 12. ARR is the source of truth because it is the lossless direction: any MRR given in cents maps to
an exact ARR in cents (× 12), while an ARR such as 10,000.00 has no exact MRR in cents (833.33 × 12 =
9,999.96). Totals are summed in ARR and only divided by 12 for display.
"""
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

from csops.tenancy.models import TenantModel

CENT = Decimal("0.01")
MONTHS_PER_YEAR = 12


class BillingPeriod(models.TextChoices):
    MONTHLY = "monthly", "Monthly"
    QUARTERLY = "quarterly", "Quarterly"
    ANNUAL = "annual", "Annual"


def mrr_of(arr: Decimal) -> Decimal:
    """MRR shown for an ARR amount: ARR / 12, rounded half-up to the cent (display only, never summed)."""
    return (arr / MONTHS_PER_YEAR).quantize(CENT, rounding=ROUND_HALF_UP)


def arr_of_mrr(mrr: Decimal) -> Decimal:
    """ARR of an MRR amount: exactly 12 × MRR (METRICS.md)."""
    return mrr * MONTHS_PER_YEAR


class ContractLine(TenantModel):
    """One subscription line of a customer's contract: a product/plan billed from `start_date` up to (not
    including) `end_date`; `end_date` empty means open-ended (evergreen, month-to-month until cancelled).

    `arr` is the line's total annual recurring revenue (quantity already priced in), in the organization's
    reporting currency. Lines with `is_recurring=False` (one-time fees, services) are kept for the record
    but are not recurring revenue and are excluded from every metric. A recurring line has a positive ARR:
    free or zero-priced lines are recorded as non-recurring, so "active" (a line running on the day) and
    "has recurring revenue" are the same thing everywhere.
    """

    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE, related_name="contract_lines")
    external_id = models.CharField(
        max_length=100, null=True, blank=True,
        help_text="The line's id in your billing system or CRM; unique per organization (the upsert key).",
    )
    product = models.CharField(max_length=200, blank=True)
    plan = models.CharField(max_length=200, blank=True)
    start_date = models.DateField(help_text="First day of service.")
    end_date = models.DateField(
        null=True, blank=True,
        help_text="First day WITHOUT service (exclusive): a 2025 calendar-year term is 2025-01-01 to 2026-01-01. "
                  "Empty = open-ended.",
    )
    arr = models.DecimalField(
        "ARR", max_digits=14, decimal_places=2, validators=[MinValueValidator(Decimal("0"))],
        help_text="Annual recurring revenue of the line (12 × MRR), in the organization's reporting currency.",
    )
    quantity = models.PositiveIntegerField(default=1, help_text="Seats/units; informational, ARR is the total.")
    billing_period = models.CharField(max_length=16, choices=BillingPeriod.choices, default=BillingPeriod.ANNUAL)
    auto_renew = models.BooleanField(default=False)
    notice_days = models.PositiveSmallIntegerField(
        default=0, help_text="Days before the end date by which a non-renewal notice must be given."
    )
    is_recurring = models.BooleanField(
        default=True, help_text="False for one-time fees and services: not recurring revenue, in no metric."
    )
    currency = models.CharField(max_length=3, help_text="ISO 4217 code; must be the organization's reporting currency.")
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["start_date", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "external_id"], name="contract_line_unique_external_id_per_org",
                condition=Q(external_id__isnull=False),
                violation_error_message="A contract line with this external id already exists in this organization.",
            ),
            models.CheckConstraint(
                condition=Q(end_date__isnull=True) | Q(end_date__gt=models.F("start_date")),
                name="contract_line_ends_after_start",
                violation_error_message="The end date (exclusive) must be after the start date.",
            ),
            models.CheckConstraint(
                condition=Q(arr__gt=0) | Q(is_recurring=False, arr__gte=0),
                name="contract_line_recurring_has_positive_arr",
                violation_error_message="A recurring line needs a positive amount.",
            ),
        ]
        indexes = [
            models.Index(fields=["organization", "account", "start_date"]),
            models.Index(fields=["organization", "end_date"]),
        ]

    def __str__(self) -> str:
        label = self.product or self.plan or "Contract line"
        return f"{label} ({self.start_date} – {self.end_date or 'open'})"

    @property
    def mrr(self) -> Decimal:
        return mrr_of(self.arr)

    def clean(self) -> None:
        errors: dict[str, list[str]] = {}
        if self.start_date and self.end_date and self.end_date <= self.start_date:
            errors.setdefault("end_date", []).append(
                "The end date is exclusive (the first day without service) and must be after the start date."
            )
        if self.arr is not None and self.is_recurring and self.arr <= 0:
            errors.setdefault("arr", []).append(
                "A recurring line needs a positive MRR/ARR; record free or zero-priced lines as non-recurring."
            )
        if self.currency:
            self.currency = self.currency.strip().upper()
        if self.organization_id is not None:
            expected = self.organization.reporting_currency
            if self.currency != expected:
                errors.setdefault("currency", []).append(
                    f"Only the organization's reporting currency ({expected}) is supported for now; "
                    f"got {self.currency or 'none'!r}. Convert the amount before sending it."
                )
        account_elsewhere = (
            self.account_id is not None and self.organization_id is not None
            and self.account.organization_id != self.organization_id
        )
        if account_elsewhere:
            errors.setdefault("account", []).append("Unknown account.")
        if errors:
            raise ValidationError(errors)


class RenewalStage(models.TextChoices):
    UPCOMING = "upcoming", "Upcoming"
    ENGAGED = "engaged", "Engaged"
    NEGOTIATING = "negotiating", "Negotiating"
    CLOSED = "closed", "Closed"


class ForecastCategory(models.TextChoices):
    COMMIT = "commit", "Commit"
    LIKELY = "likely", "Likely"
    AT_RISK = "at_risk", "At risk"
    LOST = "lost", "Lost"


class RiskReason(models.TextChoices):
    NONE = "", "None"
    LOW_USAGE = "low_usage", "Low usage"
    CHAMPION_LEFT = "champion_left", "Champion left"
    BUDGET = "budget", "Budget"
    COMPETITOR = "competitor", "Competitor"
    PRODUCT_GAPS = "product_gaps", "Product gaps"
    SUPPORT_ISSUES = "support_issues", "Support issues"
    OTHER = "other", "Other"


class RenewalOutcome(models.TextChoices):
    RENEWED = "renewed", "Renewed"
    UPSELL = "upsell", "Renewed with upsell"
    DOWNSELL = "downsell", "Renewed with downsell"
    CHURNED = "churned", "Churned"


RENEWED_OUTCOMES = (RenewalOutcome.RENEWED, RenewalOutcome.UPSELL, RenewalOutcome.DOWNSELL)


class Renewal(TenantModel):
    """One contract end of an account: the ARR up for renewal on `renewal_date` and how it is going.

    `renewal_date` is the contract end date (the ledger's exclusive end: the first day without service, so
    the day the next term would start). `target_arr` is the ARR of the account's recurring lines ending that
    day, kept current by `renewals_sync` while the renewal is open. `forecast_arr` is the CSM's call (empty
    = no call made); `final_arr` the ARR renewed once closed (0 when churned). Closed renewals are history
    and read-only. Forecast numbers over renewals are computed in renewals/forecast.py only.
    """

    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE, related_name="renewals")
    renewal_date = models.DateField(help_text="The contract end date (first day without service under it).")
    target_arr = models.DecimalField(
        "target ARR", max_digits=14, decimal_places=2, validators=[MinValueValidator(Decimal("0"))],
        help_text="ARR up for renewal: the ARR of the account's recurring lines ending on the renewal date.",
    )
    forecast_arr = models.DecimalField(
        "forecast ARR", max_digits=14, decimal_places=2, null=True, blank=True,
        validators=[MinValueValidator(Decimal("0"))], help_text="The CSM's call; empty when no call is made.",
    )
    final_arr = models.DecimalField(
        "final ARR", max_digits=14, decimal_places=2, null=True, blank=True,
        validators=[MinValueValidator(Decimal("0"))], help_text="ARR renewed, set when closed (0 if churned).",
    )
    stage = models.CharField(max_length=16, choices=RenewalStage.choices, default=RenewalStage.UPCOMING)
    forecast_category = models.CharField(max_length=16, choices=ForecastCategory.choices, null=True, blank=True)
    probability = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MaxValueValidator(100)], help_text="Chance of renewal, 0–100 %.",
    )
    risk_reason = models.CharField(max_length=20, choices=RiskReason.choices, default="", blank=True)
    notes = models.TextField(blank=True)
    outcome = models.CharField(max_length=16, choices=RenewalOutcome.choices, null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    health_band_at_close = models.CharField(
        max_length=16, blank=True, default="",
        help_text="The account's health band when the renewal closed (empty: closed before it was recorded).",
    )
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["renewal_date", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "account", "renewal_date"], name="renewal_unique_per_account_date",
                violation_error_message="This account already has a renewal on this date.",
            ),
            models.CheckConstraint(
                condition=Q(probability__isnull=True) | Q(probability__lte=100), name="renewal_probability_0_100",
                violation_error_message="Probability is a percentage from 0 to 100.",
            ),
        ]
        indexes = [
            models.Index(fields=["organization", "renewal_date"]),
            models.Index(fields=["organization", "stage", "renewal_date"]),
        ]

    def __str__(self) -> str:
        return f"Renewal of {self.account} on {self.renewal_date}"

    @property
    def is_open(self) -> bool:
        return self.stage != RenewalStage.CLOSED

    @property
    def owner(self):
        return self.account.owner


DEFAULT_CHECKPOINT_DAYS = (180, 120, 90, 30)


class RenewalCheckpoint(TenantModel):
    """A point before each renewal date (T-`days_before`) at which the owner gets a renewal task."""

    days_before = models.PositiveIntegerField(validators=[MinValueValidator(1), MaxValueValidator(730)])

    class Meta:
        ordering = ["-days_before"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "days_before"], name="renewal_checkpoint_unique_days_per_org",
                violation_error_message="This checkpoint already exists.",
            ),
        ]

    def __str__(self) -> str:
        return f"T-{self.days_before}"


class RenewalCheckpointHit(TenantModel):
    """The durable record that checkpoint T-`days_before` of a renewal has been raised (with its task).

    The checkpoint sweep inserts these first; the unique constraint decides which run raises the task, so
    neither a second run, a concurrent run, nor completing or deleting the task brings it back."""

    renewal = models.ForeignKey(Renewal, on_delete=models.CASCADE, related_name="checkpoint_hits")
    days_before = models.PositiveIntegerField()
    task = models.ForeignKey("playbooks.Task", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-days_before"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "renewal", "days_before"], name="renewal_checkpoint_hit_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"T-{self.days_before} of {self.renewal_id}"
