"""Rate limits and circuit state are shared by separate OS processes through Redis."""

import json
import subprocess
import sys

import pytest

from connections.models import Connection, ProviderOverride

from . import stack
from .fake_api import FakeAPI

pytestmark = [pytest.mark.production, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def fake():
    api = FakeAPI()
    yield api
    api.close()


def _run_in_processes(connection_id, path, count, processes=2, **env):
    environ = stack.hub_env(
        DJANGO_SETTINGS_MODULE="tests.settings", DATABASE_URL=stack.database_url(), **env
    )
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.client_process", str(connection_id), path, str(count)],
            cwd=stack.ROOT,
            env=environ,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(processes)
    ]
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err[-3000:]
        results.append(json.loads(out.strip().splitlines()[-1]))
    return results


def test_two_processes_respect_one_rate_limit_together(fake):
    fake.script("/items", [200])
    c = Connection(name="shared", provider="generic", base_url=fake.url, auth_scheme="bearer")
    c.rate_limit = "10/h"
    c.set_credentials("token-123456")
    c.save()
    results = _run_in_processes(c.pk, "/items", 10, HUB_CLIENT_MAX_WAIT="0")
    assert sum(r.get("ok", 0) for r in results) == 10
    assert sum(r.get("RateLimited", 0) for r in results) == 10
    assert fake.hits["/items"] == 10


def test_a_circuit_opened_by_one_process_fails_fast_in_another(fake):
    ProviderOverride.objects.create(provider="generic", max_retries=0)
    fake.script("/down", [500])
    c = Connection(name="shared", provider="generic", base_url=fake.url, auth_scheme="bearer")
    c.set_credentials("token-123456")
    c.save()
    env = {"HUB_CIRCUIT_FAILURES": "3", "HUB_CIRCUIT_RESET_SECONDS": "60"}
    (first,) = _run_in_processes(c.pk, "/down", 3, processes=1, **env)
    assert first == {"ProviderUnavailable": 3}
    (second,) = _run_in_processes(c.pk, "/down", 5, processes=1, **env)
    assert second == {"CircuitOpen": 5}
    assert fake.hits["/down"] == 3  # the second process never reached the provider
    assert Connection.objects.get(pk=c.pk).circuit_state == "open"


@pytest.mark.worker
def test_a_rate_limited_task_retries_when_the_provider_says(fake, workers, worker_env):
    """The provider reports 0 calls left until reset: the health-check task running on a real
    worker does not fail, it retries at the reset time and then succeeds."""
    import time

    from connections.tasks import health_check

    reset = int(time.time()) + 3
    fake.script(
        "/rate_limit",
        [(200, {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(reset)}), 200],
    )
    c = Connection(name="gh", provider="github", base_url=fake.url)
    c.set_credentials("ghp_" + "x" * 36)
    c.save()
    c.client().get("/rate_limit")  # the answer that spends the budget
    worker_env["HUB_CLIENT_MAX_WAIT"] = "0"
    workers(beat=False)
    health_check.delay(c.pk)
    checked = stack.wait_until(
        lambda: Connection.objects.filter(pk=c.pk, last_health_check_ok=True).first(),
        timeout=60,
        what="the retried health check",
    )
    assert checked.last_health_check_at.timestamp() >= reset
    assert fake.hits["/rate_limit"] == 2
