import datetime as dt
import hashlib
import os
import subprocess
import sys
from pathlib import Path

from django.core import mail
from django.urls import reverse
from django.utils import timezone

from csops.tenancy.context import tenant_context
from csops.tenancy.models import ApiToken, AuditEvent, Membership, Role, User
from tests.factories import PASSWORD, AccountFactory, MembershipFactory

ROOT = Path(__file__).resolve().parents[2]


def url(name, world, **kwargs):
    return reverse(name, kwargs={"org_slug": world.org.slug, **kwargs})


def test_login_with_email_and_password(world, client):
    response = client.post(reverse("login"), {"username": world.csm.email, "password": PASSWORD}, follow=True)
    assert response.redirect_chain[-1][0] == url("accounts:portfolio", world)


def test_wrong_password_shows_a_clear_error(world, client):
    response = client.post(reverse("login"), {"username": world.csm.email, "password": "nope"})
    assert "don't match" in response.content.decode()


def test_password_reset_sends_an_email_with_a_working_link(world, client):
    client.post(reverse("password_reset"), {"email": world.csm.email})
    assert len(mail.outbox) == 1
    link = next(line for line in mail.outbox[0].body.splitlines() if "/accounts/reset/" in line)
    path = link[link.index("/accounts/reset/"):].strip()
    response = client.get(path, follow=True)
    assert "Choose a new password" in response.content.decode()


def test_ops_admin_creates_token_shown_once_and_stored_hashed(world, client, api_client):
    client.force_login(world.admin)
    response = client.post(url("tenancy:tokens", world), {"name": "CRM sync", "scope": "read_write"})
    body = response.content.decode()
    token = ApiToken.objects.get(name="CRM sync")
    raw = body.split('id="new-token">')[1].split("<")[0]
    assert raw.startswith(f"csops_{token.prefix}_")
    assert token.secret_hash == hashlib.sha256(raw.split("_", 2)[2].encode()).hexdigest()
    assert raw not in client.get(url("tenancy:tokens", world)).content.decode()  # never shown again
    assert api_client(raw).get(f"/api/v1/orgs/{world.org.slug}/accounts/").status_code == 200
    with tenant_context(world.org):
        assert AuditEvent.objects.filter(action="api_token.create", actor_user=world.admin).exists()


def test_revoked_and_expired_tokens_get_401(world, client, api_client):
    client.force_login(world.admin)
    token = ApiToken.objects.get(organization=world.org, name="rw")
    client.post(url("tenancy:token_revoke", world, token_id=token.pk))
    response = api_client(world.token_rw).get(f"/api/v1/orgs/{world.org.slug}/accounts/")
    assert response.status_code == 401 and "revoked" in response.json()["detail"]
    ro = ApiToken.objects.get(organization=world.org, name="ro")
    ro.expires_at = timezone.now() - dt.timedelta(minutes=1)
    ro.save()
    response = api_client(world.token_ro).get(f"/api/v1/orgs/{world.org.slug}/accounts/")
    assert response.status_code == 401 and "expired" in response.json()["detail"]


def test_token_expiry_must_be_in_the_future(world, client):
    client.force_login(world.admin)
    response = client.post(url("tenancy:tokens", world), {"name": "x", "scope": "read", "expires_on": "2001-01-01"})
    assert "must be in the future" in response.content.decode()
    assert not ApiToken.objects.filter(name="x").exists()


def test_invite_creates_user_membership_and_sends_set_password_email(world, client, django_capture_on_commit_callbacks):
    client.force_login(world.admin)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(url("tenancy:members", world), {"email": "New.Person@Acme.example", "full_name": "New Person",
                                                     "role": "csm"})
    user = User.objects.get(email="new.person@acme.example")
    assert Membership.objects.get(user=user, organization=world.org).role == Role.CSM
    assert len(mail.outbox) == 1 and "Acme" in mail.outbox[0].subject
    assert not user.has_usable_password()


