"""Routing: fan-out to real local receivers that verify the Standard Webhooks signature with
the ``standardwebhooks`` library; filters, transforms, retries, pause and resume, auto-disable,
ordering per key; the API's contract and its role boundaries."""

import base64
import io
import json
import uuid
from datetime import timedelta

import pytest
import redis
from django.conf import settings
from django.utils import timezone

from routing import forwarding
from routing.models import Destination, Forward, Route
from webhooks import source_cache
from webhooks.processing import process

from . import signers
from .receivers import Receiver

pytestmark = pytest.mark.django_db


@pytest.fixture
def receivers():
    made = []

    def make(answer=None):
        destination = Destination(name=f"receiver {len(made)}", url="http://127.0.0.1:9/")
        secret = destination.set_secret()
        receiver = Receiver(secret, answer)
        destination.url = receiver.url
        destination.save()
        made.append(receiver)
        return receiver, destination

    yield make
    for receiver in made:
        receiver.close()


def _deliver(make_source, post_webhook, source=None, fixture="github/push.with-new-branch.json",
             event="push"):  # fmt: skip
    if source is None:
        source, _ = make_source("github")
    body = signers.fixture(fixture)
    response = post_webhook(source, *signers.make_github(source.secret, str(uuid.uuid4()), body,
                                                         event=event))  # fmt: skip
    assert response.status_code == 202, response.content
    pk = response.json()["id"]
    process(pk)
    return source, pk, body


def _send_all(delivery_id):
    for forward in Forward.objects.filter(delivery_id=delivery_id).order_by("pk"):
        forwarding.send(forward.pk)


def test_fan_out_to_three_receivers_signed_and_byte_exact(make_source, post_webhook, receivers):
    source, _ = make_source("github")
    (r1, d1), (r2, d2), (r3, d3) = receivers(), receivers(), receivers()
    Route.objects.create(name="all", source=source, destination=d1)
    Route.objects.create(name="pushes", source=source, destination=d2, event_types=["push"])
    Route.objects.create(name="prs", source=source, destination=d3, event_types=["pull_request.*"])
    _, pk, body = _deliver(make_source, post_webhook, source)
    forwards = list(Forward.objects.filter(delivery_id=pk).order_by("pk"))
    assert [f.destination_id for f in forwards] == [d1.pk, d2.pk]  # the PR route did not match
    _send_all(pk)
    for receiver in (r1, r2):
        ((headers, got, verified),) = receiver.received
        assert verified and got == body
        assert headers["Content-Type"] == "application/json"
        assert headers["X-Hub-Delivery"] == str(pk)
        assert headers["X-Hub-Source"] == str(source.pk)
        assert headers["X-Hub-Event-Type"] == "push"
    assert r3.received == []
    assert {f.status for f in Forward.objects.filter(delivery_id=pk)} == {"delivered"}
    assert r1.received[0][0]["webhook-id"] != r2.received[0][0]["webhook-id"]


def test_family_filter_and_transform(make_source, post_webhook, receivers):
    source, _ = make_source("github")
    (r1, d1), (r2, d2) = receivers(), receivers()
    Route.objects.create(
        name="opened PRs", source=source, destination=d1, event_types=["pull_request.*"],
        filter="body.action == 'opened'",
        transform="{number: body.number, repo: body.repository.full_name}",
    )  # fmt: skip
    Route.objects.create(
        name="closed PRs", source=source, destination=d2, event_types=["pull_request.*"],
        filter="body.action == 'closed'",
    )  # fmt: skip
    _, pk, body = _deliver(make_source, post_webhook, source, "github/pull_request.opened.json",
                           "pull_request")  # fmt: skip
    statuses = dict(Forward.objects.filter(delivery_id=pk).values_list("destination", "status"))
    assert statuses == {d1.pk: "pending", d2.pk: "filtered"}
    _send_all(pk)
    ((headers, got, verified),) = r1.received
    payload = json.loads(body)
    assert verified  # the signature covers the transformed body
    assert json.loads(got) == {
        "number": payload["number"], "repo": payload["repository"]["full_name"]
    }  # fmt: skip
    assert headers["Content-Type"] == "application/json"
    assert r2.received == []


