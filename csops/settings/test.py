from .base import *  # noqa: F403 -- test settings extend the base settings wholesale
from .base import BASE_DIR

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # speed: tests hash many passwords
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
MEDIA_ROOT = BASE_DIR / "var" / "test-media"
DEBUG = False

# With REDIS_URL the cache is Redis, which outlives the test database: keys written by an earlier run (same
# organization and user ids once the database is re-created) must not leak into this one. One prefix per run,
# shared through the environment with the processes the run starts (the integration tests' Celery worker).
if CACHES["default"]["BACKEND"].endswith("RedisCache"):  # noqa: F405 -- from base
    import os
    import uuid

    os.environ.setdefault("CSOPS_TEST_CACHE_PREFIX", f"test-{uuid.uuid4().hex[:12]}")
    CACHES["default"]["KEY_PREFIX"] = os.environ["CSOPS_TEST_CACHE_PREFIX"]  # noqa: F405
