"""`manage.py seed_demo`: the demo tenants, their people, a realistic customer base, determinism, idempotency."""
from collections import Counter
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db.models import Count, Max, Q

from accounts.demo import DEMO_PASSWORD, demo_reset
from accounts.models import Account, Contact, OwnerAssignment, Touchpoint
from csops.tenancy.context import dangerously_all_tenants, tenant_context
from csops.tenancy.models import Membership, Organization, Role, Team, User
from playbooks.models import Task
from tests.factories import MembershipFactory, OrganizationFactory

pytestmark = pytest.mark.django_db

TIER_BANDS = {
    "enterprise": (Decimal("150000"), Decimal("1200000")),
    "mid_market": (Decimal("30000"), Decimal("150000")),
    "smb": (Decimal("5000"), Decimal("30000")),
    "tech_touch": (Decimal("500"), Decimal("5000")),
}


# The health phases (a year of signals and snapshot history) are tested once, below; the other tests leave them out.
WITHOUT_HEALTH = ("--skip", "health_signals", "--skip", "health_history")


def seed_demo(*args: str, health: bool = False) -> str:
    out = StringIO()
    call_command("seed_demo", "--accounts", "60", "--fast-passwords", "--verbosity", "0",
                 *(() if health else WITHOUT_HEALTH), *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def seeded() -> str:
    return seed_demo()


def org(slug: str) -> Organization:
    return Organization.objects.get(slug=slug)


def account_fingerprint(slug: str) -> list[tuple]:
    with tenant_context(org(slug)):
        return list(Account.objects.order_by("external_id").values_list("external_id", "name", "arr", "tier", "domain"))


def test_seed_creates_both_organizations_with_their_settings(seeded):
    northwind, globex = org("northwind"), org("globex")
    assert (northwind.name, northwind.timezone, northwind.reporting_currency, northwind.fiscal_year_start_month) == (
        "Northwind Analytics", "America/New_York", "USD", 2)
    assert (globex.name, globex.timezone, globex.reporting_currency) == ("Globex Cloud", "Europe/Berlin", "EUR")
    with tenant_context(northwind):
        assert Account.objects.count() == 60
    with tenant_context(globex):
        assert Account.objects.count() == 80


def test_northwind_has_every_role_and_two_teams_led_by_their_managers(seeded):
    northwind = org("northwind")
    roles = Counter(Membership.objects.filter(organization=northwind).values_list("role", flat=True))
    assert roles == {Role.CSM: 8, Role.MANAGER: 2, Role.LEADER: 1, Role.OPS_ADMIN: 1, Role.VIEWER: 1}
    with tenant_context(northwind):
        teams = {t.name: t for t in Team.objects.select_related("manager")}
    assert set(teams) == {"Enterprise & Strategic", "Scale"}
    assert teams["Enterprise & Strategic"].manager.email == "manager@northwind.example"
    for team in teams.values():
        manager_membership = Membership.objects.get(organization=northwind, user=team.manager)
        assert manager_membership.role == Role.MANAGER
        assert manager_membership.team_id == team.pk
        assert Membership.objects.filter(organization=northwind, team=team, role=Role.CSM).count() == 4
    csm = Membership.objects.get(organization=northwind, user__email="csm@northwind.example")
    assert csm.role == Role.CSM and csm.team == teams["Enterprise & Strategic"]
    assert User.objects.get(email="csm@northwind.example").check_password(DEMO_PASSWORD)


def test_globex_has_its_own_csms_and_admin(seeded):
    roles = Counter(Membership.objects.filter(organization=org("globex")).values_list("role", flat=True))
    assert roles == {Role.CSM: 2, Role.OPS_ADMIN: 1, Role.VIEWER: 1}


def test_shared_user_has_memberships_in_both_orgs(seeded):
    leader = User.objects.get(email="leader@northwind.example")
    seats = dict(Membership.objects.filter(user=leader).values_list("organization__slug", "role"))
    assert seats == {"northwind": Role.LEADER, "globex": Role.VIEWER}


def test_accounts_look_like_a_b2b_saas_customer_base(seeded):
    with tenant_context(org("northwind")):
        accounts = list(Account.objects.all())
    assert len({a.name for a in accounts}) == len(accounts)
    assert all(a.external_id.startswith("SF-") and len(a.external_id) == 9 for a in accounts)
    assert {a.tier for a in accounts} >= {"mid_market", "smb", "tech_touch"}
    assert {a.region for a in accounts} <= {"NA", "EMEA", "APAC", "LATAM"}
    for a in accounts:
        assert a.arr.as_tuple().exponent == -2
        if a.lifecycle_stage == "churned":
            assert a.arr == 0
        else:
            low, high = TIER_BANDS[a.tier]
            assert low <= a.arr <= high, (a.name, a.tier, a.arr)
        assert a.domain and a.industry
        assert a.renewal_date or a.lifecycle_stage == "churned"  # a churned account has no renewal ahead
    assert sum(a.owner_id is None for a in accounts) < 10


def test_enterprise_accounts_go_to_the_enterprise_team(seeded):
    northwind = org("northwind")
    enterprise_csms = set(Membership.objects.filter(
        organization=northwind, team__name="Enterprise & Strategic", role=Role.CSM).values_list("user_id", flat=True))
    with tenant_context(northwind):
        owners = set(Account.objects.filter(tier__in=["enterprise", "mid_market"], owner__isnull=False)
                     .values_list("owner_id", flat=True))
        scale_owners = set(Account.objects.filter(tier__in=["smb", "tech_touch"], owner__isnull=False)
                           .values_list("owner_id", flat=True))
    assert owners <= enterprise_csms
    assert not scale_owners & enterprise_csms


def test_every_account_has_one_to_five_contacts_and_exactly_one_primary(seeded):
    with tenant_context(org("northwind")):
        per_account = Account.objects.annotate(
            n=Count("contacts"), primaries=Count("contacts", filter=Q(contacts__is_primary=True)))
        assert {a.primaries for a in per_account} == {1}
        assert all(1 <= a.n <= 5 for a in per_account)
        roles = set(Contact.objects.values_list("role", flat=True))
    assert roles >= {"champion", "decision_maker", "user"}


def test_touchpoints_cover_a_year_and_last_touchpoint_is_their_latest(seeded):
    with tenant_context(org("northwind")):
        assert Touchpoint.objects.count() > 60
        assert set(Touchpoint.objects.values_list("kind", flat=True)) >= {"call", "email", "meeting", "note"}
        latest = dict(Touchpoint.objects.values("account_id").annotate(m=Max("occurred_at"))
                      .values_list("account_id", "m"))
        for account in Account.objects.all():
            assert account.last_touchpoint_at == latest.get(account.pk)


def test_touchpoints_are_authored_by_a_csm_of_the_org(seeded):
    northwind = org("northwind")
    csm_ids = set(Membership.objects.filter(organization=northwind, role=Role.CSM).values_list("user_id", flat=True))
    with tenant_context(northwind):
        authors = set(Touchpoint.objects.values_list("author_id", flat=True))
    assert authors <= csm_ids | {None}


def test_tasks_mix_open_overdue_snoozed_and_done_without_active_duplicates(seeded):
    northwind = org("northwind")
    today = northwind.today()
    with tenant_context(northwind):
        tasks = list(Task.objects.all())
    active = [t for t in tasks if t.status in ("open", "snoozed")]
    assert any(t.due_on < today for t in active)
    assert any(today <= t.due_on <= today.fromordinal(today.toordinal() + 7) for t in active)
    assert all(t.snoozed_until > today for t in tasks if t.status == "snoozed")
    done = [t for t in tasks if t.status == "done"]
    assert done and all(t.completed_at is not None and t.completed_at.date() <= today for t in done)
    keys = Counter((t.account_id, t.type, t.reason) for t in active if t.reason)
    assert max(keys.values()) == 1
    assert len({t.type for t in active}) >= 3


def test_owner_history_records_first_assignments_and_reassignments(seeded):
    with tenant_context(org("northwind")):
        assert OwnerAssignment.objects.filter(reason="Initial assignment", previous_owner__isnull=True).exists()
        for account in Account.objects.filter(owner__isnull=False):
            latest = account.owner_history.order_by("-created_at").first()
            assert latest.new_owner_id == account.owner_id


def test_same_seed_gives_the_same_accounts_and_another_seed_does_not():
    seed_demo("--seed", "7")
    first = account_fingerprint("northwind")
    seed_demo("--seed", "7", "--reset")
    assert account_fingerprint("northwind") == first
    seed_demo("--seed", "8", "--reset")
    assert account_fingerprint("northwind") != first


def test_if_empty_skips_an_existing_demo_but_prints_the_logins(seeded):
    with tenant_context(org("northwind")):
        before = Account.objects.count()
    output = seed_demo("--if-empty")
    assert "nothing to seed" in output
    assert "csm@northwind.example" in output and DEMO_PASSWORD in output
    with tenant_context(org("northwind")):
        assert Account.objects.count() == before


def test_seeding_twice_without_reset_fails_with_a_hint(seeded):
    with pytest.raises(CommandError, match="--reset"):
        seed_demo()


def test_reset_keeps_users_that_belong_to_another_organization(seeded):
    other = OrganizationFactory(slug="initech")
    csm = User.objects.get(email="csm@northwind.example")
    MembershipFactory(organization=other, user=csm)
    seed_demo("--reset")
    assert User.objects.filter(pk=csm.pk).exists()  # still a member of initech
    assert Organization.objects.filter(slug="northwind").count() == 1
    assert Membership.objects.filter(user=csm).count() == 2


def test_reset_removes_demo_users_and_rows(seeded):
    assert sorted(demo_reset()) == ["globex", "northwind"]
    assert not Organization.objects.filter(slug__in=["northwind", "globex"]).exists()
    assert not User.objects.filter(email__endswith="@northwind.example").exists()
    with dangerously_all_tenants():
        assert all(model.objects.count() == 0 for model in (Account, Contact, Touchpoint, Task, OwnerAssignment))


def test_logins_are_printed_in_a_box(seeded):
    for email in ("csm@northwind.example", "manager@northwind.example", "leader@northwind.example",
                  "admin@northwind.example", "viewer@northwind.example"):
        assert email in seeded
    assert DEMO_PASSWORD in seeded and "+====" in seeded


def test_bulk_writer_rows_read_back_like_orm_rows(world):
    import datetime as dt

    import numpy as np
    from django.db import transaction
    from django.utils import timezone

    from accounts.demo_bulk import RawJSON, TenantBulkWriter
    from tests.factories import AccountFactory

    account = AccountFactory(organization=world.org)
    when = timezone.now().replace(microsecond=0) - dt.timedelta(days=3)
    epochs = np.array([when.timestamp(), when.timestamp() - 3600]).astype("int64")
    with tenant_context(world.org), transaction.atomic(), TenantBulkWriter() as writer:
        writer.insert(Touchpoint, {
            "id": ["0" * 31 + "1", "0" * 31 + "2"], "account": [account.pk.hex, account.pk.hex],
            "kind": ["call", "note"],
            "occurred_at": epochs.astype("datetime64[s]"),
            "author": [world.csm.pk, None], "summary": ["Tab\tand\nnewline \\ kept", "Plain"],
            "attendees": [RawJSON('["Ann Lee"]'), ["Bo", "Cy"]],
        })
    with tenant_context(world.org):
        rows = {t.summary: t for t in Touchpoint.objects.all()}
        assert Touchpoint.objects.filter(occurred_at__gte=when, occurred_at__lte=when).count() == 1
    first = rows["Tab\tand\nnewline \\ kept"]
    assert first.organization_id == world.org.pk and first.occurred_at == when and first.author == world.csm
    assert first.attendees == ["Ann Lee"] and rows["Plain"].attendees == ["Bo", "Cy"]
    assert rows["Plain"].author is None and rows["Plain"].created_at is not None  # model default filled in


def test_bulk_writer_refuses_unknown_fields_and_missing_required_ones(world):
    from django.db import transaction

    from accounts.demo_bulk import TenantBulkWriter

    with tenant_context(world.org), transaction.atomic(), TenantBulkWriter() as writer:
        with pytest.raises(ValueError, match="no fields"):
            writer.insert(Contact, {"id": ["a" * 32], "account": ["b" * 32], "name": ["X"], "colour": ["red"]})
        with pytest.raises(ValueError, match="account has no value"):
            writer.insert(Contact, {"id": ["a" * 32], "name": ["X"]})


def test_skip_leaves_out_a_phase_and_refuses_required_ones():
    seed_demo("--skip", "touchpoints")
    with tenant_context(org("northwind")):
        assert not Touchpoint.objects.exists() and Contact.objects.exists()
    with pytest.raises(CommandError, match="can be skipped"):
        seed_demo("--reset", "--skip", "contacts")
    assert Organization.objects.filter(slug="northwind").exists()  # refused before anything was deleted


def test_demo_accounts_that_churn_degrade_first_so_the_default_model_separates_them():
    """The demo's signals are generated from its contract history: the validation of the published default model
    (which knows the key features) finds churners scoring lower in the 90 days before they leave."""
    from health.models import HealthModelVersion, HealthSnapshot
    from health.validation_selectors import validation_page

    seed_demo(health=True)
    northwind = org("northwind")
    with tenant_context(northwind):
        published = HealthModelVersion.objects.get(model__segment_field="", status="published")
        assert "feature_breadth" in [c["kind"] for c in published.config["components"]]
        assert HealthSnapshot.objects.filter(date=northwind.today()).exists()
        page = validation_page(today=northwind.today())
    [(version, result)] = page.versions
    assert version == published and page.churn_events > 0
    assert result.auc_churn[90].value > 0.7
    bands = {row.band: row for row in result.bands}
    assert bands["at_risk"].churn[90].percent > bands["healthy"].churn[90].percent
