"""Ingest benchmark: the hub's receiving endpoint against the floor, under wrk.

Serves the hub as production does (gunicorn over 2 uvicorn workers, hub.asgi) on PostgreSQL +
Redis, and beside it the floor app (bench/floor: one INSERT of the body, gunicorn with 2 sync
workers, its fastest plain configuration; same database settings). wrk posts a signed
~5 KB GitHub push with a unique X-GitHub-Delivery per request. For each connection count the
hub and floor rounds are interleaved (their order alternating) so that drift on a shared machine
affects both alike; each round has its own warm-up. No Celery worker runs: the published tasks
queue up in Redis, as intended, since this measures ingest only.

Targets: hub throughput >= 80% of the floor's, hub p99 < 2x the floor's, nothing lost
(0 <= rows stored - 2xx answered <= connections: wrk stops with up to one request per
connection in flight, which the server still stores).

Settings (environment): BENCH_SECONDS (10) per round, BENCH_WARMUP (2) seconds before each
round, BENCH_ROUNDS (3) rounds per connection count (medians are reported),
BENCH_CONNECTIONS (8,32,64), BENCH_WRK_THREADS (2), BENCH_WORKERS (2 gunicorn workers),
BENCH_STRICT=1 to exit 1 when a target is missed; database and Redis: see harness.Services.
"""

import hashlib
import hmac
import json
import os
import platform
import secrets
import sqlite3
import subprocess
import sys
import time
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import harness
from cryptography.fernet import Fernet

FIXTURE = harness.BENCH_DIR / "fixtures" / "github" / "push.with-new-branch.json"
LUA = harness.BENCH_DIR / "wrk" / "github_push.lua"
BODY_BYTES = 5000

HUB_ROWS = "SELECT count(*) FROM webhooks_delivery WHERE status <> 'rejected'"
FLOOR_ROWS = "SELECT count(*) FROM bench_floor_delivery"

HUB_WORKER_CLASS = "hub.server.UvicornWorker"  # as the Procfile and the README recipe
TARGET_THROUGHPUT = 0.80  # hub req/s >= 80% of the floor's
TARGET_P99 = 2.0  # hub p99 < 2x the floor's
BUSY_MACHINE_CORES = 0.25  # other work above this (median per point) makes a run suspect

CREATE_SOURCE = """
from webhooks.models import Source
s = Source(name='bench', provider='github', rate_limit='100000000/m')
secret = s.set_secret()
s.save()
print('BENCH_SOURCE', s.id, secret)
"""


@dataclass(frozen=True)
class Config:
    seconds: int
    warmup: int
    rounds: int
    connections: tuple[int, ...]
    wrk_threads: int
    workers: int
    strict: bool

    @classmethod
    def from_env(cls):
        return cls(
            seconds=harness.env_int("BENCH_SECONDS", 10),
            warmup=harness.env_int("BENCH_WARMUP", 2),
            rounds=harness.env_int("BENCH_ROUNDS", 3),
            connections=tuple(
                int(c) for c in os.environ.get("BENCH_CONNECTIONS", "8,32,64").split(",")
            ),
            wrk_threads=harness.env_int("BENCH_WRK_THREADS", 2),
            workers=harness.env_int("BENCH_WORKERS", 2),
            strict=os.environ.get("BENCH_STRICT", "0") == "1",
        )


@dataclass
class Target:
    name: str
    url: str
    rows_query: str
    server: harness.Gunicorn
    services: harness.Services

    def cpu_meter(self) -> harness.CpuMeter:
        return harness.CpuMeter(
            {
                "app": self.server.pids,
                "postgres": self.services.backend_pids,
                "redis": lambda: harness.pids_named("redis-server"),
            }
        )


def build_body() -> bytes:
    """The fixture, compact, with repository API-URL templates dropped (last first) until it
    fits in BODY_BYTES; still valid JSON with every top-level key of the original."""
    payload = json.loads(FIXTURE.read_bytes())

    def dump() -> bytes:
        return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()

    repository = payload["repository"]
    droppable = [k for k, v in repository.items() if k.endswith("_url") and "api.github" in str(v)]
    body = dump()
    while len(body) > BODY_BYTES and droppable:
        del repository[droppable.pop()]
        body = dump()
    return body


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def base_env(services: harness.Services, workdir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "HUB_"))}
    env.update(
        DATABASE_URL=services.database_url,
        CELERY_BROKER_URL=services.broker_url,
        CACHE_URL=services.cache_url,
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        HUB_ENCRYPTION_KEYS=Fernet.generate_key().decode(),
        HUB_DATA_DIR=str(workdir / "hub-data"),
        DJANGO_ALLOWED_HOSTS="127.0.0.1,localhost",
        PYTHONPATH=str(harness.HUB_DIR),
        PYTHONUNBUFFERED="1",
    )
    env.pop("DJANGO_SETTINGS_MODULE", None)
    return env


