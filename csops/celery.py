"""The Celery app. With REDIS_URL unset, tasks run in-process (CELERY_TASK_ALWAYS_EAGER)."""
import os

from celery import Celery
from celery.schedules import crontab

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "csops.settings.base")

app = Celery("csops")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

app.conf.beat_schedule = {
    "wake-snoozed-tasks": {"task": "playbooks.tasks.wake_snoozed_tasks_all_orgs", "schedule": crontab(minute=5)},
    # Hourly although the work is daily: each org's "today" turns at its own local midnight, and the run is
    # idempotent, so the hours after an org's midnight raise that day's checkpoints and the rest are no-ops.
    "renewals-daily": {"task": "renewals.tasks.renewals_daily_all_orgs", "schedule": crontab(minute=15)},
}
