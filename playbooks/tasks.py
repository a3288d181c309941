from celery import shared_task

from csops.tenancy.jobs import for_each_organization, in_organization

from .services import tasks_wake_snoozed


@shared_task
def wake_snoozed_tasks(organization_id: int) -> int:
    with in_organization(organization_id) as org:
        return tasks_wake_snoozed(today=org.today())


@shared_task
def wake_snoozed_tasks_all_orgs() -> None:
    for_each_organization(wake_snoozed_tasks)
