"""Every health figure the hub shows equals a direct count over the rows it summarizes.

A mixed history for several providers (accepted, refused for each reason, retried then
processed, dead, replayed, ignored, erased, purged by retention; outbound calls that succeed,
fail by class, and health checks) is played at three moments (3 days ago, 5 hours ago, now).
Then the overview, each integration page in each range, ``/api/v1/health/`` and ``/metrics``
are read and compared with counts over deliveries, attempts and call records (the definitions
of hub/figures.py, written here again as plain queries).
"""

import json
import re
import uuid
from datetime import timedelta

import pytest
import responses
import time_machine
from django.utils import timezone

from connections import checks as connection_health
from connections import recorder
from connections.errors import IntegrationError
from connections.models import CallRecord, Connection, ProviderOverride
from webhooks import counts, operations, retention
from webhooks.models import Attempt, Delivery
from webhooks.processing import process

from . import signers

pytestmark = pytest.mark.django_db
FAILED = ("failed", "dead", "lost")
REASONS = {"signature": [401], "size": [413], "rate": [429]}
RANGES = {"1h": timedelta(hours=1), "24h": timedelta(hours=24), "7d": timedelta(days=7)}


@pytest.fixture
def support(client, django_user_model, roles):
    from django.contrib.auth.models import Group

    user = django_user_model.objects.create_user("sam", password="pw-sam-12345")
    user.groups.add(Group.objects.get(name="support"))
    client.force_login(user)
    return client


class History:
    """Plays one round of traffic for every integration at the current (travelled) time."""

    def __init__(self, post_webhook, capture, sources, connection):
        self.post, self.capture = post_webhook, capture
        self.github, self.generic, self.stripe = sources
        self.connection = connection

    def play(self, round_no: int) -> None:
        self._github(round_no)
        self._generic()
        self._stripe()
        self._calls()
        counts.flush()
        recorder.flush()

    def _send(self, source, make, **kw):
        body, headers = make(source.secret, str(uuid.uuid4()), **kw)
        return self.post(source, body, headers)

    def _process(self, ids):
        with self.capture(execute=True):
            for pk in ids:
                process(pk)

    def _github(self, round_no):
        src = self.github
        ok = [self._send(src, signers.make_github).json()["id"] for _ in range(3)]
        self._process(ok)
        ping = signers.fixture("github/ping.json")
        assert self._send(src, signers.make_github, body=ping, event="ping").status_code == 200
        body, headers = signers.make_github(src.secret, str(uuid.uuid4()))
        headers["X-Hub-Signature-256"] = "sha256=" + "0" * 64
        assert self.post(src, body, headers).status_code == 401
        too_big = b"[" + b"1," * 9000 + b"1]"
        assert self._send(src, signers.make_github, body=too_big).status_code == 413
        assert self._send(src, signers.make_github, body=b"{not json").status_code == 400
        if round_no == 0:  # a delivery its handler cannot use dies (no retries configured)
            (bad,) = [self._send(src, signers.make_github, body=b"{}").json()["id"]]
            self._process([bad])

    def _generic(self):
        src = self.generic

        def send(event):
            body, headers = signers.make_generic(src.secret, str(uuid.uuid4()))
            return self.post(src, body, {**headers, "X-Event": event}).json()["id"]

        counted = [send("test.count") for _ in range(2)]
        failing, flaky, ignored = send("test.fail"), send("test.flaky"), send("nothing.here")
        self._process([*counted, failing, flaky, ignored])
        self._process([failing, flaky])  # first retries: both fail again
        self._process([failing, flaky])  # last retry: failing dies, flaky succeeds
        with self.capture(execute=True):
            assert operations.replay_ids([failing, counted[0]], by="sam") == sorted(
                [failing, counted[0]]
            )
        self._process([failing, counted[0]])  # the replays: fails again / processed again
        self._process([failing])
        self._process([failing])  # ... and dies again after its two retries
        operations.erase(Delivery.objects.get(pk=counted[1]), by="sam")

    def _stripe(self):
        src = self.stripe
        ids = [self._send(src, signers.make_stripe).json()["id"] for _ in range(2)]
        self._process(ids)
        body, headers = signers.make_stripe("whsec_not_the_secret_at_all", str(uuid.uuid4()))
        assert self.post(src, body, headers).status_code == 401
        answers = [self._send(src, signers.make_stripe) for _ in range(2)]
        assert 429 in [a.status_code for a in answers]  # the source takes 3 an hour
        self._process([a.json()["id"] for a in answers if a.status_code == 202])

    def _calls(self):
        client = self.connection.client()
        client.get("/v1/balance")
        for path in ("/v1/broken", "/v1/missing"):
            with pytest.raises(IntegrationError):
                client.get(path)
        connection_health.check(self.connection)  # a test call


