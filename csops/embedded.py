"""The embedded scheduler: with no REDIS_URL there is no beat process, so the dev server drives the same
beat schedule (csops/celery.py) from a daemon thread, running each due task in-process."""
import logging
import threading
import time

from django.db import close_old_connections
from django.utils import timezone

logger = logging.getLogger(__name__)
TICK_SECONDS = 30


class EmbeddedScheduler(threading.Thread):
    def __init__(self, app):
        super().__init__(name="csops-embedded-scheduler", daemon=True)
        self.app = app
        app.loader.import_default_modules()  # autodiscovery is lazy; the schedule names tasks by import path
        now = timezone.now()
        self.last_run = dict.fromkeys(app.conf.beat_schedule, now)

    def run_due(self) -> list[str]:
        ran = []
        for name, entry in self.app.conf.beat_schedule.items():
            schedule = entry["schedule"]
            due, _next = schedule.is_due(self.last_run[name])
            if not due:
                continue
            self.last_run[name] = timezone.now()
            try:
                self.app.tasks[entry["task"]].apply(args=entry.get("args", ()), throw=True)
                ran.append(name)
            except Exception:  # a failing job must not stop the scheduler thread; it is logged with its traceback
                logger.exception("embedded scheduler: %s failed", name)
        return ran

    def run(self):  # pragma: no cover - the loop itself; run_due is tested
        logger.info("embedded scheduler started: %s", ", ".join(self.last_run))
        while True:
            time.sleep(TICK_SECONDS)
            self.run_due()
            close_old_connections()


def start_if_embedded() -> EmbeddedScheduler | None:
    from django.conf import settings

    from csops.celery import app

    if settings.REDIS_URL:
        return None
    scheduler = EmbeddedScheduler(app)
    scheduler.start()
    return scheduler
