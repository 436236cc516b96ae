"""Settings, read from the environment.

With no environment at all the hub runs embedded: SQLite (WAL) and a SQLite-backed Celery
broker and cache under ``HUB_DATA_DIR``, so ``make run`` needs no server. Production sets
``DATABASE_URL=postgres://...``, ``CELERY_BROKER_URL=redis://...`` and ``CACHE_URL=redis://...``
plus the secrets ``DJANGO_SECRET_KEY`` and ``HUB_ENCRYPTION_KEYS``, which are then required.
"""

import os
import secrets
from pathlib import Path

import environ
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
env = environ.Env()

DATA_DIR = Path(env("HUB_DATA_DIR", default=str(BASE_DIR / "data"))).resolve()
EMBEDDED = "DATABASE_URL" not in os.environ
"""True when running on the embedded defaults (no DATABASE_URL): local secrets may be generated."""


def _private_data_dir() -> None:
    """Embedded mode keeps API tokens in SQLite (its WAL included), keys and the cache under
    DATA_DIR: the folder is 0700 and the database files are created 0600 before SQLite opens
    them (SQLite gives its -wal and -shm files the database file's mode)."""
    DATA_DIR.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(DATA_DIR, 0o700)
    for name in ("hub.sqlite3", "broker.sqlite3"):
        path = DATA_DIR / name
        if not path.exists():
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))


def _local_secret(name: str, make) -> str:
    """Read, or create once with mode 0600, a secret file in DATA_DIR (embedded mode only)."""
    if not EMBEDDED:
        raise ImproperlyConfigured(f"{name} must be set in the environment when DATABASE_URL is.")
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    path = DATA_DIR / name.lower()
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(make())
    return path.read_text().strip()


SECRET_KEY = env("DJANGO_SECRET_KEY", default=None) or _local_secret(
    "DJANGO_SECRET_KEY", lambda: secrets.token_urlsafe(50)
)
DEBUG = env.bool("DJANGO_DEBUG", default=False)
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

HUB_PORT = env.int("HUB_PORT", default=8000)
HUB_PUBLIC_URL = env("HUB_PUBLIC_URL", default="").rstrip("/")
"""Origin that providers use to reach the hub (e.g. https://hooks.example.com). Receiving URLs
shown in the admin and API are built on it; when empty, on the origin of the current request."""

# --- HTTPS: on by default when the hub's public URL is https ------------------------------
_HTTPS = HUB_PUBLIC_URL.startswith("https://")
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=_HTTPS)
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]  # load balancers probe over plain HTTP
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=31536000 if _HTTPS else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", default=_HTTPS)
SECURE_HSTS_PRELOAD = env.bool("DJANGO_SECURE_HSTS_PRELOAD", default=_HTTPS)
SESSION_COOKIE_SECURE = env.bool("DJANGO_SESSION_COOKIE_SECURE", default=_HTTPS)
CSRF_COOKIE_SECURE = env.bool("DJANGO_CSRF_COOKIE_SECURE", default=_HTTPS)
if env.bool("HUB_TRUST_X_FORWARDED_PROTO", default=False):
    # Behind a TLS-terminating proxy that sets X-Forwarded-Proto (and strips it from clients).
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
if HUB_PUBLIC_URL and not CSRF_TRUSTED_ORIGINS:
    CSRF_TRUSTED_ORIGINS = [HUB_PUBLIC_URL]

# Fernet keys for secrets at rest. The first key encrypts; every key decrypts (MultiFernet), so
# rotation is: prepend a new key, run `manage.py rotate_encryption_keys`, then drop the old one.
HUB_ENCRYPTION_KEYS = env.list("HUB_ENCRYPTION_KEYS", default=[]) or [
    _local_secret("HUB_ENCRYPTION_KEYS", lambda: Fernet.generate_key().decode())
]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.sites",
    "allauth",
    "allauth.account",
    "allauth.socialaccount",
    "allauth.socialaccount.providers.github",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "core",
    "providers",
    "connections",
    "webhooks",
    "routing",
    "hub",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
]

ROOT_URLCONF = "hub.urls"
WSGI_APPLICATION = "hub.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database -----------------------------------------------------------------------------
DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{DATA_DIR / 'hub.sqlite3'}"),
}
if EMBEDDED:
    _private_data_dir()
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = {
        # WAL lets the web server and the worker read while one of them writes.
        "init_command": (
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=10000;"
        ),
        "transaction_mode": "IMMEDIATE",
    }
