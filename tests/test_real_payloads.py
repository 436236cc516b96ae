"""Real captured payloads (tests/fixtures, provenance in SOURCES.md) are received byte-exact and
read as the event type support expects to search for."""

import json
from pathlib import Path

import pytest

from webhooks.models import Delivery, Source

from . import signers

GITHUB = sorted((signers.FIXTURES / "github").glob("*.json"))


def _expected_github_type(path: Path) -> str:
    event = path.name.split(".")[0]
    action = json.loads(path.read_bytes()).get("action")
    return f"{event}.{action}" if action else event


@pytest.mark.django_db
@pytest.mark.parametrize("path", GITHUB, ids=[p.name for p in GITHUB])
def test_github_fixture_is_stored_byte_exact(path, make_source, post_webhook, delivery_id):
    source, secret = make_source("github")
    event = path.name.split(".")[0]
    body, headers = signers.make_github(secret, delivery_id(), body=path.read_bytes(), event=event)
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
    response = post_webhook(source, *signers.make_github(secret, delivery_id(), body, event="ping"))
    assert response.status_code == 200
    assert response.json()["status"] == "processed"
    assert Delivery.objects.get(pk=response.json()["id"]).status == Delivery.Status.PROCESSED
    assert Source.objects.get(pk=source.pk).verified_at is not None


STRIPE = sorted((signers.FIXTURES / "stripe").glob("*.json"))


@pytest.mark.django_db
@pytest.mark.parametrize("path", STRIPE, ids=[p.name for p in STRIPE])
def test_stripe_fixture_is_stored_byte_exact(path, make_source, post_webhook):
    source, secret = make_source("stripe")
    body = path.read_bytes()
    event = json.loads(body)
    response = post_webhook(source, *signers.make_stripe(secret, None, body=body))
    assert response.status_code == 202, response.content
    delivery = Delivery.objects.get(pk=response.json()["id"])
    assert bytes(delivery.body) == body
    assert delivery.event_type == event.get("type", "")
    assert delivery.external_id == event.get("id")


SLACK_EVENTS = sorted((signers.FIXTURES / "slack").glob("event_callback.*.json"))


@pytest.mark.django_db
@pytest.mark.parametrize("path", SLACK_EVENTS, ids=[p.name for p in SLACK_EVENTS])
def test_slack_event_fixture_is_stored_byte_exact(path, make_source, post_webhook):
    source, secret = make_source("slack")
    body = path.read_bytes()
    event = json.loads(body)
    response = post_webhook(source, *signers.make_slack(secret, None, body=body))
    assert response.status_code == 202, response.content
    delivery = Delivery.objects.get(pk=response.json()["id"])
    assert bytes(delivery.body) == body
    assert delivery.event_type == f"event_callback.{event['event']['type']}"
    assert delivery.external_id == event.get("event_id")


@pytest.mark.django_db
def test_slack_url_verification_is_answered_with_its_challenge(make_source, post_webhook):
    source, secret = make_source("slack")
    body = signers.fixture("slack/url_verification.json")
    response = post_webhook(source, *signers.make_slack(secret, None, body=body))
    assert response.status_code == 200
    assert response.json() == {"challenge": json.loads(body)["challenge"]}
    assert Source.objects.get(pk=source.pk).verified_at is not None


@pytest.mark.django_db
def test_slack_slash_command_form_body_is_accepted(make_source, post_webhook):
    source, secret = make_source("slack")
    body = signers.fixture("slack/slash_command.form-urlencoded.txt")
    response = post_webhook(
        source,
        *signers.make_slack(
            secret, None, body=body, content_type="application/x-www-form-urlencoded"
        ),
    )
    assert response.status_code == 202, response.content
    delivery = Delivery.objects.get(pk=response.json()["id"])
    assert delivery.event_type == "slash_command"
    assert bytes(delivery.body) == body


@pytest.mark.django_db
def test_slack_retry_of_the_same_event_is_a_duplicate(make_source, post_webhook):
    source, secret = make_source("slack")
    body = signers.fixture("slack/event_callback.app_mention.json")
    first = post_webhook(source, *signers.make_slack(secret, None, body=body))
    body2, headers = signers.make_slack(secret, None, body=body)
    retry = post_webhook(source, body2, {**headers, "X-Slack-Retry-Num": "1"})
    assert (first.status_code, retry.status_code) == (202, 200)
    assert retry.json()["status"] == "duplicate"
