"""The one resilient client for every outbound call.

``Client(connection).request(method, path, ...)`` (or ``.get``/``.post``/...):

1. the circuit breaker and the shared rate limit (connections.guards) may refuse at once;
2. a ``requests.Session`` with urllib3 ``Retry`` sends it: connect and read timeouts always
   set; retries with exponential backoff and jitter on connection errors, timeouts, 429 and
   5xx; ``Retry-After`` honoured up to the provider's ``max_retry_after``; POST/PATCH retried
   only when the call passes ``idempotency_key`` (sent as the provider's idempotency header);
3. the answer is mapped to the error taxonomy (connections.errors): 401/403 ``AuthFailed``
   (the connection becomes "needs attention"; no retry), 404 ``NotFound``, other 4xx
   ``ClientError``, 429 ``RateLimited``, 5xx/timeouts ``ProviderUnavailable``;
4. the call is recorded (connections.recorder) with its path (no query string), status,
   duration, attempts and error class; the provider's rate-limit headers are adopted.

Returns the ``requests.Response`` of a successful call, else raises an ``IntegrationError``.

Paths: build them with ``api_path("repos", owner, name, "hooks")``, which quotes every segment,
never by formatting user input into a string. An absolute URL (a ``Link: rel="next"`` of the
provider's own answer) is followed only on the connection's own origin: credentials never go to
another host.
"""

import contextvars
import os
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import quote, urljoin, urlsplit

import requests
from django.conf import settings
from requests.adapters import HTTPAdapter
from urllib3.exceptions import MaxRetryError, NewConnectionError, ResponseError, TimeoutError
from urllib3.util.retry import Retry

from core.redact import redact
from core.validators import parse_rate

from . import auth, recorder
from .errors import (
    AuthFailed,
    ClientError,
    IntegrationError,
    NotFound,
    ProviderUnavailable,
    RateLimited,
)
from .guards import Guards
from .specs import retry_after

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"})
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
_tally: contextvars.ContextVar["Tally"] = contextvars.ContextVar("hub_call_tally")


@dataclass
class Tally:
    """What urllib3's retries did during one call: how many retries, and a Retry-After that was
    too long to sleep through (the call then fails with RateLimited)."""

    retries: int = 0
    refused_wait: float | None = None


class HubRetry(Retry):
    """urllib3 Retry that counts retries for the call record and refuses to sleep through a
    Retry-After longer than ``max_retry_after``."""

    max_retry_after = 30.0

    def new(self, **kw):
        retry = super().new(**kw)
        retry.max_retry_after = self.max_retry_after
        return retry

    def increment(self, method=None, url=None, response=None, error=None, **kw):
        tally = _tally.get(None)
        if tally is not None:
            tally.retries += 1
        if response is not None:
            after = retry_after(response.headers.get("Retry-After")) or 0.0
            if after > self.max_retry_after:
                if tally is not None:
                    tally.refused_wait = after
                raise MaxRetryError(
                    None, url, ResponseError(f"Retry-After too long ({response.status})")
                )
        return super().increment(method, url, response, error, **kw)


def api_path(*segments) -> str:
    """``/seg1/seg2/...`` with each segment percent-quoted (``/`` included), so a value can
    never add a path segment, a query or a fragment. Empty, ``.`` and ``..`` segments raise
    ValueError: they would change the path's meaning."""
    parts = []
    for segment in segments:
        text = str(segment)
        if text in ("", ".", ".."):
            raise ValueError(f"{text!r} is not a valid URL path segment.")
        parts.append(quote(text, safe=""))
    return "/" + "/".join(parts)


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    default = {"http": 80, "https": 443}.get(parts.scheme)
    return parts.scheme, (parts.hostname or "").lower(), parts.port or default


_sessions: dict[tuple, requests.Session] = {}


