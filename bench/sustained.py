"""Sustained intake: does processing keep up with what the web side accepts?

The production path on PostgreSQL + Redis: gunicorn with 2 uvicorn workers (as bench/ingest.py)
and Celery workers (prefork, 2 processes each) running the built-in GitHub ``push`` handler
(one Activity row per push). wrk posts the signed ~5 KB push of the ingest benchmark.

1. Capacity: wrk, closed loop, BENCH_CAPACITY_CONNECTIONS (32) connections for
   BENCH_CAPACITY_SECONDS (10), no worker running: the rate one web machine accepts (C).
   Then the workers' capacity: 1 worker, then 2 (after a second capacity run), started on the
   backlog that run left, with the machine to themselves: deliveries / (last processed_at -
   first processed_at) is the rate they process (W). W >= C is the target: workers keep up
   with a web machine when each has a machine of its own.
2. For 1 worker, then 2 workers, and for each of BENCH_SUSTAINED_LOADS (50, 80, 100 % of C):
   paced intake (wrk with a fixed schedule per thread, bench/wrk/github_push.lua RATE) for
   BENCH_SUSTAINED_SECONDS (60) while the workers process. Reported: the rate accepted (2xx /
   s), the processing rate over the window, the backlog when intake stopped (deliveries not yet
   finished), how long the rest took to drain, the drain rate (the workers alone on the
   machine), lag p50 / p99 (processed_at - received_at) of every delivery of the run, and CPU
   per delivery of web, workers and PostgreSQL. Every 2xx must end ``processed``.

On one 2-core machine the web processes, the workers, PostgreSQL and wrk share the cores: at
100 % of C the web side alone takes them all, so the workers can keep up only with what CPU is
left. The drain rate is what the workers do with the machine to themselves, the figure to set
beside C when web and workers run on machines of their own.

Settings (environment): BENCH_SUSTAINED_SECONDS (60), BENCH_SUSTAINED_LOADS (50,80,100),
BENCH_SUSTAINED_WORKERS (1,2), BENCH_CAPACITY_SECONDS (10), BENCH_CAPACITY_CONNECTIONS (32),
BENCH_DRAIN_LIMIT (180 s); PostgreSQL and Redis: see harness.Services.
"""

import os
import secrets
import sys
import time
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime

import harness
from ingest import LUA, base_env, build_body, hub_server, prepare_hub, sign

UNFINISHED = ("queued", "processing", "retrying")
PACED_CONNECTIONS = 32  # enough free connections that the schedule, not the answers, sets the pace
LAG = """
SELECT count(*),
       count(*) FILTER (WHERE status = 'processed'),
       percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM processed_at - received_at)),
       percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM processed_at - received_at)),
       extract(epoch FROM max(processed_at) - min(received_at))
FROM webhooks_delivery WHERE id > %s AND status <> 'rejected'
"""


@dataclass(frozen=True)
class Config:
    seconds: int
    loads: tuple[int, ...]
    workers: tuple[int, ...]
    capacity_seconds: int
    capacity_connections: int
    drain_limit: float

    @classmethod
    def from_env(cls):
        def ints(name, default):
            return tuple(int(v) for v in os.environ.get(name, default).split(","))

        return cls(
            seconds=harness.env_int("BENCH_SUSTAINED_SECONDS", 60),
            loads=ints("BENCH_SUSTAINED_LOADS", "50,80,100"),
            workers=ints("BENCH_SUSTAINED_WORKERS", "1,2"),
            capacity_seconds=harness.env_int("BENCH_CAPACITY_SECONDS", 10),
            capacity_connections=harness.env_int("BENCH_CAPACITY_CONNECTIONS", 32),
            drain_limit=float(os.environ.get("BENCH_DRAIN_LIMIT", "180")),
        )


