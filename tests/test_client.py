"""The resilient client: retries, timeouts, idempotency, circuit breaker, rate limits, records.

Third-party answers come from ``responses``; tests that need real sockets and real time
(timeouts, Retry-After, backoff, refused connections) use a local server on 127.0.0.1.
"""

import time

import pytest
import responses
import time_machine
from django.test import override_settings

from connections import recorder
from connections.errors import (
    AuthFailed,
    CircuitOpen,
    ClientError,
    NotFound,
    ProviderUnavailable,
    RateLimited,
)
from connections.models import CallRecord, CallRollup, Connection, ProviderOverride

from .fake_api import FakeAPI
from .stack import free_port

pytestmark = pytest.mark.django_db
SECRET = "sk_live_supersecret1234567890"


@pytest.fixture
def conn():
    def make(provider="stripe", **fields):
        c = Connection(name=f"{provider} account", provider=provider, **fields)
        c.set_credentials(fields.pop("credentials", SECRET))
        c.save()
        return c

    return make


@pytest.fixture
def fake():
    api = FakeAPI()
    yield api
    api.close()


@pytest.fixture
def no_backoff():
    for provider in ("stripe", "github", "generic"):
        ProviderOverride.objects.create(provider=provider, backoff_factor=0)


STRIPE = "https://api.stripe.com"


@responses.activate
def test_retries_500_502_503_then_succeeds(conn, no_backoff):
    for status in (500, 502, 503):
        responses.get(f"{STRIPE}/v1/balance", status=status)
    responses.get(f"{STRIPE}/v1/balance", json={"available": []})
    response = conn().client().get("/v1/balance")
    assert response.json() == {"available": []}
    assert len(responses.calls) == 4
    assert responses.calls[0].request.headers["Authorization"] == f"Bearer {SECRET}"
    recorder.flush()
    record = CallRecord.objects.get()
    assert (record.status_code, record.attempts, record.error_class) == (200, 4, "")


@responses.activate
@pytest.mark.parametrize(
    "status,error", [(400, ClientError), (401, AuthFailed), (403, AuthFailed), (404, NotFound)]
)
def test_client_errors_are_not_retried(conn, status, error):
    responses.get(f"{STRIPE}/v1/charges/ch_1", status=status, json={"error": "x"})
    c = conn()
    with pytest.raises(error) as exc:
        c.client().get("/v1/charges/ch_1")
    assert len(responses.calls) == 1
    assert exc.value.status == status
    c.refresh_from_db()
    if error is AuthFailed:
        assert c.status == "needs_attention" and "replace" in c.status_reason
    else:
        assert c.status == "healthy"


@responses.activate
def test_post_is_retried_only_with_an_idempotency_key(conn, no_backoff):
    c = conn()
    responses.post(f"{STRIPE}/v1/refunds", status=503)
    responses.post(f"{STRIPE}/v1/refunds", json={"id": "re_1"})
    with pytest.raises(ProviderUnavailable):
        c.client().post("/v1/refunds", data={"charge": "ch_1"})
    assert len(responses.calls) == 1 and "Idempotency-Key" not in responses.calls[0].request.headers
    responses.calls.reset()
    responses.replace(responses.POST, f"{STRIPE}/v1/refunds", status=503)
    responses.add(responses.POST, f"{STRIPE}/v1/refunds", json={"id": "re_1"})
    answer = c.client().post("/v1/refunds", data={"charge": "ch_1"}, idempotency_key="refund-42")
    assert answer.json() == {"id": "re_1"}
    assert [call.request.headers["Idempotency-Key"] for call in responses.calls] == [
        "refund-42"
    ] * 2


def test_backoff_grows_between_retries(conn, fake):
    ProviderOverride.objects.create(provider="generic", backoff_factor=0.2, max_retries=3)
    fake.script("/flaky", [503, 503, 503, 200])
    c = conn("generic", base_url=fake.url, auth_scheme="bearer")
    started = time.monotonic()
    assert c.client().get("/flaky").status_code == 200
    elapsed = time.monotonic() - started
    # urllib3: no wait before the first retry, then 2x0.2 and 4x0.2 (+ jitter up to 0.2 each)
    assert 1.2 <= elapsed < 3.0, elapsed
    assert fake.hits["/flaky"] == 4


