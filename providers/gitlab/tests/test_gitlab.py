"""GitLab: the token contract, the documented payloads typed as support searches for them, and
idempotency from ``Idempotency-Key`` (or ``X-Gitlab-Event-UUID`` from older GitLab)."""

import pytest

from tests import signers
from tests.contract import SignatureContract
from webhooks.models import Delivery

from . import sign


class TestGitLab(SignatureContract):
    provider = "gitlab"
    make = staticmethod(sign.make)
    signature_header = "X-Gitlab-Token"
    malformed_values = ("garbage", "sha256=abcd", "x" * 300)

    def test_body_tampered_by_one_byte_is_refused(self, make_source, post_webhook, delivery_id):
        """GitLab's token covers no body, so what proves a delivery is the token alone: a body
        sent with another token is refused, and the stored body is what arrived, unchanged."""
        source, secret = self.source(make_source)
        body, headers = self.sign(secret, delivery_id())
        tampered = body.replace(b'"push"', b'"tag_push"', 1)
        refused = post_webhook(source, tampered, {**headers, "X-Gitlab-Token": secret[:-1]})
        self.assert_refused(refused, source, 401, "invalid_signature")
        accepted = post_webhook(source, tampered, {**headers, "Idempotency-Key": delivery_id()})
        assert accepted.status_code == 202
        assert bytes(Delivery.objects.get(pk=accepted.json()["id"]).body) == tampered


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("name", "kind", "event_type"),
    [
        ("push.json", "push", "push"),
        ("merge_request.open.json", "merge_request", "merge_request.open"),
    ],
)
def test_documented_payloads_are_stored_byte_exact_and_typed(
    name, kind, event_type, make_source, post_webhook, delivery_id
):
    source, secret = make_source("gitlab")
    ext = delivery_id()
    body = signers.fixture(f"gitlab/{name}")
    response = post_webhook(source, *sign.make(secret, ext, body=body, kind=kind))
    assert response.status_code == 202, response.content
    delivery = Delivery.objects.get(pk=response.json()["id"])
    assert bytes(delivery.body) == body
    assert (delivery.event_type, delivery.external_id) == (event_type, ext)


@pytest.mark.django_db
def test_a_retry_with_the_same_idempotency_key_is_a_duplicate(make_source, post_webhook):
    """GitLab retries one webhook request with the same Idempotency-Key and a new event UUID."""
    source, secret = make_source("gitlab")
    body, headers = sign.make(secret, "7c6ff0b4-6b53-4c77-8bb1-0c8e2f6f3f55")
    first = post_webhook(source, body, headers)
    retry = post_webhook(source, body, {**headers, "X-Gitlab-Event-UUID": "another-event-uuid"})
    assert (first.status_code, retry.status_code) == (202, 200)
    assert retry.json() == {"id": first.json()["id"], "status": "duplicate"}


@pytest.mark.django_db
def test_older_gitlab_is_deduplicated_on_the_event_uuid(make_source, post_webhook, delivery_id):
    source, secret = make_source("gitlab")
    body, headers = sign.make(secret, delivery_id(), idempotency=False)
    assert "Idempotency-Key" not in headers
    first = post_webhook(source, body, headers)
    again = post_webhook(source, body, headers)
    assert (first.status_code, again.status_code) == (202, 200)
    stored = Delivery.objects.get(pk=first.json()["id"])
    assert stored.external_id == headers["X-Gitlab-Event-UUID"]
