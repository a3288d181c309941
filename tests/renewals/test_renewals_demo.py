"""The demo's contract history is consistent with what the services derive from it."""
import pytest
from django.core.management import call_command
from django.db.models import F, Min

from accounts.demo import demo_reset
from accounts.models import Account
from csops.tenancy.context import tenant_context
from csops.tenancy.models import Organization
from renewals import ledger
from renewals.models import Renewal
from renewals.periods import trailing_twelve_months
from renewals.selectors import lines_frame
from renewals.services import account_arr_sync, renewal_checkpoint_sweep, renewals_sync

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def northwind(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        call_command("seed_demo", "--accounts", "400", "--fast-passwords", "--verbosity", "0", "--reset",
                     "--skip", "health_signals", "--skip", "health_history")  # health: tests/accounts/test_seed_demo.py
        yield Organization.objects.get(slug="northwind")
        demo_reset()


def test_demo_accounts_arr_and_renewal_date_are_what_the_ledger_derives(northwind):
    with tenant_context(northwind):
        today = northwind.today()
        assert account_arr_sync(as_of=today) == 0
        sync = renewals_sync(as_of=today)
        assert (sync.created, sync.updated, sync.removed, sync.accounts_renewal_date_changed) == (0, 0, 0, 0)
        next_open = dict(Renewal.objects.filter(renewal_date__gte=today).exclude(stage="closed")
                         .values("account_id").annotate(d=Min("renewal_date")).values_list("account_id", "d"))
        for account_id, renewal_date, stage in Account.objects.values_list("id", "renewal_date", "lifecycle_stage"):
            assert renewal_date == next_open.get(account_id)
            assert (renewal_date is None) == (stage == "churned")


def test_demo_closed_renewals_match_their_outcomes_and_retention_looks_like_saas(northwind):
    with tenant_context(northwind):
        closed = Renewal.objects.filter(stage="closed")
        assert closed.filter(outcome="upsell", final_arr__gt=F("target_arr")).count() == closed.filter(
            outcome="upsell").count() > 0
        assert closed.filter(outcome="downsell", final_arr__lt=F("target_arr"), final_arr__gt=0).count() == (
            closed.filter(outcome="downsell").count()) > 0
        assert closed.filter(outcome="renewed").exclude(final_arr=F("target_arr")).count() == 0
        assert closed.filter(outcome="churned").exclude(final_arr=0).count() == 0
        period = trailing_twelve_months(northwind.today())
        result = ledger.retention(lines_frame(), period.start, period.end)
        assert 0.75 < result.grr < 1 and 0.85 < result.nrr < 1.3
        moves = ledger.movements(lines_frame(), period.start, period.end)
        assert {"new", "expansion", "contraction", "churn"} <= set(moves["kind"])


def test_first_sweep_after_seeding_raises_only_the_recent_checkpoints(northwind):
    with tenant_context(northwind):
        today = northwind.today()
        open_count = Renewal.objects.exclude(stage="closed").count()
        raised = renewal_checkpoint_sweep(as_of=today)
        assert raised < open_count * 0.1
        assert renewal_checkpoint_sweep(as_of=today) == 0