def _session(spec, keyed: bool) -> requests.Session:
    """A pooled session per provider configuration (connection pools are per process)."""
    key = (
        spec.key,
        spec.max_retries,
        spec.backoff_factor,
        spec.backoff_max,
        spec.max_retry_after,
        keyed,
    )
    session = _sessions.get(key)
    if session is None:
        methods = None if keyed else SAFE_METHODS  # None: retry every method
        retry = HubRetry(
            total=spec.max_retries,
            connect=spec.max_retries,
            read=spec.max_retries,
            status=spec.max_retries,
            backoff_factor=spec.backoff_factor,
            backoff_max=spec.backoff_max,
            backoff_jitter=spec.backoff_factor,
            status_forcelist=RETRY_STATUSES,
            allowed_methods=methods,
            respect_retry_after_header=True,
            raise_on_status=False,
        )
        retry.max_retry_after = spec.max_retry_after
        session = requests.Session()
        # requests would re-read the proxy and CA settings from the environment on every call
        # (~0.17 ms); they are resolved once, for this session's base URL, instead.
        session.trust_env = False
        session.proxies = requests.utils.get_environ_proxies(spec.base_url or "http://localhost")
        session.verify = (
            os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or True
        )
        adapter = HTTPAdapter(max_retries=retry, pool_maxsize=10)
        session.mount("https://", adapter)
        session.mount("http://", adapter)
        _sessions[key] = session
    return session


