"""Endpoints for other tools: ``/healthz`` (liveness), ``/metrics`` (Prometheus) and
``/api/v1/health/`` (the overview as JSON)."""

import time

from django.core.cache import cache
from django.db import connection
from django.db.models import Count, Sum
from django.http import HttpResponse, JsonResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.core import (
    CollectorRegistry,
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
)
from rest_framework.decorators import api_view, permission_classes
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from connections.guards import Guards
from connections.models import CallRollup, Connection
from core.rollups import BUCKET_FIELDS, LATENCY_BUCKETS_MS
from hub.celery import app as celery_app
from webhooks.models import Delivery, DeliveryRollup

from . import figures, health

CIRCUIT = {"closed": 0, "half_open": 1, "open": 2}


def healthz(request):
    """200 when the database, the cache and the broker answer; 503 naming what does not."""
    checks = {}
    for name, check in (("database", _database), ("cache", _cache), ("broker", _broker)):
        started = time.monotonic()
        try:
            check()
            checks[name] = {"ok": True, "ms": round((time.monotonic() - started) * 1000, 1)}
        except Exception as exc:  # each failure is reported, not raised
            checks[name] = {"ok": False, "error": type(exc).__name__}
    ok = all(c["ok"] for c in checks.values())
    return JsonResponse({"ok": ok, "checks": checks}, status=200 if ok else 503)


def _database():
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def _cache():
    cache.set("hub:healthz", 1, 10)
    if cache.get("hub:healthz") != 1:
        raise RuntimeError("cache read back nothing")


def _broker():
    with celery_app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=2)


class _Collector:
    """The figures of hub/figures.py over the whole of the rollups (never a scan of the logs).
    Counters only grow; ``hub_deliveries_finished`` is a gauge because a replay moves a
    delivery out of its outcome."""

    def collect(self):
        yield from self._sources()
        yield from self._connections()

    def _sources(self):
        received = CounterMetricFamily(
            "hub_deliveries_received", "Deliveries accepted.", labels=["source"]
        )
        refused = CounterMetricFamily(
            "hub_requests_refused", "Requests refused, by reason.", labels=["source", "reason"]
        )
        finished = GaugeMetricFamily(
            "hub_deliveries_finished",
            "Deliveries by current outcome (a replay moves one out of its outcome).",
            labels=["source", "outcome"],
        )
        attempts = CounterMetricFamily(
            "hub_delivery_attempts", "Processing attempts that ended.", labels=["source"]
        )
        failed = CounterMetricFamily(
            "hub_delivery_attempts_failed", "Attempts that did not succeed.", labels=["source"]
        )
        replays = CounterMetricFamily(
            "hub_delivery_replays", "Attempts started by a replay.", labels=["source"]
        )
        latency = HistogramMetricFamily(
            "hub_processing_seconds", "Handler time per attempt.", labels=["source"]
        )
        rows = DeliveryRollup.objects.values("source_id", "source__name").annotate(
            **{name: Sum(name) for name in (*figures.SOURCE_FIELDS, *BUCKET_FIELDS, "total_ms")}
        )
        for row in rows:
            label = row["source__name"]
            f = figures.SourceFigures.from_sums(row)
            received.add_metric([label], f.received)
            for reason, n in f.refused_by_reason.items():
                refused.add_metric([label, reason], n)
            for outcome in ("processed", "ignored", "dead"):
                finished.add_metric([label, outcome], getattr(f, outcome))
            attempts.add_metric([label], f.attempts)
            failed.add_metric([label], f.failed_attempts)
            replays.add_metric([label], f.replays)
            latency.add_metric([label], _buckets(row), (row["total_ms"] or 0) / 1000)
        yield from (received, refused, finished, attempts, failed, replays, latency)
        queue = GaugeMetricFamily("hub_queue_depth", "Deliveries waiting.", labels=["source"])
        pending = (
            Delivery.objects.filter(status__in=Delivery.Status.IN_FLIGHT)
            .values("source__name")
            .annotate(n=Count("id"))
        )
        for row in pending:
            queue.add_metric([row["source__name"]], row["n"])
        yield queue

    def _connections(self):
        calls = CounterMetricFamily(
            "hub_calls", "Outbound calls (health checks included).", labels=["connection"]
        )
        failures = CounterMetricFamily(
            "hub_call_failures", "Failed calls by error class.", labels=["connection", "cls"]
        )
        tests = CounterMetricFamily("hub_test_calls", "Health-check calls.", labels=["connection"])
        call_latency = HistogramMetricFamily(
            "hub_call_seconds", "Outbound call duration.", labels=["connection"]
        )
        rows = CallRollup.objects.values("connection__name").annotate(
            **{name: Sum(name) for name in (*figures.CONNECTION_FIELDS, *BUCKET_FIELDS, "total_ms")}
        )
        for row in rows:
            label = row["connection__name"]
            f = figures.ConnectionFigures.from_sums(row)
            calls.add_metric([label], f.calls)
            for cls, n in f.failures_by_class.items():
                failures.add_metric([label, cls], n)
            tests.add_metric([label], f.tests)
            call_latency.add_metric([label], _buckets(row), (row["total_ms"] or 0) / 1000)
        yield from (calls, failures, tests, call_latency)
        circuit = GaugeMetricFamily(
            "hub_circuit_state", "0 closed, 1 half-open, 2 open.", labels=["connection"]
        )
        for conn in Connection.objects.all():
            # live, from the shared guards: half-open exists only there, never in the row
            state = Guards(conn.pk, conn.spec.rate_limit).circuit_state()
            circuit.add_metric([conn.name], CIRCUIT[state])
        yield circuit