def test_admin_changes_a_role_and_it_is_audited(world, client):
    client.force_login(world.admin)
    membership = Membership.objects.get(organization=world.org, user=world.csm2)
    client.post(url("tenancy:member_edit", world, membership_id=membership.pk), {"role": "manager", "is_active": "on"})
    membership.refresh_from_db()
    assert membership.role == Role.MANAGER
    with tenant_context(world.org):
        event = AuditEvent.objects.get(action="membership.update")
    assert event.before == {"role": "csm"} and event.after == {"role": "manager"}


def test_admin_cannot_demote_themselves(world, client):
    client.force_login(world.admin)
    membership = Membership.objects.get(organization=world.org, user=world.admin)
    response = client.post(url("tenancy:member_edit", world, membership_id=membership.pk),
                           {"role": "viewer", "is_active": "on"})
    assert "cannot remove your own" in response.content.decode()


def test_deactivated_member_loses_access(world, client):
    Membership.objects.filter(organization=world.org, user=world.csm).update(is_active=False)
    client.force_login(world.csm)
    assert client.get(url("accounts:portfolio", world)).status_code == 404


def test_settings_pages_are_for_ops_admins(world, client):
    client.force_login(world.leader)
    assert client.get(url("tenancy:members", world)).status_code == 403
    assert client.get(url("tenancy:tokens", world)).status_code == 403


def test_user_in_two_orgs_switches_and_sees_only_each_orgs_data(world, other_world, client):
    MembershipFactory(organization=other_world.org, user=world.leader, role=Role.VIEWER)
    AccountFactory(organization=world.org, name="Acme Customer")
    AccountFactory(organization=other_world.org, name="Globex Customer")
    client.force_login(world.leader)
    acme = client.get(url("accounts:list", world)).content.decode()
    assert "Acme Customer" in acme and "Globex Customer" not in acme
    assert "Globex" in acme  # the org switcher offers the other organization
    globex = client.get(url("accounts:list", other_world)).content.decode()
    assert "Globex Customer" in globex and "Acme Customer" not in globex
    # the home page remembers the last organization used
    assert client.get("/")["Location"] == url("accounts:portfolio", other_world)


def test_audit_log_lists_changes(world, client, account):
    client.force_login(world.admin)
    client.post(url("accounts:touchpoint_add", world, account_id=account.pk), {"kind": "call", "summary": "Hi",
                                                                               "occurred_at": "2026-01-01T10:00"})
    body = client.get(url("tenancy:audit_log", world)).content.decode()
    assert "touchpoint.create" in body


def _settings_check(env):
    return subprocess.run(  # noqa: S603 -- fixed argv
        [sys.executable, "manage.py", "check"], cwd=ROOT, capture_output=True, text=True,
        env={**{k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}, **env}, check=False,
    )


def test_bad_database_url_fails_loudly():
    result = _settings_check({"DATABASE_URL": "mysql2://nope"})
    assert result.returncode != 0 and "DATABASE_URL must be" in result.stderr


def test_bad_redis_url_fails_loudly():
    result = _settings_check({"REDIS_URL": "localhost:6379"})
    assert result.returncode != 0 and "REDIS_URL must start with" in result.stderr


def test_production_settings_refuse_the_dev_secret_key():
    result = _settings_check({"DJANGO_SETTINGS_MODULE": "csops.settings.production", "SECRET_KEY": "short"})
    assert result.returncode != 0 and "SECRET_KEY must be set" in result.stderr


def test_an_update_that_changes_nothing_is_not_audited(world, tenant, account):
    from accounts.services import account_update
    from csops.tenancy.services import Actor

    account_update(account=account, actor=Actor(user=world.csm), name=account.name)
    assert not AuditEvent.objects.filter(action="account.update").exists()
    account_update(account=account, actor=Actor(user=world.csm), name="Renamed")
    assert AuditEvent.objects.filter(action="account.update").count() == 1
