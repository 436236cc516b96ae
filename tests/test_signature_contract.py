"""The security contract every signature scheme must keep, run once per provider.

Each subclass says how its provider signs a delivery (with the provider's SDK or published
scheme); the tests post through the whole Django stack and check what a sender and support see.
"""

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from webhooks.models import Delivery

from . import signers


@pytest.mark.django_db
class SignatureContract:
    provider: str
    make = None  # signers.make_<provider>
    signature_header: str
    malformed_values: tuple[str, ...]

    def sign(self, secret, delivery_id, body=None, timestamp=None):
        return type(self).make(secret, delivery_id, body=body, timestamp=timestamp)

    def source(self, make_source, **fields):
        return make_source(self.provider, **fields)

    # --- accepted ------------------------------------------------------------------------
    def test_valid_delivery_is_stored_byte_exact_and_queued(
        self, make_source, post_webhook, delivery_id
    ):
        source, secret = self.source(make_source)
        ext = delivery_id()
        body, headers = self.sign(secret, ext)
        response = post_webhook(source, body, headers)
        assert response.status_code == 202, response.content
        assert response.json()["status"] == "queued"
        delivery = Delivery.objects.get(pk=response.json()["id"])
        assert bytes(delivery.body) == body
        assert delivery.external_id == ext
        assert delivery.status == Delivery.Status.QUEUED
        assert delivery.provider == self.provider

    def test_duplicate_delivery_id_is_stored_once(self, make_source, post_webhook, delivery_id):
        source, secret = self.source(make_source)
        body, headers = self.sign(secret, delivery_id())
        first = post_webhook(source, body, headers)
        again = post_webhook(source, body, headers)
        assert first.status_code == 202
        assert again.status_code == 200
        assert again.json() == {"id": first.json()["id"], "status": "duplicate"}
        assert Delivery.objects.filter(source=source).count() == 1

    def test_previous_secret_verifies_during_grace(self, make_source, post_webhook, delivery_id):
        source, old_secret = self.source(make_source)
        source.set_secret()
        source.save()
        response = post_webhook(source, *self.sign(old_secret, delivery_id()))
        assert response.status_code == 202, response.content

    def test_new_secret_verifies_at_once_after_rotation(
        self, make_source, post_webhook, delivery_id
    ):
        source, old_secret = self.source(make_source)
        assert post_webhook(source, *self.sign(old_secret, delivery_id())).status_code == 202
        new_secret = source.set_secret()  # another process rotates; our cache is stale
        source.save()
        response = post_webhook(source, *self.sign(new_secret, delivery_id()))
        assert response.status_code == 202, response.content

    # --- refused -------------------------------------------------------------------------
    def assert_refused(self, response, source, status, code):
        assert response.status_code == status, response.content
        data = response.json()
        assert data["status"] == "rejected"
        assert data["error"] == code
        assert data["detail"]
        rejected = Delivery.objects.get(source=source)
        assert rejected.status == Delivery.Status.REJECTED
        assert rejected.http_status == status
        assert code in rejected.error
        return rejected

    def test_body_tampered_by_one_byte_is_refused(self, make_source, post_webhook, delivery_id):
        source, secret = self.source(make_source)
        body, headers = self.sign(secret, delivery_id())
        tampered = body[:-2] + bytes([body[-2] ^ 0x01]) + body[-1:]
        self.assert_refused(
            post_webhook(source, tampered, headers), source, 401, "invalid_signature"
        )

    def test_wrong_secret_is_refused(self, make_source, post_webhook, delivery_id):
        source, _ = self.source(make_source)
        other = self.provider_secret(make_source)
        response = post_webhook(source, *self.sign(other, delivery_id()))
        self.assert_refused(response, source, 401, "invalid_signature")

    def test_missing_signature_header_is_refused(self, make_source, post_webhook, delivery_id):
        source, secret = self.source(make_source)
        body, headers = self.sign(secret, delivery_id())
        del headers[self.signature_header]
        self.assert_refused(post_webhook(source, body, headers), source, 401, "missing_signature")

    def test_malformed_signature_header_is_refused_not_500(
        self, make_source, post_webhook, delivery_id
    ):
        source, secret = self.source(make_source)
        body, headers = self.sign(secret, delivery_id())
        for value in self.malformed_values:
            response = post_webhook(source, body, {**headers, self.signature_header: value})
            assert response.status_code == 401, (value, response.content)
            assert response.json()["error"] in ("malformed_signature", "invalid_signature")
        assert not Delivery.objects.exclude(status=Delivery.Status.REJECTED).exists()

    def test_previous_secret_after_grace_is_refused(self, make_source, post_webhook, delivery_id):
        source, old_secret = self.source(make_source)
        source.set_secret(grace=timedelta(seconds=60))
        source.previous_secret_expires_at = timezone.now() - timedelta(seconds=1)
        source.save()
        response = post_webhook(source, *self.sign(old_secret, delivery_id()))
        self.assert_refused(response, source, 401, "invalid_signature")

    def test_oversize_body_is_refused_without_reading_it(
        self, make_source, post_webhook, delivery_id
    ):
        source, secret = self.source(make_source, max_body_bytes=1024)
        body, headers = self.sign(secret, delivery_id(), body=self.big_body(4096))
        rejected = self.assert_refused(
            post_webhook(source, body, headers), source, 413, "body_too_large"
        )
        assert rejected.body_size == len(body)
        assert len(bytes(rejected.body)) <= 4096

    # --- per-provider hooks --------------------------------------------------------------
    def provider_secret(self, make_source):
        _, secret = make_source(self.provider)
        return secret

    def big_body(self, size):
        return b'{"padding": "' + b"x" * size + b'"}'