def test_a_failing_destination_retries_and_delivers_once_without_delaying_another(
    make_source, post_webhook, receivers, settings
):
    settings.HUB_RETRY_TIME_SCALE = 0  # retries due at once; the schedule's length still counts
    source, _ = make_source("github")
    flaky, d_flaky = receivers(lambda n, h, b: 500 if n < 2 else 200)
    steady, d_steady = receivers()
    Route.objects.create(name="flaky", source=source, destination=d_flaky)
    Route.objects.create(name="steady", source=source, destination=d_steady)
    _, pk, _ = _deliver(make_source, post_webhook, source)
    flaky_fw = Forward.objects.get(delivery_id=pk, destination=d_flaky)
    steady_fw = Forward.objects.get(delivery_id=pk, destination=d_steady)
    assert forwarding.send(flaky_fw.pk) == "retrying"
    assert forwarding.send(steady_fw.pk) == "delivered"  # not behind the failing one
    assert forwarding.send(flaky_fw.pk) == "retrying"
    assert forwarding.send(flaky_fw.pk) == "delivered"
    assert forwarding.send(flaky_fw.pk) is None  # finished: nothing sent twice
    assert len(flaky.received) == 3 and len(steady.received) == 1
    assert len({h["webhook-id"] for h, _, _ in flaky.received}) == 1  # stable across retries
    attempts = list(flaky_fw.attempt_set.values_list("response_status", flat=True))
    assert attempts == [500, 500, 200]
    shown = flaky_fw.attempt_set.first().request_headers
    assert shown["webhook-signature"] == "v1,<masked>"


def test_redirects_are_not_followed_and_dead_after_the_schedule(
    make_source, post_webhook, receivers, settings
):
    settings.HUB_RETRY_TIME_SCALE = 0
    source, _ = make_source("github")
    moved, destination = receivers(lambda n, h, b: 302)
    Route.objects.create(name="r", source=source, destination=destination, retry_schedule=[1])
    _, pk, _ = _deliver(make_source, post_webhook, source)
    fw = Forward.objects.get(delivery_id=pk)
    assert [forwarding.send(fw.pk), forwarding.send(fw.pk)] == ["retrying", "dead"]
    fw.refresh_from_db()
    assert fw.last_response_status == 302 and "redirects are not followed" in fw.error
    assert len(moved.received) == 2


def test_pause_holds_and_resume_releases_oldest_first(make_source, post_webhook, receivers):
    source, _ = make_source("github")
    receiver, destination = receivers()
    route = Route.objects.create(name="r", source=source, destination=destination, paused=True)
    ids = [_deliver(make_source, post_webhook, source)[1] for _ in range(3)]
    held = Forward.objects.filter(route=route).order_by("pk")
    assert [f.status for f in held] == ["held"] * 3
    route.paused = False
    route.save()
    released = forwarding.release(Forward.objects.filter(route=route))
    assert released == [f.pk for f in held]
    for pk in released:
        forwarding.send(pk)
    assert [h["X-Hub-Delivery"] for h, _, _ in receiver.received] == [str(i) for i in ids]


def test_a_destination_failing_past_its_period_is_disabled_and_its_forwards_held(
    make_source, post_webhook, receivers, settings, mailoutbox, django_capture_on_commit_callbacks
):
    settings.HUB_RETRY_TIME_SCALE = 0
    settings.ADMINS = [("Ops", "ops@example.com")]
    source, _ = make_source("github")
    _, destination = receivers(lambda n, h, b: 503)
    Destination.objects.filter(pk=destination.pk).update(
        failing_since=timezone.now() - timedelta(days=3, minutes=1)
    )
    Route.objects.create(name="r", source=source, destination=destination)
    _, first, _ = _deliver(make_source, post_webhook, source)
    _, second, _ = _deliver(make_source, post_webhook, source)
    fw = Forward.objects.get(delivery_id=first)
    with django_capture_on_commit_callbacks(execute=True):
        forwarding.send(fw.pk)
    destination.refresh_from_db()
    assert not destination.enabled and "disabled automatically" in destination.disabled_reason
    waiting = Forward.objects.get(delivery_id=second)
    assert waiting.status == "held"
    (mail,) = mailoutbox
    assert destination.name in mail.subject and "ops@example.com" in mail.to


