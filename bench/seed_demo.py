"""Seed a large, realistic delivery log and call record for the health pages, fast (PostgreSQL).

Creates "demo ..." sources and connections with the ORM (secrets and credentials encrypted as
usual), then fills the big tables with ``INSERT ... SELECT ... FROM generate_series(...)`` in
chunks: deliveries spread over the last ``--days`` days (ids grow with ``received_at``, as in
production), attempt rows for the dead and retrying deliveries, call records, and from those rows
the per-minute rollups (``GROUP BY date_trunc('minute', ...)``) and error groups that the pages
read. Sources' and connections' last success/error are set from the seeded rows, and the tables
are vacuumed and analysed at the end so that the planner sees the real sizes.

    python -m bench.seed_demo --deliveries 1000000 --calls 1000000 --sources 25 --connections 25

``--reset`` first deletes every demo source and connection (name starting with "demo ") and
their rows; without it the command refuses to run when demo objects exist.
"""

import time
from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.utils import timezone

from connections.models import Connection
from core.rollups import fingerprint
from webhooks.models import Source

PREFIX = "demo "
CHUNK = 250_000

SOURCE_PROVIDERS = ("github", "stripe", "slack", "generic")
CONNECTION_PROVIDERS = ("github", "stripe", "slack", "shopify", "generic")

