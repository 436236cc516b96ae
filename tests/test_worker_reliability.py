"""Reliability with a real Celery worker process on Redis and PostgreSQL: retries on schedule,
dead letters, a worker killed mid-handler, a broker outage, and a 10,000-delivery replay."""

import signal
import subprocess
import uuid

import pytest
import requests
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from webhooks.models import Attempt, Delivery, ReplayJob

from . import signers, stack
from .handlers import wrote_marker
from .models import SideEffect

pytestmark = [
    pytest.mark.production,
    pytest.mark.worker,
    pytest.mark.django_db(transaction=True),
]


def _post(base_url, source, event):
    body, headers = signers.make_generic(source.secret, str(uuid.uuid4()))
    response = requests.post(
        base_url + source.get_receive_path(),
        data=body,
        headers={**headers, "X-Event": event},
        timeout=10,
    )
    assert response.status_code == 202, response.text
    return response.json()["id"]


def _final(pk, timeout=60):
    def done():
        d = Delivery.objects.get(pk=pk)
        return d if d.status in ("processed", "dead", "ignored") else None

    return stack.wait_until(done, timeout=timeout, what=f"delivery {pk} to finish")


def test_failing_handler_is_retried_on_schedule_then_dead(live_server, make_source, workers):
    schedule = [0.5, 1.0, 1.5]
    source, _ = make_source("generic", retry_schedule=schedule)
    workers(beat=False)
    d = _final(_post(live_server.url, source, "test.fail"))
    assert d.status == "dead"
    attempts = list(Attempt.objects.filter(delivery=d).order_by("number"))
    assert [a.outcome for a in attempts] == ["failed", "failed", "failed", "dead"]
    for before, after, step in zip(attempts[:-1], attempts[1:], schedule, strict=True):
        waited = (after.started_at - before.finished_at).total_seconds()
        assert 0 <= waited <= step + 2.0, (waited, step)  # full jitter within the step
    assert all(a.error_class == "RuntimeError" and a.traceback for a in attempts)


def test_handler_failing_twice_then_succeeding_ends_processed(live_server, make_source, workers):
    source, _ = make_source("generic", retry_schedule=[0.2, 0.2, 0.2])
    workers(beat=False)
    d = _final(_post(live_server.url, source, "test.flaky"))
    assert (d.status, d.attempts) == ("processed", 3)
    outcomes = list(d.attempt_set.order_by("number").values_list("outcome", flat=True))
    assert outcomes == ["failed", "failed", "processed"]
    assert SideEffect.objects.filter(delivery_id=d.pk).count() == 1


def test_worker_killed_mid_handler_is_recovered_and_processed_once(
    live_server, make_source, workers
):
    source, _ = make_source("generic")
    first = workers(beat=True)
    pk = _post(live_server.url, source, "test.slow")
    marker = wrote_marker(Delivery.objects.get(pk=pk).external_id)
    stack.wait_until(marker.exists, timeout=30, what="the handler to write, then hang")
    marker.unlink()
    stack.stop(first, sig=signal.SIGKILL)
    workers(beat=True)
    d = _final(pk, timeout=60)
    assert d.status == "processed"
    outcomes = list(d.attempt_set.order_by("number").values_list("outcome", flat=True))
    assert outcomes == ["lost", "processed"]
    effects = list(SideEffect.objects.filter(delivery_id=pk).values_list("attempt", flat=True))
    assert effects == [2]  # the killed attempt's write rolled back; processed once


@pytest.fixture
def private_redis(tmp_path):
    """A Redis server of our own (broker and cache) that the test can stop and start."""
    port = stack.free_port()
    args = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", ""]
    args += ["--appendonly", "no", "--dir", str(tmp_path)]
    state = {"proc": None}

    def up():
        state["proc"] = subprocess.Popen(args, stdout=subprocess.DEVNULL, start_new_session=True)
        stack.wait_for_port(port, proc=state["proc"])

    def down():
        stack.stop(state["proc"])

    up()
    yield port, up, down
    down()