def test_ordering_key_sends_one_at_a_time_per_key(make_source, post_webhook, receivers):
    source, _ = make_source("github")
    receiver, destination = receivers()
    Route.objects.create(
        name="ordered", source=source, destination=destination,
        ordering_key="body.repository.full_name",
    )  # fmt: skip
    first = _deliver(make_source, post_webhook, source)[1]
    second = _deliver(make_source, post_webhook, source)[1]
    f1 = Forward.objects.get(delivery_id=first)
    f2 = Forward.objects.get(delivery_id=second)
    assert f1.ordering_key and f1.ordering_key == f2.ordering_key
    assert forwarding.send(f2.pk) is None  # behind the first of its key
    assert forwarding.send(f1.pk) == "delivered"
    assert list(forwarding.next_of_key(f1)) == [f2.pk]
    assert forwarding.send(f2.pk) == "delivered"
    assert [h["X-Hub-Delivery"] for h, _, _ in receiver.received] == [str(first), str(second)]


def _forwards_on_broker() -> list[int]:
    """Forward ids in the routing messages waiting on this run's queue (real Redis)."""
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    ids = []
    for raw in client.lrange(settings.CELERY_TASK_DEFAULT_QUEUE, 0, -1):
        message = json.loads(raw)
        if message["headers"]["task"] == "routing.forward_batch":
            ids += json.loads(base64.b64decode(message["body"]))[0][0]
    return ids


def test_an_ordered_forward_waits_for_an_earlier_event_of_another_type_then_is_woken(
    make_source, post_webhook, receivers, broker_flushed, django_capture_on_commit_callbacks
):
    """Received order holds across event types the route does not take: a push waits until an
    earlier issues event of its source has been processed (it might have made a forward), and
    that processing, though it makes no forward, republishes the parked push at once."""
    source, _ = make_source("github")
    receiver, destination = receivers()
    Route.objects.create(
        name="ordered pushes", source=source, destination=destination, event_types=["push"],
        ordering_key="body.repository.full_name",
    )  # fmt: skip
    body = signers.fixture("github/issues.opened.json")
    response = post_webhook(
        source, *signers.make_github(source.secret, str(uuid.uuid4()), body, event="issues")
    )
    earlier = response.json()["id"]  # stored, not processed yet
    later = _deliver(make_source, post_webhook, source)[1]
    push = Forward.objects.get(delivery_id=later)
    assert forwarding.send(push.pk) is None  # the issues event may still make an earlier one
    push.refresh_from_db()
    assert push.parked and push.status == Forward.Status.PENDING

    with django_capture_on_commit_callbacks(execute=True):
        process(earlier)
    assert not Forward.objects.filter(delivery_id=earlier).exists()
    assert push.pk in _forwards_on_broker()
    assert forwarding.send(push.pk) == "delivered"
    assert [h["X-Hub-Delivery"] for h, _, _ in receiver.received] == [str(later)]


def test_a_replayed_delivery_makes_no_second_forward_and_a_forward_replays_with_its_id(
    make_source, post_webhook, receivers
):
    from webhooks import operations
    from webhooks.models import Delivery

    source, _ = make_source("github")
    receiver, destination = receivers()
    Route.objects.create(name="r", source=source, destination=destination)
    _, pk, _ = _deliver(make_source, post_webhook, source)
    _send_all(pk)
    operations.replay_one(Delivery.objects.get(pk=pk), by="support")
    process(pk)
    assert Forward.objects.filter(delivery_id=pk).count() == 1
    fw = Forward.objects.get(delivery_id=pk)
    assert forwarding.replay(Forward.objects.filter(pk=fw.pk)) == [fw.pk]
    assert forwarding.send(fw.pk) == "delivered"
    assert [h["webhook-id"] for h, _, _ in receiver.received] == [fw.webhook_id] * 2


