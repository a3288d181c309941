"""v1 API representations of accounts, contacts and touchpoints.

Serializers only validate and render: the viewsets hand `validated_data` to the services, which write, keep
the business rules (owner history, last touchpoint, primary contact) and leave an audit event.
"""
from rest_framework import serializers

from accounts.models import Account, Contact, Touchpoint

from .fields import MemberEmailField, OrgAccountField, OwnerEmailField


class AccountSerializer(serializers.ModelSerializer):
    """A customer account.

    People are referenced by email address everywhere in this API: `owner_email` is the owner's email and
    must belong to an active CSM or manager of this organization (`null` or "" leaves the account
    unassigned). Changing it records an owner change, and the previous owner's open tasks follow the account.
    Money (`arr`) is a decimal string with two places, in the organization's reporting currency.
    `external_id` (your CRM or billing id) is unique within the organization.
    """

    owner_email = OwnerEmailField(
        source="owner", required=False, allow_null=True,
        help_text="Email of the owning CSM or manager (an active member of this organization); null for nobody.",
    )
    owner_name = serializers.CharField(source="owner.full_name", read_only=True, allow_null=True)

    class Meta:
        model = Account
        fields = [
            "id", "name", "external_id", "domain", "industry", "tier", "lifecycle_stage", "region",
            "owner_email", "owner_name", "arr", "renewal_date", "last_touchpoint_at", "created_at", "updated_at",
        ]
        read_only_fields = ["id", "last_touchpoint_at", "created_at", "updated_at"]


class ContactSerializer(serializers.ModelSerializer):
    """A person at a customer account. `account` is the UUID of an account of this organization. Setting
    `is_primary` makes this the account's only primary contact. `email` is unique per account."""

    account = OrgAccountField()

    class Meta:
        model = Contact
        fields = ["id", "account", "name", "email", "title", "role", "is_primary", "phone", "created_at", "updated_at"]
        read_only_fields = ["id", "created_at", "updated_at"]


class TouchpointSerializer(serializers.ModelSerializer):
    """An entry of an account's activity timeline (call, meeting, email, QBR, note).

    `account` is the UUID of an account of this organization. `author_email` is the email of the active
    member of this organization who had the touchpoint; when omitted it is the person making the request
    (nobody for an API token). Logging, moving or deleting a touchpoint keeps the account's
    `last_touchpoint_at` current.
    """

    account = OrgAccountField()
    author_email = MemberEmailField(
        source="author", required=False, allow_null=True,
        help_text="Email of the member of this organization who had the touchpoint; defaults to the requesting "
        "person.",
    )
    attendees = serializers.ListField(
        child=serializers.CharField(max_length=200), required=False, max_length=100,
        help_text="Names or emails of the people present.",
    )

    class Meta:
        model = Touchpoint
        fields = ["id", "account", "kind", "occurred_at", "summary", "attendees", "author_email", "created_at"]
        read_only_fields = ["id", "created_at"]
        extra_kwargs = {"kind": {"required": True}}
