"""Hostile webhook input: never a 500, never a row over the caps, never someone else's budget.

The last tests let hypothesis generate bodies and headers (nesting depth, encodings, sizes,
header counts) for every provider, signed and unsigned.
"""

import uuid

import pytest
from django.test import override_settings
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from webhooks import source_cache
from webhooks.models import Delivery

from . import signers

pytestmark = pytest.mark.django_db
DEEP = b"[" * 2000 + b"]" * 2000


def test_a_signed_body_nested_2000_deep_is_400_json_and_kept_raw(make_source, post_webhook):
    source, secret = make_source("github")
    response = post_webhook(source, *signers.make_github(secret, str(uuid.uuid4()), body=DEEP))
    assert response.status_code == 400
    assert response.json()["error"] == "unparseable_body"
    assert "nested more than" in response.json()["detail"]
    row = Delivery.objects.get(source=source)
    assert row.status == "rejected" and bytes(row.body) == DEEP


def test_a_slack_form_payload_nested_deep_is_400(make_source, post_webhook):
    from urllib.parse import quote

    source, secret = make_source("slack")
    body = b"payload=" + quote(DEEP.decode()).encode()
    signed = signers.make_slack(
        secret, str(uuid.uuid4()), body=body, content_type="application/x-www-form-urlencoded"
    )
    response = post_webhook(source, *signed)
    assert response.status_code == 400 and response.json()["error"] == "unparseable_body"


def test_pages_showing_a_deep_body_fall_back_to_the_raw_text(
    make_source, post_webhook, client, admin_user, roles
):
    source, _ = make_source("github")
    body, headers = signers.make_github("not-the-secret", str(uuid.uuid4()), body=DEEP)
    assert post_webhook(source, body, headers).status_code == 401
    row = Delivery.objects.get(source=source)
    client.force_login(admin_user)
    for url in (f"/support/deliveries/{row.pk}/", f"/admin/webhooks/delivery/{row.pk}/change/"):
        page = client.get(url)
        assert page.status_code == 200, url
        assert "[[[[[[" in page.content.decode()


def test_moderately_deep_json_is_accepted(make_source, post_webhook):
    source, secret = make_source("github")
    body = b'{"a":' * 120 + b"1" + b"}" * 120
    response = post_webhook(source, *signers.make_github(secret, str(uuid.uuid4()), body=body))
    assert response.status_code == 202


@override_settings(HUB_STORED_HEADER_BYTES=16384)
def test_header_bloat_is_capped_and_said_so(make_source, post_webhook, client, admin_user):
    source, secret = make_source("github")
    bloat = {f"X-Bloat-{i:02d}": "b" * 8000 for i in range(90)}
    for signed in (False, True):
        body, headers = signers.make_github(secret, str(uuid.uuid4()))
        if not signed:
            headers["X-Hub-Signature-256"] = "sha256=" + "0" * 64
        response = post_webhook(source, body, {**headers, **bloat})
        assert response.status_code == (202 if signed else 401)
        row = Delivery.objects.get(pk=response.json()["id"]) if signed else None
        row = row or Delivery.objects.filter(source=source, status="rejected").latest("pk")
        stored = sum(len(k) + len(v) for k, v in row.headers.items())
        assert stored <= 16384
        assert row.headers_cut >= 90 * 8000 - 16384
        # The headers that identify the delivery are the ones kept.
        assert row.headers_view()["X-GitHub-Delivery"] == headers["X-GitHub-Delivery"]
        assert "X-Hub-Signature-256" in row.headers_view()
    client.force_login(admin_user)
    page = client.get(f"/support/deliveries/{row.pk}/").content.decode()
    assert "Headers truncated" in page


def test_unsigned_traffic_does_not_spend_the_senders_budget(make_source, post_webhook):
    source, secret = make_source("github", rate_limit="10/m")
    for _ in range(15):
        body, headers = signers.make_github("guessing", str(uuid.uuid4()))
        assert post_webhook(source, body, headers).status_code in (401, 429)
    signed = post_webhook(source, *signers.make_github(secret, str(uuid.uuid4())))
    assert signed.status_code == 202
    # Unsigned floods still get their own 429, and storage stays capped per minute.
    body, headers = signers.make_github("guessing", str(uuid.uuid4()))
    assert post_webhook(source, body, headers).status_code == 429