# (error class, message) of processing failures; the delivery's error is "Class: message".
DELIVERY_ERRORS = [
    ("ProviderUnavailable", "api.github.com answered 502 Bad Gateway after 3 retries"),
    ("ProviderUnavailable", "Read timed out after 10 s"),
    ("RateLimited", "Rate limit of the connection reached; retry after 60 s"),
    ("AuthFailed", "The provider refused the credentials (401 Bad credentials)"),
    ("NotFound", "Repository acme/legacy-api not found or not visible to the token"),
    ("ClientError", "422 Unprocessable Entity: Validation Failed (field 'body' is too long)"),
    ("KeyError", "'pull_request'"),
    ("ValueError", "Unknown invoice status 'draft_pending'"),
    ("IntegrityError", 'duplicate key value violates unique constraint "orders_external_ref"'),
    ("PermanentError", "Customer cus_ABC was deleted; nothing to update"),
]
# Failed calls: error class -> (status code or None, message).
CALL_ERRORS = [
    ("ProviderUnavailable", 503, "503 Service Unavailable after 3 retries"),
    ("ProviderUnavailable", None, "Connection timed out after 5 s"),
    ("RateLimited", 429, "429 Too Many Requests; retry after 30 s"),
    ("AuthFailed", 401, "401 Unauthorized: token revoked"),
    ("NotFound", 404, "404 Not Found"),
    ("ClientError", 422, "422 Unprocessable Entity"),
    ("CircuitOpen", None, "Circuit open after repeated failures; retry after 30 s"),
]
REJECTIONS = [
    (401, "bad_signature: The signature does not match the body."),
    (401, "missing_signature: The request carries no signature header."),
    (429, "rate_limited: More than the source's rate limit; try again later."),
    (413, "too_large: The body is larger than the source accepts."),
]
INSERT_DELIVERIES = """
WITH src AS (
    SELECT (ord - 1)::int AS idx, id AS source_id, provider
    FROM unnest(%(source_ids)s::uuid[], %(providers)s::text[])
        WITH ORDINALITY AS t(id, provider, ord)
),
errs AS (
    SELECT (ord - 1)::int AS e, text
    FROM unnest(%(errors)s::text[]) WITH ORDINALITY AS t(text, ord)
),
rej AS (
    SELECT (ord - 1)::int AS e, code, text
    FROM unnest(%(rej_codes)s::int[], %(rej_texts)s::text[]) WITH ORDINALITY AS t(code, text, ord)
),
base AS (
    SELECT g,
           %(start)s::timestamptz + (g - 1 + random()) * %(step)s::interval AS at,
           random() AS r,
           (3 + power(random(), 5) * 6000)::int AS ms,
           floor(power(random(), 1.6) * %(k)s)::int AS idx
    FROM generate_series(%(lo)s::bigint, %(hi)s::bigint) AS g
),
classified AS (
    SELECT b.*, s.source_id, s.provider,
           CASE
               WHEN b.r < 0.02 THEN 'rejected'
               WHEN b.r < 0.04 THEN 'dead'
               WHEN b.r < 0.05 AND b.at > %(now)s::timestamptz - interval '1 day' THEN 'retrying'
               WHEN b.r < 0.05 THEN 'dead'
               WHEN b.r < 0.11 THEN 'ignored'
               WHEN b.r < 0.6 AND b.at > %(now)s::timestamptz - interval '3 minutes' THEN 'queued'
               ELSE 'processed'
           END AS status,
           CASE s.provider
               WHEN 'github' THEN (ARRAY['push', 'pull_request.opened', 'pull_request.closed',
                                         'issues.opened', 'ping'])[1 + b.g %% 5]
               WHEN 'stripe' THEN (ARRAY['invoice.paid', 'charge.succeeded', 'customer.updated',
                                         'invoice.payment_failed'])[1 + b.g %% 4]
               WHEN 'slack' THEN (ARRAY['event_callback.message', 'event_callback.app_mention',
                                        'url_verification'])[1 + b.g %% 3]
               ELSE (ARRAY['order.created', 'order.updated', 'shipment.delivered'])[1 + b.g %% 3]
           END AS event_type
    FROM base b JOIN src s USING (idx)
),
counted AS (
    SELECT c.*,
           CASE c.status
               WHEN 'rejected' THEN 0 WHEN 'queued' THEN 0
               WHEN 'dead' THEN 2 + c.g %% 3 WHEN 'retrying' THEN 1 + c.g %% 2
               ELSE 1
           END AS tries
    FROM classified c
)
INSERT INTO webhooks_delivery (
    source_id, provider, event_type, external_id, status, received_at, headers, headers_cut,
    body, body_size,
    remote_addr, http_status, error, attempts, tries, queued_at, next_attempt_at, claimed_at,
    claimed_by, processed_at, recovered_at, payload_removed_at, payload_removed_reason,
    replay_requested_by
)
SELECT
    c.source_id,
    c.provider,
    c.event_type,
    'demo-' || c.g,
    c.status,
    c.at,
    '{"Content-Type": "application/json", "User-Agent": "demo-sender/1.0"}'::jsonb,
    0,
    bd.body,
    octet_length(bd.body),
    ('198.51.100.' || (1 + c.g %% 250))::inet,
    COALESCE(rej.code, 202),
    CASE c.status
        WHEN 'rejected' THEN rej.text
        WHEN 'ignored' THEN c.provider || ' ' || c.event_type || ': no handler for this event type'
        WHEN 'dead' THEN errs.text
        WHEN 'retrying' THEN errs.text
        ELSE ''
    END,
    c.tries,
    c.tries,
    CASE WHEN c.status = 'rejected' THEN NULL ELSE c.at END,
    CASE WHEN c.status = 'retrying'
         THEN %(now)s::timestamptz + (c.g %% 3600) * interval '1 second' END,
    NULL,
    '',
    CASE WHEN c.status IN ('processed', 'ignored', 'dead')
         THEN least(c.at + (greatest(c.tries, 1) - 1) * interval '5 minutes'
                    + c.ms * interval '1 millisecond', %(now)s::timestamptz) END,
    NULL,
    NULL,
    '',
    ''
FROM counted c
CROSS JOIN LATERAL (
    SELECT convert_to('{"id":' || c.g || ',"type":"' || c.event_type || '","data":{"n":'
                      || (c.g %% 997) || ',"note":"seeded"}}', 'UTF8') AS body
) AS bd
LEFT JOIN errs ON c.status IN ('dead', 'retrying') AND errs.e = c.g %% %(n_errors)s
LEFT JOIN rej ON c.status = 'rejected' AND rej.e = c.g %% %(n_rej)s
"""

