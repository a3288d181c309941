"""The email dispatcher: hourly, per organization, at the organization's own local time.

Monday from ``WEEKLY_SEND_HOUR`` (local) the week's CSM and leader emails are queued, Friday from ``EXEC_SEND_HOUR`` the
scheduled executive update (idempotent: one row per recipient, kind and week), and every run sends what is
pending — so a run that died mid-batch is resumed by the next one.
"""
from celery import shared_task
from django.utils import timezone

from csops.tenancy.jobs import for_each_organization, in_organization

from .services.exec_update import exec_updates_enqueue_due
from .services.outbox import outbox_send_pending
from .services.weekly import weekly_csm_emails_enqueue, weekly_leader_emails_enqueue

WEEKLY_SEND_HOUR = 7
MONDAY = 0


@shared_task
def email_dispatch(organization_id: int) -> dict:
    with in_organization(organization_id) as org:
        local_now = timezone.now().astimezone(org.tzinfo)
        queued = 0
        if local_now.weekday() == MONDAY and local_now.hour >= WEEKLY_SEND_HOUR:
            queued = weekly_csm_emails_enqueue(organization=org, today=local_now.date())
            queued += weekly_leader_emails_enqueue(organization=org, today=local_now.date())
        queued += exec_updates_enqueue_due(organization=org, local_now=local_now)
        summary = outbox_send_pending()
    return {"queued": queued, "sent": summary.sent, "failed": summary.failed, "retrying": summary.retrying}


@shared_task
def email_dispatch_all_orgs() -> None:
    for_each_organization(email_dispatch)
