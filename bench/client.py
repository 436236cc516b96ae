"""Client benchmark: calls through a connection's client against a bare requests.Session.

A small asyncio HTTP server (bench/echo_server.py, keep-alive, 200 with a small JSON body) runs
on 127.0.0.1 in its own process; its capacity is measured first with wrk, so that it is known
not to be the bottleneck. Then one process with the hub's settings (PostgreSQL, Redis cache)
makes BENCH_CALLS sequential GETs per round with each of:

- ``bare``: ``requests.Session().get(url, headers=<the same bearer header>, timeout=...)``;
- ``hub``: ``client = connection.client()`` once, then ``client.get(path)``: circuit breaker
  and shared rate limit in Redis, urllib3 Retry, call records buffered into PostgreSQL
  (``recorder.flush()`` at the end is timed with the loop);
- ``hub, client per call``: ``connection.client().get(path)`` each time, as handlers write it.

The connection is ``generic`` with bearer auth and a rate limit of 1,000,000/m (never reached).
Rounds alternate the order of the variants; figures are medians over rounds, ratios medians of
the per-round ratios. Every hub round must leave exactly BENCH_CALLS new CallRecord rows.

Target: hub calls/s >= 70% of bare requests'.

Settings (environment): BENCH_CALLS (10000), BENCH_CLIENT_ROUNDS (3), BENCH_CLIENT_WARMUP (300
calls per variant), BENCH_CLIENT_DB (hub_bench_client), BENCH_STRICT=1 to exit 1 when the target
is missed; PostgreSQL and Redis: see harness.Services.
"""

import json
import os
import platform
import socket
import subprocess
import sys
import time
from contextlib import ExitStack
from datetime import UTC, datetime

import harness
from ingest import base_env, manage

TARGET_THROUGHPUT = 0.70
BUSY_MACHINE_CORES = 0.25
LUA = harness.BENCH_DIR / "wrk" / "get.lua"
PATH = "/v1/ping"
TOKEN = "bench-token"  # noqa: S105 (a dummy bearer token for a local server)
VARIANTS = ("bare", "hub", "hub_per_call")
LABELS = {"bare": "bare requests", "hub": "hub client", "hub_per_call": "hub, client per call"}


def wait_listening(port: int, limit: float = 10.0) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listening on 127.0.0.1:{port}")


def server_capacity(base_url: str) -> dict:
    """wrk against the server alone: one connection (like the sequential client) and four."""
    out = {}
    for conns in (1, 4):
        r = harness.wrk(base_url + PATH, LUA, (), connections=conns, seconds=3, threads=1)
        out[f"c{conns}"] = {"rps": round(r.rps), "p50_us": r.latency_us["p50"], "ok": r.ok}
    return out


# --- the calling process (run with the hub's settings) -----------------------------------


def calls_main(argv: list[str]) -> int:
    """``client.py --calls BASE_URL SERVER_PID DATABASE``: the rounds; prints BENCH_CALLS."""
    base_url, server_pid, database = argv[0], int(argv[1]), argv[2]
    import django

    django.setup()
    import requests

    from connections import recorder
    from connections.models import CallRecord, Connection

    calls = harness.env_int("BENCH_CALLS", 10000)
    rounds = harness.env_int("BENCH_CLIENT_ROUNDS", 3)
    warmup = harness.env_int("BENCH_CLIENT_WARMUP", 300)

    made = Connection(
        name="bench",
        provider="generic",
        auth_scheme="bearer",
        base_url=base_url,
        rate_limit="1000000/m",
    )
    made.set_credentials(TOKEN)
    made.save()
    connection = Connection.objects.get(pk=made.pk)  # as a handler gets it: decrypted on load
    client = connection.client()
    session = requests.Session()
    url = base_url + PATH
    headers = {"Authorization": f"Bearer {TOKEN}"}
    timeout = (client.spec.connect_timeout, client.spec.read_timeout)

    def bare():
        return session.get(url, headers=headers, timeout=timeout)

    def hub():
        return client.get(PATH)

    def hub_per_call():
        return connection.client().get(PATH)

    functions = {"bare": bare, "hub": hub, "hub_per_call": hub_per_call}
    services = harness.Services(database=database)
    own = os.getpid()
    meter = harness.CpuMeter(
        {
            "caller": lambda: [own],
            "server": lambda: [server_pid],
            "postgres": services.backend_pids,
            "redis": lambda: harness.pids_named("redis-server"),
        }
    )

    def run(variant: str, n: int) -> dict:
        call = functions[variant]
        records = CallRecord.objects.count()
        bad = 0
        meter.start()
        cpu0, t0 = time.process_time(), time.perf_counter()
        for _ in range(n):
            if call().status_code != 200:
                bad += 1
        if variant != "bare":
            recorder.flush()
        seconds = time.perf_counter() - t0
        own_cpu = time.process_time() - cpu0
        used = meter.stop()
        used.pop("children")
        other = used.pop("other")
        return {
            "variant": variant,
            "calls": n,
            "seconds": round(seconds, 3),
            "calls_per_s": round(n / seconds, 1),
            "caller_cpu_ms_per_call": round(own_cpu * 1000 / n, 4),
            "cpu_ms_per_call": {k: round(v * 1000 / n, 4) for k, v in used.items()},
            "other_cores_busy": round(other / meter.elapsed, 2),
            "not_200": bad,
            "call_records": CallRecord.objects.count() - records,
        }

    for variant in VARIANTS:
        run(variant, warmup)
    results = []
    for round_no in range(1, rounds + 1):
        shift = (round_no - 1) % len(VARIANTS)
        order = VARIANTS[shift:] + VARIANTS[:shift]
        for variant in order:
            r = run(variant, calls)
            r["round"] = round_no
            results.append(r)
            print(
                f"  round {round_no} {LABELS[variant]:<21} {r['calls_per_s']:7.0f} calls/s"
                f"  caller cpu {r['caller_cpu_ms_per_call']:.3f} ms/call"
                f"  (server {r['cpu_ms_per_call']['server']:.3f}, postgres "
                f"{r['cpu_ms_per_call']['postgres']:.3f}, redis "
                f"{r['cpu_ms_per_call']['redis']:.3f})  records {r['call_records']}"
                f"  other work {r['other_cores_busy']:.2f} cores",
                flush=True,
            )
    print("BENCH_CALLS " + json.dumps(results), flush=True)
    return 0


