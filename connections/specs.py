"""Provider descriptors: what an API looks like, independent of any account on it.

A ``ProviderSpec`` is stateless and built in code; admins may override the tunable parts per
provider (``ProviderOverride``) and per connection (base URL). ``rate_limit_state`` reads the
provider's own rate-limit headers into ``(remaining, reset_epoch)``.
"""

import time
from dataclasses import dataclass, field, replace

from urllib3.exceptions import InvalidHeader
from urllib3.util.retry import Retry

AUTH_SCHEMES = {
    "bearer": "Bearer token (Authorization: Bearer <token>)",
    "api_key": "API key in a header",
    "basic": "HTTP basic (username and password)",
    "oauth2_client_credentials": "OAuth2 client credentials",
    "linked_user": "A linked user's OAuth token",
}


def retry_after(value: str | None) -> float | None:
    """Seconds a ``Retry-After`` value asks for, in either of its HTTP forms (delay-seconds or
    an HTTP-date), parsed by urllib3's ``Retry.parse_retry_after``; None when absent or
    invalid. The one parser of the header: the client's retries, its errors and the generic
    rate-limit reading all use it."""
    if not value:
        return None
    try:
        return Retry().parse_retry_after(value.strip())
    except InvalidHeader:
        return None


def retry_after_only(headers) -> tuple[int | None, float | None]:
    """Generic: a 429/503 with ``Retry-After`` means 0 remaining until then."""
    seconds = retry_after(headers.get("Retry-After"))
    if seconds is None:
        return None, None
    return 0, time.time() + seconds


@dataclass(frozen=True)
class ProviderSpec:
    key: str
    name: str
    base_url: str
    auth_scheme: str = "bearer"
    api_key_header: str = "Authorization"
    default_headers: dict = field(default_factory=dict)
    connect_timeout: float = 3.05
    read_timeout: float = 15.0
    max_retries: int = 3
    backoff_factor: float = 0.5
    backoff_max: float = 30.0
    max_retry_after: float = 30.0
    """A Retry-After longer than this is not slept through: the call raises RateLimited."""
    rate_limit: str = "600/m"
    """Our own budget per connection, shared by every process: '<count>/<period>'."""
    rate_limit_headers: object = retry_after_only
    idempotency_header: str | None = None
    """Header that carries an idempotency key (Stripe: Idempotency-Key); POST/PATCH are
    retried only when the call carries a key and the provider supports it."""
    health_check: tuple[str, str] | None = None
    """(method, path) of a cheap authenticated request, e.g. ('GET', '/user')."""

    def with_overrides(self, **values) -> "ProviderSpec":
        return replace(self, **{k: v for k, v in values.items() if v not in (None, "")})
