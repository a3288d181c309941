"""The email outbox (one row per message, the exactly-once ledger), per-user opt-outs, and the company
updates ops admins author for the weekly CSM email."""
from django.conf import settings
from django.db import models
from django.utils import timezone

from csops.tenancy.models import TenantModel


class EmailKind(models.TextChoices):
    WEEKLY_CSM = "weekly_csm", "Weekly CSM email"
    WEEKLY_LEADER = "weekly_leader", "Weekly leader email"
    EXEC_UPDATE = "exec_update", "Friday executive update"


class OutboxStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"


class OutboxMessage(TenantModel):
    """One email to one recipient. The unique (kind, period, to_email) row is what makes a weekly email go
    out exactly once: enqueuing twice finds the row, and sending claims it (pending → sending) with a
    conditional UPDATE only one worker can win, then marks it sent. A worker that dies mid-batch leaves the
    rest pending (and its claimed row "sending"; a claim older than the lease is taken back by the next run).
    """

    kind = models.CharField(max_length=32, choices=EmailKind.choices)
    period = models.CharField(max_length=16, help_text="The ISO week the email belongs to, e.g. 2026-W48.")
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    to_email = models.EmailField()
    subject = models.CharField(max_length=300)
    body_text = models.TextField()
    body_html = models.TextField(blank=True)
    status = models.CharField(max_length=16, choices=OutboxStatus.choices, default=OutboxStatus.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-created_at", "to_email"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "kind", "period", "to_email"], name="outbox_once_per_recipient_kind_period"
            ),
        ]
        indexes = [
            models.Index(fields=["organization", "status", "created_at"]),
            models.Index(fields=["organization", "period", "kind"]),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} to {self.to_email} ({self.period})"

    @property
    def message_id(self) -> str:
        """A stable Message-ID: a resend after a crash carries the same id, so mail servers can de-duplicate."""
        return f"<{self.pk}@csops.outbox>"


class EmailOptOut(TenantModel):
    """A member who does not want one kind of email from this organization."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=32, choices=EmailKind.choices)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["organization", "user", "kind"], name="optout_unique")]


class UpdateKind(models.TextChoices):
    RELEASE = "release", "Product release"
    ANNOUNCEMENT = "announcement", "Announcement"
    BATTLECARD = "battlecard", "Competitive battlecard"
    PLAYBOOK = "playbook", "New playbook"
    RESOURCE = "resource", "Resource"


class CompanyUpdate(TenantModel):
    """News an ops admin writes during the week; the next Monday's CSM email carries it."""

    kind = models.CharField(max_length=16, choices=UpdateKind.choices, default=UpdateKind.ANNOUNCEMENT)
    title = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    url = models.URLField(blank=True, help_text="A link for more (release notes, the battlecard, the playbook).")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                               related_name="+")
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["organization", "created_at"])]

    def __str__(self) -> str:
        return self.title


class ExecUpdateStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    SCHEDULED = "scheduled", "Scheduled for Friday"
    SENT = "sent", "Sent"


class ExecUpdate(TenantModel):
    """The Friday executive update: an ops admin's narrative around the week's numbers, sent on Friday
    afternoon (the org's local time) to the recipients they choose, through the outbox (exactly once)."""

    period = models.CharField(max_length=16, help_text="The ISO week it reports on, e.g. 2026-W48.")
    highlights = models.TextField(blank=True)
    lowlights = models.TextField(blank=True)
    blockers = models.TextField(blank=True)
    asks = models.TextField(blank=True)
    next_week = models.TextField(blank=True)
    okr_status = models.TextField("OKR status", blank=True)
    numbers = models.JSONField(default=dict, blank=True, help_text="The week's numbers, frozen when scheduled.")
    recipient_ids = models.JSONField(default=list, blank=True, help_text="Member user ids who receive it.")
    extra_emails = models.JSONField(default=list, blank=True, help_text="Other addresses (board, investors).")
    status = models.CharField(max_length=16, choices=ExecUpdateStatus.choices, default=ExecUpdateStatus.DRAFT)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                               related_name="+")
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-period"]
        constraints = [models.UniqueConstraint(fields=["organization", "period"], name="exec_update_one_per_week")]

    def __str__(self) -> str:
        return f"Executive update {self.period}"


# --- Executive dashboard aggregates (reporting/aggregates.py writes them, reporting/views_dashboard.py reads) ---


class AggregateScope(models.TextChoices):
    ORG = "org", "Organization"
    TIER = "tier", "Segment"
    TEAM = "team", "Team"
    CSM = "csm", "CSM"


class DashboardAggregate(TenantModel):
    """The executive dashboard's numbers for one day and one scope (the organization, a segment/tier, a team, a
    CSM), precomputed by ``dashboard_aggregates_refresh`` so the page reads a few rows, never raw signals.
    ``scope_key``: "" for the organization, the tier, the team's id, the CSM's user id."""

    date = models.DateField()
    scope = models.CharField(max_length=8, choices=AggregateScope.choices)
    scope_key = models.CharField(max_length=64, blank=True, default="")
    data = models.JSONField(default=dict)
    computed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "date", "scope", "scope_key"],
                                    name="dashboard_aggregate_once_per_day_scope"),
        ]
        indexes = [models.Index(fields=["organization", "scope", "scope_key", "date"])]

    def __str__(self) -> str:
        return f"{self.scope}:{self.scope_key or '-'} on {self.date}"


class UserActivityDay(TenantModel):
    """A member used the product on a (local) day: one row per user and day, the input of tool adoption."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    date = models.DateField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "user", "date"], name="user_activity_once_a_day"),
        ]
        indexes = [models.Index(fields=["organization", "date"])]