class Run:
    def __init__(self, services, env, workdir, url, body_path, signature):
        self.services, self.env, self.workdir = services, env, workdir
        self.url, self.body_path, self.signature = url, body_path, signature
        self.tag = secrets.token_hex(4)
        self.worker_no = 0

    def workers(self, count: int) -> list[harness.Daemon]:
        daemons = []
        for _ in range(count):
            self.worker_no += 1
            command = [str(harness.VENV_BIN / "celery"), "-A", "hub", "worker"]
            command += ["--concurrency", "2", "--without-gossip", "--without-mingle"]
            command += ["--loglevel", "WARNING", "--hostname", f"sustained{self.worker_no}@%h"]
            daemons.append(
                harness.Daemon(
                    f"sustained-worker-{self.worker_no}",
                    command,
                    self.env,
                    self.workdir,
                    cwd=harness.HUB_DIR,
                )
            )
        return daemons

    def last_id(self) -> int:
        return self.services.count("SELECT coalesce(max(id), 0) FROM webhooks_delivery")

    def unfinished(self, after: int) -> int:
        return self.services.count(
            "SELECT count(*) FROM webhooks_delivery WHERE id > %s AND status = ANY(%s)",
            (after, list(UNFINISHED)),
        )

    def capacity(self, cfg: Config, run_no: int) -> harness.WrkResult:
        """Closed-loop wrk with no worker: what the web side accepts (the queue just grows).
        Each run posts deliveries of its own (``run_no`` in their ids: no duplicates)."""
        harness.wrk(self.url, LUA, (self.body_path, self.signature, f"{self.tag}-cw{run_no}"),
                    connections=cfg.capacity_connections, seconds=2)  # fmt: skip
        return harness.wrk(
            self.url,
            LUA,
            (self.body_path, self.signature, f"{self.tag}-cap{run_no}"),
            connections=cfg.capacity_connections,
            seconds=cfg.capacity_seconds,
        )

    def drain_capacity(self, cfg: Config, workers: int, after: int) -> dict:
        """Start ``workers`` on the backlog a capacity run left and time its drain (span of
        processed_at: the workers' start-up is not counted)."""
        backlog = self.unfinished(after)
        with ExitStack() as stack:
            daemons = [stack.enter_context(d) for d in self.workers(workers)]
            limit = time.monotonic() + cfg.drain_limit
            while self.unfinished(after) and time.monotonic() < limit:
                for d in daemons:
                    d.check_alive()
                time.sleep(0.2)
            left = self.unfinished(after)
        count, span = self.services.execute(
            "SELECT count(*), extract(epoch FROM max(processed_at) - min(processed_at))"
            " FROM webhooks_delivery WHERE id > %s AND status = 'processed'",
            (after,),
        ).fetchone()
        return {
            "workers": workers,
            "backlog": backlog,
            "left": left,
            "per_s": round(count / float(span), 1) if span else None,
        }

    def sustained(self, cfg: Config, web: harness.Gunicorn, workers: int, rate: float) -> dict:
        tag = f"{self.tag}-w{workers}-r{int(rate)}"
        with ExitStack() as stack:
            daemons = [stack.enter_context(d) for d in self.workers(workers)]
            self._warm(daemons, tag)
            after = self.last_id()
            meter = harness.CpuMeter(
                {
                    "web": web.pids,
                    "workers": lambda: [p for d in daemons for p in d.pids()],
                    "postgres": self.services.backend_pids,
                    "redis": lambda: harness.pids_named("redis-server"),
                }
            )
            meter.start()
            threads = 2
            result = harness.wrk(
                self.url,
                LUA,
                (self.body_path, self.signature, tag, f"{rate / threads:.3f}"),
                connections=PACED_CONNECTIONS,
                seconds=cfg.seconds,
                threads=threads,
            )
            stopped = time.monotonic()
            backlog = self.unfinished(after)
            done_in_window = self.last_id() - after - backlog
            while self.unfinished(after) and time.monotonic() - stopped < cfg.drain_limit:
                for d in daemons:
                    d.check_alive()
                time.sleep(0.2)
            drained = time.monotonic() - stopped
            cpu = meter.stop()
            left = self.unfinished(after)
        total, processed, p50, p99, _span = self.services.execute(LAG, (after,)).fetchone()
        cpu.pop("children")
        other = cpu.pop("other")
        return {
            "workers": workers,
            "target_rate": round(rate, 1),
            "accepted_per_s": round(result.ok / result.seconds, 1),
            "ok_2xx": result.ok,
            "not_2xx": result.not_ok,
            "socket_errors": result.errors,
            "p99_answer_ms": result.latency_us["p99"] / 1000,
            "processed_in_window_per_s": round(done_in_window / result.seconds, 1),
            "backlog_at_end": backlog,
            "drain_s": round(drained, 1),
            "drain_per_s": round(backlog / drained, 1) if backlog and drained > 0.5 else None,
            "left_after_drain_limit": left,
            "stored": total,
            "processed": processed,
            "all_processed": processed == total and total >= result.ok,
            "lag_p50_ms": round((p50 or 0) * 1000, 1),
            "lag_p99_ms": round((p99 or 0) * 1000, 1),
            "cpu_ms_per_delivery": {k: round(v * 1000 / max(total, 1), 3) for k, v in cpu.items()},
            "other_cores_busy": round(other / meter.elapsed, 2),
        }

    def _warm(self, daemons, tag: str) -> None:
        """A few seconds of light traffic so that every worker process has connected and
        imported what it needs; waits until it is all processed."""
        after = self.last_id()
        harness.wrk(self.url, LUA, (self.body_path, self.signature, f"{tag}-warm", "50"),
                    connections=4, seconds=2, threads=1)  # fmt: skip
        limit = time.monotonic() + 60
        while self.unfinished(after):
            for d in daemons:
                d.check_alive()
            if time.monotonic() > limit:
                raise RuntimeError("the warm-up deliveries were not processed within 60 s")
            time.sleep(0.2)