def test_api_contract_destinations_routes_and_forwards(api_client, make_source, post_webhook):
    created = api_client.post(
        "/api/v1/destinations/",
        {"name": "Billing", "url": "https://billing.example.com/hooks", "timeout": 5},
        format="json",
    )
    assert created.status_code == 201, created.content
    data = created.json()
    assert {"id", "name", "url", "enabled", "secret"} <= set(data)
    assert data["secret"].startswith("whsec_") and created["Cache-Control"] == "no-store"
    shown = api_client.get(f"/api/v1/destinations/{data['id']}/").json()
    assert "secret" not in shown
    rotated = api_client.post(f"/api/v1/destinations/{data['id']}/rotate-secret/").json()
    assert rotated["secret"].startswith("whsec_") and rotated["secret"] != data["secret"]
    assert Destination.objects.get(pk=data["id"]).secret == rotated["secret"]

    source, _ = make_source("github")
    route = {
        "name": "PRs", "source": str(source.pk), "destination": data["id"],
        "event_types": ["pull_request.*"], "filter": "body.action == 'opened'", "transform": "",
        "ordering_key": "body.repository.full_name", "enabled": True,
    }  # fmt: skip
    made = api_client.post("/api/v1/routes/", route, format="json")
    assert made.status_code == 201, made.content
    assert made.json()["id"] and made.json()["ordering_key"] == route["ordering_key"]
    broken = api_client.post(
        "/api/v1/routes/", {**route, "filter": "body.action =="}, format="json"
    )
    assert broken.status_code == 400
    assert "Not a JMESPath expression" in broken.json()["filter"][0]
    both = api_client.post("/api/v1/routes/", {**route, "provider": "github"}, format="json")
    assert both.status_code == 400
    bad_types = api_client.post("/api/v1/routes/", {**route, "event_types": "push"}, format="json")
    assert bad_types.status_code == 400
    paused = api_client.post(f"/api/v1/routes/{made.json()['id']}/pause/").json()
    assert paused["paused"] is True
    assert api_client.post(f"/api/v1/routes/{made.json()['id']}/resume/").json()["paused"] is False

    _, pk, _ = _deliver(make_source, post_webhook, source, "github/pull_request.opened.json",
                        "pull_request")  # fmt: skip
    detail = api_client.get(f"/api/v1/deliveries/{pk}/").json()
    (forward,) = detail["forwards"]
    assert set(forward) == {"id", "route", "destination", "status", "attempts",
                            "last_response_status"}  # fmt: skip
    assert forward["status"] == "pending"
    pending = api_client.post(f"/api/v1/forwards/{forward['id']}/replay/")
    assert pending.status_code == 409 and pending.json()["error"] == "not_replayable"
    Forward.objects.filter(pk=forward["id"]).update(status="dead")
    assert api_client.post(f"/api/v1/forwards/{forward['id']}/replay/").status_code == 202


def test_destination_urls_and_headers_are_checked_against_their_grammar(api_client):
    def post(**fields):
        return api_client.post(
            "/api/v1/destinations/", {"name": "X", "url": "https://ok.example/h", **fields},
            format="json",
        )  # fmt: skip

    assert post(url="ftp://example.com/h").status_code == 400
    assert post(url="https://user:pw@example.com/h").status_code == 400
    assert post(headers={"Bad Name": "x"}).status_code == 400
    assert post(headers={"X-Team": "a\r\nInjected: 1"}).status_code == 400
    assert post(headers={"webhook-signature": "v1,forged"}).status_code == 400
    assert post(disable_after="-1 00:00:00").status_code == 400  # would disable at once
    assert post(headers={"X-Team": "billing"}).status_code == 201