# One row per attempt of the dead (failed..., dead) and retrying (failed...) deliveries.
INSERT_ATTEMPTS = """
INSERT INTO webhooks_attempt (
    delivery_id, number, started_at, finished_at, duration_ms, outcome, error_class,
    error_message, traceback, worker, replayed_by
)
SELECT
    d.id,
    n,
    least(d.received_at + (n - 1) * interval '5 minutes', %(now)s::timestamptz),
    least(d.received_at + (n - 1) * interval '5 minutes', %(now)s::timestamptz)
        + ms * interval '1 millisecond',
    ms,
    CASE WHEN d.status = 'dead' AND n = d.attempts THEN 'dead' ELSE 'failed' END,
    split_part(d.error, ': ', 1),
    substr(d.error, length(split_part(d.error, ': ', 1)) + 3),
    'Traceback (most recent call last):' || chr(10) || '  File "handlers.py", line 42' || chr(10)
        || d.error,
    'worker-' || (d.id %% 4) || '@demo',
    ''
FROM webhooks_delivery d
CROSS JOIN LATERAL generate_series(1, d.attempts) AS n
CROSS JOIN LATERAL (SELECT (20 + (d.id * 7919 + n * 104729) %% 4000)::int AS ms) AS t
WHERE d.source_id = ANY(%(source_ids)s::uuid[]) AND d.status IN ('dead', 'retrying')
"""

# Per source per minute, as hub/figures.py defines them: arrivals and refusals (by reason) by
# arrival; outcomes by the time they were reached; attempts by the time they ended (processed
# and ignored deliveries took one attempt, received -> processed; failed and dead: the rows).
INSERT_DELIVERY_ROLLUPS = """
WITH events AS (
    SELECT source_id, date_trunc('minute', received_at) AS minute,
           (status <> 'rejected')::int AS received,
           (status = 'rejected')::int AS refused,
           (status = 'rejected' AND http_status = 401)::int AS refused_signature,
           (status = 'rejected' AND http_status = 413)::int AS refused_size,
           (status = 'rejected' AND http_status = 429)::int AS refused_rate,
           (status = 'rejected' AND http_status NOT IN (401, 413, 429))::int AS refused_invalid,
           0 AS processed, 0 AS ignored, 0 AS dead, 0 AS attempts, 0 AS failed_attempts,
           NULL::int AS ms
    FROM webhooks_delivery
    WHERE source_id = ANY(%(source_ids)s::uuid[])
    UNION ALL
    SELECT source_id, date_trunc('minute', processed_at),
           0, 0, 0, 0, 0, 0,
           (status = 'processed')::int, (status = 'ignored')::int, (status = 'dead')::int,
           (status IN ('processed', 'ignored'))::int, 0,
           CASE WHEN status IN ('processed', 'ignored')
                THEN (extract(epoch FROM processed_at - received_at) * 1000)::int END
    FROM webhooks_delivery
    WHERE source_id = ANY(%(source_ids)s::uuid[])
      AND status IN ('processed', 'ignored', 'dead') AND processed_at IS NOT NULL
    UNION ALL
    SELECT d.source_id, date_trunc('minute', a.finished_at),
           0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, a.duration_ms
    FROM webhooks_attempt a JOIN webhooks_delivery d ON d.id = a.delivery_id
    WHERE d.source_id = ANY(%(source_ids)s::uuid[])
)
INSERT INTO webhooks_deliveryrollup (
    source_id, minute, received, refused, refused_signature, refused_size, refused_rate,
    refused_invalid, processed, ignored, dead, attempts, failed_attempts, replays, total_ms,
    max_ms, le_25ms, le_50ms, le_100ms, le_250ms, le_500ms, le_1000ms, le_2500ms, le_5000ms,
    gt_last
)
SELECT source_id, minute, sum(received), sum(refused), sum(refused_signature),
       sum(refused_size), sum(refused_rate), sum(refused_invalid), sum(processed), sum(ignored),
       sum(dead), sum(attempts), sum(failed_attempts), 0, COALESCE(sum(ms), 0),
       COALESCE(max(ms), 0),
       count(ms) FILTER (WHERE ms <= 25) AS le_25ms,
       count(ms) FILTER (WHERE ms > 25 AND ms <= 50) AS le_50ms,
       count(ms) FILTER (WHERE ms > 50 AND ms <= 100) AS le_100ms,
       count(ms) FILTER (WHERE ms > 100 AND ms <= 250) AS le_250ms,
       count(ms) FILTER (WHERE ms > 250 AND ms <= 500) AS le_500ms,
       count(ms) FILTER (WHERE ms > 500 AND ms <= 1000) AS le_1000ms,
       count(ms) FILTER (WHERE ms > 1000 AND ms <= 2500) AS le_2500ms,
       count(ms) FILTER (WHERE ms > 2500 AND ms <= 5000) AS le_5000ms,
       count(ms) FILTER (WHERE ms > 5000) AS gt_last
FROM events
GROUP BY source_id, minute
"""

