"""Processing benchmark: stored deliveries drained by one Celery worker, hub against the floor.

The hub: N stored ``generic`` deliveries of event type ``bench.noop``, whose handler
(bench.handlers.noop, registered by bench.settings_processing) does nothing, published at once
with the hub's own ``webhooks.publisher.publish`` (``webhooks.process_batch`` messages of
HUB_PUBLISH_BATCH ids) and drained by one worker, ``celery -A hub worker --concurrency 2``.
The floor (bench/floor_celery.py): a bare Celery app with the same broker settings whose task
does one SELECT and one UPDATE per id on a table of its own, in the same database, published
in messages of the same size (the like-for-like comparison) and, beside it, one id per message.

Each drain starts from an emptied table and a freshly started, warmed-up worker; rounds of the
targets alternate in order. Measured: throughput as N / (last processed_at - first
processed_at) ("span"; excludes the publisher and the worker's first fetch) and as N / (last
processed_at - publish start) ("wall"); lag = processed_at - received_at, where every row of a
drain counts as received at the publish start, so the lag is mostly queueing behind the
backlog. A paced run then inserts and publishes deliveries at BENCH_PACED_RATE per second (the
hub through ``webhooks.publisher.enqueue``, as ingest does; the floor one id per message) and
reports the lag of each from its insertion.

Target: hub throughput >= 70% of the floor's (messages of the same size).

Settings (environment): BENCH_DELIVERIES (20000), BENCH_PROC_ROUNDS (3), BENCH_PACED_RATE
(200 per second; 0 skips the paced run), BENCH_PACED_SECONDS (20), BENCH_PROC_DB
(hub_bench_proc), BENCH_STRICT=1 to exit 1 when the target is missed; PostgreSQL and Redis: see
harness.Services.
"""

import os
import platform
import subprocess
import sys
import time
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime

import floor_celery
import harness
from ingest import base_env, manage

TARGET_THROUGHPUT = 0.70
BUSY_MACHINE_CORES = 0.25
WARMUP = 100  # deliveries processed by a new worker before a measured drain
STALL_SECONDS = 60.0  # no progress for this long: the run has failed

SQL = {
    "hub": {
        "truncate": "TRUNCATE webhooks_delivery CASCADE",
        "vacuum": "VACUUM ANALYZE webhooks_delivery",
        "done": "SELECT count(*) FROM webhooks_delivery WHERE status = 'processed'"
        " AND id BETWEEN %s AND %s",
        "states": "SELECT status, count(*) FROM webhooks_delivery WHERE id BETWEEN %s AND %s"
        " GROUP BY status",
        "times": "SELECT extract(epoch FROM received_at)::float8,"
        " extract(epoch FROM processed_at)::float8 FROM webhooks_delivery"
        " WHERE id BETWEEN %s AND %s",
        "attempts": "SELECT count(*) FROM webhooks_attempt WHERE outcome = 'processed'"
        " AND delivery_id BETWEEN %s AND %s",
    },
    "floor": {
        "truncate": "TRUNCATE bench_floor_job RESTART IDENTITY",
        "vacuum": "VACUUM ANALYZE bench_floor_job",
        "done": "SELECT count(*) FROM bench_floor_job WHERE processed_at IS NOT NULL"
        " AND id BETWEEN %s AND %s",
        "states": "SELECT status, count(*) FROM bench_floor_job WHERE id BETWEEN %s AND %s"
        " GROUP BY status",
        "times": "SELECT extract(epoch FROM received_at)::float8,"
        " extract(epoch FROM processed_at)::float8 FROM bench_floor_job"
        " WHERE id BETWEEN %s AND %s",
    },
}


def sql_for(target: str) -> dict[str, str]:
    return SQL["hub" if target == "hub" else "floor"]


CREATE_SOURCE = """
from webhooks.models import Source
s = Source(name='bench', provider='generic', signature_header='X-Signature',
           signature_prefix='sha256=', id_header='X-Request-Id', event_header='X-Event',
           rate_limit='100000000/m')
s.set_secret()
s.save()
print('BENCH_SOURCE', s.id)
"""