def test_the_delivery_page_shows_forwards_and_support_replays_one(
    client, make_source, post_webhook, receivers, django_user_model
):
    from django.contrib.auth.models import Group

    source, _ = make_source("github")
    receiver, destination = receivers(lambda n, h, b: 503 if n == 0 else 200)
    Route.objects.create(name="to billing", source=source, destination=destination,
                         retry_schedule=[])  # fmt: skip
    _, pk, _ = _deliver(make_source, post_webhook, source)
    _send_all(pk)
    fw = Forward.objects.get(delivery_id=pk)
    assert fw.status == "dead"
    support = django_user_model.objects.create_user("sup", password="pw-sup-12345", is_staff=True)
    support.groups.add(Group.objects.get(name="support"))
    client.force_login(support)
    page = client.get(f"/support/deliveries/{pk}/").content.decode()
    assert "to billing" in page and destination.name in page and "Dead" in page and "503" in page
    answer = client.post(f"/support/forwards/{fw.pk}/replay/")
    assert answer.status_code == 302
    assert forwarding.send(fw.pk) == "delivered"
    assert [code for code in receiver.answered] == [503, 200]
    end_user = django_user_model.objects.create_user("eu", password="pw-eu-123456")
    client.force_login(end_user)
    assert client.post(f"/support/forwards/{fw.pk}/replay/").status_code in (302, 403)
    fw.refresh_from_db()
    assert fw.status == "delivered"  # the end user's request changed nothing


def test_support_recovers_a_destination_as_a_job_with_progress(
    client, make_source, post_webhook, receivers, django_user_model,
    django_capture_on_commit_callbacks,
):  # fmt: skip
    from django.contrib.auth.models import Group

    from routing import jobs
    from routing.models import ForwardJob

    source, _ = make_source("github")
    receiver, destination = receivers(lambda n, h, b: 503 if n < 3 else 200)
    Route.objects.create(name="r", source=source, destination=destination, retry_schedule=[])
    pks = [_deliver(make_source, post_webhook, source)[1] for _ in range(3)]
    for pk in pks:
        _send_all(pk)
    assert set(Forward.objects.values_list("status", flat=True)) == {"dead"}
    support = django_user_model.objects.create_user("sup", password="pw-sup-12345", is_staff=True)
    support.groups.add(Group.objects.get(name="support"))
    client.force_login(support)
    page = client.get(f"/support/forwards/?destination={destination.pk}&status=dead")
    assert page.content.decode().count('class="badge dead"') == 3
    bad = client.get("/support/forwards/?status=lost&since=yesterday")
    assert "Unknown status" in bad.content.decode() or "date and time" in bad.content.decode()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        started = client.post(
            "/support/forwards/replay/", {"destination": destination.pk, "status": "dead"}
        )
    job = ForwardJob.objects.get()
    assert started.status_code == 302 and started["Location"].endswith(f"/{job.pk}/")
    assert job.total == 3 and len(callbacks) == 1  # handed to a worker after the commit
    jobs.run(job.pk)  # what the worker's task runs
    job.refresh_from_db()
    assert (job.state, job.replayed, job.skipped, job.progress) == ("done", 3, 0, 1.0)
    progress = client.get(f"/support/forward-jobs/{job.pk}/").content.decode()
    assert "3 queued again" in progress and "Done" in progress
    for fw in Forward.objects.order_by("pk"):
        forwarding.send(fw.pk)
    assert set(Forward.objects.values_list("status", flat=True)) == {"delivered"}
    assert receiver.answered == [503, 503, 503, 200, 200, 200]
    end_user = django_user_model.objects.create_user("eu", password="pw-eu-123456", is_staff=True)
    client.force_login(end_user)  # staff status alone grants nothing: the role does
    assert client.get("/support/forwards/").status_code == 403
    assert client.get(f"/support/forward-jobs/{job.pk}/").status_code == 403
    assert client.post("/support/forwards/replay/", {"status": "dead"}).status_code == 403


def test_api_recover_starts_a_job(api_client, receivers):
    _, destination = receivers()
    answer = api_client.post(
        f"/api/v1/destinations/{destination.pk}/recover/",
        {"since": "2026-01-01T00:00:00Z"}, format="json",
    )  # fmt: skip
    assert answer.status_code == 202, answer.content
    job = answer.json()
    assert job["statuses"] == ["dead"] and job["state"] == "pending"
    assert api_client.get(f"/api/v1/forward-jobs/{job['id']}/").json()["total"] == 0
    refused = api_client.post(
        f"/api/v1/destinations/{destination.pk}/recover/", {"since": "soon"}, format="json"
    )
    assert refused.status_code == 400


