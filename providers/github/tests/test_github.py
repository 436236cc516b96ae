"""GitHub: the signature contract, every captured payload received byte-exact and typed as
support searches for it, and the built-in handlers (fixtures: ../fixtures, SOURCES.md)."""

import json
import uuid
from pathlib import Path

import pytest

from tests import signers
from tests.contract import SignatureContract
from webhooks.models import Activity, Delivery, Source, SourceRepository
from webhooks.operations import replay_ids
from webhooks.processing import process

from . import sign

FIXTURES = signers.fixtures("github")


class TestGitHub(SignatureContract):
    provider = "github"
    make = staticmethod(sign.make)
    signature_header = "X-Hub-Signature-256"
    malformed_values = ("garbage", "sha256=not-hex", "sha1=abcd", "sha256=", "=")


def _expected_github_type(path: Path) -> str:
    event = path.name.split(".")[0]
    action = json.loads(path.read_bytes()).get("action")
    return f"{event}.{action}" if action else event


@pytest.mark.django_db
@pytest.mark.parametrize("path", FIXTURES, ids=[p.name for p in FIXTURES])
def test_github_fixture_is_stored_byte_exact(path, make_source, post_webhook, delivery_id):
    source, secret = make_source("github")
    event = path.name.split(".")[0]
    body, headers = sign.make(secret, delivery_id(), body=path.read_bytes(), event=event)
    response = post_webhook(source, body, headers)
    assert response.status_code in (200, 202), response.content
    delivery = Delivery.objects.get(pk=response.json()["id"])
    assert bytes(delivery.body) == body
    assert delivery.event_type == _expected_github_type(path)


@pytest.mark.django_db
def test_github_ping_is_stored_done_and_marks_the_source_verified(
    make_source, post_webhook, delivery_id
):
    source, secret = make_source("github")
    body = signers.fixture("github/ping.json")
    response = post_webhook(source, *sign.make(secret, delivery_id(), body, event="ping"))
    assert response.status_code == 200
    assert response.json()["status"] == "processed"
    assert Delivery.objects.get(pk=response.json()["id"]).status == Delivery.Status.PROCESSED
    assert Source.objects.get(pk=source.pk).verified_at is not None


def _github(make_source, post_webhook, fixture, event, source=None):
    if source is None:
        source, _ = make_source("github")
    body, headers = sign.make(
        source.secret, str(uuid.uuid4()), body=signers.fixture(fixture), event=event
    )
    pk = post_webhook(source, body, headers).json()["id"]
    return source, pk


@pytest.mark.django_db
def test_github_installation_events_track_the_covered_repositories(make_source, post_webhook):
    source, pk = _github(
        make_source, post_webhook, "github/installation.created.json", "installation"
    )
    assert process(pk) == "processed"
    created = json.loads(signers.fixture("github/installation.created.json"))
    expected = {r["full_name"] for r in created["repositories"]}
    assert set(source.repositories.values_list("full_name", flat=True)) == expected
    _, pk = _github(
        make_source,
        post_webhook,
        "github/installation_repositories.added.json",
        "installation_repositories",
        source,
    )
    assert process(pk) == "processed"
    added = json.loads(signers.fixture("github/installation_repositories.added.json"))
    for repo in added["repositories_added"]:
        assert SourceRepository.objects.filter(source=source, repo_id=repo["id"]).exists()


@pytest.mark.django_db
def test_push_and_pull_request_record_activity(make_source, post_webhook):
    source, push = _github(make_source, post_webhook, "github/push.with-new-branch.json", "push")
    _, pr = _github(
        make_source, post_webhook, "github/pull_request.opened.json", "pull_request", source
    )
    assert process(push) == process(pr) == "processed"
    push_entry = Activity.objects.get(delivery_id=push)
    assert (push_entry.ref, push_entry.commit_count) == ("refs/heads/master", 1)
    assert push_entry.repo and push_entry.sender
    pr_entry = Activity.objects.get(delivery_id=pr)
    payload = json.loads(signers.fixture("github/pull_request.opened.json"))
    assert (pr_entry.kind, pr_entry.pr_number) == ("pull_request.opened", payload["number"])


@pytest.mark.django_db
def test_a_replayed_push_rewrites_its_one_activity_entry(make_source, post_webhook):
    source, push = _github(make_source, post_webhook, "github/push.with-new-branch.json", "push")
    assert process(push) == "processed"
    first = Activity.objects.get(delivery_id=push)
    Activity.objects.filter(pk=first.pk).update(ref="stale", sender="someone else")
    assert replay_ids([push], by="support") == [push]
    assert process(push) == "processed"
    again = Activity.objects.get(delivery_id=push)  # still one entry: the same row, rewritten
    assert (again.pk, again.ref, again.created_at) == (
        first.pk,
        "refs/heads/master",
        first.created_at,
    )
    assert again.sender == first.sender
