"""The isolation walk: every URL pattern of the project, checked against every kind of outsider.

For each route under /o/<org_slug>/ and /api/v1/orgs/<org_slug>/ it proves that
  - an anonymous visitor is sent to login (UI) or gets 401 (API);
  - a member of another organization gets 404, with a session or with their org's token;
  - another organization's ids used under one's own slug give 404;
  - a viewer (and a read-only token) gets 403 on writes;
  - a member of the organization can reach it (so the 404s above are not just bad test ids).
A new route with a path parameter this walk doesn't know, or a UI view without `org_view`, fails here.
"""
import datetime as dt
import re
from decimal import Decimal

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from rest_framework.test import APIClient

from accounts.models import ImportBatch, SupportTicket, SurveyResponse, UsageRecord
from csops.tenancy.context import tenant_context
from csops.tenancy.models import ApiToken, Membership, Notification
from health.models import HealthAlert, HealthModel, HealthSnapshot, Pulse, SlackDelivery
from renewals.models import ContractLine, Renewal
from reporting.models import CompanyUpdate, ExecUpdate, OutboxMessage
from tests.factories import AccountFactory, ContactFactory, TaskFactory, TouchpointFactory

# Routes that are deliberately outside any organization (Django's admin is for staff superusers only).
PUBLIC_PATH_PREFIXES = ("admin/",)
PUBLIC_ROUTES = {
    "home", "healthz", "login", "logout", "password_reset", "password_reset_done", "password_reset_confirm",
    "password_reset_complete", "api-schema", "api-docs", "api-redoc",
}
PARAM_RE = re.compile(r"<(?:\w+:)?(\w+)>|\(\?P<(\w+)>")


def iter_routes(patterns=None, namespace=None, prefix=""):
    patterns = get_resolver().url_patterns if patterns is None else patterns
    for p in patterns:
        if isinstance(p, URLResolver):
            ns = ":".join(filter(None, [namespace, p.namespace])) if p.namespace else namespace
            yield from iter_routes(p.url_patterns, ns, prefix + str(p.pattern))
        elif isinstance(p, URLPattern):
            full_name = f"{namespace}:{p.name}" if namespace and p.name else p.name
            route = prefix + str(p.pattern)
            params = [a or b for a, b in PARAM_RE.findall(route)]
            yield full_name, route, params, p.callback


ALL_ROUTES = list(iter_routes())
ORG_ROUTES = [r for r in ALL_ROUTES if "org_slug" in r[2]]


def test_every_route_is_either_public_or_org_scoped():
    stray = [
        (name, route) for name, route, params, _ in ALL_ROUTES
        if "org_slug" not in params and name not in PUBLIC_ROUTES and not route.startswith(PUBLIC_PATH_PREFIXES)
    ]
    assert not stray, f"routes outside /o/<org_slug>/ or /api/v1/orgs/<org_slug>/ and not declared public: {stray}"
    for name, route, _params, _ in ORG_ROUTES:
        assert name, f"route {route} has no name, so the walk cannot reverse it"


@pytest.mark.parametrize("name,route,params,callback", [r for r in ORG_ROUTES if not r[1].startswith("api/")],
                         ids=lambda v: v if isinstance(v, str) and ":" in v else None)
def test_ui_view_uses_org_view_decorator(name, route, params, callback):
    assert getattr(callback, "org_view", False), f"{name} is not decorated with csops.tenancy.access.org_view"