def manage(env, *args) -> str:
    proc = subprocess.run(
        [harness.PYTHON, "manage.py", *args],
        cwd=harness.HUB_DIR,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"manage.py {args[0]} failed:\n{proc.stdout}\n{proc.stderr}")
    return proc.stdout


def hub_server(name: str, env, workdir, workers: int) -> harness.Gunicorn:
    """The hub as production serves it: gunicorn over uvicorn workers running hub.asgi."""
    return harness.Gunicorn(name, "hub.asgi:application", env, workdir, workers=workers,
                            chdir=harness.HUB_DIR, worker_class=HUB_WORKER_CLASS)  # fmt: skip


def floor_server(name: str, env, workdir, workers: int) -> harness.Gunicorn:
    """The floor: the bare INSERT view under gunicorn's sync workers."""
    return harness.Gunicorn(name, "bench.floor.wsgi", env, workdir, workers=workers)


def prepare_hub(env) -> tuple[str, str]:
    """Migrate the fresh database and create the GitHub source; returns (id, secret)."""
    manage(env, "migrate", "--noinput", "-v0")
    out = manage(env, "shell", "-c", CREATE_SOURCE)
    line = next(line for line in out.splitlines() if line.startswith("BENCH_SOURCE "))
    _, source_id, secret = line.split()
    return source_id, secret


def prepare_floor(env) -> None:
    code = (
        "import django; django.setup(); from bench.floor.urls import create_table; create_table()"
    )
    proc = subprocess.run(
        [harness.PYTHON, "-c", code],
        cwd=harness.ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"creating the floor table failed:\n{proc.stderr}")


def measure(services, target: Target, cfg: Config, conns: int, body_path, signature, tag):
    """Warm-up, then one counted round; rows are counted once the server has gone quiet."""
    args = (body_path, signature)
    harness.wrk(
        target.url,
        LUA,
        (*args, f"{tag}-warm"),
        connections=conns,
        seconds=cfg.warmup,
        threads=cfg.wrk_threads,
    )
    before = services.wait_quiet(target.rows_query)
    meter = target.cpu_meter()
    meter.start()
    result = harness.wrk(
        target.url,
        LUA,
        (*args, tag),
        connections=conns,
        seconds=cfg.seconds,
        threads=cfg.wrk_threads,
    )
    after = services.wait_quiet(target.rows_query)
    cpu = meter.stop()  # includes storing the requests in flight when wrk stopped
    cpu["wrk"] = cpu.pop("children")
    other = cpu.pop("other")
    rows = after - before
    return {
        "target": target.name,
        "connections": conns,
        "rps": round(result.rps, 1),
        "p50_ms": result.latency_us["p50"] / 1000,
        "p90_ms": result.latency_us["p90"] / 1000,
        "p99_ms": result.latency_us["p99"] / 1000,
        "max_ms": result.latency_us["max"] / 1000,
        "requests": result.requests,
        "ok_2xx": result.ok,
        "not_2xx": result.not_ok,
        "statuses": {str(k): v for k, v in sorted(result.statuses.items())},
        "socket_errors": result.errors,
        "rows": rows,
        "rows_minus_2xx": rows - result.ok,
        "nothing_lost": 0 <= rows - result.ok <= conns,
        "seconds": round(result.seconds, 3),
        "cpu_ms_per_request": {k: round(v * 1000 / max(rows, 1), 3) for k, v in cpu.items()},
        "cpu_cores_busy": round(sum(cpu.values()) / meter.elapsed, 2),
        "other_cores_busy": round(other / meter.elapsed, 2),
    }


