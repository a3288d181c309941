"""v1 API representation of tasks (CTAs). Writes go through playbooks.services, never serializer.save()."""
from rest_framework import serializers

from accounts.api.fields import OrgAccountField, OwnerEmailField
from playbooks.models import Task


class TaskSerializer(serializers.ModelSerializer):
    """A call to action on an account.

    `account` is the UUID of an account of this organization. People are referenced by email address:
    `owner_email` must belong to an active CSM or manager of this organization; when omitted or null on
    create the task goes to the account's owner. `status` changes only through the `complete`, `snooze` and `reopen`
    actions. De-duplication: creating a task whose (account, type, reason) matches an open or snoozed task
    returns that task with status 200 instead of creating another (201).
    """

    account = OrgAccountField()
    owner_email = OwnerEmailField(
        source="owner", required=False, allow_null=True,
        help_text="Email of the CSM or manager who owns the task; on create, omitted or null means the "
        "account's owner.",
    )
    completed_by_email = serializers.EmailField(source="completed_by.email", read_only=True, allow_null=True)

    class Meta:
        model = Task
        fields = [
            "id", "account", "title", "type", "reason", "description", "priority", "due_on", "owner_email",
            "status", "snoozed_until", "source", "completed_at", "completed_by_email", "created_at", "updated_at",
        ]
        read_only_fields = [
            "id", "status", "snoozed_until", "source", "completed_at", "created_at", "updated_at",
        ]


class TaskSnoozeSerializer(serializers.Serializer):
    """Hide a task until a future date (in the organization's time zone); it reopens by itself then."""

    until = serializers.DateField(help_text="YYYY-MM-DD, after today.")

    def validate_until(self, value):
        if value <= self.context["request"].organization.today():
            raise serializers.ValidationError("Snooze until a future date.")
        return value
