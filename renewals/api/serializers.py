"""v1 API representations of contract lines, renewals and the revenue metrics.

Serializers only validate and render: writes go through renewals.services (bulk upsert, forecast update,
close), numbers come from renewals.ledger (retention) and renewals.forecast (the forecast board). Money is a
decimal string with two places in the organization's reporting currency; rates are decimal fractions
(0.912345 = 91.2345 %), null when their denominator is empty.
"""
from rest_framework import serializers

from accounts.models import Tier
from renewals.models import ContractLine, Renewal, RenewalOutcome
from renewals.services import MAX_UPSERT_ROWS

MONEY = {"max_digits": 16, "decimal_places": 2, "read_only": True}
RATE = {"max_digits": 12, "decimal_places": 6, "read_only": True, "allow_null": True}


class ContractLineSerializer(serializers.ModelSerializer):
    """A subscription line of an account's contract. `end_date` is exclusive (the first day without
    service); empty means open-ended. `arr` is the stored amount; `mrr` = arr / 12 for display. Lines are
    written through `POST contracts/bulk/` only."""

    account = serializers.UUIDField(source="account_id", read_only=True)
    account_external_id = serializers.CharField(source="account.external_id", read_only=True, allow_null=True)
    mrr = serializers.DecimalField(max_digits=14, decimal_places=2, read_only=True)

    class Meta:
        model = ContractLine
        fields = [
            "id", "external_id", "account", "account_external_id", "product", "plan", "start_date", "end_date",
            "arr", "mrr", "quantity", "billing_period", "auto_renew", "notice_days", "is_recurring", "currency",
            "created_at", "updated_at",
        ]
        read_only_fields = fields


class ContractBulkSerializer(serializers.Serializer):
    """Up to 5,000 contract lines, created or updated on `external_id` (rows without one are created).

    Each row: `external_id`, the account as `account_id` (UUID) or `account_external_id`, `start_date`,
    optional `end_date` (exclusive), the amount once as `arr` or `mrr` (decimal strings), and optionally
    `product`, `plan`, `quantity`, `billing_period` (monthly/quarterly/annual), `auto_renew`, `notice_days`,
    `is_recurring` (false for one-time fees), `currency` (the organization's reporting currency). A row
    describes the whole line: optional fields left out take their defaults, on update too.

    With any invalid row nothing is written (400, every problem listed), unless `only_valid` is true: then
    the valid rows are written (200) and the others reported."""

    rows = serializers.ListField(
        child=serializers.DictField(), max_length=MAX_UPSERT_ROWS, allow_empty=False,
        help_text=f"The lines, at most {MAX_UPSERT_ROWS:,}.",
    )
    only_valid = serializers.BooleanField(default=False, help_text="Write the valid rows even if some are not.")


class RowErrorSerializer(serializers.Serializer):
    row = serializers.IntegerField(help_text="Index of the row in `rows`, from 0.")
    field = serializers.CharField(allow_null=True, help_text="The field at fault; null for the row as a whole.")
    message = serializers.CharField()


class ContractBulkResultSerializer(serializers.Serializer):
    written = serializers.BooleanField(help_text="False: some row was invalid and nothing was written.")
    created = serializers.IntegerField()
    updated = serializers.IntegerField()
    unchanged = serializers.IntegerField()
    rejected = serializers.IntegerField(help_text="Rows with at least one error.")
    accounts_arr_changed = serializers.IntegerField()
    line_ids = serializers.ListField(
        child=serializers.UUIDField(allow_null=True), help_text="Per row: the line's id, null if not written."
    )
    errors = RowErrorSerializer(many=True)


