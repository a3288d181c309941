from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from csops.tenancy.models import TenantModel


class TaskType(models.TextChoices):
    RISK = "risk", "Risk"
    RENEWAL = "renewal", "Renewal"
    ONBOARDING = "onboarding", "Onboarding"
    ADOPTION = "adoption", "Adoption"
    EXPANSION = "expansion", "Expansion"
    ACTIVITY = "activity", "Activity"


class TaskPriority(models.IntegerChoices):
    LOW = 1, "Low"
    MEDIUM = 2, "Medium"
    HIGH = 3, "High"
    URGENT = 4, "Urgent"


class TaskSource(models.TextChoices):
    MANUAL = "manual", "Manual"
    RULE = "rule", "Rule"
    PLAYBOOK = "playbook", "Playbook"


class TaskStatus(models.TextChoices):
    OPEN = "open", "Open"
    SNOOZED = "snoozed", "Snoozed"
    DONE = "done", "Done"
    CANCELLED = "cancelled", "Cancelled"


ACTIVE_STATUSES = (TaskStatus.OPEN, TaskStatus.SNOOZED)


class Task(TenantModel):
    """A call to action on an account (a CTA). Alerts, renewal checkpoints and playbooks create them.

    De-duplication: at most one active (open or snoozed) task per (account, type, reason) when a reason
    is given, enforced by a partial unique index; `task_create` returns the existing one instead.
    """

    title = models.CharField(max_length=200)
    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE, related_name="tasks")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="tasks"
    )
    due_on = models.DateField(null=True, blank=True)
    priority = models.PositiveSmallIntegerField(choices=TaskPriority.choices, default=TaskPriority.MEDIUM)
    type = models.CharField(max_length=16, choices=TaskType.choices, default=TaskType.ACTIVITY)
    reason = models.CharField(max_length=200, blank=True, help_text="Why the task exists; also its de-duplication key.")
    description = models.TextField(blank=True)
    source = models.CharField(max_length=16, choices=TaskSource.choices, default=TaskSource.MANUAL)
    status = models.CharField(max_length=16, choices=TaskStatus.choices, default=TaskStatus.OPEN)
    snoozed_until = models.DateField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    completed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["due_on", "-priority"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "account", "type", "reason"],
                name="task_one_active_per_account_type_reason",
                condition=Q(status__in=["open", "snoozed"]) & ~Q(reason=""),
            ),
            models.CheckConstraint(
                condition=~Q(status="snoozed") | Q(snoozed_until__isnull=False), name="task_snoozed_has_date"
            ),
        ]
        indexes = [
            models.Index(fields=["organization", "owner", "status", "due_on"]),
            models.Index(fields=["organization", "account", "status"]),
            models.Index(fields=["organization", "status", "due_on"]),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES

    def days_overdue(self, today) -> int:
        if not self.is_active or self.due_on is None or self.due_on >= today:
            return 0
        return (today - self.due_on).days
