"""Integration tests run against real services. In CI (CI=true) a missing service is a failure."""
import contextlib
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]


def require_services():
    problems = []
    if not settings.REDIS_URL:
        problems.append("REDIS_URL is not set")
    if connection.vendor != "postgresql":
        problems.append("DATABASE_URL is not PostgreSQL (a worker process cannot see an in-memory SQLite test db)")
    if problems:
        message = "integration tests need real services: " + "; ".join(problems)
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


@contextlib.contextmanager
def celery_worker_process(queue: str, **extra_env):
    """A real Celery worker (solo pool) on the test database and Redis, consuming ``queue``; yields the process
    (a test may kill it). Stopped at the end; a traceback in its output is printed into the test report."""
    db = connection.settings_dict
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "csops.settings.base",
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}",
        "REDIS_URL": settings.REDIS_URL,
        "CELERY_QUEUE": queue,
        "CONN_MAX_AGE": "0",
        **extra_env,
    }
    proc = subprocess.Popen(  # noqa: S603 -- fixed argv, our own worker
        [sys.executable, "-m", "celery", "-A", "csops", "worker", "--pool=solo", "-Q", queue, "-l", "WARNING",
         "--without-gossip", "--without-mingle", "--without-heartbeat"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        yield proc
    finally:
        proc.terminate()
        try:
            output, _ = proc.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            output, _ = proc.communicate()
        if "Traceback" in (output or ""):
            print(output)  # noqa: T201 -- surface worker crashes in the test report