# A new PostgreSQL backend costs ~5 ms of CPU: keep connections (research/performance-floor.md).
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DB_CONN_MAX_AGE", default=600)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache (rate limits; later circuit state) -----------------------------------------------
if "CACHE_URL" in os.environ:
    CACHES = {"default": env.cache("CACHE_URL")}
else:
    # diskcache's Django backend: SQLite files shared by every local process, atomic incr.
    CACHES = {
        "default": {
            "BACKEND": "diskcache.DjangoCache",
            "LOCATION": str(DATA_DIR / "cache"),
            "OPTIONS": {"size_limit": 2**28},
        }
    }
RATELIMIT_USE_CACHE = "default"
SILENCED_SYSTEM_CHECKS = [
    # django-ratelimit lists django-redis but not Django's own RedisCache or diskcache; both
    # increment atomically and are shared between processes, which is all it needs.
    "django_ratelimit.W001",
]

# --- Celery -------------------------------------------------------------------------------
CELERY_BROKER_URL = env(
    "CELERY_BROKER_URL", default=f"sqla+sqlite:///{DATA_DIR / 'broker.sqlite3'}"
)
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = env.int("CELERY_WORKER_PREFETCH_MULTIPLIER", default=4)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
if CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
    CELERY_BROKER_TRANSPORT = "hub.broker:Transport"  # Redis, guarded against a dead connection
    # Unacknowledged messages (acks_late) come back after this long if a worker vanishes.
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_TASK_PUBLISH_RETRY = False  # never hold a provider's request while the broker is down
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_TASK_ALWAYS_EAGER = False

# --- Webhooks -----------------------------------------------------------------------------
HUB_WEBHOOK_MAX_BODY_BYTES = env.int("HUB_WEBHOOK_MAX_BODY_BYTES", default=1024 * 1024)
HUB_RATE_SYNC_EVERY = env.int("HUB_RATE_SYNC_EVERY", default=20)
HUB_RATE_SYNC_SECONDS = env.float("HUB_RATE_SYNC_SECONDS", default=0.2)
"""A web process adds its count of a source's requests to the shared rate-limit counter every
HUB_RATE_SYNC_EVERY requests or HUB_RATE_SYNC_SECONDS, and on every request near the limit
(webhooks.ratelimit)."""
HUB_INGEST_GROUP_COMMIT = env.bool("HUB_INGEST_GROUP_COMMIT", default=True)
"""Concurrent deliveries of one web process are written with one multi-row INSERT by one writer
thread (webhooks.store); each request still answers only once its row is committed."""
HUB_REQUEST_BODY_CEILING = env.int("HUB_REQUEST_BODY_CEILING", default=10 * 1024 * 1024)
"""The most of any request body the web server reads (hub/asgi.py): larger ones are answered
413 unread. A source's own limit (max_body_bytes) cannot exceed it."""
HUB_WEBHOOK_RATE_LIMIT = env("HUB_WEBHOOK_RATE_LIMIT", default="6000/m")
HUB_SECRET_ROTATION_GRACE_SECONDS = env.int("HUB_SECRET_ROTATION_GRACE_SECONDS", default=86400)
HUB_REJECTED_BODY_BYTES = 4096
"""Rejected requests keep at most this much of their body."""
HUB_STORED_HEADER_BYTES = env.int("HUB_STORED_HEADER_BYTES", default=16384)
"""Request headers kept per delivery (names plus values; accepted and rejected alike): the
headers that identify a delivery first, then the rest by name until this is reached."""
HUB_REJECTED_STORE_PER_MINUTE = env.int("HUB_REJECTED_STORE_PER_MINUTE", default=60)
"""Rejected requests stored per source per minute; beyond it they are only counted and logged,
so a flood of bad requests cannot fill the disk."""
HUB_SOURCE_CACHE_SECONDS = env.float("HUB_SOURCE_CACHE_SECONDS", default=5.0)
"""How long a web process reuses a source's configuration before reading it again. A signature
that fails on the cached copy is always re-checked against the database, so a rotated secret
works at once; disabling a source takes effect within this many seconds."""
HUB_USE_X_FORWARDED_FOR = env.bool("HUB_USE_X_FORWARDED_FOR", default=False)
"""Behind a reverse proxy, record the client address from X-Forwarded-For (first hop)."""