# --- the benchmark ------------------------------------------------------------------------


def summarise(results: list[dict], calls: int) -> dict:
    sides = {}
    for variant in VARIANTS:
        rows = [r for r in results if r["variant"] == variant]
        sides[variant] = {
            "calls_per_s": round(harness.median(r["calls_per_s"] for r in rows), 1),
            "caller_cpu_ms_per_call": round(
                harness.median(r["caller_cpu_ms_per_call"] for r in rows), 4
            ),
            "cpu_ms_per_call": {
                k: round(harness.median(r["cpu_ms_per_call"][k] for r in rows), 4)
                for k in rows[0]["cpu_ms_per_call"]
            },
            "other_cores_busy": round(harness.median(r["other_cores_busy"] for r in rows), 2),
            "not_200": sum(r["not_200"] for r in rows),
            "call_records": [r["call_records"] for r in rows],
        }
    ratios = {}
    for variant in VARIANTS[1:]:
        pairs = [
            (h, b)
            for h in results
            for b in results
            if h["variant"] == variant and b["variant"] == "bare" and h["round"] == b["round"]
        ]
        ratios[variant] = round(
            harness.median(h["calls_per_s"] / b["calls_per_s"] for h, b in pairs), 3
        )
    records_ok = all(r["call_records"] == calls for r in results if r["variant"] != "bare") and all(
        s["not_200"] == 0 for s in sides.values()
    )
    return {
        "variants": sides,
        "ratios": ratios,
        "records_ok": records_ok,
        "target_met": {v: ratios[v] >= TARGET_THROUGHPUT for v in ratios},
    }


