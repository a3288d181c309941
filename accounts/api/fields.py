"""Serializer fields and error mapping shared by the v1 API of accounts and playbooks.

Related-object lookups are evaluated inside the request (the tenant context scopes them), never at import:
a class-level `Account.objects.all()` would raise `TenantContextMissing`, and would be the one place a
lookup could escape its organization.
"""
from collections.abc import Iterator
from contextlib import contextmanager

from django.core.exceptions import NON_FIELD_ERRORS
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, models
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.selectors import account_list
from csops.tenancy.models import User
from csops.tenancy.selectors import organization_csms, organization_members


@extend_schema_field(OpenApiTypes.UUID)
class OrgAccountField(serializers.PrimaryKeyRelatedField):
    """An account of the request's organization, by UUID. Another organization's account id gives the same
    "does not exist" error as a random UUID: the API never confirms that another tenant's row exists."""

    default_error_messages = {
        "does_not_exist": 'Account "{pk_value}" does not exist.',
        "incorrect_type": "Must be an account UUID.",
    }

    def __init__(self, **kwargs):
        kwargs.setdefault("pk_field", serializers.UUIDField(format="hex_verbose"))
        kwargs.setdefault("help_text", "UUID of an account of this organization.")
        super().__init__(**kwargs)

    def get_queryset(self):
        return account_list()  # scoped by the tenant context of the request


@extend_schema_field(OpenApiTypes.EMAIL)
class OwnerEmailField(serializers.SlugRelatedField):
    """A person who can own accounts and tasks (an active CSM or manager of this organization, the same
    people the UI offers), referenced by email address. `null` (or "") means nobody."""

    default_error_messages = {
        "does_not_exist": "No CSM or manager of this organization has the email {value}.",
        "invalid": "Enter an email address.",
    }

    def __init__(self, **kwargs):
        kwargs.setdefault("slug_field", "email")
        super().__init__(**kwargs)

    def get_queryset(self):
        return organization_csms(organization=self.context["request"].organization)

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data.strip().lower())  # users' emails are stored lower-cased


@extend_schema_field(OpenApiTypes.EMAIL)
class MemberEmailField(OwnerEmailField):
    """Any active member of this organization, referenced by email address."""

    default_error_messages = {"does_not_exist": "No active member of this organization has the email {value}."}

    def get_queryset(self):
        members = organization_members(organization=self.context["request"].organization).filter(is_active=True)
        return User.objects.filter(pk__in=members.values("user_id"))


def _constraint_for_integrity_error(exc: IntegrityError, model: type[models.Model]) -> models.UniqueConstraint | None:
    """The unique constraint of `model` an IntegrityError reports, if any. PostgreSQL names the constraint;
    SQLite lists its columns ("UNIQUE constraint failed: accounts_account.organization_id, ...")."""
    text = str(exc)
    for constraint in model._meta.constraints:
        if not isinstance(constraint, models.UniqueConstraint) or not constraint.fields:
            continue
        if f'"{constraint.name}"' in text:
            return constraint
        columns = ", ".join(f"{model._meta.db_table}.{model._meta.get_field(f).column}" for f in constraint.fields)
        if text.endswith(columns):
            return constraint
    return None


@contextmanager
def unique_violations_as_field_errors(
    model: type[models.Model], fields: dict[str, str], messages: dict[str, str] | None = None
) -> Iterator[None]:
    """Report a violated unique constraint of `model` as a 400 error on one field, never a 500.

    `fields` maps constraint names to the serializer field the error belongs to; `messages` optionally
    replaces a constraint's own violation message. Services validate most constraints (a non-field error
    carrying the constraint's message); a concurrent write can still win the race between that check and
    the insert, and some services leave the check to the database: their IntegrityError is translated too.
    """
    messages = messages or {}
    constraints = {
        c.name: c for c in model._meta.constraints if isinstance(c, models.UniqueConstraint) and c.name in fields
    }
    by_message = {str(c.get_violation_error_message()): name for name, c in constraints.items()}

    def message_for(name: str) -> str:
        return messages.get(name) or str(constraints[name].get_violation_error_message())

    try:
        yield
    except DjangoValidationError as exc:
        if not hasattr(exc, "error_dict"):
            raise
        errors = exc.message_dict
        for message in list(errors.get(NON_FIELD_ERRORS, [])):
            name = by_message.get(message)
            if name:
                errors[NON_FIELD_ERRORS].remove(message)
                errors.setdefault(fields[name], []).append(message_for(name))
        if not errors.get(NON_FIELD_ERRORS):
            errors.pop(NON_FIELD_ERRORS, None)
        raise serializers.ValidationError(errors) from exc
    except IntegrityError as exc:
        constraint = _constraint_for_integrity_error(exc, model)
        if constraint is None or constraint.name not in fields:
            raise
        raise serializers.ValidationError({fields[constraint.name]: [message_for(constraint.name)]}) from exc
