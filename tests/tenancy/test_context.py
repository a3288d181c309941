import pytest

from accounts.models import Account
from csops.tenancy.context import TenantContextMissing, dangerously_all_tenants, tenant_context
from tests.factories import AccountFactory


def test_tenant_query_without_context_raises(world):
    AccountFactory(organization=world.org)
    with pytest.raises(TenantContextMissing):
        list(Account.objects.all())


def test_tenant_query_is_scoped_to_the_context_org(world, other_world):
    mine = AccountFactory(organization=world.org)
    AccountFactory(organization=other_world.org)
    with tenant_context(world.org):
        assert list(Account.objects.all()) == [mine]
        assert Account.objects.filter(pk__isnull=False).count() == 1


def test_dangerously_all_tenants_is_the_explicit_escape_hatch(world, other_world):
    AccountFactory(organization=world.org)
    AccountFactory(organization=other_world.org)
    with dangerously_all_tenants():
        assert Account.objects.count() == 2


def test_saving_another_orgs_row_inside_a_context_raises(world, other_world):
    theirs = AccountFactory(organization=other_world.org)
    with tenant_context(world.org), pytest.raises(ValueError, match="another organization"):
        theirs.save()


def test_new_rows_take_the_context_org(world):
    with tenant_context(world.org):
        account = Account.objects.create(name="Hooli")
    assert account.organization_id == world.org.pk