class TimestampedContract(SignatureContract):
    """Schemes that sign a timestamp: ±300 s of tolerance, in both directions."""

    def test_stale_timestamp_is_refused(self, make_source, post_webhook, delivery_id):
        source, secret = self.source(make_source)
        stale = int(time.time()) - 301
        response = post_webhook(source, *self.sign(secret, delivery_id(), timestamp=stale))
        rejected = self.assert_refused(response, source, 401, "timestamp_out_of_tolerance")
        assert "old" in rejected.error

    def test_future_timestamp_is_refused(self, make_source, post_webhook, delivery_id):
        source, secret = self.source(make_source)
        future = int(time.time()) + 301
        response = post_webhook(source, *self.sign(secret, delivery_id(), timestamp=future))
        rejected = self.assert_refused(response, source, 401, "timestamp_out_of_tolerance")
        assert "future" in rejected.error

    def test_timestamp_inside_tolerance_is_accepted(self, make_source, post_webhook, delivery_id):
        source, secret = self.source(make_source)
        for skew in (-290, 290):
            ts = int(time.time()) + skew
            response = post_webhook(source, *self.sign(secret, delivery_id(), timestamp=ts))
            assert response.status_code == 202, (skew, response.content)


class TestGitHub(SignatureContract):
    provider = "github"
    make = staticmethod(signers.make_github)
    signature_header = "X-Hub-Signature-256"
    malformed_values = ("garbage", "sha256=not-hex", "sha1=abcd", "sha256=", "=")


class TestShopify(SignatureContract):
    provider = "shopify"
    make = staticmethod(signers.make_shopify)
    signature_header = "X-Shopify-Hmac-Sha256"
    malformed_values = ("not base64!", "@@@@", "abc")


class TestStripe(TimestampedContract):
    provider = "stripe"
    make = staticmethod(signers.make_stripe)
    signature_header = "Stripe-Signature"
    malformed_values = ("garbage", "t=abc,v1=00", "t=1700000000", "v1=abcd", "t=1,v1=zz", ",,,")

    def big_body(self, size):
        return ('{"id": "evt_big", "type": "x", "padding": "' + "x" * size + '"}').encode()


class TestSlack(TimestampedContract):
    provider = "slack"
    make = staticmethod(signers.make_slack)
    signature_header = "X-Slack-Signature"
    malformed_values = ("garbage", "v0=not-hex", "v1=abcd", "v0=")


class TestStandardWebhooks(TimestampedContract):
    provider = "standard"
    make = staticmethod(signers.make_standard)
    signature_header = "webhook-signature"
    malformed_values = ("garbage", "v1,not base64!", "v1", "v2,abcd")


class TestGenericHmac(SignatureContract):
    provider = "generic"
    make = staticmethod(signers.make_generic)
    signature_header = "X-Signature"
    malformed_values = ("garbage", "sha256=zz", "md5=abcd")

    def big_body(self, size):
        return b"x" * size