def test_retry_after_on_429_is_honoured(conn, fake):
    fake.script("/limited", [(429, {"Retry-After": "1"}), 200])
    c = conn("generic", base_url=fake.url, auth_scheme="bearer")
    started = time.monotonic()
    assert c.client().get("/limited").status_code == 200
    assert time.monotonic() - started >= 1.0
    assert fake.hits["/limited"] == 2


def test_a_long_retry_after_is_not_slept_through(conn, fake):
    fake.script("/limited", [(429, {"Retry-After": "120"})])
    c = conn("generic", base_url=fake.url, auth_scheme="bearer")
    started = time.monotonic()
    with pytest.raises(RateLimited) as exc:
        c.client().get("/limited")
    assert exc.value.retry_after == 120
    assert time.monotonic() - started < 2


def test_timeout_is_a_typed_error_after_retries(conn, fake):
    ProviderOverride.objects.create(
        provider="generic", read_timeout=0.3, max_retries=1, backoff_factor=0
    )
    fake.script("/slow", [(200, {}, {}, 1.0)])
    c = conn("generic", base_url=fake.url, auth_scheme="bearer")
    with pytest.raises(ProviderUnavailable, match="timed out after 2 attempts"):
        c.client().get("/slow")
    assert fake.hits["/slow"] == 2


def test_refused_connection_is_retried_then_typed(conn):
    ProviderOverride.objects.create(provider="generic", max_retries=2, backoff_factor=0)
    c = conn("generic", base_url=f"http://127.0.0.1:{free_port()}", auth_scheme="bearer")
    with pytest.raises(ProviderUnavailable, match="could not be reached after 3 attempts"):
        c.client().get("/anything")


@override_settings(HUB_CIRCUIT_FAILURES=3, HUB_CIRCUIT_RESET_SECONDS=1)
def test_circuit_opens_fails_fast_half_opens_and_closes(conn, fake):
    ProviderOverride.objects.create(provider="generic", max_retries=0)
    fake.script("/down", [500, 500, 500, 500, 200])
    c = conn("generic", base_url=fake.url, auth_scheme="bearer")
    for _ in range(3):
        with pytest.raises(ProviderUnavailable):
            c.client().get("/down")
    assert Connection.objects.get(pk=c.pk).circuit_state == "open"
    with pytest.raises(CircuitOpen) as fast:
        c.client().get("/down")
    assert fast.value.retry_after <= 1
    assert fake.hits["/down"] == 3  # failed fast: no request made
    with time_machine.travel(time.time(), tick=True) as clock:
        clock.shift(1.1)  # past the reset timeout
        client = c.client()
        assert client.guards.circuit_state() == "half_open"
        with pytest.raises(ProviderUnavailable):  # the trial fails: open again
            client.get("/down")
        assert client.guards.circuit_state() == "open"
        clock.shift(1.1)
        assert client.get("/down").status_code == 200  # the trial succeeds: closed
    assert client.guards.circuit_state() == "closed"
    assert Connection.objects.get(pk=c.pk).circuit_state == "closed"
    assert fake.hits["/down"] == 5


@override_settings(HUB_CIRCUIT_FAILURES=1, HUB_CIRCUIT_RESET_SECONDS=0.5)
def test_half_open_lets_exactly_one_trial_through(conn, fake):
    ProviderOverride.objects.create(provider="generic", max_retries=0)
    fake.script("/down", [500, 200])
    c = conn("generic", base_url=fake.url, auth_scheme="bearer")
    with pytest.raises(ProviderUnavailable):
        c.client().get("/down")
    with time_machine.travel(time.time() + 0.6, tick=True):  # past the reset timeout
        trial = c.client().guards.before_call()  # another process holds the one trial...
        assert trial.trial
        with pytest.raises(CircuitOpen, match="trial call"):
            c.client().get("/down")  # ...so this caller fails fast
    assert fake.hits["/down"] == 1