def print_table(capacity: float, runs: list[dict]) -> None:
    print(
        f"\nSustained intake: signed 5 KB GitHub pushes, built-in push handler; one web machine "
        f"(gunicorn, 2 uvicorn workers) accepts {capacity:,.0f}/s closed-loop (capacity, same "
        "run). Paced intake for the window, then the rest drains; lag = processed_at - "
        "received_at over every delivery of the run."
    )
    head = (
        f"{'workers':>7}  {'load':>5}  {'accepted/s':>10}  {'processed/s':>11}  "
        f"{'backlog':>7}  {'drain s':>7}  {'drain/s':>7}  {'lag p50':>9}  {'lag p99':>9}  "
        f"{'all done':>8}  {'cpu ms web+work+pg':>18}"
    )
    print(head)
    print("-" * len(head))
    for r in runs:
        cpu = r["cpu_ms_per_delivery"]
        drain = f"{r['drain_per_s']:,.0f}" if r["drain_per_s"] else "-"
        print(
            f"{r['workers']:>7}  {r['load_pct']:>4}%  {r['accepted_per_s']:>10,.0f}  "
            f"{r['processed_in_window_per_s']:>11,.0f}  {r['backlog_at_end']:>7,}  "
            f"{r['drain_s']:>7.1f}  {drain:>7}  {r['lag_p50_ms']:>6,.0f} ms  "
            f"{r['lag_p99_ms']:>6,.0f} ms  {'yes' if r['all_processed'] else 'NO':>8}  "
            f"{cpu['web']:.2f}+{cpu['workers']:.2f}+{cpu['postgres']:.2f}".rjust(17)
        )


def print_capacities(caps: list[float], drains: list[dict]) -> None:
    print(
        "\nWith the machine to themselves (capacity C: web alone, closed loop; W: workers alone "
        "on the backlog C left). Target: W >= C."
    )
    for cap, d in zip(caps, drains, strict=True):
        rate = d["per_s"] or 0
        verdict = "met" if rate >= cap and not d["left"] else "MISSED"
        print(
            f"  {d['workers']} worker(s): W {rate:,.0f}/s on {d['backlog']:,} deliveries, "
            f"C {cap:,.0f}/s: {rate / cap:.2f}x  {verdict}"
        )


def main() -> int:
    harness.exit_on_sigterm()
    cfg = Config.from_env()
    harness.ensure_wrk()
    workdir = harness.workdir()
    services = harness.Services()
    started = time.monotonic()
    harness.log(
        f"sustained-intake benchmark: loads {cfg.loads} % of capacity for {cfg.seconds} s, "
        f"workers {cfg.workers}, database {services.database}, hub code {harness.HUB_DIR}"
    )
    body = build_body()
    body_path = workdir / "sustained-body.json"
    body_path.write_bytes(body)
    runs = []
    with ExitStack() as stack:
        services.reset()
        stack.callback(services.cleanup)
        env = base_env(services, workdir)
        source_id, secret = prepare_hub(env)
        web = stack.enter_context(hub_server("sustained-hub", env, workdir, 2))
        url = f"{web.base_url}/webhooks/{source_id}/"
        run = Run(services, env, workdir, url, body_path, sign(secret, body))
        caps, drains = [], []
        for workers in cfg.workers:
            after = run.last_id()
            cap = run.capacity(cfg, workers)
            caps.append(cap.ok / cap.seconds)
            harness.log(f"  capacity {caps[-1]:,.0f}/s (p99 {cap.latency_us['p99'] / 1000:.1f} ms)")
            drains.append(run.drain_capacity(cfg, workers, after))
            harness.log(
                f"  {workers} worker(s) alone drained {drains[-1]['backlog']:,} at "
                f"{drains[-1]['per_s'] or 0:,.0f}/s"
            )
        capacity = caps[0]
        services.execute("TRUNCATE webhooks_delivery CASCADE")
        services.flush_broker()
        for workers in cfg.workers:
            for load in cfg.loads:
                r = run.sustained(cfg, web, workers, capacity * load / 100)
                r["load_pct"] = load
                runs.append(r)
                harness.log(
                    f"  {workers} worker(s) {load:>3}%: accepted {r['accepted_per_s']:,.0f}/s, "
                    f"processed {r['processed_in_window_per_s']:,.0f}/s, backlog "
                    f"{r['backlog_at_end']:,}, drained in {r['drain_s']} s, lag p50 "
                    f"{r['lag_p50_ms']:,.0f} ms p99 {r['lag_p99_ms']:,.0f} ms"
                )
        versions = services.versions()
    path = harness.write_results(
        "sustained",
        {
            "benchmark": "sustained",
            "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "code": harness.git_describe(),
            "elapsed_s": round(time.monotonic() - started, 1),
            "config": {
                "seconds": cfg.seconds,
                "loads_pct": list(cfg.loads),
                "workers": list(cfg.workers),
                "capacity_connections": cfg.capacity_connections,
                "paced_connections": PACED_CONNECTIONS,
                "handler": "providers.github.handlers.push",
            },
            "machine": {"cpus": os.cpu_count(), **versions},
            "capacity_per_s": round(capacity, 1),
            "capacity_runs_per_s": [round(c, 1) for c in caps],
            "workers_alone": drains,
            "capacity_p99_ms": cap.latency_us["p99"] / 1000,
            "runs": runs,
        },
    )
    print_table(capacity, runs)
    print_capacities(caps, drains)
    harness.log(f"results: {path.relative_to(harness.ROOT)} ({time.monotonic() - started:.0f} s)")
    return 0 if all(r["all_processed"] for r in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