def test_broker_outage_loses_nothing(make_source, tmp_path, private_redis):
    port, redis_up, redis_down = private_redis
    env = stack.hub_env(
        DJANGO_SETTINGS_MODULE="tests.settings",
        DATABASE_URL=stack.database_url(),
        CELERY_BROKER_URL=f"redis://127.0.0.1:{port}/0",
        CACHE_URL=f"redis://127.0.0.1:{port}/1",
        **stack.FAST,
    )
    source, _ = make_source("generic")
    web_port = stack.free_port()
    web = stack.gunicorn(web_port, env, tmp_path / "web.log")
    worker = stack.celery_worker(env, tmp_path / "worker.log", beat=tmp_path / "beat")
    try:
        redis_down()
        base = f"http://127.0.0.1:{web_port}"
        ids = [_post(base, source, "test.count") for _ in range(5)]  # each answered 202
        assert Delivery.objects.filter(pk__in=ids, status="queued").count() == 5
        redis_up()
        for pk in ids:
            assert _final(pk, timeout=90).status == "processed"
        assert SideEffect.objects.filter(delivery_id__in=ids).count() == 5
    finally:
        stack.stop(worker)
        stack.stop(web)


def test_bulk_replay_of_10000_dead_deliveries(make_source, workers, admin_user):
    source, _ = make_source("generic")
    now = timezone.now()
    Delivery.objects.bulk_create(
        [
            Delivery(
                source=source,
                provider="generic",
                event_type="test.count",
                external_id=f"bulk-{i}",
                status="dead",
                received_at=now,
                body=b"payload",
                headers={"X-Event": "test.count"},
                attempts=8,
                tries=8,
            )
            for i in range(10_000)
        ],
        batch_size=2000,
    )
    workers(beat=False, concurrency=2)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=admin_user).key}")
    response = client.post(
        "/api/v1/deliveries/replay/",
        {"status": "dead", "source": str(source.pk)},
        format="json",
    )
    assert response.status_code == 202
    job_url = f"/api/v1/replay-jobs/{response.json()['id']}/"
    seen = set()

    def finished():
        job = client.get(job_url).json()
        seen.add(job["replayed"])
        return job["status"] == "done" and job

    job = stack.wait_until(finished, timeout=120, interval=0.1, what="the replay job")
    assert (job["total"], job["replayed"], job["skipped"]) == (10_000, 10_000, 0)
    assert any(0 < n < 10_000 for n in seen), seen  # progress was visible on the way
    stack.wait_until(
        lambda: not Delivery.objects.filter(source=source).exclude(status="processed").exists(),
        timeout=300,
        interval=1,
        what="all 10,000 to be processed",
    )
    assert SideEffect.objects.filter(attempt=9).count() == 10_000
    assert SideEffect.objects.values("delivery_id").distinct().count() == 10_000
    assert ReplayJob.objects.get().status == "done"


def test_a_worker_recovers_at_once_from_database_connections_cut_under_it(
    live_server, make_source, workers
):
    """PostgreSQL restarted under a running worker (its backends terminated): the next task
    gets a working connection; no attempt fails on a dead one."""
    from django.db import connection

    source, _ = make_source("generic")
    workers(beat=False, concurrency=2)
    warm = [_post(live_server.url, source, "test.count") for _ in range(10)]
    for pk in warm:
        assert _final(pk).status == "processed"
    with connection.cursor() as cursor:  # every other session of this database: the worker's
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        assert cursor.fetchall()  # there were some to cut
    after = [_post(live_server.url, source, "test.count") for _ in range(10)]
    for pk in after:
        delivery = _final(pk, timeout=30)
        assert (delivery.status, delivery.attempts) == ("processed", 1)
    assert not Attempt.objects.filter(delivery__source=source, outcome="failed").exists()