INSERT_DELIVERY_ERROR_GROUPS = """
WITH fp AS (
    SELECT cls, msg, fingerprint
    FROM unnest(%(classes)s::text[], %(messages)s::text[], %(fingerprints)s::text[])
        AS t(cls, msg, fingerprint)
)
INSERT INTO webhooks_deliveryerrorgroup (
    source_id, fingerprint, error_class, message, count, first_seen, last_seen, example_delivery_id
)
SELECT d.source_id, fp.fingerprint, fp.cls, fp.msg, count(*), min(a.finished_at),
       max(a.finished_at), max(d.id)
FROM webhooks_attempt a
JOIN webhooks_delivery d ON d.id = a.delivery_id
JOIN fp ON fp.cls = a.error_class AND fp.msg = a.error_message
WHERE d.source_id = ANY(%(source_ids)s::uuid[])
GROUP BY d.source_id, fp.fingerprint, fp.cls, fp.msg
"""

INSERT_CALLS = """
WITH conn AS (
    SELECT (ord - 1)::int AS idx, id AS connection_id, provider
    FROM unnest(%(connection_ids)s::bigint[], %(providers)s::text[])
        WITH ORDINALITY AS t(id, provider, ord)
),
errs AS (
    SELECT (ord - 1)::int AS e, cls, code
    FROM unnest(%(classes)s::text[], %(codes)s::int[]) WITH ORDINALITY AS t(cls, code, ord)
),
base AS (
    SELECT g,
           %(start)s::timestamptz + (g - 1 + random()) * %(step)s::interval AS at,
           random() AS r,
           (15 + power(random(), 4) * 4000)::int AS ms,
           floor(power(random(), 1.4) * %(k)s)::int AS idx
    FROM generate_series(%(lo)s::bigint, %(hi)s::bigint) AS g
)
INSERT INTO connections_callrecord (
    connection_id, started_at, method, path, status_code, duration_ms, attempts, error_class,
    is_test
)
SELECT
    c.connection_id,
    b.at,
    CASE WHEN b.g %% 4 = 0 THEN 'POST' ELSE 'GET' END,
    CASE c.provider
        WHEN 'github' THEN (ARRAY['/repos/acme/api/pulls', '/repos/acme/api/issues/'
                                  || (b.g %% 500) || '/comments', '/user'])[1 + b.g %% 3]
        WHEN 'stripe' THEN (ARRAY['/v1/customers/cus_' || (b.g %% 900), '/v1/invoices',
                                  '/v1/charges'])[1 + b.g %% 3]
        WHEN 'slack' THEN (ARRAY['/api/chat.postMessage', '/api/conversations.list',
                                 '/api/auth.test'])[1 + b.g %% 3]
        WHEN 'shopify' THEN (ARRAY['/admin/api/2024-10/orders.json',
                                   '/admin/api/2024-10/products/' || (b.g %% 700) || '.json']
                            )[1 + b.g %% 2]
        ELSE (ARRAY['/v2/orders/' || (b.g %% 800), '/v2/shipments', '/health'])[1 + b.g %% 3]
    END,
    CASE WHEN b.r < 0.04 THEN errs.code ELSE 200 END,
    CASE WHEN b.r < 0.04 THEN b.ms * (1 + b.g %% 3) ELSE b.ms END,
    CASE WHEN b.r < 0.04 THEN 1 + b.g %% 3 ELSE 1 END,
    CASE WHEN b.r < 0.04 THEN errs.cls ELSE '' END,
    false
FROM base b
JOIN conn c USING (idx)
LEFT JOIN errs ON b.r < 0.04 AND errs.e = b.g %% %(n_errors)s
"""

