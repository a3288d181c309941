"""v1 API: accounts, contacts and touchpoints of one organization.

Reads go through selectors (scoped by the tenant context), writes through services with the acting token or
person, so the API keeps the same rules and audit trail as the UI. `serializer.save()` is never called.
"""
from rest_framework.filters import SearchFilter

from accounts.models import Account, Contact
from accounts.selectors import account_list, contact_list, touchpoint_list
from accounts.services import (
    account_create,
    account_delete,
    account_update,
    contact_create,
    contact_delete,
    contact_update,
    touchpoint_delete,
    touchpoint_log,
    touchpoint_update,
)
from csops.tenancy.api.viewsets import OrgScopedViewSet

from .fields import unique_violations_as_field_errors
from .filters import (
    DATE_NULLS_LAST,
    AccountFilter,
    ContactFilter,
    CursorOrderingFilter,
    OrgFilterBackend,
    TouchpointFilter,
)
from .serializers import AccountSerializer, ContactSerializer, TouchpointSerializer

API_FILTER_BACKENDS = [OrgFilterBackend, SearchFilter, CursorOrderingFilter]
DEFAULT_ORDERING = ("-created_at", "-id")  # newest first; `id` breaks ties for the cursor


class AccountViewSet(OrgScopedViewSet):
    """Customer accounts. Lists are cursor-paginated (follow `next`); `?ordering=` accepts name, arr,
    renewal_date, updated_at, created_at (prefix `-` for descending; empty renewal dates sort last)."""

    serializer_class = AccountSerializer
    lookup_value_converter = "uuid"
    filter_backends = API_FILTER_BACKENDS
    filterset_class = AccountFilter
    search_fields = ["name", "domain"]
    ordering_fields = ["name", "arr", "renewal_date", "updated_at", "created_at"]
    ordering = DEFAULT_ORDERING
    ordering_nulls_last = {"renewal_date": DATE_NULLS_LAST}

    unique_fields = {"account_unique_external_id_per_org": "external_id"}

    def scoped_queryset(self):
        return account_list()

    def perform_create(self, serializer):
        with unique_violations_as_field_errors(Account, self.unique_fields):
            serializer.instance = account_create(actor=self.actor, **serializer.validated_data)

    def perform_update(self, serializer):
        with unique_violations_as_field_errors(Account, self.unique_fields):
            serializer.instance = account_update(
                account=serializer.instance, actor=self.actor, **serializer.validated_data
            )

    def perform_destroy(self, instance):
        account_delete(account=instance, actor=self.actor)


class ContactViewSet(OrgScopedViewSet):
    """People at customer accounts. `?ordering=` accepts name, created_at, updated_at."""

    serializer_class = ContactSerializer
    lookup_value_converter = "uuid"
    filter_backends = API_FILTER_BACKENDS
    filterset_class = ContactFilter
    search_fields = ["name", "email"]
    ordering_fields = ["name", "created_at", "updated_at"]
    ordering = DEFAULT_ORDERING

    unique_fields = {
        "contact_unique_email_per_account": "email",
        "contact_one_primary_per_account": "is_primary",
    }

    def scoped_queryset(self):
        return contact_list()

    def perform_create(self, serializer):
        with unique_violations_as_field_errors(Contact, self.unique_fields):
            serializer.instance = contact_create(actor=self.actor, **serializer.validated_data)

    def perform_update(self, serializer):
        with unique_violations_as_field_errors(Contact, self.unique_fields):
            serializer.instance = contact_update(
                contact=serializer.instance, actor=self.actor, **serializer.validated_data
            )

    def perform_destroy(self, instance):
        contact_delete(contact=instance, actor=self.actor)


class TouchpointViewSet(OrgScopedViewSet):
    """Account timeline entries. `?ordering=` accepts occurred_at, created_at (default: newest created first)."""

    serializer_class = TouchpointSerializer
    lookup_value_converter = "uuid"
    filter_backends = API_FILTER_BACKENDS
    filterset_class = TouchpointFilter
    search_fields = ["summary"]
    ordering_fields = ["occurred_at", "created_at"]
    ordering = DEFAULT_ORDERING

    def scoped_queryset(self):
        return touchpoint_list()

    def perform_create(self, serializer):
        serializer.instance = touchpoint_log(actor=self.actor, **serializer.validated_data)

    def perform_update(self, serializer):
        serializer.instance = touchpoint_update(
            touchpoint=serializer.instance, actor=self.actor, **serializer.validated_data
        )

    def perform_destroy(self, instance):
        touchpoint_delete(touchpoint=instance, actor=self.actor)
