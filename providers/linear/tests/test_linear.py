"""Linear: the signature contract with Linear's 60 s window on the signed body's
``webhookTimestamp``, and the documented payloads typed as ``<type>.<action>``."""

import json
import time

import pytest

from tests.contract import TimestampedContract
from webhooks.models import Delivery

from . import sign


class TestLinear(TimestampedContract):
    provider = "linear"
    make = staticmethod(sign.make)
    signature_header = "Linear-Signature"
    malformed_values = ("garbage", "sha256=abcd", "zz" * 32)
    tolerance = 60

    def big_body(self, size):
        return json.dumps({"type": "Issue", "webhookTimestamp": int(time.time() * 1000),
                           "padding": "x" * size}).encode()  # fmt: skip


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("name", "event_type"),
    [("Issue.create.json", "Issue.create"), ("Comment.create.json", "Comment.create")],
)
def test_documented_payloads_are_stored_byte_exact_and_typed(
    name, event_type, make_source, post_webhook, delivery_id
):
    source, secret = make_source("linear")
    ext = delivery_id()
    body = sign.payload(name)
    response = post_webhook(source, *sign.make(secret, ext, body=body))
    assert response.status_code == 202, response.content
    delivery = Delivery.objects.get(pk=response.json()["id"])
    assert bytes(delivery.body) == body
    assert (delivery.event_type, delivery.external_id) == (event_type, ext)


@pytest.mark.django_db
def test_an_authentic_body_without_its_timestamp_is_refused(make_source, post_webhook, delivery_id):
    source, secret = make_source("linear")
    body = json.dumps({"type": "Issue", "action": "create", "data": {}}).encode()
    response = post_webhook(source, *sign.make(secret, delivery_id(), body=body))
    assert response.status_code == 401
    assert response.json()["error"] == "malformed_signature"
    assert "webhookTimestamp" in response.json()["detail"]
