"""The processing floor: a bare Celery app whose task does one SELECT and one UPDATE per id.

The least a Celery worker can do per stored delivery, with the hub's broker settings (Redis,
acks_late, prefetch multiplier 4, ignored results) and a persistent psycopg connection per
worker process (what CELERY_DB_REUSE_MAX gives the hub). Its table, ``bench_floor_job``, lives
in the processing benchmark's database; its queue is ``bench_floor``.

Worker (cwd: the repository root): ``celery -A bench.floor_celery worker --concurrency 2 ...``
with DATABASE_URL and CELERY_BROKER_URL set. As a script it publishes for the benchmark, after
printing ``READY`` and reading one line from stdin (so that its start-up is not measured):

    floor_celery.py drain LO HI BATCH   publish ids LO..HI, BATCH ids per message
    floor_celery.py paced RATE SECONDS  insert a row and publish its id, RATE times a second
"""

import os
import sys
import time

import psycopg
from celery import Celery

TABLE = "bench_floor_job"
CREATE = """
DROP TABLE IF EXISTS bench_floor_job;
CREATE TABLE bench_floor_job (
    id bigserial PRIMARY KEY,
    status varchar(12) NOT NULL DEFAULT 'queued',
    received_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    processed_at timestamptz,
    body bytea NOT NULL DEFAULT '\\x7b7d'
)
"""
FILL = (
    "INSERT INTO bench_floor_job (received_at)"
    " SELECT now() FROM generate_series(1, %s) RETURNING id"
)
INSERT_ONE = "INSERT INTO bench_floor_job DEFAULT VALUES RETURNING id"
SELECT = "SELECT id, status, body FROM bench_floor_job WHERE id = %s"
UPDATE = (
    "UPDATE bench_floor_job SET status = 'processed', processed_at = clock_timestamp()"
    " WHERE id = %s"
)

app = Celery("bench_floor")
app.conf.update(
    broker_url=os.environ.get("CELERY_BROKER_URL", "redis://127.0.0.1:6379/10"),
    broker_connection_retry_on_startup=True,
    broker_connection_timeout=2,
    broker_transport_options={"visibility_timeout": 3600},
    task_default_queue="bench_floor",
    task_ignore_result=True,
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    task_publish_retry=False,
    worker_prefetch_multiplier=4,
)

_conn: psycopg.Connection | None = None


def connection() -> psycopg.Connection:
    """This process's connection, opened at its first task (after the fork) and kept."""
    global _conn
    if _conn is None or _conn.closed:
        _conn = psycopg.connect(os.environ["DATABASE_URL"], autocommit=True)
    return _conn


@app.task(name="bench_floor.process", acks_late=True, ignore_result=True)
def process(ids: list[int]) -> None:
    conn = connection()
    for job_id in ids:
        conn.execute(SELECT, (job_id,)).fetchone()
        conn.execute(UPDATE, (job_id,))


def _ready() -> None:
    print("READY", flush=True)
    sys.stdin.readline()


def _drain(lo: int, hi: int, batch: int) -> None:
    ids = list(range(lo, hi + 1))
    _ready()
    t0 = time.time()
    for start in range(0, len(ids), batch):
        process.apply_async((ids[start : start + batch],), retry=False)
    print("BENCH_PUBLISHED", t0, time.time(), flush=True)


def _paced(rate: float, seconds: float) -> None:
    conn = psycopg.connect(os.environ["DATABASE_URL"], autocommit=True)
    count = int(rate * seconds)
    _ready()
    first = last = None
    start, behind = time.monotonic(), 0.0
    for i in range(count):
        wait = start + i / rate - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        else:
            behind = max(behind, -wait)
        (last,) = conn.execute(INSERT_ONE).fetchone()
        first = first or last
        process.apply_async(([last],), retry=False)
    print("BENCH_PACED", first, last, f"{behind:.4f}", flush=True)


if __name__ == "__main__":
    command, *args = sys.argv[1:]
    if command == "drain":
        _drain(int(args[0]), int(args[1]), int(args[2]))
    elif command == "paced":
        _paced(float(args[0]), float(args[1]))
    else:
        raise SystemExit(f"unknown command {command!r}")
