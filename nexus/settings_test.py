"""Test overrides: eager Celery unless a test starts a real worker, a fast
password hasher, a per-run cache prefix, no throttling unless a test asks."""

import os

from nexus.settings import *  # noqa: E402,F403
from nexus.settings import CACHES  # noqa: E402

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
CELERY_TASK_ALWAYS_EAGER = True
ALLOWED_HOSTS = ["testserver", "localhost", "127.0.0.1"]
CACHES["default"]["KEY_PREFIX"] = f"nexus-test-{os.getpid()}"
NEXUS_WRITE_RATE = "100000/min"