class Objects:
    """One of each addressable object in an organization."""

    def __init__(self, world):
        org = world.org
        self.account = AccountFactory(organization=org, owner=world.csm)
        self.contact = ContactFactory(account=self.account)
        self.touchpoint = TouchpointFactory(account=self.account, author=world.csm)
        self.task = TaskFactory(account=self.account, owner=world.csm)
        with tenant_context(org):
            self.batch = ImportBatch.objects.create(file_name="x.csv", created_by=world.admin)
        self.membership = Membership.objects.get(organization=org, user=world.csm)
        self.token = ApiToken.objects.filter(organization=org).first()
        with tenant_context(org):
            self.contract_line = ContractLine.objects.create(
                account=self.account, start_date=dt.date(2025, 1, 1), end_date=dt.date(2026, 1, 1),
                arr=Decimal("1200.00"), currency=org.reporting_currency,
            )
            self.renewal = Renewal.objects.create(
                account=self.account, renewal_date=dt.date(2026, 1, 1), target_arr=Decimal("1200.00")
            )
            self._health_objects(world)

    def _health_objects(self, world):
        when = dt.datetime(2026, 1, 5, 12, tzinfo=dt.UTC)
        self.usage = UsageRecord.objects.create(account=self.account, date=when.date(), metric="logins", value=3)
        self.survey = SurveyResponse.objects.create(
            account=self.account, external_id="r-1", kind="nps", score=9, responded_at=when
        )
        self.ticket = SupportTicket.objects.create(account=self.account, external_id="t-1", opened_at=when)
        self.pulse = Pulse.objects.create(account=self.account, value="good", reason="Great QBR", recorded_by=world.csm)
        self.health_model = HealthModel.objects.get(segment_field="")  # every organization gets a default model
        self.health_version = self.health_model.versions.get(number=1)
        self.snapshot = HealthSnapshot.objects.create(
            account=self.account, date=when.date(), model_version=self.health_version, score=Decimal("55.0"),
            band="stable",
        )
        self.alert = HealthAlert.objects.create(
            account=self.account, kind="entered_at_risk", date=when.date(), message="Entered At risk"
        )
        self.delivery = SlackDelivery.objects.create(alert=self.alert, payload={"text": "x"})
        self.notification = Notification.objects.create(user=world.admin, kind="health_alert", title="x")
        self.outbox_message = OutboxMessage.objects.create(
            kind="weekly_csm", period="2026-W02", to_email=world.csm.email, subject="Your week", body_text="Hi"
        )
        self.company_update = CompanyUpdate.objects.create(title="Release 2.0", author=world.admin)
        self.exec_update = ExecUpdate.objects.create(period="2026-W02", highlights="Good week", author=world.admin)

    def kwargs_for(self, name: str, params: list[str], slug: str) -> dict:
        by_api_basename = {"account": self.account, "contact": self.contact, "touchpoint": self.touchpoint,
                           "task": self.task, "contract": self.contract_line, "renewal": self.renewal,
                           "usage": self.usage, "survey": self.survey, "ticket": self.ticket, "pulse": self.pulse,
                           "healthmodel": self.health_model, "snapshot": self.snapshot, "alert": self.alert,
                           "notification": self.notification, "delivery": self.delivery}
        values = {
            "org_slug": slug, "account_id": self.account.pk, "contact_id": self.contact.pk, "task_id": self.task.pk,
            "batch_id": self.batch.pk, "membership_id": self.membership.pk, "token_id": self.token.pk,
            "renewal_id": self.renewal.pk, "model_id": self.health_model.pk, "version_id": self.health_version.pk,
            "snapshot_id": self.snapshot.pk, "alert_id": self.alert.pk, "delivery_id": self.delivery.pk,
            "notification_id": self.notification.pk, "pulse_id": self.pulse.pk,
            "message_id": self.outbox_message.pk, "update_id": self.company_update.pk,
            "exec_update_id": self.exec_update.pk,
        }
        kwargs = {}
        for param in params:
            if param == "id" or param == "pk":
                basename = name.split(":")[-1].split("-")[0]
                assert basename in by_api_basename, f"walk does not know API basename {basename!r} ({name})"
                kwargs[param] = by_api_basename[basename].pk
            else:
                assert param in values, f"walk does not know path parameter {param!r} of {name}: add it to Objects"
                kwargs[param] = values[param]
        return kwargs


@pytest.fixture
def objects(world, other_world):
    return Objects(world), Objects(other_world)


def _is_api(route: str) -> bool:
    return route.startswith("api/")


def _api(token=None, user=None):
    client = APIClient()
    if token:
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    if user:
        client.force_login(user)
    return client


@pytest.mark.parametrize("name,route,params,callback", ORG_ROUTES, ids=[r[0] for r in ORG_ROUTES])
def test_route_isolation(name, route, params, callback, world, other_world, objects, client):
    mine, theirs = objects
    url = reverse(name, kwargs=mine.kwargs_for(name, params, world.org.slug))
    api = _is_api(route)

    # A member can reach it: the ids are right, so every 404 below is isolation, not a typo.
    member = _api(user=world.admin) if api else client
    if not api:
        client.force_login(world.admin)
    status = member.get(url).status_code
    assert status in (200, 302, 405), f"{name}: member GET {url} -> {status}"
    client.logout()

    # Anonymous: login (UI) or 401 (API).
    anon = _api() if api else client
    response = anon.get(url)
    if api:
        assert response.status_code == 401, f"{name}: anonymous -> {response.status_code}"
        assert response.json()["code"] == "not_authenticated"
    else:
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/"), name

    # A member of another organization: 404 with a session, and with their organization's token.
    if api:
        for outsider in (_api(user=other_world.admin), _api(token=other_world.token_rw)):
            for method in ("get", "post", "patch", "delete"):
                assert getattr(outsider, method)(url).status_code == 404, f"{name}: outsider {method} not 404"
    else:
        client.force_login(other_world.admin)
        for method in ("get", "post"):
            assert getattr(client, method)(url).status_code == 404, f"{name}: outsider {method} not 404"
        client.logout()

    # Another organization's object ids under one's own slug: 404.
    if set(params) - {"org_slug"}:
        cross_kwargs = {**mine.kwargs_for(name, params, other_world.org.slug)}
        cross_url = reverse(name, kwargs=cross_kwargs)
        outsider = _api(token=other_world.token_rw) if api else client
        if not api:
            client.force_login(other_world.admin)
        # Every method is refused; a method the route doesn't serve may say 405, but one must look and say 404.
        methods = ("get", "post", "patch", "delete") if api else ("get", "post")
        statuses = {m: getattr(outsider, m)(cross_url, {}).status_code for m in methods}
        assert set(statuses.values()) <= {404, 405} and 404 in statuses.values(), f"{name}: cross-org {statuses}"
        client.logout()

    # Viewers and read-only tokens cannot write.
    if api:
        for reader in (_api(user=world.viewer), _api(token=world.token_ro)):
            for method in ("post", "put", "patch", "delete"):
                status = getattr(reader, method)(url, {}, format="json").status_code
                assert status == 403, f"{name}: read-only {method} -> {status}"
    else:
        client.force_login(world.viewer)
        assert client.post(url, {}).status_code == 403, f"{name}: viewer POST not 403"
