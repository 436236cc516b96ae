"""Support replays one delivery, a selection or everything a filter matches; payloads are
purged after retention or erased on request, and outcomes survive."""

import io
import re
import uuid
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from webhooks import operations, retention
from webhooks.models import Delivery, ReplayJob
from webhooks.processing import process

from . import signers

pytestmark = pytest.mark.django_db


@pytest.fixture
def dead(make_source, post_webhook):
    """``dead(n, event="test.count") -> (source, [pk...])``: n deliveries marked dead."""

    def make(n, event="test.count", source=None):
        if source is None:
            source, _ = make_source("generic")
        ids = []
        for _ in range(n):
            body, headers = signers.make_generic(source.secret, str(uuid.uuid4()))
            ids.append(post_webhook(source, body, {**headers, "X-Event": event}).json()["id"])
        Delivery.objects.filter(pk__in=ids).update(status="dead", error="boom", tries=8, attempts=8)
        return source, ids

    return make


def test_replay_one_through_the_api_keeps_history(api_client, dead):
    _, (pk,) = dead(1)
    response = api_client.post(f"/api/v1/deliveries/{pk}/replay/")
    assert response.status_code == 202
    assert response.json() == {"id": pk, "status": "queued"}
    d = Delivery.objects.get(pk=pk)
    assert (d.status, d.tries, d.attempts, d.error) == ("queued", 0, 8, "")
    assert process(pk) == "processed"
    detail = api_client.get(f"/api/v1/deliveries/{pk}/").json()
    assert detail["attempts"] == 9 and detail["attempt_list"][-1]["outcome"] == "processed"


def test_replay_refuses_what_cannot_be_replayed(api_client, make_source, post_webhook):
    source, secret = make_source("github")
    queued = post_webhook(source, *signers.make_github(secret, str(uuid.uuid4()))).json()["id"]
    rejected = post_webhook(source, b"{}", {"X-Hub-Signature-256": "sha256=00"})
    rejected_pk = Delivery.objects.get(status="rejected").pk
    assert rejected.status_code == 401
    for pk, words in ((queued, "already queued"), (rejected_pk, "refused at the door")):
        response = api_client.post(f"/api/v1/deliveries/{pk}/replay/")
        assert response.status_code == 409
        assert response.json()["error"] == "not_replayable"
        assert words in response.json()["detail"]


def test_replay_a_selection(api_client, dead):
    _, ids = dead(3)
    response = api_client.post(
        "/api/v1/deliveries/replay/", {"ids": [*ids[:2], 999999]}, format="json"
    )
    assert response.status_code == 200
    assert response.json() == {"replayed": ids[:2], "skipped": [999999]}
    statuses = Delivery.objects.filter(pk__in=ids).order_by("pk").values_list("status", flat=True)
    assert list(statuses) == ["queued", "queued", "dead"]


def test_replay_everything_a_filter_matches_as_a_job(api_client, dead):
    source, ids = dead(7)
    other, other_ids = dead(2)
    response = api_client.post(
        "/api/v1/deliveries/replay/",
        {"status": "dead", "source": str(source.pk)},
        format="json",
    )
    assert response.status_code == 202, response.content
    job_id = response.json()["id"]
    assert response.json()["status"] == "pending"
    seen = []
    operations.run_job(job_id, batch=3, on_progress=lambda job: seen.append(job.replayed))
    assert seen == [3, 6, 7]  # progress after every batch
    job = api_client.get(f"/api/v1/replay-jobs/{job_id}/").json()
    assert (job["status"], job["total"], job["replayed"], job["progress"]) == ("done", 7, 7, 1.0)
    assert set(Delivery.objects.filter(status="queued").values_list("pk", flat=True)) == set(ids)
    assert set(Delivery.objects.filter(status="dead").values_list("pk", flat=True)) == set(
        other_ids
    )


def test_bulk_replay_needs_a_valid_filter(api_client):
    assert api_client.post("/api/v1/deliveries/replay/", {}, format="json").status_code == 400
    bad = api_client.post(
        "/api/v1/deliveries/replay/", {"received_after": "yesterday"}, format="json"
    )
    assert bad.status_code == 400 and "received_after" in bad.json()
    assert not ReplayJob.objects.exists()


def test_a_cancelled_job_stops_after_its_batch(api_client, dead):
    _, ids = dead(5)
    job = operations.start_job({"status": "dead"})

    def cancel_after_first_batch(current):
        api_client.post(f"/api/v1/replay-jobs/{current.pk}/cancel/")

    job = operations.run_job(job.pk, batch=2, on_progress=cancel_after_first_batch)
    assert (job.status, job.replayed) == ("cancelled", 2)
    assert Delivery.objects.filter(status="dead").count() == 3