def _delivery_counts(source, since) -> dict:
    rows = Delivery.objects.filter(source=source)
    refused = rows.filter(status="rejected", received_at__gte=since)
    attempts = Attempt.objects.filter(delivery__source=source, finished_at__gte=since)
    counts = {
        "received": rows.exclude(status="rejected").filter(received_at__gte=since).count(),
        "refused": refused.count(),
        **{f"refused_{r}": refused.filter(http_status__in=s).count() for r, s in REASONS.items()},
        "refused_invalid": refused.exclude(http_status__in=[401, 413, 429]).count(),
        "attempts": attempts.count(),
        "failed_attempts": attempts.filter(outcome__in=FAILED).count(),
        "replays": attempts.exclude(replayed_by="").count(),
    }
    for status in ("processed", "ignored", "dead"):
        counts[status] = rows.filter(status=status, processed_at__gte=since).count()
    finished = counts["processed"] + counts["ignored"] + counts["dead"]
    ok = counts["processed"] + counts["ignored"]
    counts["success_rate"] = ok / finished if finished else None
    return counts


def _call_counts(connection, since) -> dict:
    calls = CallRecord.objects.filter(connection=connection, started_at__gte=since)
    failed = calls.exclude(error_class="")
    return {
        "calls": calls.count(),
        "failures": failed.count(),
        "tests": calls.filter(is_test=True).count(),
        "failed_unavailable": failed.filter(error_class="ProviderUnavailable").count(),
        "failed_not_found": failed.filter(error_class="NotFound").count(),
    }


def _page_figures(html: str) -> dict:
    found = {}
    for name, value in re.findall(r'data-figure="([a-z_0-9]+)">([^<]*)<', html):
        found[name] = value.strip()
    return found


def _percent(rate):
    return "–" if rate is None else f"{100 * rate:.1f}%"