INSERT_CALL_ROLLUPS = """
INSERT INTO connections_callrollup (
    connection_id, minute, calls, failures, tests, failed_auth, failed_not_found, failed_client,
    failed_rate_limited, failed_unavailable, failed_other, total_ms, max_ms,
    le_25ms, le_50ms, le_100ms, le_250ms, le_500ms, le_1000ms, le_2500ms, le_5000ms, gt_last
)
SELECT connection_id, date_trunc('minute', started_at) AS minute, count(*),
       count(*) FILTER (WHERE error_class <> ''), 0,
       count(*) FILTER (WHERE error_class = 'AuthFailed'),
       count(*) FILTER (WHERE error_class = 'NotFound'),
       count(*) FILTER (WHERE error_class = 'ClientError'),
       count(*) FILTER (WHERE error_class = 'RateLimited'),
       count(*) FILTER (WHERE error_class = 'ProviderUnavailable'),
       count(*) FILTER (WHERE error_class NOT IN ('', 'AuthFailed', 'NotFound', 'ClientError',
                                                  'RateLimited', 'ProviderUnavailable')),
       sum(ms), max(ms),
       count(*) FILTER (WHERE ms <= 25) AS le_25ms,
       count(*) FILTER (WHERE ms > 25 AND ms <= 50) AS le_50ms,
       count(*) FILTER (WHERE ms > 50 AND ms <= 100) AS le_100ms,
       count(*) FILTER (WHERE ms > 100 AND ms <= 250) AS le_250ms,
       count(*) FILTER (WHERE ms > 250 AND ms <= 500) AS le_500ms,
       count(*) FILTER (WHERE ms > 500 AND ms <= 1000) AS le_1000ms,
       count(*) FILTER (WHERE ms > 1000 AND ms <= 2500) AS le_2500ms,
       count(*) FILTER (WHERE ms > 2500 AND ms <= 5000) AS le_5000ms,
       count(*) FILTER (WHERE ms > 5000) AS gt_last
FROM (SELECT connection_id, started_at, error_class, duration_ms AS ms
      FROM connections_callrecord WHERE connection_id = ANY(%(connection_ids)s::bigint[])) AS c
GROUP BY connection_id, minute
"""

INSERT_CALL_ERROR_GROUPS = """
WITH fp AS (
    SELECT cls, code, msg, fingerprint
    FROM unnest(%(classes)s::text[], %(codes)s::int[], %(messages)s::text[],
                %(fingerprints)s::text[]) AS t(cls, code, msg, fingerprint)
)
INSERT INTO connections_callerrorgroup (
    connection_id, fingerprint, error_class, message, count, first_seen, last_seen, example_call_id
)
SELECT c.connection_id, fp.fingerprint, fp.cls, fp.msg, count(*), min(c.started_at),
       max(c.started_at), max(c.id)
FROM connections_callrecord c
JOIN fp ON fp.cls = c.error_class AND fp.code IS NOT DISTINCT FROM c.status_code
WHERE c.connection_id = ANY(%(connection_ids)s::bigint[]) AND c.error_class <> ''
GROUP BY c.connection_id, fp.fingerprint, fp.cls, fp.msg
"""

SOURCE_MARKS = """
UPDATE webhooks_source s
SET last_success_at = m.success, last_error_at = m.error
FROM (
    SELECT source_id,
           max(received_at) FILTER (WHERE status IN ('processed', 'ignored')) AS success,
           max(received_at) FILTER (WHERE status IN ('dead', 'retrying', 'rejected')) AS error
    FROM webhooks_delivery WHERE source_id = ANY(%(source_ids)s::uuid[])
    GROUP BY source_id
) AS m
WHERE s.id = m.source_id
"""