HUB_FILL = """
from django.utils import timezone
from webhooks.models import Delivery

def fill(count):
    if not count:
        return ()
    now = timezone.now()
    rows = [
        Delivery(source_id={source!r}, provider='generic', event_type='bench.noop',
                 status='queued', received_at=now, queued_at=now, body=b'{{}}', body_size=2)
        for _ in range(count)
    ]
    done = Delivery.objects.bulk_create(rows, batch_size=2000)
    return done[0].pk, done[-1].pk

print('BENCH_IDS', *fill({warm}), *fill({count}))
"""

HUB_PUBLISH = """
import sys, time
from webhooks.publisher import publish
ids = list(range({lo}, {hi} + 1))
print('READY', flush=True)
sys.stdin.readline()
t0 = time.time()
ok = publish(ids)
print('BENCH_PUBLISHED', t0, time.time(), ok, flush=True)
"""

HUB_PACED = """
import sys, time
from django.utils import timezone
from webhooks.publisher import enqueue, flush
from webhooks.models import Delivery

rate, count = {rate}, {count}
Delivery.objects.exists()  # connect before the clock starts
from webhooks.tasks import process_batch
process_batch.apply_async(([],), retry=False)  # and publish once: warm, as a running web process
print('READY', flush=True)
sys.stdin.readline()
first = last = None
start, behind = time.monotonic(), 0.0
for i in range(count):
    wait = start + i / rate - time.monotonic()
    if wait > 0:
        time.sleep(wait)
    else:
        behind = max(behind, -wait)
    now = timezone.now()
    last = Delivery.objects.create(
        source_id={source!r}, provider='generic', event_type='bench.noop', status='queued',
        received_at=now, queued_at=now, body=b'{{}}', body_size=2,
    ).pk
    first = first or last
    enqueue(last)
# flush() publishes what is still queued but does not wait for the batch the publisher thread
# is filling (HUB_PUBLISH_LINGER): give that one time to go, or its ids wait for the sweep.
time.sleep(0.2)
flush()
print('BENCH_PACED', first, last, f'{{behind:.4f}}', flush=True)
"""


@dataclass(frozen=True)
class Config:
    deliveries: int
    rounds: int
    paced_rate: float
    paced_seconds: float
    batch: int
    strict: bool

    @classmethod
    def from_env(cls):
        return cls(
            deliveries=harness.env_int("BENCH_DELIVERIES", 20000),
            rounds=harness.env_int("BENCH_PROC_ROUNDS", 3),
            paced_rate=float(os.environ.get("BENCH_PACED_RATE", "200")),
            paced_seconds=float(os.environ.get("BENCH_PACED_SECONDS", "20")),
            batch=harness.env_int("HUB_PUBLISH_BATCH", 20),
            strict=os.environ.get("BENCH_STRICT", "0") == "1",
        )