def run_rounds(services, targets: dict[str, Target], cfg, body_path, signature) -> list[dict]:
    run_id = secrets.token_hex(4)
    results = []
    for round_no in range(1, cfg.rounds + 1):
        for index, conns in enumerate(cfg.connections):
            order = ("hub", "floor") if (round_no + index) % 2 else ("floor", "hub")
            for name in order:
                tag = f"{run_id}-r{round_no}-c{conns}-{name}"
                r = measure(services, targets[name], cfg, conns, body_path, signature, tag)
                r["round"] = round_no
                results.append(r)
                extra = "" if r["not_2xx"] == 0 else f" non-2xx {r['statuses']}"
                cpu = " ".join(f"{k} {v:.2f}" for k, v in r["cpu_ms_per_request"].items())
                cpu += f"; other work on the machine {r['other_cores_busy']:.2f} cores"
                harness.log(
                    f"  round {round_no} c={conns:<3} {name:<5} {r['rps']:8.1f} req/s"
                    f"  p50 {r['p50_ms']:7.2f} ms  p99 {r['p99_ms']:7.2f} ms"
                    f"  rows-2xx {r['rows_minus_2xx']:+d}  cpu ms/req: {cpu}{extra}"
                )
    return results


def summarise(results: list[dict], cfg: Config) -> list[dict]:
    summary = []
    for conns in cfg.connections:
        at = [r for r in results if r["connections"] == conns]
        hub = [r for r in at if r["target"] == "hub"]
        floor = [r for r in at if r["target"] == "floor"]
        pairs = [
            (h, f) for h in hub for f in floor if h["round"] == f["round"]
        ]  # the two rounds measured next to each other
        throughput_ratio = harness.median(h["rps"] / f["rps"] for h, f in pairs)
        p99_ratio = harness.median(h["p99_ms"] / f["p99_ms"] for h, f in pairs)
        lost_ok = all(r["nothing_lost"] for r in hub)

        def side(rows):
            return {
                "rps": round(harness.median(r["rps"] for r in rows), 1),
                "p50_ms": round(harness.median(r["p50_ms"] for r in rows), 2),
                "p99_ms": round(harness.median(r["p99_ms"] for r in rows), 2),
                "ok_2xx": sum(r["ok_2xx"] for r in rows),
                "not_2xx": sum(r["not_2xx"] for r in rows),
                "rows": sum(r["rows"] for r in rows),
                "rows_minus_2xx": [r["rows_minus_2xx"] for r in rows],
                "other_cores_busy": round(harness.median(r["other_cores_busy"] for r in rows), 2),
                "cpu_ms_per_request": {
                    k: round(harness.median(r["cpu_ms_per_request"][k] for r in rows), 3)
                    for k in rows[0]["cpu_ms_per_request"]
                },
            }

        summary.append(
            {
                "connections": conns,
                "hub": side(hub),
                "floor": side(floor),
                "throughput_ratio": round(throughput_ratio, 3),
                "p99_ratio": round(p99_ratio, 3),
                "targets": {
                    "throughput": throughput_ratio >= TARGET_THROUGHPUT,
                    "p99": p99_ratio < TARGET_P99,
                    "nothing_lost": lost_ok,
                },
            }
        )
    return summary


def pass_fail(ok: bool) -> str:
    return "ok" if ok else "MISS"


