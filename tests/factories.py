"""factory_boy factories. Tenant rows always get an explicit organization, so factories work with or
without a tenant context (the context only *checks* organization when one is active)."""
import datetime as dt
from decimal import Decimal

import factory
from django.utils import timezone

from accounts.models import Account, Contact, LifecycleStage, Tier, Touchpoint, TouchpointKind
from csops.tenancy.models import Membership, Organization, Role, Team, User
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