@responses.activate
def test_every_figure_equals_a_count_over_the_rows(
    support, make_source, post_webhook, django_capture_on_commit_callbacks
):
    responses.get("https://api.stripe.com/v1/balance", json={"available": []})
    responses.get("https://api.stripe.com/v1/broken", status=503)
    responses.get("https://api.stripe.com/v1/missing", status=404)
    ProviderOverride.objects.create(provider="stripe", max_retries=0)
    connection = Connection(name="Billing API", provider="stripe")
    connection.set_credentials("sk_test_reconcile_123456")
    connection.save()
    sources = (
        make_source(
            "github", name="Repos", max_body_bytes=16384, retention_days=1, retry_schedule=[]
        )[0],
        make_source("generic", name="Orders", retry_schedule=[0, 0])[0],
        make_source("stripe", name="Payments", rate_limit="3/h")[0],
    )
    history = History(post_webhook, django_capture_on_commit_callbacks, sources, connection)
    start = timezone.now()
    for round_no, ago in enumerate((timedelta(days=3), timedelta(hours=5), timedelta(0))):
        with time_machine.travel(start - ago, tick=True):
            history.play(round_no)
    retention.purge_payloads()  # the 3-day-old GitHub payloads go; the counts stay
    assert Delivery.objects.filter(payload_removed_at__isnull=False).count() > 2

    with time_machine.travel(timezone.now() + timedelta(seconds=1), tick=False):
        now = timezone.now()
        minute = now.replace(second=0, microsecond=0)
        overview = support.get("/").content.decode()
        api = {i["name"]: i for i in support.get("/api/v1/health/").json()["integrations"]}
        metrics = support.get("/metrics").content.decode()
        for source in sources:
            day = _delivery_counts(source, minute - RANGES["24h"])
            hour = _delivery_counts(source, minute - RANGES["1h"])
            assert day["received"] and day["attempts"]
            entry = api[source.name]
            assert (entry["last_24h"], entry["errors_last_24h"]) == (day["received"], day["dead"])
            assert (entry["last_hour"], entry["errors_last_hour"]) == (
                hour["received"],
                hour["dead"],
            )
            assert entry["success_rate_24h"] == pytest.approx(day["success_rate"])
            assert entry["refused_24h"] == day["refused"]
            assert entry["failed_attempts_24h"] == day["failed_attempts"]
            assert entry["replays_24h"] == day["replays"]
            assert entry["refused_by_reason_24h"] == {
                r: day[f"refused_{r}"] for r in ("signature", "size", "rate", "invalid")
            }
            row = _overview_row(overview, source.name)
            assert row["last_24h"] == str(day["received"])
            assert row["last_hour"] == str(hour["received"])
            assert row.get("errors_last_24h", "(0 dead)") == f"({day['dead']} dead)"
            assert row["success_rate_24h"] == _percent(day["success_rate"])
            for range_name, span in RANGES.items():
                expected = _delivery_counts(source, minute - span)
                page = support.get(f"/integrations/source/{source.pk}/", {"range": range_name})
                shown = _page_figures(page.content.decode())
                for name in ("received", "refused", "processed", "ignored", "dead"):
                    assert shown[name] == str(expected[name]), (source.name, range_name, name)
                for name in ("failed_attempts", "replays"):
                    assert shown[name] == str(expected[name]), (source.name, range_name, name)
                assert shown["success_rate"] == _percent(expected["success_rate"])
                points = _series(page)
                assert sum(p["volume"] for p in points) == expected["received"]
                assert sum(p["errors"] for p in points) == expected["dead"]
                assert sum(p["refused"] for p in points) == expected["refused"]
            ever = _delivery_counts(source, minute - timedelta(days=3650))
            label = f'source="{source.name}"'
            assert f"hub_deliveries_received_total{{{label}}} {ever['received']}.0" in metrics
            assert f"hub_delivery_replays_total{{{label}}} {ever['replays']}.0" in metrics
            assert (
                f"hub_delivery_attempts_failed_total{{{label}}} {ever['failed_attempts']}.0"
                in metrics
            )
            for outcome in ("processed", "ignored", "dead"):
                line = f'hub_deliveries_finished{{outcome="{outcome}",{label}}} {ever[outcome]}.0'
                assert line in metrics
            for reason in ("signature", "size", "rate", "invalid"):
                line = (
                    f'hub_requests_refused_total{{reason="{reason}",{label}}} '
                    f"{ever[f'refused_{reason}']}.0"
                )
                assert line in metrics

        day = _call_counts(connection, minute - RANGES["24h"])
        assert day["calls"] == 8 and day["tests"] == 2 and day["failures"] == 4
        entry = api[connection.name]
        assert (entry["last_24h"], entry["errors_last_24h"], entry["tests_24h"]) == (
            day["calls"],
            day["failures"],
            day["tests"],
        )
        assert entry["failures_by_class_24h"]["unavailable"] == day["failed_unavailable"]
        assert entry["failures_by_class_24h"]["not_found"] == day["failed_not_found"]
        for range_name, span in RANGES.items():
            expected = _call_counts(connection, minute - span)
            page = support.get(f"/integrations/connection/{connection.pk}/", {"range": range_name})
            shown = _page_figures(page.content.decode())
            for name in ("calls", "failures", "tests"):
                assert shown[name] == str(expected[name]), (range_name, name)
            assert sum(p["volume"] for p in _series(page)) == expected["calls"]
        ever = _call_counts(connection, minute - timedelta(days=3650))
        assert f'hub_calls_total{{connection="Billing API"}} {ever["calls"]}.0' in metrics


def _overview_row(html: str, name: str) -> dict:
    match = re.search(rf'<tr class="integration"[^>]*data-name="{name}".*?</tr>', html, re.S)
    assert match, name
    return _page_figures(match.group(0))


def _series(page) -> list[dict]:
    html = page.content.decode()
    raw = re.search(r'<script id="series" type="application/json">(.*?)</script>', html, re.S)
    return json.loads(raw.group(1))["points"]
