"""Slack: the signature contract (signed with the official ``slack_sdk``), the captured
Events API payloads, the URL handshake, slash commands, retries, and the lifecycle handler."""

import json

import pytest

from connections.models import Connection
from tests import signers
from tests.contract import TimestampedContract
from webhooks.models import Delivery, Source
from webhooks.processing import process

from . import sign

EVENTS = signers.fixtures("slack", "event_callback.*.json")


class TestSlack(TimestampedContract):
    provider = "slack"
    make = staticmethod(sign.make)
    signature_header = "X-Slack-Signature"
    malformed_values = ("garbage", "v0=not-hex", "v1=abcd", "v0=")


@pytest.mark.django_db
@pytest.mark.parametrize("path", EVENTS, ids=[p.name for p in EVENTS])
def test_slack_event_fixture_is_stored_byte_exact(path, make_source, post_webhook):
    source, secret = make_source("slack")
    body = path.read_bytes()
    event = json.loads(body)
    response = post_webhook(source, *sign.make(secret, None, body=body))
    assert response.status_code == 202, response.content
    delivery = Delivery.objects.get(pk=response.json()["id"])
    assert bytes(delivery.body) == body
    assert delivery.event_type == f"event_callback.{event['event']['type']}"
    assert delivery.external_id == event.get("event_id")


@pytest.mark.django_db
def test_slack_url_verification_is_answered_with_its_challenge(make_source, post_webhook):
    source, secret = make_source("slack")
    body = signers.fixture("slack/url_verification.json")
    response = post_webhook(source, *sign.make(secret, None, body=body))
    assert response.status_code == 200
    assert response.json() == {"challenge": json.loads(body)["challenge"]}
    assert Source.objects.get(pk=source.pk).verified_at is not None


@pytest.mark.django_db
def test_slack_slash_command_form_body_is_accepted(make_source, post_webhook):
    source, secret = make_source("slack")
    body = signers.fixture("slack/slash_command.form-urlencoded.txt")
    response = post_webhook(
        source,
        *sign.make(secret, None, body=body, content_type="application/x-www-form-urlencoded"),
    )
    assert response.status_code == 202, response.content
    delivery = Delivery.objects.get(pk=response.json()["id"])
    assert delivery.event_type == "slash_command"
    assert bytes(delivery.body) == body


@pytest.mark.django_db
def test_slack_retry_of_the_same_event_is_a_duplicate(make_source, post_webhook):
    source, secret = make_source("slack")
    body = signers.fixture("slack/event_callback.app_mention.json")
    first = post_webhook(source, *sign.make(secret, None, body=body))
    body2, headers = sign.make(secret, None, body=body)
    retry = post_webhook(source, body2, {**headers, "X-Slack-Retry-Num": "1"})
    assert (first.status_code, retry.status_code) == (202, 200)
    assert retry.json()["status"] == "duplicate"


@pytest.mark.django_db
def test_slack_tokens_revoked_flags_the_linked_connection(make_source, post_webhook):
    connection = Connection.objects.create(name="Workspace", provider="slack")
    source, secret = make_source("slack", connection=connection)
    body = signers.fixture("slack/event_callback.tokens_revoked.json")
    pk = post_webhook(source, *sign.make(secret, None, body=body)).json()["id"]
    assert process(pk) == "processed"
    connection.refresh_from_db()
    assert connection.status == "needs_attention"
    assert "tokens_revoked" in connection.status_reason
