"""Daily renewal jobs. Each takes an organization id, works in its tenant context at the organization's
own "today", and is idempotent (see the services it calls): running it hourly only repeats no-ops."""
from celery import shared_task

from csops.tenancy.jobs import for_each_organization, in_organization

from .periods import org_today
from .services import account_arr_sync, renewal_checkpoint_sweep, renewals_sync


@shared_task
def renewals_daily(organization_id: int) -> dict:
    """Renewals follow the contract lines, checkpoint tasks are raised, accounts' ARR follows the ledger."""
    with in_organization(organization_id) as org:
        today = org_today(org)
        sync = renewals_sync(as_of=today)
        raised = renewal_checkpoint_sweep(as_of=today)
        arr_changed = account_arr_sync(as_of=today)
    return {"renewals_created": sync.created, "renewals_updated": sync.updated, "checkpoints_raised": raised,
            "accounts_arr_changed": arr_changed}


@shared_task
def renewals_daily_all_orgs() -> None:
    for_each_organization(renewals_daily)