class Bench:
    """The database, the two environments and the workers of this benchmark."""

    def __init__(self, services: harness.Services, workdir, cfg: Config):
        self.services, self.workdir, self.cfg = services, workdir, cfg
        env = base_env(services, workdir)
        # bench.settings_processing and bench.handlers come from the repository root.
        env["PYTHONPATH"] = f"{harness.HUB_DIR}{os.pathsep}{harness.ROOT}"
        self.hub_env = dict(env, DJANGO_SETTINGS_MODULE="bench.settings_processing")
        self.floor_env = dict(env, PYTHONPATH=str(harness.ROOT))
        self.source_id = ""
        self.worker_no = 0

    # --- set-up -------------------------------------------------------------------------
    def prepare(self) -> None:
        manage(self.hub_env, "migrate", "--noinput", "-v0")
        out = manage(self.hub_env, "shell", "-c", CREATE_SOURCE)
        self.source_id = _field(out, "BENCH_SOURCE")[0]
        self.sql(floor_celery.CREATE)

    def sql(self, statement: str, params=()):
        return self.services.execute(statement, params)

    def fill(self, target: str, count: int) -> tuple[tuple[int, int], tuple[int, int] | None]:
        """Empty the target's table, then insert WARMUP rows and ``count`` rows; returns the
        (first, last) ids of each group (None when count is 0)."""
        queries = sql_for(target)
        self.sql(queries["truncate"])
        if target == "hub":
            code = HUB_FILL.format(source=self.source_id, warm=WARMUP, count=count)
            out = manage(self.hub_env, "shell", "-c", code)
            ids = [int(v) for v in _field(out, "BENCH_IDS")]
        else:
            ids = []
            for rows in (WARMUP, count):
                got = [r[0] for r in self.sql(floor_celery.FILL, (rows,)).fetchall()]
                ids += [min(got), max(got)] if got else []
        self.sql(queries["vacuum"])
        return (ids[0], ids[1]), ((ids[2], ids[3]) if count else None)

    # --- workers and publishers ---------------------------------------------------------
    def worker(self, target: str) -> harness.Daemon:
        self.worker_no += 1
        app, env, cwd = "hub", self.hub_env, harness.HUB_DIR
        if target != "hub":
            app, env, cwd = "bench.floor_celery", self.floor_env, harness.ROOT
        command = [str(harness.VENV_BIN / "celery"), "-A", app, "worker"]
        command += ["--concurrency", "2", "--without-gossip", "--without-mingle"]
        command += ["--loglevel", "WARNING", "--hostname", f"bench{self.worker_no}@%h"]
        return harness.Daemon(
            f"worker-{self.worker_no}-{target}", command, env, self.workdir, cwd=cwd
        )

    def publisher(self, target: str, *args) -> subprocess.Popen:
        """A publishing process, stopped after start-up until ``go()`` (READY handshake)."""
        if target == "hub":
            command = [harness.PYTHON, "manage.py", "shell", "-v0", "-c", args[0]]
            env, cwd = self.hub_env, harness.HUB_DIR
        else:
            command = [harness.PYTHON, str(harness.BENCH_DIR / "floor_celery.py"), *args]
            env, cwd = self.floor_env, harness.ROOT
        proc = subprocess.Popen(
            command,
            cwd=cwd,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        seen = []
        for line in proc.stdout:  # Django's shell may print a line of its own first
            if line.strip() == "READY":
                return proc
            seen.append(line)
        proc.kill()
        _, err = proc.communicate()
        raise RuntimeError(f"publisher for {target} did not start:\n{''.join(seen)}{err}")

    @staticmethod
    def go(proc: subprocess.Popen) -> None:
        proc.stdin.write("go\n")
        proc.stdin.flush()

    @staticmethod
    def finish(proc: subprocess.Popen, marker: str, timeout: float = 120) -> list[str]:
        out, err = proc.communicate(timeout=timeout)
        if proc.returncode != 0:
            raise RuntimeError(f"publisher failed ({proc.returncode}):\n{out}\n{err}")
        return _field(out, marker)

    def publish_drain(self, target: str, lo: int, hi: int) -> subprocess.Popen:
        if target == "hub":
            return self.publisher("hub", HUB_PUBLISH.format(lo=lo, hi=hi))
        batch = self.cfg.batch if target == "floor" else 1
        return self.publisher(target, "drain", str(lo), str(hi), str(batch))

    # --- counting -----------------------------------------------------------------------
    def wait_done(self, target, lo, hi, worker: harness.Daemon, limit=None) -> float:
        """Poll (one COUNT per 0.2 s) until every id in lo..hi is processed."""
        query, want = sql_for(target)["done"], hi - lo + 1
        last, since = -1, time.monotonic()
        while True:
            done = self.services.count(query, (lo, hi))
            if done >= want:
                return time.monotonic()
            worker.check_alive()
            if done != last:
                last, since = done, time.monotonic()
            elif time.monotonic() - since > (limit or STALL_SECONDS):
                raise RuntimeError(
                    f"{target}: stuck at {done}/{want} processed; states: "
                    f"{self.states(target, lo, hi)}\n{worker.log_tail()}"
                )
            time.sleep(0.2)

    def states(self, target, lo, hi) -> dict:
        return dict(self.sql(sql_for(target)["states"], (lo, hi)).fetchall())

    def times(self, target, lo, hi) -> list[tuple[float, float]]:
        """(received_at, processed_at) of lo..hi, as epoch seconds."""
        return self.sql(sql_for(target)["times"], (lo, hi)).fetchall()

    def meter(self, worker: harness.Daemon, publisher: subprocess.Popen) -> harness.CpuMeter:
        """CPU of the worker, PostgreSQL, Redis and the publishing process (so that "other" is
        only what the rest of the machine used)."""
        return harness.CpuMeter(
            {
                "worker": worker.pids,
                "publisher": lambda: [publisher.pid],
                "postgres": self.services.backend_pids,
                "redis": lambda: harness.pids_named("redis-server"),
            }
        )

    # --- one measured run ---------------------------------------------------------------
    def warm_up(self, target, worker, lo, hi) -> None:
        proc = self.publish_drain(target, lo, hi)
        self.go(proc)
        self.finish(proc, "BENCH_PUBLISHED")
        self.wait_done(target, lo, hi, worker, limit=90)

    def drain(self, target: str) -> dict:
        n = self.cfg.deliveries
        (wlo, whi), (lo, hi) = self.fill(target, n)
        assert hi - lo + 1 == n, (lo, hi, n)
        with self.worker(target) as worker:
            self.warm_up(target, worker, wlo, whi)
            proc = self.publish_drain(target, lo, hi)
            meter = self.meter(worker, proc)
            meter.start()
            self.go(proc)
            self.wait_done(target, lo, hi, worker)
            cpu = meter.stop()
            t0, t1, *_ = (float(v) for v in self.finish(proc, "BENCH_PUBLISHED")[:2])
        rows = self.times(target, lo, hi)
        processed = [p for _, p in rows]
        first, last = min(processed), max(processed)
        lags = [p - t0 for p in processed]  # all were "received" when publishing started
        result = {
            "target": target,
            "mode": "drain",
            "deliveries": n,
            "ids_per_message": self.ids_per_message(target),
            "publish_s": round(t1 - t0, 3),
            "span_s": round(last - first, 3),
            "wall_s": round(last - t0, 3),
            "rate_span": round(n / (last - first), 1),
            "rate_wall": round(n / (last - t0), 1),
            **_lag_fields(lags),
            **self.cpu_fields(cpu, meter, n),
        }
        if target == "hub":
            result["attempts"] = self.services.count(SQL["hub"]["attempts"], (lo, hi))
        return result

    def paced(self, target: str) -> dict:
        rate, seconds = self.cfg.paced_rate, self.cfg.paced_seconds
        count = int(rate * seconds)
        (wlo, whi), _ = self.fill(target, 0)
        with self.worker(target) as worker:
            self.warm_up(target, worker, wlo, whi)
            if target == "hub":
                code = HUB_PACED.format(rate=rate, count=count, source=self.source_id)
                proc = self.publisher("hub", code)
            else:
                proc = self.publisher(target, "paced", str(rate), str(seconds))
            meter = self.meter(worker, proc)
            meter.start()
            self.go(proc)
            first, last, behind = self.finish(proc, "BENCH_PACED", timeout=seconds * 3 + 60)
            lo, hi = int(first), int(last)
            self.wait_done(target, lo, hi, worker)
            cpu = meter.stop()
        rows = self.times(target, lo, hi)
        lags = [p - r for r, p in rows]
        return {
            "target": target,
            "mode": "paced",
            "deliveries": len(rows),
            "rate": rate,
            "seconds": seconds,
            "publisher_max_behind_s": float(behind),
            **_lag_fields(lags),
            **self.cpu_fields(cpu, meter, len(rows)),
        }

    def ids_per_message(self, target) -> int:
        return 1 if target == "floor1" else self.cfg.batch

    @staticmethod
    def cpu_fields(cpu, meter, n) -> dict:
        # The publisher, once reaped (paced runs), shows up as this process's children.
        cpu["publisher"] = cpu.get("publisher", 0.0) + cpu.pop("children", 0.0)
        other = cpu.pop("other")
        return {
            "cpu_ms_per_delivery": {k: round(v * 1000 / n, 3) for k, v in cpu.items()},
            "cpu_cores_busy": round(sum(cpu.values()) / meter.elapsed, 2),
            "other_cores_busy": round(other / meter.elapsed, 2),
        }


def _field(out: str, marker: str) -> list[str]:
    for line in out.splitlines():
        if line.startswith(marker + " "):
            return line.split()[1:]
    raise RuntimeError(f"no {marker} line in:\n{out}")


def _lag_fields(lags: list[float]) -> dict:
    return {
        "lag_p50_ms": round(harness.percentile(lags, 50) * 1000, 1),
        "lag_p99_ms": round(harness.percentile(lags, 99) * 1000, 1),
        "lag_max_ms": round(max(lags) * 1000, 1),
    }


LABELS = {"hub": "hub", "floor": "floor", "floor1": "floor, 1 id/msg"}


def summarise(results: list[dict], cfg: Config) -> dict:
    drains = [r for r in results if r["mode"] == "drain"]
    sides = {}
    for target in LABELS:
        rows = [r for r in drains if r["target"] == target]
        if not rows:
            continue
        sides[target] = {
            "ids_per_message": rows[0]["ids_per_message"],
            "rate_span": round(harness.median(r["rate_span"] for r in rows), 1),
            "rate_wall": round(harness.median(r["rate_wall"] for r in rows), 1),
            "lag_p50_ms": round(harness.median(r["lag_p50_ms"] for r in rows), 1),
            "lag_p99_ms": round(harness.median(r["lag_p99_ms"] for r in rows), 1),
            "publish_s": round(harness.median(r["publish_s"] for r in rows), 2),
            "cpu_ms_per_delivery": {
                k: round(harness.median(r["cpu_ms_per_delivery"][k] for r in rows), 3)
                for k in rows[0]["cpu_ms_per_delivery"]
            },
            "other_cores_busy": round(harness.median(r["other_cores_busy"] for r in rows), 2),
        }

    def ratio(floor: str, key: str) -> float:
        pairs = [
            (h, f)
            for h in drains
            for f in drains
            if h["target"] == "hub" and f["target"] == floor and h["round"] == f["round"]
        ]
        return round(harness.median(h[key] / f[key] for h, f in pairs), 3)

    ratios = {"floor": {k: ratio("floor", k) for k in ("rate_span", "rate_wall")}}
    if "floor1" in sides:
        ratios["floor1"] = {k: ratio("floor1", k) for k in ("rate_span", "rate_wall")}
    paced = {r["target"]: r for r in results if r["mode"] == "paced"}
    return {
        "drain": sides,
        "ratios": ratios,
        "paced": paced,
        "target_met": ratios["floor"]["rate_span"] >= TARGET_THROUGHPUT,
    }


def run_rounds(bench: Bench, cfg: Config) -> list[dict]:
    order = ["hub", "floor", "floor1"]
    results = []
    for round_no in range(1, cfg.rounds + 1):
        turn = order if round_no % 2 else order[::-1]
        for target in turn:
            r = bench.drain(target)
            r["round"] = round_no
            results.append(r)
            cpu = " ".join(f"{k} {v:.3f}" for k, v in r["cpu_ms_per_delivery"].items())
            harness.log(
                f"  round {round_no} {LABELS[target]:<15} {r['rate_span']:7.0f}/s span"
                f" {r['rate_wall']:7.0f}/s wall  lag p50 {r['lag_p50_ms']:7.0f} ms"
                f" p99 {r['lag_p99_ms']:7.0f} ms  publish {r['publish_s']:.2f} s"
                f"  cpu ms/delivery: {cpu}; other work {r['other_cores_busy']:.2f} cores"
                + (f"  attempts {r['attempts']}" if "attempts" in r else "")
            )
    if cfg.paced_rate > 0 and cfg.paced_seconds > 0:
        for target in ("hub", "floor1"):
            r = bench.paced(target)
            results.append(r)
            harness.log(
                f"  paced {r['rate']:g}/s {LABELS[target]:<15} lag p50 {r['lag_p50_ms']:.1f} ms"
                f" p99 {r['lag_p99_ms']:.1f} ms max {r['lag_max_ms']:.1f} ms"
                f"  (publisher at most {r['publisher_max_behind_s'] * 1000:.0f} ms behind)"
            )
    return results


def print_table(summary: dict, cfg: Config) -> None:
    sides, ratios = summary["drain"], summary["ratios"]

    def ms(v):
        return f"{v:,.0f} ms" if v >= 100 else f"{v:.1f} ms"

    columns = [
        ("", lambda t, s: LABELS[t]),
        ("ids/msg", lambda t, s: str(s["ids_per_message"])),
        ("deliveries/s (span)", lambda t, s: f"{s['rate_span']:,.0f}"),
        ("deliveries/s (wall)", lambda t, s: f"{s['rate_wall']:,.0f}"),
        ("hub/this (span)", lambda t, s: f"{ratios[t]['rate_span']:.2f}x" if t in ratios else ""),
        ("lag p50", lambda t, s: ms(s["lag_p50_ms"])),
        ("lag p99", lambda t, s: ms(s["lag_p99_ms"])),
        ("cpu ms/delivery worker+pg", lambda t, s: _cpu(s)),
        ("other cores", lambda t, s: f"{s['other_cores_busy']:.2f}"),
    ]
    cells = [[title for title, _ in columns]]
    cells += [[cell(t, s) for _, cell in columns] for t, s in sides.items()]
    widths = [max(len(row[i]) for row in cells) for i in range(len(columns))]
    lines = ["  ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)) for row in cells]
    harness.log("")
    harness.log(
        f"Processing, hub vs floor: {cfg.deliveries:,} stored deliveries published at once, "
        f"drained by one worker (prefork, 2 processes); medians of {cfg.rounds} round(s);"
    )
    harness.log(
        "span = N / (last - first processed_at); wall = N / (last processed_at - publish start);"
        " lag = processed_at - publish start (queueing behind the backlog); ratios = medians of"
        " paired rounds."
    )
    harness.log(lines[0])
    harness.log("-" * len(lines[0]))
    for line in lines[1:]:
        harness.log(line)
    ok = "ok" if summary["target_met"] else "MISS"
    harness.log(
        f"target: hub deliveries/s (span) >= {TARGET_THROUGHPUT:.0%} of the floor's at the same "
        f"ids per message: {ratios['floor']['rate_span']:.2f}x {ok}"
    )
    paced = summary["paced"]
    if paced:
        harness.log(
            f"Paced, {cfg.paced_rate:g}/s for {cfg.paced_seconds:g} s (lag = processed_at - "
            "received_at; hub via enqueue as ingest does, floor 1 id/msg):"
        )
        for target, r in paced.items():
            harness.log(
                f"  {LABELS[target]:<15} lag p50 {ms(r['lag_p50_ms']):>8}  p99 "
                f"{ms(r['lag_p99_ms']):>8}  max {ms(r['lag_max_ms']):>8}  cpu ms/delivery "
                f"worker+pg {_cpu(r)}"
            )
    busiest = max(s["other_cores_busy"] for s in sides.values())
    if busiest > BUSY_MACHINE_CORES:
        harness.log(
            f"WARNING: other work on this machine used up to {busiest:.2f} cores (median) during"
            " the drains: absolute figures are depressed; compare the ratios."
        )


def _cpu(side: dict) -> str:
    cpu = side["cpu_ms_per_delivery"]
    return f"{cpu['worker']:.2f}+{cpu['postgres']:.2f}"


def main() -> int:
    harness.exit_on_sigterm()
    cfg = Config.from_env()
    workdir = harness.workdir()
    services = harness.Services(database=os.environ.get("BENCH_PROC_DB", "hub_bench_proc"))
    started = time.monotonic()
    harness.log(
        f"processing benchmark: {cfg.deliveries} deliveries, {cfg.rounds} round(s), paced "
        f"{cfg.paced_rate:g}/s for {cfg.paced_seconds:g} s, database {services.database}, "
        f"Redis dbs {services.broker_db}/{services.cache_db}, hub code {harness.HUB_DIR}"
    )
    with ExitStack() as stack:
        services.reset()
        stack.callback(services.cleanup)
        bench = Bench(services, workdir, cfg)
        bench.prepare()
        results = run_rounds(bench, cfg)
        versions = services.versions()

    summary = summarise(results, cfg)
    path = harness.write_results(
        "processing",
        {
            "benchmark": "processing",
            "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "code": harness.git_describe(),
            "elapsed_s": round(time.monotonic() - started, 1),
            "config": {
                "deliveries": cfg.deliveries,
                "rounds": cfg.rounds,
                "ids_per_message": cfg.batch,
                "worker": "celery prefork, concurrency 2, one worker",
                "paced_rate": cfg.paced_rate,
                "paced_seconds": cfg.paced_seconds,
                "throughput": "span: N / (last - first processed_at); "
                "wall: N / (last processed_at - publish start)",
            },
            "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), **versions},
            "targets": {"throughput_ratio_min": TARGET_THROUGHPUT},
            "summary": summary,
            "all_targets_met": summary["target_met"],
            "runs": results,
        },
    )
    print_table(summary, cfg)
    harness.log(f"results: {path.relative_to(harness.ROOT)} ({time.monotonic() - started:.0f} s)")
    if cfg.strict and not summary["target_met"]:
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
