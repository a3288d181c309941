"""Query-string filtering and ordering of the v1 API lists (accounts, contacts, touchpoints; tasks reuse the
backends defined here)."""
import datetime as dt

import django_filters
from django.db.models import DateField, Value
from django.db.models.functions import Coalesce
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.contrib.django_filters import DjangoFilterExtension
from drf_spectacular.drainage import add_trace_message
from rest_framework.filters import OrderingFilter

from accounts.models import Account, Contact, ContactRole, LifecycleStage, Tier, Touchpoint, TouchpointKind


class OrgFilterBackend(DjangoFilterBackend):
    """django-filter's backend; a class of its own so that the schema extension below can describe it."""


class OrgFilterBackendSchema(DjangoFilterExtension):
    """Describe filter parameters from `view.filterset_class` alone.

    The stock extension builds `Model.objects.none()` to pick the filterset, which raises outside a tenant
    context (schema generation has none), and asks the view for its queryset, which scoped viewsets don't
    have at introspection time."""

    target_class = "accounts.api.filters.OrgFilterBackend"
    match_subclasses = True
    priority = 1

    def get_schema_operation_parameters(self, auto_schema, *args, **kwargs):
        filterset_class = getattr(auto_schema.view, "filterset_class", None)
        if filterset_class is None:
            return []
        model = filterset_class._meta.model
        parameters = []
        with add_trace_message(filterset_class):
            for field_name, filter_field in filterset_class.base_filters.items():
                parameters += self.resolve_filter_field(auto_schema, model, filterset_class, field_name, filter_field)
        return parameters


class CursorOrderingFilter(OrderingFilter):
    """`?ordering=` that keeps cursor pagination exact.

    Cursor pagination positions a page by the value of the first ordering column of its last row. That
    value must not be NULL, and rows sharing it need a stable order. So every ordering ends with `id`, and a
    nullable column named in `view.ordering_nulls_last` is sorted through a non-null stand-in (the column
    with NULL replaced by a value past either end), which also puts empty values last in both directions.
    """

    standin_suffix = "_sort"

    def _nullable(self, view) -> dict:
        return getattr(view, "ordering_nulls_last", {})

    def get_ordering(self, request, queryset, view):
        ordering = super().get_ordering(request, queryset, view)
        if not ordering:
            return ordering
        nullable = self._nullable(view)
        keys = [f"{term}{self.standin_suffix}" if term.lstrip("-") in nullable else term for term in ordering]
        if not any(key.lstrip("-") in ("id", "pk") for key in keys):
            keys.append("-id" if keys[0].startswith("-") else "id")
        return tuple(keys)

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        fields = list(getattr(view, "ordering_fields", None) or [])
        for parameter in parameters:
            if parameter["name"] == self.ordering_param and fields:
                parameter["description"] = (
                    "Sort by one of these fields; prefix `-` for descending. Ties are broken by id."
                )
                parameter["schema"] = {"type": "string", "enum": [p for f in fields for p in (f, f"-{f}")]}
        return parameters

    def filter_queryset(self, request, queryset, view):
        ordering = super().get_ordering(request, queryset, view) or ()
        nullable = self._nullable(view)
        for term in ordering:
            name = term.lstrip("-")
            if name in nullable:
                low, high, output_field = nullable[name]
                past_the_end = Value(low if term.startswith("-") else high, output_field=output_field)
                queryset = queryset.annotate(**{f"{name}{self.standin_suffix}": Coalesce(name, past_the_end)})
        ordering = self.get_ordering(request, queryset, view)
        return queryset.order_by(*ordering) if ordering else queryset


# Stand-ins for nullable date columns: (value sorting first, value sorting last, field type).
DATE_NULLS_LAST = (dt.date.min, dt.date.max, DateField())


class AccountFilter(django_filters.FilterSet):
    tier = django_filters.ChoiceFilter(choices=Tier.choices)
    lifecycle_stage = django_filters.ChoiceFilter(choices=LifecycleStage.choices)
    region = django_filters.CharFilter(help_text="Exact region.")
    owner = django_filters.CharFilter(
        field_name="owner__email", lookup_expr="iexact", help_text="Owner's email address."
    )
    external_id = django_filters.CharFilter(help_text="The id in your CRM or billing system (exact).")
    renewal_date = django_filters.DateFromToRangeFilter(
        help_text="Renewal date range, inclusive: renewal_date_after=YYYY-MM-DD and/or renewal_date_before=YYYY-MM-DD."
    )
    arr_min = django_filters.NumberFilter(field_name="arr", lookup_expr="gte", help_text="ARR at least this.")
    arr_max = django_filters.NumberFilter(field_name="arr", lookup_expr="lte", help_text="ARR at most this.")
    updated_since = django_filters.IsoDateTimeFilter(
        field_name="updated_at", lookup_expr="gte",
        help_text="Only accounts changed at or after this ISO 8601 timestamp (for incremental syncs).",
    )

    class Meta:
        model = Account
        fields = ["tier", "lifecycle_stage", "region", "owner", "external_id"]


class ContactFilter(django_filters.FilterSet):
    account = django_filters.UUIDFilter(field_name="account_id", help_text="Account UUID.")
    role = django_filters.ChoiceFilter(choices=ContactRole.choices)
    email = django_filters.CharFilter(lookup_expr="iexact", help_text="Email address (case-insensitive).")
    is_primary = django_filters.BooleanFilter()

    class Meta:
        model = Contact
        fields = ["account", "role", "email", "is_primary"]


class TouchpointFilter(django_filters.FilterSet):
    account = django_filters.UUIDFilter(field_name="account_id", help_text="Account UUID.")
    kind = django_filters.ChoiceFilter(choices=TouchpointKind.choices)
    occurred_at = django_filters.IsoDateTimeFromToRangeFilter(
        help_text="Time range, inclusive: occurred_at_after and/or occurred_at_before as ISO 8601 timestamps."
    )

    class Meta:
        model = Touchpoint
        fields = ["account", "kind"]