def _buckets(row) -> list[tuple[str, float]]:
    cumulative, out = 0, []
    for ms, name in zip(LATENCY_BUCKETS_MS, BUCKET_FIELDS, strict=False):
        cumulative += row[name] or 0
        out.append((str(ms / 1000), cumulative))
    out.append(("+Inf", cumulative + (row["gt_last"] or 0)))
    return out


def metrics(request):
    """Prometheus text format, computed from the rollups at scrape time. Staff only."""
    if not request.user.has_perm("webhooks.view_delivery"):
        token_ok = False
        from rest_framework.authentication import TokenAuthentication

        try:
            found = TokenAuthentication().authenticate(request)
            token_ok = bool(found) and found[0].has_perm("webhooks.view_delivery")
        except Exception:
            token_ok = False
        if not token_ok:
            return HttpResponse("Authentication required (staff session or API token).\n",
                                status=401, content_type="text/plain")  # fmt: skip
    registry = CollectorRegistry()
    registry.register(_Collector())
    return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)


@extend_schema(responses={200: OpenApiTypes.OBJECT})
@api_view(["GET"])
@permission_classes([IsAuthenticated])
def health_api(request):
    """Every integration's status, the rule that decided it, and its figures (hub/figures.py):
    for a source, ``last_24h``/``last_hour`` = deliveries accepted, ``errors_*`` = deliveries
    that ended dead, ``success_rate_24h`` = (processed + ignored) / finished (null when nothing
    finished), ``refused_24h``, ``failed_attempts_24h``, ``replays_24h``; for a connection,
    ``last_24h``/``last_hour`` = calls (health checks included), ``errors_*`` = failed calls,
    ``tests_24h`` and ``failures_by_class_24h``."""
    if not request.user.has_perm("webhooks.view_delivery"):
        return Response({"detail": "You do not have permission."}, status=403)
    return Response({"integrations": [integration_json(i) for i in health.overview()]})


def integration_json(i) -> dict:
    data = {
        "kind": i.kind, "id": str(i.id), "name": i.name, "provider": i.provider,
        "status": i.status, "rule": i.rule,
        "last_hour": i.hour.volume, "errors_last_hour": i.hour.errors,
        "last_24h": i.day.volume, "errors_last_24h": i.day.errors,
        "success_rate_24h": i.day.success_rate, "p50_ms": i.day.p50_ms, "p95_ms": i.day.p95_ms,
        "last_success_at": i.last_success_at, "last_error_at": i.last_error_at,
        "last_error": i.last_error, "circuit": i.circuit or None,
        "rate_limit_remaining": i.rate_remaining, "queue_depth": i.queue_depth,
        "oldest_pending_at": i.oldest_pending_at,
    }  # fmt: skip
    if i.kind == "source":
        data.update(
            refused_24h=i.day.refused,
            refused_by_reason_24h=i.day.refused_by_reason,
            failed_attempts_24h=i.day.failed_attempts,
            replays_24h=i.day.replays,
        )
    else:
        data.update(
            tests_24h=i.day.tests,
            failures_by_class_24h=i.day.failures_by_class,
            last_health_check_ok=i.check_ok,
            last_health_check_at=i.check_at,
        )
    return data