class RenewalSerializer(serializers.ModelSerializer):
    """A renewal: one contract end of an account. `target_arr` (ARR up for renewal) follows the contract
    lines while the renewal is open. The CSM's call — `forecast_arr`, `forecast_category`, `probability`
    (0–100), `risk_reason`, `notes`, `stage` (upcoming/engaged/negotiating) — is the only thing PATCH
    changes; closing takes `POST renewals/{id}/close/`. Closed renewals are read-only."""

    account = serializers.UUIDField(source="account_id", read_only=True)
    account_name = serializers.CharField(source="account.name", read_only=True)
    owner_email = serializers.EmailField(source="account.owner.email", read_only=True, allow_null=True)
    closed_by_email = serializers.EmailField(source="closed_by.email", read_only=True, allow_null=True)
    is_open = serializers.BooleanField(read_only=True)
    probability = serializers.IntegerField(min_value=0, max_value=100, required=False, allow_null=True)

    class Meta:
        model = Renewal
        fields = [
            "id", "account", "account_name", "owner_email", "renewal_date", "target_arr", "forecast_arr",
            "final_arr", "stage", "forecast_category", "probability", "risk_reason", "notes", "outcome",
            "is_open", "closed_at", "closed_by_email", "health_band_at_close", "created_at", "updated_at",
        ]
        read_only_fields = [
            "id", "renewal_date", "target_arr", "final_arr", "outcome", "closed_at", "health_band_at_close",
            "created_at", "updated_at",
        ]


class RenewalCloseSerializer(serializers.Serializer):
    """Close the renewal. `renewed` needs final_arr = target_arr, `upsell` more, `downsell` more than 0 and
    less, `churned` 0 (or omitted). Renewed outcomes book the next 12-month term as a contract line starting
    on the renewal date, unless `create_contract_line` is false (your billing system sends that line)."""

    outcome = serializers.ChoiceField(choices=RenewalOutcome.choices)
    final_arr = serializers.DecimalField(max_digits=14, decimal_places=2, min_value=0, required=False,
                                         allow_null=True)
    create_contract_line = serializers.BooleanField(default=True)


# --- metrics ---------------------------------------------------------------------------------------------------


class MetricQuerySerializer(serializers.Serializer):
    start = serializers.DateField(required=False, help_text="First day of the period (YYYY-MM-DD).")
    end = serializers.DateField(
        required=False,
        help_text="First day AFTER the period (exclusive, YYYY-MM-DD); retention compares revenue on `start` "
        "with revenue on `end`.",
    )
    tier = serializers.ChoiceField(choices=Tier.choices, required=False, help_text="Only accounts of this tier.")
    owner = serializers.EmailField(required=False, help_text="Only accounts owned by this person (email).")
    region = serializers.CharField(required=False, help_text="Only accounts of this region (exact).")

    def validate(self, attrs):
        start, end = attrs.get("start"), attrs.get("end")
        if (start is None) != (end is None):
            raise serializers.ValidationError({"end" if end is None else "start": ["Give start and end together."]})
        if start is not None and end <= start:
            raise serializers.ValidationError({"end": ["The end must be after the start."]})
        return attrs


class ForecastQuerySerializer(MetricQuerySerializer):
    quarter = serializers.ChoiceField(
        choices=[("current", "current")], required=False,
        help_text="`current`: the organization's current fiscal quarter (the default without start/end).",
    )

    def validate(self, attrs):
        attrs = super().validate(attrs)
        if attrs.get("quarter") and attrs.get("start"):
            raise serializers.ValidationError({"quarter": ["Give either quarter or start/end."]})
        return attrs


class WaterfallSerializer(serializers.Serializer):
    start_arr = serializers.DecimalField(**MONEY)
    new = serializers.DecimalField(**MONEY)
    expansion = serializers.DecimalField(**MONEY)
    contraction = serializers.DecimalField(**MONEY, help_text="ARR lost to contraction (positive).")
    churn = serializers.DecimalField(**MONEY, help_text="ARR lost to churn (positive).")
    reactivation = serializers.DecimalField(**MONEY)
    end_arr = serializers.DecimalField(**MONEY)