def test_destination_figures_on_the_overview_are_counts_of_its_forwards(
    admin_client, make_source, receivers
):
    import re

    from webhooks.models import Delivery

    source, _ = make_source("github")
    _, destination = receivers()
    route = Route.objects.create(name="r", source=source, destination=destination)
    now = timezone.now()
    plan = [  # (status, made ago, delivered ago)
        ("delivered", timedelta(minutes=5), timedelta(minutes=4)),
        ("delivered", timedelta(hours=3), timedelta(hours=3)),
        ("delivered", timedelta(hours=30), timedelta(minutes=30)),  # old, delivered lately
        ("dead", timedelta(hours=2), None),
        ("dead", timedelta(hours=40), None),
        ("pending", timedelta(minutes=1), None),
        ("retrying", timedelta(hours=5), None),
        ("held", timedelta(hours=50), None),
    ]
    for status, made, delivered in plan:
        delivery = Delivery.objects.create(source=source, provider="github", body=b"{}")
        Forward.objects.create(
            delivery=delivery, route=route, destination=destination, status=status,
            created_at=now - made, delivered_at=now - delivered if delivered else None,
        )  # fmt: skip
    page = admin_client.get("/").content.decode()
    row = re.search(rf'data-destination="{destination.pk}">(.*?)</tr>', page, re.S).group(1)
    shown = [
        re.sub(r"<[^>]+>", "", c).strip()
        for c in re.findall(r'<td class="num[^"]*">(.*?)</td>', row, re.S)
    ]
    day, hour = now - timedelta(hours=24), now - timedelta(hours=1)
    rows = Forward.objects.filter(destination=destination)
    made = rows.filter(created_at__gte=day)
    delivered_day = made.filter(status="delivered").count()
    dead_day = made.filter(status="dead").count()
    expected = [
        rows.filter(delivered_at__gte=hour).count(),
        made.count(),
        f"{round(100 * delivered_day / (delivered_day + dead_day))}%",
        dead_day,
        rows.filter(status__in=["pending", "retrying"]).count(),
        rows.filter(status="held").count(),
    ]
    assert shown == [str(v) for v in expected]
    assert "degraded" in row  # a dead forward in the last 24 h


def test_the_filter_tester_previews_on_a_recent_delivery_and_saves_nothing(
    admin_client, api_client, make_source, post_webhook, receivers
):
    source, _ = make_source("github")
    _, destination = receivers()
    _, pk, body = _deliver(make_source, post_webhook, source, "github/pull_request.opened.json",
                           "pull_request")  # fmt: skip
    form = {
        "name": "PRs", "source": str(source.pk), "provider": "", "destination": destination.pk,
        "event_types": '["pull_request.*"]', "filter": "body.action == 'opened'",
        "transform": "{n: body.number}", "ordering_key": "body.repository.full_name",
        "retry_schedule": "null", "enabled": "on", "_preview": "Preview",
    }  # fmt: skip
    page = admin_client.post("/admin/routing/route/add/", form).content.decode()
    number = json.loads(body)["number"]
    assert "Preview only, nothing was saved" in page
    assert f"On delivery {pk} (pull_request.opened)" in page
    assert "filter -&gt; passes" in page and f"{{&quot;n&quot;: {number}}}" in page
    assert not Route.objects.exists()
    saved = admin_client.post(
        "/admin/routing/route/add/", {**form, "_preview": ""} | {"_save": "Save"}
    )
    form.pop("_preview")
    saved = admin_client.post("/admin/routing/route/add/", {**form, "_save": "Save"})
    assert saved.status_code == 302 and Route.objects.count() == 1

    answer = api_client.post(
        "/api/v1/routes/preview/",
        {"source": str(source.pk), "filter": "body.action == 'closed'", "transform": "body.nope",
         "ordering_key": "length(body.number)"},
        format="json",
    )  # fmt: skip
    result = answer.json()
    assert answer.status_code == 200 and result["delivery"] == pk
    assert result["filter"].startswith("filtered out")
    assert result["transform"] == "null"
    assert result["ordering_key"].startswith("error:")  # length() of a number: JMESPath's error


