"""Authentication schemes: how a connection's credentials go on a request.

``auth_for(connection, spec)`` returns a ``requests`` auth object. Secrets are decrypted only
here, at call time, and never put anywhere but the outgoing request.
"""

import requests
from django.core.cache import cache

from core import crypto
from core.validators import TOKEN, VISIBLE

from .errors import AuthFailed


class HeaderAuth(requests.auth.AuthBase):
    def __init__(self, header: str, value: str):
        self.header, self.value = header, value

    def __call__(self, request):
        # Validated here: requests checks headers before auth adds its own. The error names
        # the header, never the value (a secret).
        if not TOKEN.fullmatch(self.header) or not VISIBLE.fullmatch(self.value):
            raise requests.exceptions.InvalidHeader(f"The {self.header[:60]} header is not valid.")
        request.headers[self.header] = self.value
        return request


def _bearer(connection, spec):
    return HeaderAuth("Authorization", f"Bearer {_secret(connection)}")


def _api_key(connection, spec):
    return HeaderAuth(spec.api_key_header, _secret(connection))


def _basic(connection, spec):
    return requests.auth.HTTPBasicAuth(connection.username, _secret(connection))


def _client_credentials(connection, spec):
    key = f"hub:conn:{connection.pk}:oauth_token"
    cached = cache.get(key)
    if cached:
        return HeaderAuth("Authorization", f"Bearer {crypto.decrypt(cached)}")
    try:
        answer = requests.post(
            connection.token_url,
            data={"grant_type": "client_credentials", "scope": connection.scope},
            auth=(connection.username, _secret(connection)),
            timeout=(spec.connect_timeout, spec.read_timeout),
        )
    except requests.RequestException as exc:
        raise AuthFailed(
            f"The OAuth2 token URL could not be reached ({type(exc).__name__}).",
            connection=connection,
        ) from None
    if answer.status_code != 200 or "access_token" not in answer.text:
        raise AuthFailed(
            f"The OAuth2 token URL refused the client credentials (HTTP {answer.status_code}); "
            "check the client id and secret.",
            status=answer.status_code,
            connection=connection,
        )
    body = answer.json()
    token, ttl = body["access_token"], int(body.get("expires_in", 3600))
    cache.set(key, crypto.encrypt(token), timeout=max(1, ttl - 60))
    return HeaderAuth("Authorization", f"Bearer {token}")


def _linked_user(connection, spec):
    from .tokens import linked_user_token

    return HeaderAuth("Authorization", f"Bearer {linked_user_token(connection)}")


SCHEMES = {
    "bearer": _bearer,
    "api_key": _api_key,
    "basic": _basic,
    "oauth2_client_credentials": _client_credentials,
    "linked_user": _linked_user,
}


def auth_for(connection, spec):
    return SCHEMES[spec.auth_scheme](connection, spec)


def _secret(connection) -> str:
    if not connection.credentials:
        raise AuthFailed(
            f"The connection '{connection.name}' has no credentials; add them in the admin.",
            connection=connection,
        )
    return connection.credentials


def forget_token(connection) -> None:
    """Drop a cached OAuth2 access token (after a 401, or when credentials change)."""
    cache.delete(f"hub:conn:{connection.pk}:oauth_token")
