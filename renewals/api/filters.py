"""Query-string filtering of the v1 contract line and renewal lists."""
import django_filters
from django.db.models import Q

from accounts.models import Tier
from renewals.models import ContractLine, ForecastCategory, Renewal, RenewalOutcome, RenewalStage, RiskReason


class ContractLineFilter(django_filters.FilterSet):
    account = django_filters.UUIDFilter(field_name="account_id", help_text="Account UUID.")
    account_external_id = django_filters.CharFilter(
        field_name="account__external_id", help_text="The account's id in your CRM or billing system (exact)."
    )
    external_id = django_filters.CharFilter(help_text="The line's id in your billing system (exact).")
    is_recurring = django_filters.BooleanFilter()
    end_date = django_filters.DateFromToRangeFilter(
        help_text="End date range, inclusive: end_date_after=YYYY-MM-DD and/or end_date_before=YYYY-MM-DD."
    )
    active_on = django_filters.DateFilter(
        method="filter_active_on",
        help_text="Only lines running on this day (start_date ≤ day < end_date, or open-ended).",
    )
    updated_since = django_filters.IsoDateTimeFilter(
        field_name="updated_at", lookup_expr="gte",
        help_text="Only lines changed at or after this ISO 8601 timestamp (for incremental syncs).",
    )

    class Meta:
        model = ContractLine
        fields = ["account", "external_id", "is_recurring"]

    def filter_active_on(self, queryset, name, value):
        if value is None:
            return queryset
        return queryset.filter(Q(start_date__lte=value) & (Q(end_date__isnull=True) | Q(end_date__gt=value)))


class RenewalFilter(django_filters.FilterSet):
    account = django_filters.UUIDFilter(field_name="account_id", help_text="Account UUID.")
    renewal_date = django_filters.DateFromToRangeFilter(
        help_text="Renewal date range, inclusive: renewal_date_after=YYYY-MM-DD and/or "
        "renewal_date_before=YYYY-MM-DD."
    )
    stage = django_filters.MultipleChoiceFilter(choices=RenewalStage.choices, help_text="Repeat for several.")
    forecast_category = django_filters.MultipleChoiceFilter(
        choices=ForecastCategory.choices, help_text="Repeat for several."
    )
    risk_reason = django_filters.ChoiceFilter(choices=[c for c in RiskReason.choices if c[0]])
    outcome = django_filters.ChoiceFilter(choices=RenewalOutcome.choices)
    is_open = django_filters.BooleanFilter(method="filter_is_open", help_text="true: not closed; false: closed.")
    owner = django_filters.CharFilter(
        field_name="account__owner__email", lookup_expr="iexact", help_text="The account owner's email address."
    )
    tier = django_filters.ChoiceFilter(field_name="account__tier", choices=Tier.choices, help_text="Account tier.")

    class Meta:
        model = Renewal
        fields = ["account", "stage", "forecast_category", "outcome"]

    def filter_is_open(self, queryset, name, value):
        if value is None:
            return queryset
        closed = Q(stage=RenewalStage.CLOSED)
        return queryset.exclude(closed) if value else queryset.filter(closed)