class RetentionSerializer(serializers.Serializer):
    """Retention of the accounts active on `start`, measured on `end` (METRICS.md, "Retention"), and the
    ARR movements of every account between the two days (the waterfall)."""

    start = serializers.DateField(read_only=True)
    end = serializers.DateField(read_only=True)
    grr = serializers.DecimalField(**RATE, help_text="Gross revenue retention, Σ min(R1, R0) / Σ R0.")
    nrr = serializers.DecimalField(**RATE, help_text="Net revenue retention, Σ R1 / Σ R0.")
    logo_churn_rate = serializers.DecimalField(**RATE)
    logo_retention = serializers.DecimalField(**RATE)
    gross_mrr_churn_rate = serializers.DecimalField(**RATE)
    cohort_size = serializers.IntegerField(read_only=True)
    churned_logos = serializers.IntegerField(read_only=True)
    r0_total = serializers.DecimalField(**MONEY)
    r1_total = serializers.DecimalField(**MONEY)
    churned_r0 = serializers.DecimalField(**MONEY)
    contraction = serializers.DecimalField(**MONEY)
    expansion = serializers.DecimalField(**MONEY)
    movements = WaterfallSerializer(read_only=True)


class ForecastBucketSerializer(serializers.Serializer):
    key = serializers.CharField(read_only=True)
    label = serializers.CharField(read_only=True)
    count = serializers.IntegerField(read_only=True)
    target_arr = serializers.DecimalField(**MONEY)
    expected_arr = serializers.DecimalField(**MONEY)


class AtRiskBucketSerializer(serializers.Serializer):
    key = serializers.CharField(read_only=True, help_text="category (only), health (only) or both")
    label = serializers.CharField(read_only=True)
    count = serializers.IntegerField(read_only=True)
    target_arr = serializers.DecimalField(**MONEY)
    expected_arr = serializers.DecimalField(**MONEY)


class ClosedBandBucketSerializer(serializers.Serializer):
    key = serializers.CharField(read_only=True, help_text="The health band when closed; empty = not recorded.")
    label = serializers.CharField(read_only=True)
    closed_count = serializers.IntegerField(read_only=True)
    renewed_count = serializers.IntegerField(read_only=True)
    target_arr = serializers.DecimalField(**MONEY)
    final_arr = serializers.DecimalField(**MONEY)
    logo_renewal_rate = serializers.DecimalField(**RATE)


class ForecastSerializer(serializers.Serializer):
    """The forecast board of a period (METRICS.md, "Renewals"; definitions in renewals/forecast.py)."""

    start = serializers.DateField(read_only=True)
    end_exclusive = serializers.DateField(read_only=True)
    renewals_count = serializers.IntegerField(read_only=True)
    renewals_due = serializers.DecimalField(**MONEY)
    open_count = serializers.IntegerField(read_only=True)
    open_target = serializers.DecimalField(**MONEY)
    open_expected = serializers.DecimalField(**MONEY)
    closed_count = serializers.IntegerField(read_only=True)
    closed_target = serializers.DecimalField(**MONEY)
    closed_final = serializers.DecimalField(**MONEY)
    forecast = serializers.DecimalField(**MONEY)
    forecast_pct_of_due = serializers.DecimalField(**RATE)
    at_risk_arr = serializers.DecimalField(**MONEY)
    at_risk_count = serializers.IntegerField(read_only=True)
    renewed_count = serializers.IntegerField(read_only=True)
    churned_count = serializers.IntegerField(read_only=True)
    gross_renewal_rate = serializers.DecimalField(**RATE)
    net_renewal_rate = serializers.DecimalField(**RATE)
    logo_renewal_rate = serializers.DecimalField(**RATE)
    by_category = ForecastBucketSerializer(many=True, read_only=True)
    by_risk_reason = ForecastBucketSerializer(many=True, read_only=True)
    at_risk_split = AtRiskBucketSerializer(many=True, read_only=True)
    closed_by_health_band = ClosedBandBucketSerializer(many=True, read_only=True)
