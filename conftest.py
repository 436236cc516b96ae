import uuid

import pytest
import redis
from django.conf import settings
from django.core.cache import cache

from connections import recorder
from tests import browsing, stack
from tests.signers import GENERIC_CONFIG, as_meta
from webhooks import counts, source_cache
from webhooks.models import Source
from webhooks.ratelimit import LIMITER
from webhooks.store import WRITER


def pytest_report_header(config):
    from tests import settings as test_settings

    where = (
        "PostgreSQL + Redis (production path)"
        if test_settings.PRODUCTION_SERVICES
        else "embedded SQLite (PostgreSQL/Redis unreachable: production tests skip)"
    )
    return f"integration hub tests on {where}"


def pytest_collection_modifyitems(config, items):
    from tests import settings as test_settings

    if test_settings.PRODUCTION_SERVICES:
        return
    skip = pytest.mark.skip(
        reason="PostgreSQL or Redis on 127.0.0.1 unreachable (CI=true makes this an error)"
    )
    for item in items:
        if "production" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def _fresh_process_state():
    """Each test starts with an empty source cache and rate-limit counters (shared and this
    process's), and leaves no ingest writer thread behind."""
    source_cache.clear()
    _clear_this_runs_cache()
    # Buffered call records and rollup counts of an earlier test belong to rolled-back rows.
    recorder.BUFFER.clear()
    counts.BUFFER.clear()
    LIMITER.clear()
    yield
    source_cache.clear()
    recorder.BUFFER.clear()
    counts.BUFFER.clear()
    # A transactional test's requests went through the group-commit writer, whose thread holds
    # a connection of its own: close it before the test database is dropped.
    WRITER.stop()


def _clear_this_runs_cache():
    """Only this run's keys: Redis's clear() is FLUSHDB, which would wipe the rate windows and
    circuits of another run sharing the machine's Redis (each run has its own key prefix)."""
    if hasattr(cache, "delete_pattern"):  # django-redis: scoped to KEY_PREFIX
        cache.delete_pattern("*")
    else:
        cache.clear()


@pytest.fixture
def make_source(db):
    """``make_source(provider, **fields) -> (source, secret)``."""

    def make(provider="github", secret=None, **fields):
        if provider == "generic":
            fields = {**GENERIC_CONFIG, **fields}
        fields.setdefault("name", f"{provider} test")
        source = Source(provider=provider, **fields)
        shown = source.set_secret(secret)
        source.save()
        return source, shown

    return make


@pytest.fixture
def post_webhook(client):
    """``post_webhook(source, body, headers) -> response`` through the full Django stack."""

    def post(source, body, headers, path=None):
        headers = dict(headers)
        content_type = headers.pop("Content-Type", "application/octet-stream")
        return client.post(
            path or source.get_receive_path(),
            data=body,
            content_type=content_type,
            **as_meta(headers),
        )

    return post


@pytest.fixture
def delivery_id():
    return lambda: str(uuid.uuid4())


@pytest.fixture
def staff_user(django_user_model):
    return django_user_model.objects.create_user("staff", password="pw-staff-1234", is_staff=True)


@pytest.fixture
def admin_user(django_user_model):
    return django_user_model.objects.create_superuser("root", password="pw-root-1234")


@pytest.fixture
def api_client(admin_user):
    from rest_framework.authtoken.models import Token
    from rest_framework.test import APIClient

    token = Token.objects.create(user=admin_user)
    c = APIClient()
    c.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return c


assert settings.HUB_ENCRYPTION_KEYS


@pytest.fixture
def worker_env(broker_flushed):
    return stack.hub_env(
        DJANGO_SETTINGS_MODULE="tests.settings", DATABASE_URL=stack.database_url(), **stack.FAST
    )


@pytest.fixture
def broker_flushed():
    """This run's Celery queue on the broker, emptied before and after the test."""
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    client.delete(settings.CELERY_TASK_DEFAULT_QUEUE)
    yield
    client.delete(settings.CELERY_TASK_DEFAULT_QUEUE)


@pytest.fixture
def workers(worker_env, tmp_path):
    """``workers(beat=True, concurrency=1) -> Popen``; all stopped at teardown."""
    procs = []

    def start(beat=True, concurrency=1):
        n = len(procs)
        proc = stack.celery_worker(
            worker_env,
            tmp_path / f"worker{n}.log",
            concurrency=concurrency,
            beat=tmp_path / f"beat{n}" if beat else None,
        )
        procs.append(proc)
        return proc

    yield start
    for proc in procs:
        stack.stop(proc)


@pytest.fixture(scope="session")
def browser():
    """Debian's chromium under Playwright (installed by scripts/install-browser.sh)."""
    yield from browsing.launch()


@pytest.fixture
def page(browser, request):
    """A fresh browser context; a screenshot of the last page is kept in test-artifacts/."""
    yield from browsing.new_page(browser, request.node.name)


@pytest.fixture(scope="session")
def fake_github_server():
    from urllib.parse import urlsplit

    from tests.fake_github import FakeGitHub

    server = FakeGitHub(urlsplit(settings.GITHUB_URL).port)
    yield server
    server.close()


@pytest.fixture
def fake_github(fake_github_server, db):
    """The fake GitHub (tests/fake_github.py) and the OAuth app configured for it in the
    admin's SocialApp table (client secret encrypted, as the hub's admin stores it)."""
    from allauth.socialaccount.models import SocialApp
    from django.contrib.sites.models import Site

    from core import crypto
    from tests.fake_github import CLIENT_ID, CLIENT_SECRET

    fake_github_server.reset()
    app = SocialApp.objects.create(
        provider="github", name="Hub", client_id=CLIENT_ID, secret=crypto.encrypt(CLIENT_SECRET)
    )
    # Transactional tests flush the default site that a migration created; put it back.
    site, _ = Site.objects.get_or_create(
        pk=settings.SITE_ID, defaults={"domain": "example.com", "name": "example.com"}
    )
    app.sites.add(site)
    return fake_github_server


@pytest.fixture
def roles(db):
    """The role groups; transactional tests flush what the data migration created."""
    import importlib

    from django.apps import apps

    importlib.import_module("hub.migrations.0001_roles").create_roles(apps, None)
    importlib.import_module("hub.migrations.0003_routing_roles").grant(apps, None)
