"""Test settings, also used by the worker processes the tests start.

The production path (PostgreSQL + Redis) whenever it is reachable.

In CI (CI=true) PostgreSQL and Redis on 127.0.0.1 are required: if either is unreachable the
run fails here rather than skipping. Elsewhere, without them, the suite falls back to the
embedded defaults and tests marked ``production`` skip with the reason.
"""

import os
import socket
import tempfile
import uuid

from cryptography.fernet import Fernet


def _reachable(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
    except OSError:
        return False
    return True


IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
PG_URL = os.environ.get("HUB_TEST_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/hub")
REDIS_URL = os.environ.get("HUB_TEST_REDIS_URL", "redis://127.0.0.1:6379")
PRODUCTION_SERVICES = _reachable(5432) and _reachable(6379)
if IN_CI and not PRODUCTION_SERVICES:
    raise RuntimeError(
        "CI=true but PostgreSQL (127.0.0.1:5432) or Redis (127.0.0.1:6379) is unreachable: "
        "the production-path tests cannot run, and CI must not skip them."
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# allauth reads GITHUB_URL when its GitHub adapter is imported: the fake GitHub's port is chosen
# here, before django.setup(), and the tests' fake_github fixture listens on it.
os.environ.setdefault("GITHUB_URL", f"http://127.0.0.1:{_free_port()}")
RUN_ID = os.environ.setdefault("HUB_TEST_RUN_ID", uuid.uuid4().hex[:8])
os.environ.setdefault("HUB_DATA_DIR", tempfile.mkdtemp(prefix="hub-test-"))
os.environ.setdefault("HUB_ENCRYPTION_KEYS", Fernet.generate_key().decode())
os.environ.setdefault("DJANGO_SECRET_KEY", "test-only-" + RUN_ID)
if PRODUCTION_SERVICES:
    os.environ.setdefault("DATABASE_URL", PG_URL)
    os.environ.setdefault("CACHE_URL", f"{REDIS_URL}/13")
    os.environ.setdefault("CELERY_BROKER_URL", f"{REDIS_URL}/14")

from hub.settings import *  # noqa: E402,F403
from hub.settings import CACHES, DATABASES, INSTALLED_APPS, STATIC_ROOT  # noqa: E402

INSTALLED_APPS = [*INSTALLED_APPS, "tests"]
HUB_WEBHOOK_HANDLERS = {
    "generic": {
        "test.count": "tests.handlers.count",
        "test.fail": "tests.handlers.always_fail",
        "test.flaky": "tests.handlers.fail_twice",
        "test.permanent": "tests.handlers.permanent",
        "test.slow": "tests.handlers.slow_first_attempt",
        "test.once": "tests.handlers.fail_first",
        "test.sleepy": "tests.handlers.sleepy",
    }
}
HUB_WEBHOOK_IGNORED_EVENTS = {"generic": ["test.ignored"]}

os.makedirs(STATIC_ROOT, exist_ok=True)

# Several runs may share this machine's services (a developer's and CI's): each run has its own
# test database, cache key prefix and Celery queue.
CACHES["default"]["KEY_PREFIX"] = f"test-{RUN_ID}"
DATABASES["default"]["TEST"] = {"NAME": f"test_hub_{RUN_ID}"}
CELERY_TASK_DEFAULT_QUEUE = f"hub-test-{RUN_ID}"
# Tests flush the buffers explicitly: a background thread's own database connection cannot see
# a test's uncommitted rows (tests of the thread turn it on for themselves).
HUB_BACKGROUND_FLUSH = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
