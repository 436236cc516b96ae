"""The security contract every signature scheme must keep, run once per provider.

Each provider's tests (``providers/<key>/tests/test_<key>.py``) subclass ``SignatureContract``
(or ``TimestampedContract``) and say how the provider signs a delivery (``make``: its
``tests/sign.py``); the tests post through the whole Django stack and check what a sender and
support see. ``tolerance`` is the timestamp window of a timestamped scheme, in seconds.
"""

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from webhooks.models import Delivery


@pytest.mark.django_db
class SignatureContract:
    provider: str
    make = None  # providers/<key>/tests/sign.py: make
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
    """Schemes that sign a timestamp: ``tolerance`` seconds of skew, in both directions."""

    tolerance = 300

    def test_stale_timestamp_is_refused(self, make_source, post_webhook, delivery_id):
        source, secret = self.source(make_source)
        stale = int(time.time()) - self.tolerance - 1
        response = post_webhook(source, *self.sign(secret, delivery_id(), timestamp=stale))
        rejected = self.assert_refused(response, source, 401, "timestamp_out_of_tolerance")
        assert "old" in rejected.error

    def test_future_timestamp_is_refused(self, make_source, post_webhook, delivery_id):
        source, secret = self.source(make_source)
        future = int(time.time()) + self.tolerance + 1
        response = post_webhook(source, *self.sign(secret, delivery_id(), timestamp=future))
        rejected = self.assert_refused(response, source, 401, "timestamp_out_of_tolerance")
        assert "future" in rejected.error

    def test_timestamp_inside_tolerance_is_accepted(self, make_source, post_webhook, delivery_id):
        source, secret = self.source(make_source)
        for skew in (10 - self.tolerance, self.tolerance - 10):
            ts = int(time.time()) + skew
            response = post_webhook(source, *self.sign(secret, delivery_id(), timestamp=ts))
            assert response.status_code == 202, (skew, response.content)
