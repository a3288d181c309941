"""The Celery app. With REDIS_URL unset, tasks run in-process (CELERY_TASK_ALWAYS_EAGER)."""
import os

from celery import Celery
from celery.schedules import crontab

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "csops.settings.base")

app = Celery("csops")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
app.autodiscover_tasks(["reporting"], related_name="dashboard_tasks")

app.conf.beat_schedule = {
    "wake-snoozed-tasks": {"task": "playbooks.tasks.wake_snoozed_tasks_all_orgs", "schedule": crontab(minute=5)},
    # Hourly although the work is daily: each org's "today" turns at its own local midnight, and the run is
    # idempotent, so the hours after an org's midnight raise that day's checkpoints and the rest are no-ops.
    "renewals-daily": {"task": "renewals.tasks.renewals_daily_all_orgs", "schedule": crontab(minute=15)},
    # Hourly, like renewals: each organization's recompute starts once its local clock passes its health run
    # hour, and repeats hourly only until that day's snapshots cover every active account (late runs catch up).
    "health-daily": {"task": "health.daily_all_orgs", "schedule": crontab(minute=10)},
    # Health alerts' Slack retries (backoff 1/5/25 minutes): one query finds the orgs with a delivery due.
    "health-slack-deliveries": {"task": "health.slack_deliveries_sweep_all_orgs", "schedule": crontab()},
    # Hourly: each organization's dashboard aggregates once its day's health snapshots are in (idempotent).
    "dashboard-refresh": {"task": "reporting.dashboard_refresh_all_orgs", "schedule": crontab(minute=40)},
    # Hourly: each organization gets its Monday email at its own local morning; each run also resumes sends.
    "email-dispatch": {"task": "reporting.tasks.email_dispatch_all_orgs", "schedule": crontab(minute=25)},
}
