import uuid
import zoneinfo

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.utils import timezone as djtz

from .context import current_organization
from .managers import TenantManager

slug_validator = RegexValidator(r"^[a-z0-9](?:[a-z0-9-]{0,48}[a-z0-9])?$", "Use lowercase letters, digits and dashes.")


def validate_timezone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(f"{value!r} is not a known IANA timezone (e.g. Europe/Berlin).")


class Organization(models.Model):
    """A tenant: one software company running its customer success motion here."""

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=50, unique=True, validators=[slug_validator])
    timezone = models.CharField(max_length=64, default="UTC", validators=[validate_timezone])
    reporting_currency = models.CharField(max_length=3, default="USD")
    fiscal_year_start_month = models.PositiveSmallIntegerField(
        default=1, validators=[MinValueValidator(1), MaxValueValidator(12)]
    )
    slack_webhook_url = models.URLField(
        "Slack incoming-webhook URL", max_length=500, blank=True,
        help_text="Alerts are posted here. Empty: alerts are only recorded in the delivery log.",
    )
    health_run_hour = models.PositiveSmallIntegerField(
        default=6, validators=[MaxValueValidator(23)],
        help_text="Local hour (0–23) at which the daily health recompute runs.",
    )
    health_drop_alert_points = models.PositiveSmallIntegerField(
        default=15, validators=[MinValueValidator(1), MaxValueValidator(100)],
        help_text="Alert when an account's score falls by more than this many points in 7 days.",
    )
    created_at = models.DateTimeField(default=djtz.now, editable=False)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def tzinfo(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.timezone)

    def today(self):
        """The organization's local date: "today" for due dates, overdue tasks and reports."""
        return djtz.now().astimezone(self.tzinfo).date()


class TenantModel(models.Model):
    """Base of every tenant-owned table: UUID public id, non-null organization, fail-loud manager."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+", editable=False)

    objects = TenantManager()

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        # Rows are born inside the tenant context; a row of another organization can't be written there.
        org = current_organization(required=self.organization_id is None)
        if org is not None:
            if self.organization_id is None:
                self.organization = org
            elif self.organization_id != org.pk:
                raise ValueError(f"{type(self).__name__} of another organization saved in {org.slug}'s context")
        super().save(*args, **kwargs)


class UserManager(BaseUserManager):
    use_in_migrations = True

    def _create_user(self, email, password, **extra):
        if not email:
            raise ValueError("Users need an email address")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email, password=None, **extra):
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra)

    def create_superuser(self, email, password=None, **extra):
        extra["is_staff"] = True
        extra["is_superuser"] = True
        return self._create_user(email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    """A person. Logs in with an email address; belongs to organizations through memberships."""

    email = models.EmailField(unique=True)
    full_name = models.CharField(max_length=200, blank=True)
    is_staff = models.BooleanField(default=False)
    is_active = models.BooleanField(default=True)
    date_joined = models.DateTimeField(default=djtz.now)
    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        ordering = ["full_name", "email"]

    def __str__(self) -> str:
        return self.full_name or self.email

    @property
    def display_name(self) -> str:
        return self.full_name or self.email.split("@")[0]

    @property
    def initials(self) -> str:
        parts = (self.full_name or self.email).replace("@", " ").split()
        return "".join(p[0] for p in parts[:2]).upper()


class Role(models.TextChoices):
    CSM = "csm", "CSM"
    MANAGER = "manager", "Manager"
    LEADER = "leader", "Leader"
    OPS_ADMIN = "ops_admin", "Ops admin"
    VIEWER = "viewer", "Viewer"


class Team(TenantModel):
    """A group of CSMs led by a manager; managers see their teams' portfolios."""

    name = models.CharField(max_length=100)
    manager = models.ForeignKey(
        "tenancy.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="managed_teams"
    )

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["organization", "name"], name="team_unique_name_per_org")]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    """A user's seat in an organization. Queried by user across organizations (the org switcher),
    so it keeps a plain manager; every read of it filters by user or organization explicitly."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.CSM)
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="members")
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=djtz.now, editable=False)

    class Meta:
        ordering = ["organization__name"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "user"], name="membership_unique_user_per_org")
        ]
        indexes = [models.Index(fields=["organization", "role"])]

    def __str__(self) -> str:
        return f"{self.user} in {self.organization} ({self.get_role_display()})"

    # One place for what each role may do; views and API permissions ask these.
    @property
    def can_write(self) -> bool:
        return self.role != Role.VIEWER

    @property
    def is_admin(self) -> bool:
        return self.role == Role.OPS_ADMIN

    @property
    def sees_whole_org(self) -> bool:
        return self.role in (Role.LEADER, Role.OPS_ADMIN, Role.VIEWER)


class TokenScope(models.TextChoices):
    READ = "read", "Read only"
    READ_WRITE = "read_write", "Read and write"


class ApiToken(models.Model):
    """An organization's API token. Only a SHA-256 of the secret is stored; the secret is shown once.

    Looked up by prefix before the organization is known, so it keeps a plain manager."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=12, unique=True)
    secret_hash = models.CharField(max_length=64)
    scope = models.CharField(max_length=16, choices=TokenScope.choices, default=TokenScope.READ)
    created_by = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=djtz.now, editable=False)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["organization", "created_at"])]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def can_write(self) -> bool:
        return self.scope == TokenScope.READ_WRITE

    def is_usable(self, now=None) -> bool:
        now = now or djtz.now()
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)

    @property
    def status(self) -> str:
        if self.revoked_at:
            return "revoked"
        if self.expires_at and self.expires_at <= djtz.now():
            return "expired"
        return "active"


class AuditEvent(TenantModel):
    """Who changed what, when, from what to what — one row per write by a person or a token."""

    actor_user = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    actor_token = models.ForeignKey(ApiToken, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    action = models.CharField(max_length=64)
    object_type = models.CharField(max_length=64)
    object_id = models.CharField(max_length=64)
    object_repr = models.CharField(max_length=200, blank=True)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(default=djtz.now, editable=False)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["organization", "created_at"]),
            models.Index(fields=["organization", "object_type", "object_id"]),
        ]

    def __str__(self) -> str:
        return f"{self.action} {self.object_repr}"

    @property
    def actor_label(self) -> str:
        if self.actor_token_id:
            return f"API token {self.actor_token}" if self.actor_token else "API token (deleted)"
        return str(self.actor_user) if self.actor_user else "system"


class Notification(TenantModel):
    """An in-app notification for one user (the bell in the header): alerts, assignments, reminders."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(max_length=32)
    title = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    url = models.CharField(max_length=500, blank=True, help_text="Where clicking the notification leads.")
    created_at = models.DateTimeField(default=djtz.now, editable=False)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["organization", "user", "read_at", "created_at"])]

    def __str__(self) -> str:
        return self.title