@pytest.mark.parametrize(
    "path", ["/webhooks/", "/webhooks/00000000-0000-4000-8000-000000000000/extra/", "/webhooks/x/y"]
)
def test_paths_under_webhooks_that_match_nothing_are_json_404(client, path):
    response = client.post(path, b"{}", content_type="application/json")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json()["error"] == "not_found"


def _through_wsgi(path: str) -> tuple[int, dict, bytes]:
    from io import BytesIO
    from wsgiref.util import setup_testing_defaults

    from hub.wsgi import application

    environ = {"REQUEST_METHOD": "POST", "PATH_INFO": path, "CONTENT_TYPE": "application/json",
               "CONTENT_LENGTH": "2", "wsgi.input": BytesIO(b"{}")}  # fmt: skip
    setup_testing_defaults(environ)
    answer = {}

    def start_response(status, headers, exc_info=None):
        answer["status"], answer["headers"] = int(status.split()[0]), dict(headers)

    body = b"".join(application(environ, start_response))
    return answer["status"], answer["headers"], body


def _through_asgi(path: str) -> tuple[int, dict, bytes]:
    import asyncio

    from hub.asgi import application

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
             "method": "POST", "scheme": "http", "path": path, "raw_path": path.encode(),
             "query_string": b"", "root_path": "", "client": ("127.0.0.1", 5000),
             "server": ("testserver", 80),
             "headers": [(b"host", b"testserver"), (b"content-type", b"application/json"),
                         (b"content-length", b"2")]}  # fmt: skip
    messages = [{"type": "http.request", "body": b"{}", "more_body": False}]
    sent = []

    async def receive():
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message):
        sent.append(message)

    asyncio.run(application(scope, receive, send))
    headers = {k.decode(): v.decode() for k, v in sent[0]["headers"]}
    return sent[0]["status"], headers, b"".join(m.get("body", b"") for m in sent[1:])


@pytest.mark.parametrize("serve", [_through_wsgi, _through_asgi], ids=["wsgi", "asgi"])
@pytest.mark.parametrize(
    "path, error",
    [
        ("/webhooks/", "not_found"),
        ("/webhooks/x/y", "not_found"),
        ("/webhooks/%00/", "unknown_source"),
    ],
)
def test_the_servers_short_path_answers_unmatched_webhook_urls_with_json_404(serve, path, error):
    """hub.wsgi and hub.asgi resolve /webhooks/ requests against hub.urls_webhooks alone: a URL
    that names no receiving endpoint gets the same JSON 404, never a 500 or the site's HTML."""
    status, headers, body = serve(path)
    assert status == 404
    assert headers["Content-Type"] == "application/json"
    assert f'"error": "{error}"'.encode() in body


# --- property-based -------------------------------------------------------------------------

SIGNERS = signers.SIGNERS  # every registered provider
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(), children),
    max_leaves=30,
)
bodies = st.one_of(
    st.binary(max_size=3000),
    json_values.map(lambda v: __import__("json").dumps(v).encode()),
    st.integers(1, 3000).map(lambda n: b"[" * n + b"]" * n),
    st.integers(1, 3000).map(lambda n: b'{"a":' * n + b"1" + b"}" * n),
    st.text(max_size=500).map(lambda t: t.encode("utf-16")),
    st.sampled_from([b"payload=%7B%7D", b"command=%2Fx&trigger_id=1", b"payload=[[[["]),
)
header_names = st.from_regex(r"X-[A-Za-z0-9-]{1,20}", fullmatch=True)
header_sets = st.dictionaries(
    header_names, st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=2000),
    max_size=40,
)  # fmt: skip
content_types = st.sampled_from(
    ["application/json", "application/x-www-form-urlencoded", "text/plain", "", "x/y; q=\x01"]
)


@pytest.fixture
def sources(make_source):
    made = {}
    for provider in SIGNERS:
        made[provider] = make_source(provider, max_body_bytes=2048, rate_limit="100000/m")
    return made


@settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    provider=st.sampled_from(sorted(SIGNERS)),
    body=bodies,
    extra=header_sets,
    content_type=content_types,
    signed=st.booleans(),
)
@override_settings(HUB_STORED_HEADER_BYTES=4096)
def test_fuzzed_requests_never_5xx_and_never_store_over_the_caps(
    sources, client, provider, body, extra, content_type, signed
):
    source_cache.clear()
    source, secret = sources[provider]
    try:
        _, headers = SIGNERS[provider](
            secret if signed else "wrong-secret-123", str(uuid.uuid4()), body=body
        )
    except (UnicodeDecodeError, ValueError):  # an SDK that signs text only
        _, headers = SIGNERS[provider]("wrong-secret-123", str(uuid.uuid4()))
    headers = {**extra, **headers, "Content-Type": content_type}
    headers.pop("Content-Type")
    response = client.post(
        source.get_receive_path(),
        data=body,
        content_type=content_type,
        **signers.as_meta(headers),
    )
    assert response.status_code < 500, response.content[:300]
    assert response["Content-Type"] == "application/json"
    for row in Delivery.objects.filter(source=source).order_by("-pk")[:1]:
        stored_headers = sum(len(k) + len(v.encode()) for k, v in row.headers.items())
        assert stored_headers <= 4096
        limit = 2048 if row.status != "rejected" or row.http_status == 400 else 4096
        assert len(bytes(row.body)) <= limit


def test_nul_and_lone_surrogates_in_ids_and_event_types_are_stored_not_a_503(
    make_source, post_webhook
):
    source, secret = make_source("stripe")
    body = b'{"id": "evt_\\u0000x", "type": "charge.\\ud800ok", "object": "event"}'
    response = post_webhook(source, *signers.make_stripe(secret, "unused", body=body))
    assert response.status_code == 202, response.content
    row = Delivery.objects.get(pk=response.json()["id"])
    assert row.external_id == "evt_\ufffdx" and row.event_type == "charge.\ufffdok"


def test_a_nul_in_a_header_value_is_stored_cleaned(make_source, post_webhook):
    source, secret = make_source("github")
    body, headers = signers.make_github(secret, str(uuid.uuid4()))
    response = post_webhook(source, body, {**headers, "X-Note": "a\x00b"})
    assert response.status_code == 202
    assert Delivery.objects.get(pk=response.json()["id"]).headers["X-Note"] == "a\ufffdb"


def test_a_body_with_a_lone_surrogate_escape_shows_as_raw_text(
    make_source, post_webhook, client, admin_user
):
    source, secret = make_source("github")
    body = b'{"zen": "\\ud800"}'
    pk = post_webhook(source, *signers.make_github(secret, str(uuid.uuid4()), body=body)).json()[
        "id"
    ]
    client.force_login(admin_user)
    page = client.get(f"/support/deliveries/{pk}/")
    assert page.status_code == 200 and "\\ud800" in page.content.decode()


@override_settings(HUB_USE_X_FORWARDED_FOR=True)
@pytest.mark.parametrize("forwarded", ["not-an-ip", "1.2.3.999", " , "])
def test_a_forwarded_for_that_is_no_address_records_the_peer(make_source, post_webhook, forwarded):
    source, secret = make_source("github")
    body, headers = signers.make_github(secret, str(uuid.uuid4()))
    response = post_webhook(source, body, {**headers, "X-Forwarded-For": forwarded})
    assert response.status_code == 202
    assert Delivery.objects.get(pk=response.json()["id"]).remote_addr == "127.0.0.1"


def test_depth_is_checked_exactly_whatever_the_strings_hold(make_source, post_webhook):
    source, secret = make_source("github")
    inside_strings = b'{"a": "' + b"[" * 5000 + b'", "b": [[[1]]]}'
    ok = post_webhook(source, *signers.make_github(secret, str(uuid.uuid4()), body=inside_strings))
    assert ok.status_code == 202
    deep = b"[" * 129 + b"]" * 129
    refused = post_webhook(source, *signers.make_github(secret, str(uuid.uuid4()), body=deep))
    assert refused.status_code == 400
    at_limit = b"[" * 128 + b"]" * 128
    assert (
        post_webhook(
            source, *signers.make_github(secret, str(uuid.uuid4()), body=at_limit)
        ).status_code
        == 202
    )