def test_a_handler_destination_runs_a_registered_handler_with_the_forward_machinery(
    make_source, post_webhook, api_client, settings
):
    from tests.models import SideEffect

    settings.HUB_RETRY_TIME_SCALE = 0
    refused = api_client.post(
        "/api/v1/destinations/", {"name": "H", "kind": "handler", "handler": "os.system"},
        format="json",
    )  # fmt: skip
    assert refused.status_code == 400 and "handler" in refused.json()  # only registered ones
    made = api_client.post(
        "/api/v1/destinations/",
        {"name": "Flaky handler", "kind": "handler", "handler": "tests.handlers.fail_twice"},
        format="json",
    )  # fmt: skip
    assert made.status_code == 201, made.content
    destination = Destination.objects.get(pk=made.json()["id"])
    source, secret = make_source("generic")
    Route.objects.create(name="to code", source=source, destination=destination)
    body, headers = signers.make_generic(secret, str(uuid.uuid4()), body=b'{"n": 1}')
    pk = post_webhook(source, body, {**headers, "X-Event": "anything"}).json()["id"]
    process(pk)  # no handler of its own for 'anything': ignored, but forwarded to the handler
    fw = Forward.objects.get(delivery_id=pk)
    assert [forwarding.send(fw.pk) for _ in range(3)] == ["retrying", "retrying", "delivered"]
    # the failed attempts' writes rolled back with their outcome; the third committed with it
    assert list(SideEffect.objects.filter(delivery_id=pk).values_list("attempt", flat=True)) == [3]
    errors = list(fw.attempt_set.values_list("error", flat=True))
    assert errors[0].startswith("ConnectionError: attempt 1") and errors[2] == ""


def test_a_sources_built_in_handlers_move_onto_routes_and_run_once_as_forwards(
    make_source, post_webhook
):
    """`manage.py route_builtin_handlers`: the provider's handlers become handler destinations
    of the source's routes; processing runs none of them any more, the forwards do, with the
    forward machinery (a replay of the forward rewrites the one activity entry)."""
    from django.core.management import call_command

    from webhooks.models import Activity, Source

    source, _ = make_source("github")
    before = _deliver(make_source, post_webhook, source)[1]
    assert Activity.objects.filter(delivery_id=before).count() == 1  # built-in, in processing
    out = io.StringIO()
    call_command("route_builtin_handlers", str(source.pk), stdout=out)
    call_command("route_builtin_handlers", str(source.pk), stdout=io.StringIO())  # idempotent
    source.refresh_from_db()
    assert source.handling == Source.Handling.ROUTES
    push_route = Route.objects.get(source=source, event_types=["push", "push.*"])
    assert push_route.destination.kind == Destination.Kind.HANDLER
    assert push_route.destination.handler == "providers.github.handlers.push"
    assert f"route {push_route.pk} " in out.getvalue()
    assert Route.objects.filter(source=source).count() == len(
        {r.destination.handler for r in Route.objects.filter(source=source)}
    )  # one route per handler, none made twice
    source_cache.clear()

    after = _deliver(make_source, post_webhook, source)[1]
    assert not Activity.objects.filter(delivery_id=after).exists()  # no built-in run
    forward = Forward.objects.get(delivery_id=after)  # only the push route matched
    assert forward.route == push_route
    assert forwarding.send(forward.pk) == "delivered"
    assert Activity.objects.filter(delivery_id=after).count() == 1
    forward.refresh_from_db()
    forwarding.replay(Forward.objects.filter(pk=forward.pk))
    assert forwarding.send(forward.pk) == "delivered"
    assert Activity.objects.filter(delivery_id=after).count() == 1


def test_an_unknown_source_id_is_a_clear_command_error():
    from django.core.management import CommandError, call_command

    with pytest.raises(CommandError, match="No source has the id 'nope'"):
        call_command("route_builtin_handlers", "nope")


def test_an_answer_excerpt_is_capped_and_survives_an_unknown_charset():
    """What support sees of a destination's answer: at most 2,000 characters, whatever the
    answer's size or the charset it names."""
    import requests

    response = requests.Response()
    response._content = "é".encode() * 100_000
    response.headers["Content-Type"] = "text/plain; charset=no-such-charset"
    response.encoding = "no-such-charset"
    assert forwarding._excerpt(response) == "é" * forwarding.EXCERPT
    response.encoding = None
    assert forwarding._excerpt(response) == "é" * forwarding.EXCERPT