CONNECTION_MARKS = """
WITH fp AS (
    SELECT cls, code, msg
    FROM unnest(%(classes)s::text[], %(codes)s::int[], %(messages)s::text[]) AS t(cls, code, msg)
),
m AS (
    SELECT connection_id,
           max(started_at) FILTER (WHERE error_class = '') AS success,
           max(started_at) FILTER (WHERE error_class <> '') AS error,
           (array_agg(id ORDER BY started_at DESC) FILTER (WHERE error_class <> ''))[1] AS last_id
    FROM connections_callrecord WHERE connection_id = ANY(%(connection_ids)s::bigint[])
    GROUP BY connection_id
)
UPDATE connections_connection c
SET last_success_at = m.success, last_error_at = m.error,
    last_error = COALESCE(
        (SELECT fp.cls || ': ' || fp.msg FROM connections_callrecord r
         JOIN fp ON fp.cls = r.error_class AND fp.code IS NOT DISTINCT FROM r.status_code
         WHERE r.id = m.last_id),
        '')
FROM m
WHERE c.id = m.connection_id
"""

SEEDED_TABLES = [
    "webhooks_source",
    "webhooks_delivery",
    "webhooks_attempt",
    "webhooks_deliveryrollup",
    "webhooks_deliveryerrorgroup",
    "connections_connection",
    "connections_callrecord",
    "connections_callrollup",
    "connections_callerrorgroup",
]