def print_table(summary: list[dict], cfg: Config) -> None:
    def ms(value):
        return f"{value:.1f} ms" if value >= 10 else f"{value:.2f} ms"

    def cpu(side):
        return side["cpu_ms_per_request"]["app"]

    def other(s):
        return max(s["hub"]["other_cores_busy"], s["floor"]["other_cores_busy"])

    columns = [("conns", lambda s: str(s["connections"]))]
    columns += [
        ("hub req/s", lambda s: f"{s['hub']['rps']:.0f}"),
        ("floor req/s", lambda s: f"{s['floor']['rps']:.0f}"),
        ("hub/floor", lambda s: f"{s['throughput_ratio']:.2f}x"),
        ("hub p50", lambda s: ms(s["hub"]["p50_ms"])),
        ("floor p50", lambda s: ms(s["floor"]["p50_ms"])),
        ("hub p99", lambda s: ms(s["hub"]["p99_ms"])),
        ("floor p99", lambda s: ms(s["floor"]["p99_ms"])),
        ("p99 ratio", lambda s: f"{s['p99_ratio']:.2f}x"),
        ("hub rows/2xx", lambda s: f"{s['hub']['rows']}/{s['hub']['ok_2xx']}"),
        ("cpu ms/req hub/floor", lambda s: f"{cpu(s['hub']):.2f}/{cpu(s['floor']):.2f}"),
        ("other cores", lambda s: f"{other(s):.2f}"),
        ("thru", lambda s: pass_fail(s["targets"]["throughput"])),
        ("p99", lambda s: pass_fail(s["targets"]["p99"])),
        ("lost", lambda s: pass_fail(s["targets"]["nothing_lost"])),
    ]
    cells = [[title for title, _ in columns]] + [[cell(s) for _, cell in columns] for s in summary]
    widths = [max(len(row[i]) for row in cells) for i in range(len(columns))]
    lines = ["  ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)) for row in cells]
    harness.log("")
    harness.log(
        f"Ingest, hub vs floor: gunicorn {cfg.workers} workers each (hub uvicorn, floor sync), "
        f"wrk {cfg.wrk_threads} "
        f"threads; {cfg.rounds} round(s) of {cfg.seconds} s per point (+{cfg.warmup} s warm-up);"
    )
    harness.log(
        "figures are medians over rounds; ratios are medians of the paired (adjacent) rounds; "
        "cpu = the gunicorn processes' CPU per stored row;"
    )
    harness.log("other cores = CPU used meanwhile by everything else on the machine.")
    harness.log(lines[0])
    harness.log("-" * len(lines[0]))
    for line in lines[1:]:
        harness.log(line)
    harness.log(
        f"targets: hub throughput >= {TARGET_THROUGHPUT:.0%} of the floor's (thru); hub p99 < "
        f"{TARGET_P99:g}x the floor's (p99); nothing lost: 0 <= rows - 2xx <= connections in "
        "every hub round (lost)."
    )
    busiest = max(other(s) for s in summary)
    if busiest > BUSY_MACHINE_CORES:
        harness.log(
            f"WARNING: other work on this machine used up to {busiest:.2f} cores during the "
            "rounds: absolute figures are depressed; compare the ratios, or run again when "
            "it is quiet."
        )


class SqliteFile:
    """Counting rows of a SQLite database file, in place of harness.Services for the embedded
    round (no PostgreSQL backends to meter)."""

    wait_quiet = harness.Services.wait_quiet

    def __init__(self, path):
        self.path = path

    def count(self, query: str, params=()) -> int:
        with sqlite3.connect(self.path, timeout=30) as db:
            return int(db.execute(query, params).fetchone()[0])

    def backend_pids(self) -> list[int]:
        return []


def embedded_round(cfg: Config, workdir: Path, body: bytes, body_path) -> list[dict]:
    """One round at BENCH_EMBEDDED_CONNECTIONS on the embedded stack, as `make run` serves it
    (SQLite WAL, diskcache, the SQLite broker; gunicorn over 2 uvicorn workers), beside the floor
    on SQLite (the bare INSERT view, gunicorn sync, the same SQLite settings)."""
    data = workdir / "embedded"
    data.mkdir(exist_ok=True)
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DJANGO_", "HUB_"))
        and k not in ("DATABASE_URL", "CACHE_URL", "CELERY_BROKER_URL")
    }
    env.update(
        HUB_DATA_DIR=str(data / "hub"),
        DJANGO_ALLOWED_HOSTS="127.0.0.1,localhost",
        PYTHONPATH=str(harness.HUB_DIR),
        PYTHONUNBUFFERED="1",
    )
    floor_db = data / "floor.sqlite3"
    floor_env = dict(
        env,
        DATABASE_URL=f"sqlite:///{floor_db}",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        DJANGO_SETTINGS_MODULE="bench.floor.settings",
        PYTHONPATH=str(harness.ROOT),
    )
    source_id, secret = prepare_hub(env)
    prepare_floor(floor_env)
    signature = sign(secret, body)
    conns = harness.env_int("BENCH_EMBEDDED_CONNECTIONS", 32)
    results = []
    with ExitStack() as stack:
        hub = stack.enter_context(hub_server("embedded-hub", env, workdir, cfg.workers))
        floor = stack.enter_context(floor_server("embedded-floor", floor_env, workdir, cfg.workers))
        hub_db = SqliteFile(data / "hub" / "hub.sqlite3")
        targets = [
            Target("hub", f"{hub.base_url}/webhooks/{source_id}/", HUB_ROWS, hub, hub_db),
            Target("floor", f"{floor.base_url}/ingest/", FLOOR_ROWS, floor, SqliteFile(floor_db)),
        ]
        for target in targets:
            tag = f"embedded-{secrets.token_hex(4)}-{target.name}"
            r = measure(target.services, target, cfg, conns, body_path, signature, tag)
            results.append(r)
            harness.log(
                f"  embedded c={conns:<3} {target.name:<5} {r['rps']:8.1f} req/s"
                f"  p50 {r['p50_ms']:7.2f} ms  p99 {r['p99_ms']:7.2f} ms"
                f"  rows-2xx {r['rows_minus_2xx']:+d}"
            )
    return results