class Client:
    def __init__(self, connection):
        self.connection = connection
        self.spec = connection.spec
        try:
            parse_rate(self.spec.rate_limit)
        except ValueError as exc:
            raise ClientError(
                f"The rate limit of '{connection.name}' is not valid ({exc}); fix it in the admin.",
                connection=connection,
            ) from None
        self.guards = Guards(
            connection.pk,
            self.spec.rate_limit,
            max_wait=settings.HUB_CLIENT_MAX_WAIT,
            failure_threshold=settings.HUB_CIRCUIT_FAILURES,
            reset_timeout=settings.HUB_CIRCUIT_RESET_SECONDS,
        )

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, **kw):
        return self.request("POST", path, **kw)

    def put(self, path, **kw):
        return self.request("PUT", path, **kw)

    def patch(self, path, **kw):
        return self.request("PATCH", path, **kw)

    def delete(self, path, **kw):
        return self.request("DELETE", path, **kw)

    def paginate(self, path, *, params=None, max_pages=100):
        """Yield the items of every page, following the ``Link: <...>; rel="next"`` header
        (GitHub); a JSON object answer with an ``items`` list (search) is unwrapped."""
        url, pages = path, 0
        while url and pages < max_pages:
            response = self.get(url, params=params if pages == 0 else None)
            data = response.json()
            yield from data.get("items", []) if isinstance(data, dict) else data
            url = response.links.get("next", {}).get("url")
            pages += 1

    def request(self, method: str, path: str, **kw) -> requests.Response:
        """Make a call (see the module docstring). With a linked user's token, a 401 refreshes
        the token once (tokens.refresh, race-free) and repeats the call."""
        if self.spec.auth_scheme != "linked_user":
            return self._request(method, path, **kw)
        started = datetime.now(UTC)
        try:
            return self._request(method, path, mark_auth_failure=False, **kw)
        except AuthFailed as exc:
            if exc.status != 401:
                self.connection.mark_needs_attention(str(exc))
                raise
        from . import tokens

        tokens.refresh(self.connection.account_token, after=started)
        return self._request(method, path, **kw)

    def _request(
        self,
        method: str,
        path: str,
        *,
        idempotency_key: str | None = None,
        mark_auth_failure: bool = True,
        is_test: bool = False,
        **send,
    ) -> requests.Response:
        """One call: guards, send, settle, record. ``send`` holds what goes to requests
        (params, json, data, headers, timeout)."""
        if not self.connection.enabled:
            raise ClientError(f"The connection '{self.connection.name}' is disabled.")
        method, url = method.upper(), self._url(path)
        ticket = self.guards.before_call()
        started, t0 = datetime.now(UTC), time.perf_counter()
        response, error, tally = self._send(method, url, idempotency_key, **send)
        duration_ms = int((time.perf_counter() - t0) * 1000)
        remaining, reset = self._settle(ticket, response, error, mark_auth_failure)
        recorder.record(
            recorder.Call(
                connection_id=self.connection.pk,
                started_at=started,
                method=method,
                path=urlsplit(url).path,
                status_code=response.status_code if response is not None else None,
                duration_ms=duration_ms,
                attempts=tally.retries + (1 if response is not None else 0) or 1,
                error_class=type(error).__name__ if error else "",
                error_message=redact(str(error)) if error else "",
                rate_remaining=remaining,
                rate_reset=reset,
                is_test=is_test,
            )
        )
        if error is not None:
            raise error
        return response

    def _send(self, method, url, idempotency_key, *, headers=None, timeout=None, **send):
        """Send through the pooled session; returns (response or None, error or None, tally).
        Never raises: every failure becomes an error of the taxonomy."""
        spec, connection = self.spec, self.connection
        keyed = bool(idempotency_key and spec.idempotency_header)
        send_headers = {**spec.default_headers, **(headers or {})}
        if keyed:
            send_headers[spec.idempotency_header] = idempotency_key
        tally = Tally()
        token = _tally.set(tally)
        try:
            response = _session(spec, keyed).request(
                method,
                url,
                headers=send_headers,
                auth=auth.auth_for(connection, spec),
                timeout=timeout or (spec.connect_timeout, spec.read_timeout),
                **send,
            )
            return response, self._classify(response), tally
        except IntegrationError as exc:
            return None, exc, tally
        except (requests.exceptions.InvalidHeader, UnicodeError) as exc:
            return (
                None,
                ClientError(  # never repeats the value: it may be a secret
                    f"The request to {spec.name} could not be sent: a header value of '"
                    f"{connection.name}' (its credentials or username?) is not valid in HTTP "
                    f"({type(exc).__name__}); replace it in the admin.",
                    connection=connection,
                ),
                tally,
            )
        except requests.RequestException as exc:
            return None, self._transport_error(exc, tally), tally
        finally:
            _tally.reset(token)

    def _settle(self, ticket, response, error, mark_auth_failure) -> tuple:
        """After the call: adopt the provider's rate-limit headers, tell the circuit breaker,
        store a circuit change, mark refused credentials. Returns (remaining, reset)."""
        remaining, reset = (None, None)
        if response is not None:
            remaining, reset = self.spec.rate_limit_headers(response.headers)
        changed = self.guards.after_call(
            ticket, isinstance(error, ProviderUnavailable), remaining, reset
        )
        connection = self.connection
        if changed:
            type(connection).objects.filter(pk=connection.pk).update(circuit_state=changed)
        if isinstance(error, AuthFailed) and mark_auth_failure:
            auth.forget_token(connection)
            connection.mark_needs_attention(str(error))
        return remaining, reset

    def _url(self, path: str) -> str:
        """The URL of ``path`` on the connection's base URL; an absolute URL only when it is on
        the same origin (scheme, host, port), else ClientError: nothing is sent."""
        base = self.spec.base_url.rstrip("/") + "/"
        if "://" in path:
            if _origin(path) != _origin(base):
                raise ClientError(
                    f"Refused to call {urlsplit(path).hostname or 'an unknown host'}: only "
                    f"{urlsplit(base).hostname}, the connection's own API, gets its credentials."
                )
            return path
        return urljoin(base, path.lstrip("/"))

    def _classify(self, response) -> IntegrationError | None:
        status, name = response.status_code, self.connection.name
        kw = {"status": status, "connection": self.connection}
        if status < 400:
            return None
        if status in (401, 403):
            return AuthFailed(
                f"{self.spec.name} refused the credentials of '{name}' (HTTP {status}); replace "
                "them in the admin (Connections > Rotate credentials).",
                **kw,
            )
        if status == 404:
            return NotFound(
                f"{self.spec.name} has no {urlsplit(response.url).path} (HTTP 404).", **kw
            )
        if status == 429:
            after = self._retry_after(response)
            return RateLimited(
                f"{self.spec.name} is rate limiting '{name}'; retry in {after:.0f} s.",
                retry_after=after,
                **kw,
            )
        if status < 500:
            return ClientError(
                f"{self.spec.name} rejected the request (HTTP {status}); retrying will not help.",
                **kw,
            )
        return ProviderUnavailable(
            f"{self.spec.name} kept failing (HTTP {status}) after {self.spec.max_retries} "
            "retries; it is probably having an outage.",
            **kw,
        )

    def _retry_after(self, response) -> float:
        return retry_after(response.headers.get("Retry-After")) or 60.0

    def _transport_error(self, exc, tally: Tally) -> IntegrationError:
        reason = getattr(exc.args[0], "reason", None) if exc.args else None
        timed_out = isinstance(exc, requests.Timeout) or (
            isinstance(reason, TimeoutError) and not isinstance(reason, NewConnectionError)
        )
        kind = "timed out" if timed_out else "could not be reached"
        if isinstance(exc, requests.exceptions.RetryError) and tally.refused_wait:
            return RateLimited(
                f"{self.spec.name} asked us to wait {tally.refused_wait:.0f} s; calls resume then.",
                retry_after=tally.refused_wait,
                connection=self.connection,
            )
        return ProviderUnavailable(
            f"{self.spec.name} {kind} after {tally.retries or 1} attempts "
            f"({type(exc).__name__}); it is probably down or unreachable.",
            connection=self.connection,
        )
