"""The production path against real PostgreSQL, Redis and a real Celery worker process."""

import base64
import json
import threading
import uuid

import pytest
import redis
import requests
from django.conf import settings
from django.db import connection

from webhooks import publisher
from webhooks.models import Activity, Delivery

from . import signers, stack

pytestmark = [pytest.mark.production, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def broker(broker_flushed):
    return redis.Redis.from_url(settings.CELERY_BROKER_URL)


def _queued_ids(client) -> list[int]:
    """Delivery ids in the messages waiting on the broker's default queue."""
    ids = []
    for raw in client.lrange(settings.CELERY_TASK_DEFAULT_QUEUE, 0, -1):
        message = json.loads(raw)
        assert message["headers"]["task"] == "webhooks.process_batch"
        args, _kwargs, _embed = json.loads(base64.b64decode(message["body"]))
        ids.extend(args[0])
    return ids


def test_20_concurrent_identical_deliveries_make_one_row_and_one_job(
    live_server, make_source, broker
):
    publisher.flush()  # what earlier tests left in this process's publisher goes out now...
    broker.delete(settings.CELERY_TASK_DEFAULT_QUEUE)  # ...and is not counted here
    source, secret = make_source("github")
    body, headers = signers.make_github(secret, str(uuid.uuid4()))
    url = live_server.url + source.get_receive_path()
    barrier = threading.Barrier(20)
    answers = []

    def send():
        with requests.Session() as session:
            barrier.wait()
            answers.append(session.post(url, data=body, headers=headers, timeout=30))

    threads = [threading.Thread(target=send) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    codes = sorted(a.status_code for a in answers)
    assert codes == [200] * 19 + [202], codes
    ids = {a.json()["id"] for a in answers}
    assert len(ids) == 1
    assert Delivery.objects.filter(source=source).count() == 1
    (pk,) = ids
    assert stack.wait_until(lambda: _queued_ids(broker), timeout=5, what="the publish") == [pk]
    publisher.flush()  # whatever this process's publisher still held is on the broker now
    assert _queued_ids(broker) == [pk]


@pytest.fixture
def worker(broker, tmp_path):
    env = stack.hub_env(DJANGO_SETTINGS_MODULE="tests.settings", DATABASE_URL=stack.database_url())
    proc = stack.celery_worker(env, tmp_path / "worker.log")
    yield proc
    stack.stop(proc)


@pytest.mark.worker
def test_a_real_worker_processes_a_posted_delivery(live_server, make_source, worker):
    source, secret = make_source("github")
    body, headers = signers.make_github(secret, str(uuid.uuid4()))
    response = requests.post(
        live_server.url + source.get_receive_path(), data=body, headers=headers, timeout=10
    )
    assert response.status_code == 202
    pk = response.json()["id"]

    def outcome():
        d = Delivery.objects.get(pk=pk)
        return d if d.status not in ("queued", "processing") else None

    delivery = stack.wait_until(outcome, timeout=60, what="the worker's outcome")
    assert delivery.status == Delivery.Status.PROCESSED, delivery.error
    assert delivery.attempts == 1
    assert delivery.processed_at >= delivery.received_at
    activity = Activity.objects.get(delivery=delivery)
    assert (activity.kind, activity.ref, activity.commit_count) == ("push", "refs/heads/master", 1)
    attempt = delivery.attempt_set.get()
    assert attempt.outcome == "processed" and attempt.worker and attempt.duration_ms is not None


def test_database_outage_answers_503_and_recovers(tmp_path, make_source):
    """A 2xx always means stored: while PostgreSQL refuses connections the hub answers 503
    (nothing half-written), and accepts again once it is back."""
    name = f"hub_outage_{uuid.uuid4().hex[:8]}"
    s = connection.settings_dict
    admin_url = f"postgres://{s['USER']}@{s['HOST']}:{s['PORT']}"
    env = stack.hub_env(DATABASE_URL=f"{admin_url}/{name}")
    with connection.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{name}"')
    proc = None
    try:
        stack.manage("migrate", "-v0", env=env)
        secret, source_id = stack.create_github_source(env, "o")
        port = stack.free_port()
        proc = stack.gunicorn(port, env, tmp_path / "web.log")
        url = f"http://127.0.0.1:{port}/webhooks/{source_id}/"

        def post():
            body, headers = signers.make_github(secret, str(uuid.uuid4()))
            return requests.post(url, data=body, headers=headers, timeout=10)

        assert post().status_code == 202
        with connection.cursor() as cursor:
            cursor.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
            cursor.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", [name]
            )
        down = post()
        assert down.status_code == 503
        assert down.json()["error"] == "database_unavailable"
        assert int(down.headers["Retry-After"]) > 0
        with connection.cursor() as cursor:
            cursor.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
        assert post().status_code == 202
        out = stack.manage(
            "shell", "-c", "from webhooks.models import Delivery as D; print(D.objects.count())",
            env=env,
        )  # fmt: skip
        assert out.split()[-1] == "2"  # the two accepted; nothing from the outage
    finally:
        if proc:
            stack.stop(proc)
        with connection.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_a_hand_off_lost_with_a_web_process_is_republished_within_seconds(
    make_source, broker, settings
):
    """A delivery stored but never published (its web process died with the id in memory):
    with nothing waiting on the broker, the sweep publishes it after HUB_SWEEP_LOST_AFTER;
    while messages wait (a backlog), only after HUB_SWEEP_QUEUED_AFTER."""
    from datetime import timedelta

    from django.utils import timezone

    from webhooks import sweep

    source, _ = make_source("github")
    ten_seconds_ago = timezone.now() - timedelta(seconds=10)
    lost = Delivery.objects.create(
        source=source, provider="github", event_type="push", body=b"{}",
        received_at=ten_seconds_ago, queued_at=ten_seconds_ago,
    )  # fmt: skip
    broker.rpush(settings.CELERY_TASK_DEFAULT_QUEUE, b"someone else's message")
    assert sweep.republish_stale_queued() == 0  # a backlog: it may just be waiting its turn
    broker.delete(settings.CELERY_TASK_DEFAULT_QUEUE)
    assert sweep.republish_stale_queued() == 1
    assert _queued_ids(broker) == [lost.pk]


def test_the_publisher_lingers_only_while_messages_wait_on_the_broker(broker, settings):
    """Prompt messages while the workers keep up (the queue is empty), fuller ones while they
    are behind (messages wait), full ones under a backlog: the real Redis queue is what the
    publisher looks at."""
    settings.HUB_PUBLISH_LINGER, settings.HUB_PUBLISH_LINGER_IDLE = 0.025, 0.005
    settings.HUB_PUBLISH_LINGER_BACKLOG, settings.HUB_PUBLISH_BACKLOG = 0.1, 3
    settings.HUB_PUBLISH_BATCH = 1
    looker = publisher._Publisher()
    assert looker.linger() == 0.005  # nothing waiting
    publisher.publish([1])  # a message no worker takes
    assert looker.linger() == 0.005  # looked at less than HUB_PUBLISH_PROBE_SECONDS ago
    looker.probed_at = float("-inf")
    assert looker.linger() == 0.025
    publisher.publish([2, 3])  # three messages wait: a backlog
    looker.probed_at = float("-inf")
    assert looker.linger() == 0.1
    broker.delete(settings.CELERY_TASK_DEFAULT_QUEUE)
    looker.probed_at = float("-inf")
    assert looker.linger() == 0.005
