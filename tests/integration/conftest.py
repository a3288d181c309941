"""Integration tests run against real services. In CI (CI=true) a missing service is a failure."""
import os

import pytest
from django.conf import settings
from django.db import connection


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
