"""Contracts: the subscription lines every revenue number is computed from (see renewals/ledger.py).

Money model (METRICS.md, "Revenue basis"): a line's **ARR is the one stored amount**; MRR is derived as
ARR / 12. ARR is the source of truth because it is the lossless direction: any MRR given in cents maps to
an exact ARR in cents (× 12), while an ARR such as 10,000.00 has no exact MRR in cents (833.33 × 12 =
9,999.96). Totals are summed in ARR and only divided by 12 for display.
"""
from decimal import ROUND_HALF_UP, Decimal

from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
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