def print_table(summary: dict, capacity: dict, calls: int, rounds: int) -> None:
    sides, ratios = summary["variants"], summary["ratios"]
    columns = [
        ("", lambda v, s: LABELS[v]),
        ("calls/s", lambda v, s: f"{s['calls_per_s']:,.0f}"),
        ("vs bare", lambda v, s: f"{ratios[v]:.2f}x" if v in ratios else ""),
        ("target", lambda v, s: f">= {TARGET_THROUGHPUT:.2f}x" if v in ratios else ""),
        ("", lambda v, s: ("ok" if summary["target_met"][v] else "MISS") if v in ratios else ""),
        ("caller cpu ms/call", lambda v, s: f"{s['caller_cpu_ms_per_call']:.3f}"),
        ("pg ms/call", lambda v, s: f"{s['cpu_ms_per_call']['postgres']:.3f}"),
        ("redis ms/call", lambda v, s: f"{s['cpu_ms_per_call']['redis']:.3f}"),
        ("server ms/call", lambda v, s: f"{s['cpu_ms_per_call']['server']:.3f}"),
        ("records", lambda v, s: "" if v == "bare" else "/".join(map(str, s["call_records"]))),
        ("other cores", lambda v, s: f"{s['other_cores_busy']:.2f}"),
    ]
    cells = [[title for title, _ in columns]]
    cells += [[cell(v, s) for _, cell in columns] for v, s in sides.items()]
    widths = [max(len(row[i]) for row in cells) for i in range(len(columns))]
    lines = ["  ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)) for row in cells]
    c1, c4 = capacity["c1"], capacity["c4"]
    harness.log("")
    harness.log(
        f"Client, hub vs bare requests: {calls:,} sequential GETs per round to a local server "
        f"(capacity by wrk: {c1['rps']:,} req/s on 1 connection, {c4['rps']:,} on 4);"
    )
    harness.log(
        f"medians of {rounds} interleaved rounds; ratios = medians of per-round ratios; cpu = "
        "CPU per call of the calling process, PostgreSQL, Redis and the server."
    )
    harness.log(lines[0])
    harness.log("-" * len(lines[0]))
    for line in lines[1:]:
        harness.log(line)
    harness.log(
        f"target: the hub client at >= {TARGET_THROUGHPUT:.0%} of bare requests' calls/s with "
        "recording, rate limiting and circuit breaking on; call records: "
        + ("every call recorded" if summary["records_ok"] else "MISSING OR FAILED CALLS")
    )
    busiest = max(s["other_cores_busy"] for s in sides.values())
    if busiest > BUSY_MACHINE_CORES:
        harness.log(
            f"WARNING: other work on this machine used up to {busiest:.2f} cores (median): "
            "absolute figures are depressed; compare the ratios."
        )


def main() -> int:
    harness.exit_on_sigterm()
    calls = harness.env_int("BENCH_CALLS", 10000)
    rounds = harness.env_int("BENCH_CLIENT_ROUNDS", 3)
    strict = os.environ.get("BENCH_STRICT", "0") == "1"
    wrk_version = harness.ensure_wrk()
    workdir = harness.workdir()
    services = harness.Services(database=os.environ.get("BENCH_CLIENT_DB", "hub_bench_client"))
    started = time.monotonic()
    harness.log(
        f"client benchmark: {calls} calls x {rounds} rounds per variant, database "
        f"{services.database}, Redis cache db {services.cache_db}, hub code {harness.HUB_DIR}"
    )
    with ExitStack() as stack:
        services.reset()
        stack.callback(services.cleanup)
        env = base_env(services, workdir)
        manage(env, "migrate", "--noinput", "-v0")
        port = harness.free_port()
        server = stack.enter_context(
            harness.Daemon(
                "echo-server",
                [harness.PYTHON, str(harness.BENCH_DIR / "echo_server.py"), str(port)],
                env,
                workdir,
            )
        )
        wait_listening(port)
        base_url = f"http://127.0.0.1:{port}"
        capacity = server_capacity(base_url)
        harness.log(
            f"  server capacity (wrk, 3 s): {capacity['c1']['rps']:,} req/s on 1 connection, "
            f"{capacity['c4']['rps']:,} on 4"
        )
        proc = subprocess.Popen(
            [
                harness.PYTHON,
                str(harness.BENCH_DIR / "client.py"),
                "--calls",
                base_url,
                str(server.process.pid),
                services.database,
            ],
            cwd=harness.HUB_DIR,
            env=dict(env, DJANGO_SETTINGS_MODULE="hub.settings"),
            stdout=subprocess.PIPE,
            text=True,
        )
        results = None
        for line in proc.stdout:
            if line.startswith("BENCH_CALLS "):
                results = json.loads(line.split(" ", 1)[1])
            else:
                harness.log(line.rstrip())
        if proc.wait() != 0 or results is None:
            raise RuntimeError(f"the calling process failed ({proc.returncode})")
        versions = services.versions()

    summary = summarise(results, calls)
    path = harness.write_results(
        "client",
        {
            "benchmark": "client",
            "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "code": harness.git_describe(),
            "elapsed_s": round(time.monotonic() - started, 1),
            "config": {"calls": calls, "rounds": rounds, "path": PATH, "server": "echo_server.py"},
            "machine": {
                "cpus": os.cpu_count(),
                "python": platform.python_version(),
                "wrk": wrk_version,
                **versions,
            },
            "server_capacity": capacity,
            "targets": {"throughput_ratio_min": TARGET_THROUGHPUT},
            "summary": summary,
            "all_targets_met": summary["target_met"]["hub"] and summary["records_ok"],
            "rounds": results,
        },
    )
    print_table(summary, capacity, calls, rounds)
    harness.log(f"results: {path.relative_to(harness.ROOT)} ({time.monotonic() - started:.0f} s)")
    met = summary["target_met"]["hub"] and summary["records_ok"]
    return 1 if strict and not met else 0


if __name__ == "__main__":
    if sys.argv[1:2] == ["--calls"]:
        sys.exit(calls_main(sys.argv[2:]))
    sys.exit(main())