class Command(BaseCommand):
    help = (
        "Seed demo sources and connections with a large delivery log and call record (and their "
        "rollups and error groups) for the health pages, with INSERT ... SELECT on PostgreSQL."
    )

    def add_arguments(self, parser):
        parser.add_argument("--deliveries", type=int, default=1_000_000)
        parser.add_argument("--calls", type=int, default=1_000_000)
        parser.add_argument("--sources", type=int, default=25)
        parser.add_argument("--connections", type=int, default=25)
        parser.add_argument("--days", type=float, default=7, help="spread over the last N days")
        parser.add_argument(
            "--reset", action="store_true", help='delete the "demo ..." objects and their rows'
        )
        parser.add_argument(
            "--no-vacuum", action="store_true", help="only ANALYZE at the end, no VACUUM"
        )

    def handle(self, *args, **opts):
        if connection.vendor != "postgresql":
            raise CommandError(
                f"bench.seed_demo needs PostgreSQL (this database is {connection.vendor}); "
                "set DATABASE_URL=postgres://..."
            )
        for name in ("deliveries", "calls"):
            if opts[name] < 0:
                raise CommandError(f"--{name} must be >= 0")
        if opts["sources"] < 1 or opts["connections"] < 1 or opts["days"] <= 0:
            raise CommandError("--sources and --connections must be >= 1, --days > 0")
        started = time.monotonic()
        existing = (
            Source.objects.filter(name__startswith=PREFIX).exists()
            or Connection.objects.filter(name__startswith=PREFIX).exists()
        )
        if existing and not opts["reset"]:
            raise CommandError(
                'Demo data ("demo ..." sources or connections) is already present; '
                "pass --reset to replace it."
            )
        if existing:
            self._reset()

        self.now = timezone.now().replace(microsecond=0)
        self.start = self.now - timedelta(days=opts["days"])
        span = self.now - self.start
        with transaction.atomic():
            sources = self._sources(opts["sources"])
            conns = self._connections(opts["connections"], sources)
        source_ids = [str(s.pk) for s in sources]
        connection_ids = [c.pk for c in conns]

        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET LOCAL work_mem = '128MB'")
            cursor.execute("SET LOCAL synchronous_commit = off")
            self._deliveries(cursor, sources, opts["deliveries"], span)
            self._step(
                cursor, "attempts (dead, retrying)", INSERT_ATTEMPTS, {"source_ids": source_ids}
            )
            self._step(
                cursor, "delivery rollups", INSERT_DELIVERY_ROLLUPS, {"source_ids": source_ids}
            )
            self._step(
                cursor,
                "delivery error groups",
                INSERT_DELIVERY_ERROR_GROUPS,
                {
                    "source_ids": source_ids,
                    "classes": [c for c, _ in DELIVERY_ERRORS],
                    "messages": [m for _, m in DELIVERY_ERRORS],
                    "fingerprints": [fingerprint(c, m) for c, m in DELIVERY_ERRORS],
                },
            )
            self._step(
                cursor, "source last success/error", SOURCE_MARKS, {"source_ids": source_ids}
            )
            self._calls(cursor, conns, opts["calls"], span)
            self._step(
                cursor, "call rollups", INSERT_CALL_ROLLUPS, {"connection_ids": connection_ids}
            )
            self._step(
                cursor,
                "call error groups",
                INSERT_CALL_ERROR_GROUPS,
                {
                    "connection_ids": connection_ids,
                    "classes": [c for c, _, _ in CALL_ERRORS],
                    "codes": [code for _, code, _ in CALL_ERRORS],
                    "messages": [m for _, _, m in CALL_ERRORS],
                    "fingerprints": [fingerprint(c, m) for c, _, m in CALL_ERRORS],
                },
            )
            self._step(
                cursor,
                "connection last success/error",
                CONNECTION_MARKS,
                {
                    "connection_ids": connection_ids,
                    "classes": [c for c, _, _ in CALL_ERRORS],
                    "codes": [code for _, code, _ in CALL_ERRORS],
                    "messages": [m for _, _, m in CALL_ERRORS],
                },
            )

        t0 = time.monotonic()
        verb = "ANALYZE" if opts["no_vacuum"] else "VACUUM (ANALYZE)"
        with connection.cursor() as cursor:
            for table in SEEDED_TABLES:
                cursor.execute(f"{verb} {table}")
        self.stdout.write(f"  {verb.lower()}: {time.monotonic() - t0:.1f} s")
        self.stdout.write(
            self.style.SUCCESS(
                f"Seeded {len(sources)} sources, {len(conns)} connections, "
                f"{opts['deliveries']:,} deliveries and {opts['calls']:,} call records over "
                f"{opts['days']:g} days in {time.monotonic() - started:.1f} s."
            )
        )

    # -- objects -------------------------------------------------------------------------------

    def _sources(self, count: int) -> list[Source]:
        sources = []
        for i in range(count):
            provider = SOURCE_PROVIDERS[i % len(SOURCE_PROVIDERS)]
            source = Source(
                name=f"{PREFIX}{provider} {i + 1:02d}",
                provider=provider,
                rate_limit="100000/m",
                signature_header="X-Signature" if provider == "generic" else "",
            )
            source.set_secret()
            source.save()
            sources.append(source)
        return sources

    def _connections(self, count: int, sources: list[Source]) -> list[Connection]:
        conns = []
        for i in range(count):
            provider = CONNECTION_PROVIDERS[i % len(CONNECTION_PROVIDERS)]
            conn = Connection(name=f"{PREFIX}{provider} {i + 1:02d}", provider=provider)
            conn.set_credentials(f"demo-token-{i + 1:02d}-not-a-real-secret")
            conn.save()
            conns.append(conn)
        # Sources "about" an account: link each to a connection of its provider, if any.
        by_provider: dict[str, list[Connection]] = {}
        for conn in conns:
            by_provider.setdefault(conn.provider, []).append(conn)
        for i, source in enumerate(sources):
            candidates = by_provider.get(source.provider)
            if candidates:
                Source.objects.filter(pk=source.pk).update(
                    connection=candidates[i % len(candidates)]
                )
        return conns

    def _reset(self) -> None:
        t0 = time.monotonic()
        source_ids = [
            str(pk)
            for pk in Source.objects.filter(name__startswith=PREFIX).values_list("pk", flat=True)
        ]
        connection_ids = list(
            Connection.objects.filter(name__startswith=PREFIX).values_list("pk", flat=True)
        )
        by_source = "source_id = ANY(%s::uuid[])"
        of_deliveries = (
            "delivery_id IN (SELECT id FROM webhooks_delivery WHERE source_id = ANY(%s::uuid[]))"
        )
        by_connection = "connection_id = ANY(%s::bigint[])"
        statements = [
            ("webhooks_deliveryerrorgroup", by_source, source_ids),
            ("webhooks_deliveryrollup", by_source, source_ids),
            ("webhooks_attempt", of_deliveries, source_ids),
            ("webhooks_activity", of_deliveries, source_ids),
            ("webhooks_delivery", by_source, source_ids),
            ("connections_callerrorgroup", by_connection, connection_ids),
            ("connections_callrollup", by_connection, connection_ids),
            ("connections_callrecord", by_connection, connection_ids),
        ]
        with transaction.atomic(), connection.cursor() as cursor:
            for table, where, ids in statements:
                cursor.execute(f"DELETE FROM {table} WHERE {where}", [ids])  # noqa: S608
            # The small related tables follow the ORM's own cascades.
            Source.objects.filter(pk__in=source_ids).delete()
            Connection.objects.filter(pk__in=connection_ids).delete()
        self.stdout.write(
            f"  reset: removed {len(source_ids)} demo sources and {len(connection_ids)} demo "
            f"connections with their rows in {time.monotonic() - t0:.1f} s"
        )

    # -- rows ----------------------------------------------------------------------------------

    def _deliveries(self, cursor, sources: list[Source], total: int, span: timedelta) -> None:
        params = {
            "source_ids": [str(s.pk) for s in sources],
            "providers": [s.provider for s in sources],
            "errors": [f"{c}: {m}" for c, m in DELIVERY_ERRORS],
            "n_errors": len(DELIVERY_ERRORS),
            "rej_codes": [code for code, _ in REJECTIONS],
            "rej_texts": [text for _, text in REJECTIONS],
            "n_rej": len(REJECTIONS),
            "k": len(sources),
        }
        self._chunks(cursor, "deliveries", INSERT_DELIVERIES, params, total, span)

    def _calls(self, cursor, conns: list[Connection], total: int, span: timedelta) -> None:
        params = {
            "connection_ids": [c.pk for c in conns],
            "providers": [c.provider for c in conns],
            "classes": [c for c, _, _ in CALL_ERRORS],
            "codes": [code for _, code, _ in CALL_ERRORS],
            "n_errors": len(CALL_ERRORS),
            "k": len(conns),
        }
        self._chunks(cursor, "call records", INSERT_CALLS, params, total, span)

    def _chunks(self, cursor, label, statement, params, total, span) -> None:
        """Rows 1..total in chunks of CHUNK, time-ordered: row g at start + (g - 1) * step."""
        if total <= 0:
            return
        step = span / total
        t0 = time.monotonic()
        done = 0
        for lo in range(1, total + 1, CHUNK):
            hi = min(lo + CHUNK - 1, total)
            cursor.execute(
                statement,
                {**params, "lo": lo, "hi": hi, "start": self.start, "step": step, "now": self.now},
            )
            done = hi
            elapsed = time.monotonic() - t0
            self.stdout.write(
                f"  {label}: {done:,}/{total:,} ({done / elapsed:,.0f} rows/s)", ending="\n"
            )
            self.stdout.flush()
        elapsed = time.monotonic() - t0
        self.stdout.write(f"  {label}: {total:,} rows in {elapsed:.1f} s")

    def _step(self, cursor, label: str, statement: str, params: dict) -> None:
        t0 = time.monotonic()
        cursor.execute(statement, {**params, "now": self.now})
        elapsed = time.monotonic() - t0
        rows = cursor.rowcount
        rate = f", {rows / elapsed:,.0f} rows/s" if elapsed > 0 and rows > 0 else ""
        self.stdout.write(f"  {label}: {rows:,} rows in {elapsed:.1f} s{rate}")


if __name__ == "__main__":  # python -m bench.seed_demo --help
    import os
    import sys

    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hub.settings")
    django.setup()
    Command().run_from_argv(["bench.seed_demo", "seed_demo", *sys.argv[1:]])
