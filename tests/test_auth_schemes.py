"""Each auth scheme puts the connection's credentials on the request as the provider expects."""

import base64

import pytest
import responses

from connections import recorder
from connections.errors import AuthFailed
from connections.models import Connection

pytestmark = pytest.mark.django_db
API = "https://api.example.test"


def _connection(**fields):
    secret = fields.pop("secret", "s3cret-value-123")
    fields = {"provider": "generic", "base_url": API, **fields}
    c = Connection(name="acct", **fields)
    c.set_credentials(secret)
    c.save()
    return c


@responses.activate
def test_api_key_header_shopify():
    responses.get("https://shop.example.test/admin/api/2025-01/shop.json", json={"shop": {}})
    c = _connection(provider="shopify", base_url="https://shop.example.test/admin/api/2025-01")
    c.client().get("/shop.json")
    assert responses.calls[0].request.headers["X-Shopify-Access-Token"] == "s3cret-value-123"
    assert "Authorization" not in responses.calls[0].request.headers


@responses.activate
def test_basic_auth():
    responses.get(f"{API}/me", json={})
    _connection(auth_scheme="basic", username="robot").client().get("/me")
    expected = base64.b64encode(b"robot:s3cret-value-123").decode()
    assert responses.calls[0].request.headers["Authorization"] == f"Basic {expected}"


@responses.activate
def test_oauth2_client_credentials_fetches_and_reuses_a_token():
    responses.post(f"{API}/oauth/token", json={"access_token": "at-1", "expires_in": 3600})
    responses.get(f"{API}/things", json=[])
    c = _connection(
        auth_scheme="oauth2_client_credentials",
        username="client-id",
        token_url=f"{API}/oauth/token",
        scope="read",
    )
    c.client().get("/things")
    c.client().get("/things")
    token_calls = [call for call in responses.calls if call.request.url.endswith("/oauth/token")]
    assert len(token_calls) == 1  # cached (encrypted) until it expires
    assert "grant_type=client_credentials" in token_calls[0].request.body
    expected = base64.b64encode(b"client-id:s3cret-value-123").decode()
    assert token_calls[0].request.headers["Authorization"] == f"Basic {expected}"
    api_calls = [call for call in responses.calls if call.request.url.endswith("/things")]
    assert all(call.request.headers["Authorization"] == "Bearer at-1" for call in api_calls)


@responses.activate
def test_oauth2_refused_client_credentials_mark_the_connection():
    responses.post(f"{API}/oauth/token", status=401, json={"error": "invalid_client"})
    c = _connection(
        auth_scheme="oauth2_client_credentials", username="id", token_url=f"{API}/oauth/token"
    )
    with pytest.raises(AuthFailed, match="refused the client credentials"):
        c.client().get("/things")
    recorder.flush()
    c.refresh_from_db()
    assert c.status == "needs_attention"


def test_missing_credentials_are_a_clear_error():
    c = Connection.objects.create(name="empty", provider="generic", base_url=API)
    with pytest.raises(AuthFailed, match="has no credentials"):
        c.client().get("/x")
