"""Stripe: the signature contract (signed with the official ``stripe`` package) and the
captured events received byte-exact (fixtures: ../fixtures, SOURCES.md)."""

import json

import pytest

from tests import signers
from tests.contract import TimestampedContract
from webhooks.models import Delivery

from . import sign

FIXTURES = signers.fixtures("stripe")


class TestStripe(TimestampedContract):
    provider = "stripe"
    make = staticmethod(sign.make)
    signature_header = "Stripe-Signature"
    malformed_values = ("garbage", "t=abc,v1=00", "t=1700000000", "v1=abcd", "t=1,v1=zz", ",,,")

    def big_body(self, size):
        return ('{"id": "evt_big", "type": "x", "padding": "' + "x" * size + '"}').encode()


@pytest.mark.django_db
@pytest.mark.parametrize("path", FIXTURES, ids=[p.name for p in FIXTURES])
def test_stripe_fixture_is_stored_byte_exact(path, make_source, post_webhook):
    source, secret = make_source("stripe")
    body = path.read_bytes()
    event = json.loads(body)
    response = post_webhook(source, *sign.make(secret, None, body=body))
    assert response.status_code == 202, response.content
    delivery = Delivery.objects.get(pk=response.json()["id"])
    assert bytes(delivery.body) == body
    assert delivery.event_type == event.get("type", "")
    assert delivery.external_id == event.get("id")
