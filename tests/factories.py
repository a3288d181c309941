"""factory_boy factories. Tenant rows always get an explicit organization, so factories work with or
without a tenant context (the context only *checks* organization when one is active)."""
import datetime as dt
from decimal import Decimal

import factory
from django.utils import timezone

from accounts.models import Account, Contact, LifecycleStage, Tier, Touchpoint, TouchpointKind
from csops.tenancy.models import Membership, Organization, Role, Team, User
from health.components import STORED_FIELDS
from playbooks.models import Task, TaskType

PASSWORD = "correct-horse-battery"


class OrganizationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organization
        django_get_or_create = ("slug",)

    name = factory.Sequence(lambda n: f"Org {n}")
    slug = factory.Sequence(lambda n: f"org-{n}")
    timezone = "UTC"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    full_name = factory.Faker("name")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def save_password(obj, create, extracted, **kwargs):  # noqa: N805 -- factory_boy hook signature
        if create:
            obj.save()


class TeamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Team

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"Team {n}")


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    organization = factory.SubFactory(OrganizationFactory)
    user = factory.SubFactory(UserFactory)
    role = Role.CSM


class AccountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Account

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"Customer {n:04d}")
    external_id = factory.Sequence(lambda n: f"ext-{n:05d}")
    domain = factory.LazyAttribute(lambda o: f"{o.name.lower().replace(' ', '')}.example")
    tier = Tier.MID_MARKET
    lifecycle_stage = LifecycleStage.ADOPTING
    arr = Decimal("25000.00")
    renewal_date = factory.LazyFunction(lambda: timezone.localdate() + dt.timedelta(days=120))


class ContactFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Contact

    account = factory.SubFactory(AccountFactory)
    organization = factory.SelfAttribute("account.organization")
    name = factory.Faker("name")
    email = factory.Sequence(lambda n: f"contact{n}@customer.example")


class TouchpointFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Touchpoint

    account = factory.SubFactory(AccountFactory)
    organization = factory.SelfAttribute("account.organization")
    kind = TouchpointKind.CALL
    summary = "Checked in on adoption."


class TaskFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Task

    account = factory.SubFactory(AccountFactory)
    organization = factory.SelfAttribute("account.organization")
    title = factory.Sequence(lambda n: f"Follow up {n}")
    type = TaskType.ACTIVITY
    due_on = factory.LazyFunction(lambda: timezone.localdate() + dt.timedelta(days=3))


# --- Health (snapshots, pulses) -------------------------------------------------------------------------------


def _published_default_version(organization):
    from csops.tenancy.context import tenant_context
    from health.models import HealthModelVersion, VersionStatus
    from health.services.models import health_model_ensure_default

    with tenant_context(organization):
        model = health_model_ensure_default(organization=organization)
        return HealthModelVersion.objects.get(model=model, status=VersionStatus.PUBLISHED)


def snapshot_components(score: float, *, missing: tuple[str, ...] = ()) -> dict:
    """Stored components of a snapshot scoring ``score`` (``health.components`` document, three of the default
    model's components): usage drags it down, the rest sits at ``score``-ish; the components named in
    ``missing`` have no input (their weight redistributed over the others)."""
    specs = [("usage_trend", 40.0, 0.55), ("nps", 30.0, 40.0), ("csm_pulse", 30.0, 2.0)]
    present = [s for s in specs if s[0] not in missing]
    total_weight = sum(s[1] for s in present) or 1.0
    document = {name: [] for name in STORED_FIELDS}
    for key, weight, raw in specs:
        if key in missing:
            values = (key, None, None, 0.0, 0.0, True, None)
        else:
            effective = weight * 100.0 / total_weight
            component_score = max(0.0, min(100.0, score - 20.0)) if key == "usage_trend" else min(100.0, score + 10.0)
            values = (key, raw, component_score, effective, component_score * effective / 100.0, False, "2026-11-01")
        for name, value in zip(STORED_FIELDS, values, strict=True):
            document[name].append(value)
    return document


class HealthSnapshotFactory(factory.django.DjangoModelFactory):
    """A day's snapshot of an account, scored by its organization's published default model."""

    class Meta:
        model = "health.HealthSnapshot"

    account = factory.SubFactory(AccountFactory)
    organization = factory.SelfAttribute("account.organization")
    date = factory.LazyFunction(timezone.localdate)
    model_version = factory.LazyAttribute(lambda o: _published_default_version(o.organization))
    score = Decimal("62.0")
    band = factory.LazyAttribute(
        lambda o: "unknown" if o.score is None else "healthy" if o.score >= 70 else "at_risk" if o.score < 40
        else "stable")
    components = factory.LazyAttribute(lambda o: snapshot_components(float(o.score or 0)))
    missing = factory.LazyAttribute(
        lambda o: [key for key, gone in zip(o.components["component"], o.components["missing"], strict=True) if gone])
    top_detractor = "usage_trend"
    why_changed = "Usage trend fell from 72 to 31 (usage at 95% → 55% of the prior period)"


class PulseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "health.Pulse"

    account = factory.SubFactory(AccountFactory)
    organization = factory.SelfAttribute("account.organization")
    value = "good"
    reason = "Great QBR, expansion in sight."
    valid_days = 30
    recorded_at = factory.LazyFunction(timezone.now)
