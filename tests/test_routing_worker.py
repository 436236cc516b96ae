"""Routing on the production path: a real Celery worker (Redis, PostgreSQL) fans deliveries out
to real local receivers; ordering per key under random failures; a worker killed mid-forward."""

import json
import random
import signal
import uuid
from collections import defaultdict

import pytest
import requests

from routing.models import Destination, Forward, Route

from . import signers, stack
from .receivers import Receiver

pytestmark = [
    pytest.mark.production,
    pytest.mark.worker,
    pytest.mark.django_db(transaction=True),
]


def _destination(receiver_answer=None, timeout=2.0):
    destination = Destination(
        name=f"d-{uuid.uuid4().hex[:6]}", url="http://127.0.0.1:9/", timeout=timeout
    )
    secret = destination.set_secret()
    receiver = Receiver(secret, receiver_answer)
    destination.url = receiver.url
    destination.save()
    return receiver, destination


def _post(base_url, source, payload: dict) -> int:
    body = json.dumps(payload).encode()
    _, headers = signers.make_generic(source.secret, str(uuid.uuid4()), body=body)
    response = requests.post(
        base_url + source.get_receive_path(), data=body,
        headers={**headers, "Content-Type": "application/json", "X-Event": "order.updated"},
        timeout=10,
    )  # fmt: skip
    assert response.status_code == 202, response.text
    return response.json()["id"]


def test_ordering_per_key_under_random_failures(live_server, make_source, workers):
    """200 deliveries over 5 keys, a receiver failing one request in four: each key's events
    arrive (successfully) in received order, and no webhook-id is received twice with success."""
    rng = random.Random(7)
    receiver, destination = _destination(lambda n, h, b: 500 if rng.random() < 0.25 else 200)
    source, _ = make_source("generic")
    Route.objects.create(
        name="ordered", source=source, destination=destination, ordering_key="body.key",
        retry_schedule=[0.05] * 20,
    )  # fmt: skip
    workers(beat=True, concurrency=2)
    sent = defaultdict(list)
    for i in range(200):
        key = f"k{i % 5}"
        sent[key].append(_post(live_server.url, source, {"key": key, "seq": i}))
    stack.wait_until(
        lambda: (
            Forward.objects.filter(route__destination=destination, status="delivered").count()
            == 200
        ),
        timeout=150,
        what="all 200 forwards delivered",
    )
    got = defaultdict(list)
    ids = []
    for (headers, body, verified), code in zip(receiver.received, receiver.answered, strict=True):
        assert verified
        if 200 <= code < 300:
            payload = json.loads(body)
            got[payload["key"]].append(int(headers["X-Hub-Delivery"]))
            ids.append(headers["webhook-id"])
    assert len(ids) == len(set(ids)) == 200
    assert dict(got) == dict(sent)
    assert receiver.answered.count(500) > 0  # the failures happened, and were retried
    receiver.close()


def test_unordered_forwards_of_a_failing_destination_do_not_hold_another(
    live_server, make_source, workers
):
    down, d_down = _destination(lambda n, h, b: 503)
    up, d_up = _destination()
    source, _ = make_source("generic")
    Route.objects.create(name="down", source=source, destination=d_down, retry_schedule=[60])
    Route.objects.create(name="up", source=source, destination=d_up)
    workers(beat=False, concurrency=2)
    for i in range(20):
        _post(live_server.url, source, {"seq": i})
    stack.wait_until(lambda: len(up.received) == 20, timeout=60, what="20 forwards to 'up'")
    # Retries wait uniform(0, 60) s (full jitter): one may already have failed twice (dead).
    stack.wait_until(
        lambda: Forward.objects.filter(
            destination=d_down, status__in=("retrying", "dead")
        ).count() == 20,
        timeout=30,
        what="the 20 forwards to 'down' to have failed (waiting for a retry, or dead)",
    )  # fmt: skip
    assert Forward.objects.filter(destination=d_up, status="delivered").count() == 20
    down.close()
    up.close()


def test_worker_killed_mid_forward_delivers_with_the_same_webhook_id(
    live_server, make_source, workers
):
    receiver, destination = _destination(timeout=20.0)
    receiver.hang = lambda n: n == 0  # the first request is never answered
    source, _ = make_source("generic")
    Route.objects.create(name="r", source=source, destination=destination)
    first = workers(beat=True)
    pk = _post(live_server.url, source, {"seq": 1})
    stack.wait_until(lambda: len(receiver.received) == 1, timeout=30, what="the first send")
    stack.stop(first, sig=signal.SIGKILL)
    workers(beat=True)
    forward = stack.wait_until(
        lambda: Forward.objects.filter(delivery_id=pk, status="delivered").first(),
        timeout=60,
        what="the forward delivered after the kill",
    )
    assert len(receiver.received) == 2  # the one in flight, then once more
    assert {h["webhook-id"] for h, _, _ in receiver.received} == {forward.webhook_id}
    receiver.close()