def test_shell_command_replays_with_a_progress_bar(dead):
    _, ids = dead(4)
    Delivery.objects.filter(pk=ids[0]).update(received_at=timezone.now() - timedelta(hours=3))
    out, err = io.StringIO(), io.StringIO()
    call_command("replay_deliveries", "--status", "dead", "--since", "2h", "--dry-run", stdout=out)
    assert "3 deliveries match" in out.getvalue()
    call_command(
        "replay_deliveries", "--status", "dead", "--since", "2h", "--batch", "2", stdout=out,
        stderr=err,
    )  # fmt: skip
    assert "3 queued again" in out.getvalue()
    assert re.search(r"3/3", err.getvalue())  # the progress bar reached the end
    assert Delivery.objects.get(pk=ids[0]).status == "dead"  # outside --since
    with pytest.raises(CommandError, match="at least one filter"):
        call_command("replay_deliveries")
    with pytest.raises(CommandError, match="duration"):
        call_command("replay_deliveries", "--since", "two hours")


def test_admin_replay_all_matching_starts_a_job_with_progress(client, admin_user, dead):
    _, ids = dead(3)
    client.force_login(admin_user)
    listing = client.get("/admin/webhooks/delivery/", {"status__exact": "dead"})
    assert b"Replay all matching" in listing.content
    confirm = client.get("/admin/webhooks/delivery/replay-matching/", {"status__exact": "dead"})
    assert re.search(rb'id="match-count">3<', confirm.content)
    started = client.post("/admin/webhooks/delivery/replay-matching/", {"status__exact": "dead"})
    job = ReplayJob.objects.get()
    assert started["Location"].endswith(f"/admin/webhooks/replayjob/{job.pk}/change/")
    page = client.get(started["Location"]).content.decode()
    assert 'http-equiv="refresh"' in page and "Cancel job" in page
    operations.run_job(job.pk)
    page = client.get(started["Location"]).content.decode()
    assert "3 queued" in page and 'http-equiv="refresh"' not in page


def test_admin_replay_and_erase_buttons(client, admin_user, dead):
    _, (pk,) = dead(1)
    client.force_login(admin_user)
    page = client.get(f"/admin/webhooks/delivery/{pk}/change/").content.decode()
    assert "replay-delivery" in page and "erase-delivery" in page
    client.post(f"/admin/webhooks/delivery/{pk}/replay/")
    assert Delivery.objects.get(pk=pk).status == "queued"
    client.post(f"/admin/webhooks/delivery/{pk}/erase/")
    assert bytes(Delivery.objects.get(pk=pk).body) != b""  # queued: in flight, not erased
    process(pk)
    client.post(f"/admin/webhooks/delivery/{pk}/erase/")
    d = Delivery.objects.get(pk=pk)
    assert (
        bytes(d.body) == b""
        and d.headers == {}
        and "erased on request by root" in (d.payload_removed_reason)
    )
    assert d.status == "processed" and d.attempts == 9  # the outcome and history stay


def test_retention_purges_old_payloads_and_keeps_outcomes(dead, settings):
    settings.HUB_PURGE_BATCH = 2
    source, ids = dead(5)
    source.retention_days = 7
    source.save()
    old = timezone.now() - timedelta(days=8)
    Delivery.objects.filter(pk__in=ids[:3]).update(received_at=old)
    Delivery.objects.filter(pk=ids[0]).update(status="retrying")  # in flight: left alone
    assert retention.purge_payloads() == 2
    purged = Delivery.objects.filter(payload_removed_at__isnull=False)
    assert set(purged.values_list("pk", flat=True)) == set(ids[1:3])
    for d in purged:
        assert bytes(d.body) == b"" and d.headers == {} and d.status == "dead"
        assert d.payload_removed_reason == "retention (7 days)"
    assert bytes(Delivery.objects.get(pk=ids[3]).body)
    assert operations.replay_ids(ids[1:3], by="test") == []  # nothing left to replay


def test_api_erase(api_client, dead):
    _, (pk,) = dead(1)
    response = api_client.post(f"/api/v1/deliveries/{pk}/erase/")
    assert response.status_code == 200 and response.json()["payload_removed_at"]
    assert api_client.get(f"/api/v1/deliveries/{pk}/").json()["body"] == ""
