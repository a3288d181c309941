"""Writes of the tenancy core. Each service is one transaction and leaves an audit event."""
import datetime as dt
import decimal
import hashlib
import secrets
import uuid
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.core.mail import send_mail
from django.db import models, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from .context import tenant_context
from .models import ApiToken, AuditEvent, Membership, Organization, Role, Team, TokenScope, User

TOKEN_PREFIX = "csops"  # noqa: S105 -- the public token prefix, not a secret


@dataclass(frozen=True)
class Actor:
    """Who is acting: a person (UI or session API) or an API token (attributed to its creator too)."""

    user: User | None = None
    token: ApiToken | None = None

    @classmethod
    def from_request(cls, request) -> "Actor":
        token = getattr(request, "auth", None)
        user = request.user if isinstance(request.user, User) else None
        return cls(user=user, token=token if isinstance(token, ApiToken) else None)


SYSTEM = Actor()


def _jsonable(value):
    if isinstance(value, decimal.Decimal | uuid.UUID | dt.date | dt.datetime):
        return str(value)
    if isinstance(value, models.Model):
        return str(value.pk)
    return value


def model_snapshot(obj: models.Model, fields: list[str]) -> dict:
    """A JSON-able picture of `fields` of `obj` (FKs by id) for before/after audit records."""
    out = {}
    for name in fields:
        field = obj._meta.get_field(name)
        value = getattr(obj, field.attname)
        out[name] = _jsonable(value)
    return out


def audit_record(*, actor: Actor, action: str, obj: models.Model, before=None, after=None) -> AuditEvent | None:
    """One audit row per write. An update that changed nothing (before == after) records nothing."""
    if before is not None and after is not None:
        changed = {k for k in after if before.get(k) != after.get(k)}
        if not changed:
            return None
        before = {k: v for k, v in before.items() if k in changed}
        after = {k: v for k, v in after.items() if k in changed}
    return AuditEvent.objects.create(
        actor_user=actor.user,
        actor_token=actor.token,
        action=action,
        object_type=obj._meta.model_name,
        object_id=str(obj.pk),
        object_repr=str(obj)[:200],
        before=before,
        after=after,
    )


def organization_create(
    *, name: str, slug: str, timezone_name: str = "UTC", currency: str = "USD", fiscal_year_start_month: int = 1
) -> Organization:
    org = Organization(
        name=name,
        slug=slug,
        timezone=timezone_name,
        reporting_currency=currency,
        fiscal_year_start_month=fiscal_year_start_month,
    )
    org.full_clean()
    org.save()
    return org


def _send_invite(*, user: User, organization: Organization, request=None) -> None:
    """Email a one-time set-password link (Django's reset token: works once, expires with PASSWORD_RESET_TIMEOUT)."""
    base = request.build_absolute_uri("/").rstrip("/") if request else settings.SITE_URL
    context = {
        "organization": organization, "email": user.email,
        "link": base + reverse("password_reset_confirm", kwargs={
            "uidb64": urlsafe_base64_encode(force_bytes(user.pk)), "token": default_token_generator.make_token(user),
        }),
    }
    subject = render_to_string("registration/invite_subject.txt", context).strip()
    send_mail(subject, render_to_string("registration/invite_email.txt", context), None, [user.email])


def _membership_snapshot(m: Membership) -> dict:
    return model_snapshot(m, ["role", "team", "is_active"])


@transaction.atomic
def membership_invite(
    *,
    organization: Organization,
    actor: Actor,
    email: str,
    full_name: str = "",
    role: str = Role.CSM,
    team: Team | None = None,
    request=None,
    send_email: bool = True,
) -> Membership:
    """Add a person to the organization (creating their user if new) and email them a set-password link."""
    email = email.strip().lower()
    user = User.objects.filter(email=email).first()
    created = user is None
    if created:
        user = User.objects.create_user(email=email, password=None, full_name=full_name)
    membership, _ = Membership.objects.update_or_create(
        organization=organization, user=user, defaults={"role": role, "team": team, "is_active": True}
    )
    with tenant_context(organization):
        audit_record(actor=actor, action="membership.invite", obj=membership, after=_membership_snapshot(membership))
    if send_email and created:
        transaction.on_commit(lambda: _send_invite(user=user, organization=organization, request=request))
    return membership


@transaction.atomic
def membership_update(
    *, membership: Membership, actor: Actor, role: str, team: Team | None, is_active: bool = True
) -> Membership:
    before = _membership_snapshot(membership)
    membership.role, membership.team, membership.is_active = role, team, is_active
    membership.save(update_fields=["role", "team", "is_active"])
    with tenant_context(membership.organization):
        audit_record(
            actor=actor, action="membership.update", obj=membership, before=before,
            after=_membership_snapshot(membership),
        )
    return membership


def _hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def split_token(raw: str) -> tuple[str, str] | None:
    """`csops_<prefix>_<secret>` → (prefix, secret), or None for anything else."""
    parts = raw.strip().split("_")
    if len(parts) != 3 or parts[0] != TOKEN_PREFIX or not parts[1] or not parts[2]:
        return None
    return parts[1], parts[2]


def token_matches(token: ApiToken, secret: str) -> bool:
    return secrets.compare_digest(token.secret_hash, _hash_secret(secret))


@transaction.atomic
def api_token_create(
    *,
    organization: Organization,
    actor: Actor,
    name: str,
    scope: str = TokenScope.READ,
    expires_at: dt.datetime | None = None,
) -> tuple[ApiToken, str]:
    """Create a token and return it with its plain-text value, which is never retrievable again."""
    prefix = secrets.token_hex(4)
    secret = secrets.token_urlsafe(32).replace("_", "x")
    token = ApiToken.objects.create(
        organization=organization,
        name=name,
        prefix=prefix,
        secret_hash=_hash_secret(secret),
        scope=scope,
        created_by=actor.user,
        expires_at=expires_at,
    )
    with tenant_context(organization):
        audit_record(
            actor=actor, action="api_token.create", obj=token,
            after=model_snapshot(token, ["name", "scope", "expires_at"]),
        )
    return token, f"{TOKEN_PREFIX}_{prefix}_{secret}"


@transaction.atomic
def api_token_revoke(*, token: ApiToken, actor: Actor) -> ApiToken:
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        with tenant_context(token.organization):
            audit_record(actor=actor, action="api_token.revoke", obj=token, after={"revoked_at": str(token.revoked_at)})
    return token


def api_token_touch(*, token: ApiToken) -> None:
    """Record use at most once a minute, so a busy sync does not write on every request."""
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at > dt.timedelta(minutes=1):
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now


@transaction.atomic
def team_create(*, organization: Organization, actor: Actor, name: str, manager: User | None = None) -> Team:
    with tenant_context(organization):
        team = Team.objects.create(name=name, manager=manager)
        audit_record(actor=actor, action="team.create", obj=team, after=model_snapshot(team, ["name", "manager"]))
    return team
