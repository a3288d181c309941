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
}
