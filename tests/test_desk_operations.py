"""One set of delivery operations and one filter vocabulary for the desk, the API, the admin and
the shell: replay-all replays exactly what a search shows, its job follows the outcomes."""

import html
import io
import uuid

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command

from webhooks import operations
from webhooks.models import Attempt, Delivery, ReplayJob
from webhooks.processing import process

from . import signers

pytestmark = pytest.mark.django_db


@pytest.fixture
def support(client, django_user_model, roles):
    user = django_user_model.objects.create_user("sam", password="pw-sam-12345", is_staff=True)
    user.groups.add(Group.objects.get(name="support"))
    client.force_login(user)
    return client


@pytest.fixture
def dead(make_source, post_webhook, django_capture_on_commit_callbacks):
    """Three dead deliveries of one source; one of them mentions cus_REFUND42 in its body."""
    source, secret = make_source("generic", name="Refunds", retry_schedule=[])
    ids = []
    for text in (b"order paid", b"refund for cus_REFUND42", b"order shipped"):
        body, headers = signers.make_generic(secret, str(uuid.uuid4()), body=text)
        ids.append(post_webhook(source, body, {**headers, "X-Event": "test.fail"}).json()["id"])
    with django_capture_on_commit_callbacks(execute=True):
        for pk in ids:
            process(pk)
    assert set(Delivery.objects.filter(pk__in=ids).values_list("status", flat=True)) == {"dead"}
    return source, ids


def _process(ids, capture):
    with capture(execute=True):
        for pk in ids:
            process(pk)


def test_replay_all_after_a_text_search_replays_only_what_the_desk_shows(
    support, dead, django_capture_on_commit_callbacks
):
    source, ids = dead
    search = {"source": str(source.pk), "q": "cus_refund42"}  # case-insensitive
    desk = support.get("/support/deliveries/", search).content.decode()
    assert f'data-id="{ids[1]}"' in desk and f'data-id="{ids[0]}"' not in desk
    assert "<strong>1</strong> delivery match" in desk
    confirm = html.unescape(support.get("/support/replay/", search).content.decode())
    assert 'id="match-count">1<' in confirm and "text 'cus_refund42'" in confirm
    assert "source Refunds" in confirm and "status dead or retrying" in confirm
    with django_capture_on_commit_callbacks(execute=False):
        answer = support.post("/support/replay/", search)
    job = ReplayJob.objects.get()
    assert answer["Location"] == f"/support/replay-jobs/{job.pk}/"
    assert job.total == 1
    operations.run_job(job.pk)
    assert list(Delivery.objects.filter(status="queued").values_list("pk", flat=True)) == [ids[1]]
    # The job page follows the outcome: the replayed delivery dies again.
    _process([ids[1]], django_capture_on_commit_callbacks)
    page = support.get(f"/support/replay-jobs/{job.pk}/").content.decode()
    assert 'id="outcome-dead">1<' in page and 'id="outcome-in-flight">0<' in page
    assert "Replaying: source Refunds" in page and str(source.pk) not in page
    api = support.get(f"/api/v1/replay-jobs/{job.pk}/").json()
    assert api["outcomes"] == {"succeeded": 0, "dead": 1, "in_flight": 0}
    assert Attempt.objects.filter(delivery_id=ids[1]).last().replayed_by == "sam"


def test_without_a_status_the_desk_and_its_replay_all_mean_dead_or_retrying(
    support, dead, make_source
):
    source, ids = dead
    Delivery.objects.filter(pk=ids[0]).update(status="processed")
    desk = support.get("/support/deliveries/", {"source": str(source.pk)}).content.decode()
    assert "<strong>2</strong> deliveries match" in desk
    confirm = support.get("/support/replay/", {"source": str(source.pk)}).content.decode()
    assert 'id="match-count">2<' in confirm


def test_a_bad_filter_is_said_not_a_500(support, api_client):
    page = support.get("/support/deliveries/", {"status": "nope"})
    assert page.status_code == 200 and "Unknown status" in page.content.decode()
    assert api_client.get("/api/v1/deliveries/", {"status": "nope"}).status_code == 400
    bad = api_client.post("/api/v1/deliveries/replay/", {"received_before": "x"}, format="json")
    assert bad.status_code == 400 and "received_before" in bad.json()


def test_the_api_lists_and_replays_by_text(api_client, dead):
    source, ids = dead
    listed = api_client.get("/api/v1/deliveries/", {"q": "REFUND42"}).json()["results"]
    assert [d["id"] for d in listed] == [ids[1]]
    job = api_client.post(
        "/api/v1/deliveries/replay/", {"q": "REFUND42", "status": "dead"}, format="json"
    )
    assert job.status_code == 202 and job.json()["total"] == 1
    assert job.json()["filters_in_words"] == "status dead, text 'REFUND42'"


def test_the_shell_command_speaks_the_same_filters(dead, django_user_model):
    source, ids = dead
    django_user_model.objects.create_user("ops", password="pw-ops-12345")
    out = io.StringIO()
    call_command("replay_deliveries", "--q", "refund42", "--status", "dead", "--as", "ops",
                 stdout=out, stderr=io.StringIO())  # fmt: skip
    assert "1 deliveries match: status dead, text 'refund42'" in out.getvalue()
    delivery = Delivery.objects.get(pk=ids[1])
    assert delivery.status == "queued" and delivery.replay_requested_by == "ops"


def test_every_door_records_who_replayed(support, api_client, admin_user, dead, client):
    source, ids = dead
    support.post(f"/support/deliveries/{ids[0]}/replay/")
    api_client.post(f"/api/v1/deliveries/{ids[1]}/replay/")
    client.force_login(admin_user)
    client.post(f"/admin/webhooks/delivery/{ids[2]}/replay/")
    by = dict(Delivery.objects.filter(pk__in=ids).values_list("pk", "replay_requested_by"))
    assert by == {ids[0]: "sam", ids[1]: "root", ids[2]: "root"}


def test_a_search_over_bytes_that_are_not_utf8_works(support, make_source, post_webhook):
    source, secret = make_source("generic", name="Binary")
    body, headers = signers.make_generic(secret, str(uuid.uuid4()), body=b"\xff\xfe caf\xc3\xa9")
    post_webhook(source, body, {**headers, "X-Event": "test.fail"})
    Delivery.objects.update(status="dead")
    page = support.get("/support/deliveries/", {"q": "café"})
    assert page.status_code == 200 and "<strong>1</strong> delivery match" in page.content.decode()


def test_a_builtin_handler_says_which_field_is_missing(
    make_source, post_webhook, django_capture_on_commit_callbacks
):
    source, secret = make_source("github")
    body = b'{"action": "created", "installation": {"id": 7}, "repositories": [{"id": 1}]}'
    signed = signers.make_github(secret, str(uuid.uuid4()), body=body, event="installation")
    pk = post_webhook(source, *signed).json()["id"]
    with django_capture_on_commit_callbacks(execute=True):
        process(pk)
    delivery = Delivery.objects.get(pk=pk)
    assert delivery.status == "dead" and delivery.attempts == 1
    assert delivery.error == (
        "PermanentError: github installation.created: an entry of 'repositories' has no 'id' "
        "and 'full_name'."
    )