# --- REST API -----------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["core.permissions.ModelPermissions"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Integration Hub API",
    "DESCRIPTION": "Management API: webhook sources, deliveries.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["core.permissions.HubStaff"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {
        "DeliveryStatusEnum": "webhooks.models.Delivery.Status",
        "ReplayJobStatusEnum": "webhooks.models.ReplayJob.Status",
        "ConnectionStatusEnum": "connections.models.Connection.Status",
        "ReceivingProviderEnum": "core.catalog.receiver_choices",
        "ApiProviderEnum": "core.catalog.api_choices",
        "ForwardStatusEnum": "routing.models.Forward.Status",
    },
}

# --- The rest -----------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
# --- Accounts: sign-in, and GitHub accounts linked with django-allauth ------------------------
SITE_ID = 1
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "home"  # staff: the overview; end users: their linked accounts
ACCOUNT_LOGOUT_REDIRECT_URL = "account_login"
ACCOUNT_LOGIN_METHODS = {"username"}
ACCOUNT_SIGNUP_FIELDS = ["username*", "email", "password1*", "password2*"]
ACCOUNT_EMAIL_VERIFICATION = "none"
SOCIALACCOUNT_AUTO_SIGNUP = True
SOCIALACCOUNT_QUERY_EMAIL = True
SOCIALACCOUNT_STORE_TOKENS = False  # tokens go to the hub's encrypted AccountToken instead
SOCIALACCOUNT_ADAPTER = "connections.allauth_glue.SocialAccountAdapter"
GITHUB_URL = env("GITHUB_URL", default="https://github.com").rstrip("/")
"""GitHub's web URL; for GitHub Enterprise Server e.g. https://github.example.com (the API is
then <GITHUB_URL>/api/v3)."""
GITHUB_API_URL = (
    "https://api.github.com" if GITHUB_URL == "https://github.com" else f"{GITHUB_URL}/api/v3"
)
GITHUB_SCOPES = ["read:user", "user:email", "repo", "admin:repo_hook"]
"""What a linked GitHub account grants: who the user is, their repositories, their hooks (sign-in
and re-authorization ask for the same list)."""
SOCIALACCOUNT_PROVIDERS = {"github": {"SCOPE": GITHUB_SCOPES}}
if GITHUB_URL != "https://github.com":
    SOCIALACCOUNT_PROVIDERS["github"]["GITHUB_URL"] = GITHUB_URL
HUB_GITHUB_REDELIVERY_DAYS = env.float("HUB_GITHUB_REDELIVERY_DAYS", default=3)
"""How far back GitHub's delivery logs are checked for deliveries to redeliver (GitHub: 3 days)."""
HUB_GITHUB_REDELIVERY_SECONDS = env.float("HUB_GITHUB_REDELIVERY_SECONDS", default=600)
HUB_TOKEN_REFRESH_MARGIN = env.int("HUB_TOKEN_REFRESH_MARGIN", default=300)
"""Access tokens expiring within this many seconds are refreshed before use."""