def print_embedded(results: list[dict]) -> dict:
    hub, floor = results
    ratio = hub["rps"] / floor["rps"]
    print(
        f"\nEmbedded stack (make run's defaults: SQLite WAL, diskcache, SQLite broker), "
        f"{hub['connections']} connections, one round: hub {hub['rps']:,.0f} req/s "
        f"(p99 {hub['p99_ms']:.1f} ms) against a bare INSERT view on SQLite {floor['rps']:,.0f} "
        f"req/s (p99 {floor['p99_ms']:.1f} ms): {ratio:.2f}x; nothing lost: "
        f"{'ok' if hub['nothing_lost'] else 'NO'}"
    )
    return {"hub": hub, "floor": floor, "throughput_ratio": round(ratio, 3)}


def main() -> int:
    harness.exit_on_sigterm()
    cfg = Config.from_env()
    wrk_version = harness.ensure_wrk()
    workdir = harness.workdir()
    services = harness.Services()
    started = time.monotonic()
    harness.log(
        f"ingest benchmark: connections {','.join(map(str, cfg.connections))}, "
        f"{cfg.rounds} rounds of {cfg.seconds} s (+{cfg.warmup} s warm-up), "
        f"database {services.database}, Redis dbs {services.broker_db}/{services.cache_db}, "
        f"hub code {harness.HUB_DIR}"
    )
    body = build_body()
    body_path = workdir / "body.json"
    body_path.write_bytes(body)
    with ExitStack() as stack:
        services.reset()
        stack.callback(services.cleanup)
        env = base_env(services, workdir)
        floor_env = dict(
            env, DJANGO_SETTINGS_MODULE="bench.floor.settings", PYTHONPATH=str(harness.ROOT)
        )
        source_id, secret = prepare_hub(env)
        prepare_floor(floor_env)
        signature = sign(secret, body)
        harness.log(f"  source {source_id}, body {len(body)} bytes, {signature[:19]}...")

        hub = stack.enter_context(hub_server("hub", env, workdir, cfg.workers))
        floor = stack.enter_context(floor_server("floor", floor_env, workdir, cfg.workers))
        targets = {
            "hub": Target("hub", f"{hub.base_url}/webhooks/{source_id}/", HUB_ROWS, hub, services),
            "floor": Target("floor", f"{floor.base_url}/ingest/", FLOOR_ROWS, floor, services),
        }
        results = run_rounds(services, targets, cfg, body_path, signature)
        versions = services.versions()
    embedded = []
    if os.environ.get("BENCH_EMBEDDED", "1") == "1":
        embedded = embedded_round(cfg, workdir, body, body_path)

    summary = summarise(results, cfg)
    met = all(all(s["targets"].values()) for s in summary)
    path = harness.write_results(
        "ingest",
        {
            "benchmark": "ingest",
            "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "code": harness.git_describe(),
            "elapsed_s": round(time.monotonic() - started, 1),
            "config": {
                "seconds": cfg.seconds,
                "warmup_s": cfg.warmup,
                "rounds": cfg.rounds,
                "connections": list(cfg.connections),
                "wrk_threads": cfg.wrk_threads,
                "gunicorn": f"{cfg.workers} workers: hub {HUB_WORKER_CLASS}, floor sync",
                "body_bytes": len(body),
                "body_source": "octokit/webhooks push/with-new-branch.payload.json (trimmed)",
            },
            "machine": {
                "cpus": os.cpu_count(),
                "python": platform.python_version(),
                "wrk": wrk_version,
                **versions,
            },
            "targets": {
                "throughput_ratio_min": TARGET_THROUGHPUT,
                "p99_ratio_max": TARGET_P99,
                "lost": "0 <= rows - 2xx <= connections per round",
            },
            "summary": summary,
            "embedded": embedded,
            "all_targets_met": met,
            "rounds": results,
        },
    )
    print_table(summary, cfg)
    if embedded:
        print_embedded(embedded)
    harness.log(f"results: {path.relative_to(harness.ROOT)} ({time.monotonic() - started:.0f} s)")
    if cfg.strict and not met:
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
