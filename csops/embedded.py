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
        self._tasks_loaded = False
        now = timezone.now()
        self.last_run = dict.fromkeys(app.conf.beat_schedule, now)

    def _load_tasks(self) -> None:
        # Autodiscovery is lazy and the schedule names tasks by import path. Not in __init__: the scheduler
        # starts from AppConfig.ready(), and Celery's Django fixup would call django.setup() re-entrantly.
        if not self._tasks_loaded:
            self.app.loader.import_default_modules()
            self._tasks_loaded = True

    def run_due(self) -> list[str]:
        self._load_tasks()
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
        logger.warning("embedded scheduler started (no REDIS_URL): %s", ", ".join(self.last_run))
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