@override_settings(HUB_CLIENT_MAX_WAIT=0.5)
def test_our_rate_limit_raises_with_the_wait(conn, fake):
    fake.script("/x", [200])
    c = conn("generic", base_url=fake.url, auth_scheme="bearer", rate_limit="3/h")
    for _ in range(3):
        c.client().get("/x")
    with pytest.raises(RateLimited) as exc:
        c.client().get("/x")
    assert 0 < exc.value.retry_after <= 3600
    assert fake.hits["/x"] == 3


@override_settings(HUB_CLIENT_MAX_WAIT=0.5)
@responses.activate
def test_the_providers_rate_limit_headers_are_adopted(conn):
    reset = int(time.time()) + 600
    responses.get(
        "https://api.github.com/user",
        json={"login": "octocat"},
        headers={"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(reset)},
    )
    c = conn("github")
    c.client().get("/user")
    with pytest.raises(RateLimited, match="0 remaining"):
        c.client().get("/user")
    assert len(responses.calls) == 1
    recorder.flush()
    c.refresh_from_db()
    assert c.rate_limit_remaining == 0 and int(c.rate_limit_reset_at.timestamp()) == reset


@responses.activate
def test_github_pagination_follows_link_headers(conn):
    base = "https://api.github.com/user/repos"
    responses.get(
        base, json=[{"id": 1}, {"id": 2}], headers={"Link": f'<{base}?page=2>; rel="next"'}
    )
    responses.get(f"{base}?page=2", json=[{"id": 3}])
    items = list(conn("github").client().paginate("/user/repos", params={"per_page": 2}))
    assert [i["id"] for i in items] == [1, 2, 3]


@responses.activate
def test_calls_feed_per_minute_rollups(conn, no_backoff):
    responses.get(f"{STRIPE}/v1/balance", json={})
    responses.get(f"{STRIPE}/v1/missing", status=404)
    c = conn()
    for _ in range(3):
        c.client().get("/v1/balance")
    with pytest.raises(NotFound):
        c.client().get("/v1/missing", params={"api_key": SECRET})
    recorder.flush()
    rollup = CallRollup.objects.get(connection=c)
    assert (rollup.calls, rollup.failures) == (4, 1)
    assert rollup.le_25ms + rollup.le_50ms + rollup.le_100ms >= 1
    paths = set(CallRecord.objects.values_list("path", flat=True))
    assert paths == {"/v1/balance", "/v1/missing"}  # no query string, no secret


def test_disabled_connection_makes_no_call(conn):
    c = conn(enabled=False)
    with pytest.raises(ClientError, match="disabled"):
        c.client().get("/v1/balance")


def test_guards_work_on_the_embedded_cache(tmp_path):
    """The same rate limit and circuit on diskcache (make run's cache), without Redis."""
    from connections.guards import Guards

    embedded = {"default": {"BACKEND": "diskcache.DjangoCache", "LOCATION": str(tmp_path)}}
    with override_settings(CACHES=embedded):
        guards = Guards(4242, "3/h", max_wait=0, failure_threshold=2, reset_timeout=60)
        tickets = [guards.before_call() for _ in range(3)]
        with pytest.raises(RateLimited):
            guards.before_call()
        other = Guards(4343, "100/h", max_wait=0, failure_threshold=2, reset_timeout=60)
        for _ in range(2):
            other.after_call(other.before_call(), failed=True)
        assert other.circuit_state() == "open"
        with pytest.raises(CircuitOpen):
            other.before_call()
    assert all(not t.trial for t in tickets)


def test_retry_after_is_read_in_both_http_forms():
    """Providers send delay-seconds or an HTTP-date; one parser (urllib3's) reads both for the
    client's retries, its RateLimited errors and the generic rate-limit reading."""
    from email.utils import formatdate

    from connections.specs import retry_after, retry_after_only

    assert retry_after("120") == 120
    in_two_minutes = formatdate(time.time() + 120, usegmt=True)
    assert 115 <= retry_after(in_two_minutes) <= 120
    assert retry_after("soon") is None and retry_after(None) is None
    remaining, reset = retry_after_only({"Retry-After": in_two_minutes})
    assert remaining == 0 and 115 <= reset - time.time() <= 120