EMAIL_CONFIG = env.email_url(
    "EMAIL_URL", default="consolemail://"
)  # e.g. smtp+tls://user:pw@host:587
vars().update(EMAIL_CONFIG)  # django-environ's documented idiom
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="hub@localhost")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "filters": {"redact": {"()": "core.redact.RedactingFilter"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["redact"]}
    },
    "root": {"handlers": ["console"], "level": env("HUB_LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# --- Processing ---------------------------------------------------------------------------
HUB_RETRY_SCHEDULE = env.list(
    "HUB_RETRY_SCHEDULE", cast=float, default=[5, 300, 1800, 7200, 18000, 36000, 36000]
)
"""Seconds before each retry (Svix's schedule); each wait is drawn with full jitter in
[0, step]. After the last step the delivery is dead. Sources may override it."""
HUB_RETRY_TIME_SCALE = env.float("HUB_RETRY_TIME_SCALE", default=1.0)
"""Multiplies every retry wait and processing timeout (tests compress time with it)."""
HUB_RETRY_COUNTDOWN_MAX = env.float("HUB_RETRY_COUNTDOWN_MAX", default=60.0)
"""Retries due within this many seconds are published with a countdown; later ones are
published by the sweep when due (long ETAs in a Redis broker outlive its visibility timeout)."""
HUB_HANDLER_TIME_LIMIT = env.float("HUB_HANDLER_TIME_LIMIT", default=120.0)
"""A handler still running after this many seconds is stopped and counts as a failure."""
HUB_CLAIM_TIMEOUT = env.float("HUB_CLAIM_TIMEOUT", default=300.0)
"""Where rows cannot be locked (SQLite), a delivery claimed longer ago than this belongs to a
worker that died: the sweep records the attempt as lost and queues the delivery again. Must
exceed HUB_HANDLER_TIME_LIMIT. On PostgreSQL a running message locks its rows, so the sweep
takes back an unlocked claim once it is HUB_SWEEP_LOST_AFTER old (webhooks.sweep)."""
HUB_SWEEP_SECONDS = env.float("HUB_SWEEP_SECONDS", default=5.0)
HUB_SWEEP_QUEUED_AFTER = env.float("HUB_SWEEP_QUEUED_AFTER", default=60.0)
"""A delivery still queued this long after it arrived (or was replayed) is published again:
its message was never sent (broker down) or was lost."""
HUB_SWEEP_LOST_AFTER = env.float("HUB_SWEEP_LOST_AFTER", default=5.0)
"""While the broker's queue is empty (Redis), a delivery queued this long was never handed over
(its web process died first): it is published again without waiting HUB_SWEEP_QUEUED_AFTER.
On PostgreSQL, also the age at which a claim no running message holds is taken back."""
HUB_FORWARD_CLAIM_TIMEOUT = env.float("HUB_FORWARD_CLAIM_TIMEOUT", default=120.0)
"""A forward claimed longer ago than this (seconds) is taken back by routing's sweep: its
worker died. It must exceed the longest destination timeout (60 s) plus the connect timeout."""
HUB_FORWARD_CHAIN_SECONDS = env.float("HUB_FORWARD_CHAIN_SECONDS", default=1.0)
"""An ordered forward's outcome lets the next of its key go: the task that recorded it sends
that next one itself (no round trip through the queue) while it has run less than this
(seconds), then publishes the rest. 0: always publish."""
HUB_SWEEP_BATCH = env.int("HUB_SWEEP_BATCH", default=1000)
HUB_WEBHOOK_THREADS = env.int("HUB_WEBHOOK_THREADS", default=16)
"""Threads per web process (hub/asgi.py) that run /webhooks/ requests once their bodies are read.
Requests waiting on the database together are written with one INSERT (group commit), so more
threads make fuller groups, until the threads cost more than they save: in one process at 32
concurrent requests, 6 threads wrote groups of 3 rows at 1.03-1.09 ms CPU a request, 16 wrote
groups of 8 at 0.91-0.94 ms, 32 wrote groups of 12 at 1.12 ms or more. A thread opens a
database connection of its own only for what the writer does not do (a duplicate's lookup, a
refused request's row), so count up to this many per web process against max_connections."""
HUB_PUBLISH_BATCH = env.int("HUB_PUBLISH_BATCH", default=20)
"""Delivery ids per Celery message (webhooks.process_batch)."""
HUB_PUBLISH_LINGER = env.float("HUB_PUBLISH_LINGER", default=0.025)
"""How long the web process's publisher waits to fill a message (seconds) while some messages
wait on the broker's queue (the workers are a little behind)."""
HUB_PUBLISH_LINGER_BACKLOG = env.float("HUB_PUBLISH_LINGER_BACKLOG", default=0.1)
"""The same wait once at least HUB_PUBLISH_BACKLOG messages wait: those messages wait behind a
backlog anyway and every worker has prefetched messages in hand, so the wait costs no worker
time and fuller messages save it CPU; a worker drains messages of 5 GitHub pushes at half the
rate of messages of 20 (526 against 1,018 a second, one worker of 2 processes)."""
HUB_PUBLISH_BACKLOG = env.int("HUB_PUBLISH_BACKLOG", default=100)
"""Messages waiting on the broker's queue from which the publisher fills messages fully."""
HUB_PUBLISH_LINGER_IDLE = env.float("HUB_PUBLISH_LINGER_IDLE", default=0.005)
"""The same wait while the broker's queue is empty (the workers keep up): less lag."""
HUB_PUBLISH_PROBE_SECONDS = env.float("HUB_PUBLISH_PROBE_SECONDS", default=0.1)
"""How often the publisher looks at the broker's queue (one Redis LLEN)."""
HUB_REPLAY_BATCH = env.int("HUB_REPLAY_BATCH", default=500)
HUB_PURGE_BATCH = env.int("HUB_PURGE_BATCH", default=1000)
HUB_PURGE_SECONDS = env.float("HUB_PURGE_SECONDS", default=3600.0)

HUB_HEALTH_RULES = {
    "window_minutes": env.int("HUB_HEALTH_WINDOW_MINUTES", default=15),
    "min_events": env.int("HUB_HEALTH_MIN_EVENTS", default=5),
    "degraded_below": env.float("HUB_HEALTH_DEGRADED_BELOW", default=0.9),
    "stuck_after_minutes": env.int("HUB_HEALTH_STUCK_AFTER_MINUTES", default=10),
}
"""The status rules of hub/health.py (down, degraded, needs attention), editable here."""
HUB_ROLLUP_BATCH = env.int("HUB_ROLLUP_BATCH", default=500)
HUB_ROLLUP_SECONDS = env.float("HUB_ROLLUP_SECONDS", default=1.0)
"""Delivery outcome counts are buffered per process and added to the rollups this often."""
HUB_BACKGROUND_FLUSH = env.bool("HUB_BACKGROUND_FLUSH", default=True)
"""Flush the per-process buffers (rollup counts, call records) every HUB_ROLLUP_SECONDS from a
background thread, so a quiet process's last counts show up on the pages (core.buffers)."""
HUB_ADMIN_COUNT_CAP = env.int("HUB_ADMIN_COUNT_CAP", default=10_000)
"""Admin lists of big logs count at most this many rows exactly (core.paginators)."""

HUB_WEBHOOK_HANDLERS: dict[str, dict[str, str]] = {}
"""Your handlers, merged over the built-in tables: {provider: {event type: dotted path}}.
An event type matches exactly, else by its part before the first dot ("pull_request")."""
HUB_WEBHOOK_IGNORED_EVENTS: dict[str, list[str]] = {}
"""Event types to record as ignored on purpose, added to the built-in lists."""

CELERY_BEAT_SCHEDULE = {
    "webhooks-sweep": {"task": "webhooks.sweep", "schedule": HUB_SWEEP_SECONDS},
    "routing-sweep": {"task": "routing.sweep", "schedule": HUB_SWEEP_SECONDS},
    "webhooks-purge-payloads": {"task": "webhooks.purge_payloads", "schedule": HUB_PURGE_SECONDS},
}
CELERY_TASK_SOFT_TIME_LIMIT = None
"""No pool soft limits: a handler's limit is an alarm inside the worker process, set and cleared
around the handler (webhooks.processing.time_limit), so it cannot fire after its task; the
pool's timers once fired on idle processes after a broker reconnect and killed them."""
CELERY_TASK_TIME_LIMIT = HUB_HANDLER_TIME_LIMIT * HUB_RETRY_TIME_SCALE * 2 + 30
"""Backstop only (a process stuck where no alarm reaches it): the pool kills the process."""

# --- Outbound calls -----------------------------------------------------------------------
HUB_CALL_RECORD_BATCH = env.int("HUB_CALL_RECORD_BATCH", default=50)
HUB_CALL_RECORD_SECONDS = env.float("HUB_CALL_RECORD_SECONDS", default=1.0)
HUB_PROVIDER_CACHE_SECONDS = env.float("HUB_PROVIDER_CACHE_SECONDS", default=30.0)
"""How long a process reuses a provider's admin overrides before reading them again."""
HUB_CLIENT_MAX_WAIT = env.float("HUB_CLIENT_MAX_WAIT", default=5.0)
"""How long a call may wait for rate-limit budget before raising RateLimited."""
HUB_CIRCUIT_FAILURES = env.int("HUB_CIRCUIT_FAILURES", default=5)
"""Consecutive failed calls (5xx, timeouts, connection errors) that open a circuit."""
HUB_CIRCUIT_RESET_SECONDS = env.float("HUB_CIRCUIT_RESET_SECONDS", default=30.0)
"""How long an open circuit fails fast before one trial call may test the provider."""
HUB_HEALTH_CHECK_SECONDS = env.float("HUB_HEALTH_CHECK_SECONDS", default=300.0)
CELERY_BEAT_SCHEDULE["webhooks-github-redeliveries"] = {
    "task": "webhooks.github_redeliveries",
    "schedule": HUB_GITHUB_REDELIVERY_SECONDS,
}
HUB_ALERT_SECONDS = env.float("HUB_ALERT_SECONDS", default=60.0)
CELERY_BEAT_SCHEDULE["hub-alerts"] = {"task": "hub.evaluate_alerts", "schedule": HUB_ALERT_SECONDS}
CELERY_BEAT_SCHEDULE["connections-health-checks"] = {
    "task": "connections.health_checks",
    "schedule": HUB_HEALTH_CHECK_SECONDS,
}
