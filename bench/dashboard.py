"""Dashboard benchmark: the operator pages over a large delivery log and call record.

On a fresh PostgreSQL database (``hub_bench_dash``) seeds with ``bench/seed_demo.py``
first a small data set (BENCH_DASH_SMALL deliveries and as many call records over 5 sources and
5 connections), then the full one (1,000,000 + 1,000,000 over 25 + 25), and after each seed
times the pages server side in one process (``django.test.Client``, a superuser logged in with
``force_login``): ``time.perf_counter`` around ``client.get``, BENCH_DASH_RUNS runs after
BENCH_DASH_WARMUP warm-ups, with ``CaptureQueriesContext`` counting the SQL queries. Pages: the
overview, an integration's detail (the busiest source and a connection), the support desk
filtered to dead deliveries and the admin delivery list (plus the admin call-record list).

Targets per page at the full seed: p95 < 300 ms, HTTP 200, the same number of queries as at the
small seed (the count must not grow with rows or integrations), and no COUNT over the whole of
webhooks_delivery or connections_callrecord (a COUNT over a LIMIT subquery is fine; a filtered
COUNT without LIMIT is reported as a warning). For pages that miss the time target the slowest
queries are run again under EXPLAIN (ANALYZE, BUFFERS) and their plans printed.

Settings (environment): BENCH_DASH_DELIVERIES, BENCH_DASH_CALLS (1000000 each),
BENCH_DASH_SOURCES, BENCH_DASH_CONNECTIONS (25 each), BENCH_DASH_DAYS (7), BENCH_DASH_SMALL
(20000), BENCH_DASH_RUNS (10), BENCH_DASH_WARMUP (2), BENCH_DASH_DB (hub_bench_dash),
BENCH_STRICT=1 to exit 1 when a target is missed; PostgreSQL and Redis: see harness.Services.
"""

import io
import json
import os
import platform
import re
import subprocess
import sys
import time
from contextlib import ExitStack
from datetime import UTC, datetime

import harness
from ingest import base_env, manage

TARGET_MS = 300.0
SMALL_SOURCES = SMALL_CONNECTIONS = 5
BIG_TABLES = ("webhooks_delivery", "connections_callrecord")
EXPLAIN_TOP = 3  # slowest queries explained per slow page
EXPLAIN_MIN_MS = 5.0  # ... when they took at least this long
EXPLAIN_QUERY_MS = 50.0  # and any query this slow, on any page (it likely scans a big table)
BUSY_MACHINE_CORES = 0.25  # other work above this during a page's runs makes its times suspect
RESULT_PREFIX = "BENCH_DASH "


def config() -> dict:
    return {
        "deliveries": harness.env_int("BENCH_DASH_DELIVERIES", 1_000_000),
        "calls": harness.env_int("BENCH_DASH_CALLS", 1_000_000),
        "sources": harness.env_int("BENCH_DASH_SOURCES", 25),
        "connections": harness.env_int("BENCH_DASH_CONNECTIONS", 25),
        "days": float(os.environ.get("BENCH_DASH_DAYS", "7")),
        "small": harness.env_int("BENCH_DASH_SMALL", 20_000),
        "runs": max(1, harness.env_int("BENCH_DASH_RUNS", 10)),
        "warmup": harness.env_int("BENCH_DASH_WARMUP", 2),
        "strict": os.environ.get("BENCH_STRICT", "0") == "1",
    }


# -- the measuring process (dashboard.py --measure) -----------------------------------------------


class Tee(io.TextIOBase):
    """The seed command's output: printed as it comes, and kept."""

    def __init__(self):
        self.lines: list[str] = []
        self._partial = ""

    def write(self, text: str) -> int:
        self._partial += text
        *done, self._partial = self._partial.split("\n")
        for line in done:
            self.lines.append(line)
            harness.log(f"    {line}")
        return len(text)

    def flush(self) -> None:
        pass


def seed(label: str, deliveries: int, calls: int, sources: int, conns: int, days: float) -> dict:
    from django.core.management import call_command

    harness.log(
        f"  seeding ({label}): {deliveries:,} deliveries, {calls:,} call records, "
        f"{sources} sources, {conns} connections, {days:g} days"
    )
    out = Tee()
    started = time.perf_counter()
    from bench.seed_demo import Command as SeedDemo

    call_command(
        SeedDemo(),
        deliveries=deliveries,
        calls=calls,
        sources=sources,
        connections=conns,
        days=days,
        reset=True,
        stdout=out,
        no_color=True,
    )
    elapsed = time.perf_counter() - started
    steps = {}
    for line in out.lines:
        match = re.match(r"\s*([a-z ,()/]+?): ([\d,]+) rows in ([\d.]+) s", line)
        if match:
            steps[match.group(1)] = {
                "rows": int(match.group(2).replace(",", "")),
                "seconds": float(match.group(3)),
            }
        match = re.match(r"\s*(vacuum \(analyze\)|analyze): ([\d.]+) s", line)
        if match:
            steps[match.group(1)] = {"seconds": float(match.group(2))}
    return {
        "label": label,
        "deliveries": deliveries,
        "calls": calls,
        "sources": sources,
        "connections": conns,
        "seconds": round(elapsed, 1),
        "steps": steps,
        "output": out.lines,
    }


def big_table_counts(sql: str) -> tuple[list[str], list[str]]:
    """(whole-table COUNTs, filtered COUNTs without LIMIT) over the big tables in one query."""
    whole, filtered = [], []
    if not re.search(r"\bCOUNT\(", sql, re.IGNORECASE):
        return whole, filtered
    for table in BIG_TABLES:
        if f'FROM "{table}"' not in sql:
            continue
        if re.search(r"\bLIMIT\b", sql, re.IGNORECASE):
            continue  # COUNT over a LIMIT subquery: bounded
        (filtered if re.search(r"\bWHERE\b", sql, re.IGNORECASE) else whole).append(table)
    return whole, filtered


def pages() -> list[tuple[str, str]]:
    from connections.models import Connection
    from webhooks.models import Source

    def pick(model):
        # The busiest demo integration: "demo github 01" gets the most rows (skewed spread).
        return (
            model.objects.filter(name="demo github 01").first()
            or model.objects.filter(name__startswith="demo ").order_by("name").first()
        )

    source, conn = pick(Source), pick(Connection)
    return [
        ("overview", "/"),
        ("source detail", f"/integrations/source/{source.pk}/"),
        ("connection detail", f"/integrations/connection/{conn.pk}/"),
        ("desk: dead", "/support/deliveries/?status=dead"),
        ("admin deliveries", "/admin/webhooks/delivery/"),
        ("admin call records", "/admin/connections/callrecord/"),
    ]


def time_page(client, url: str, runs: int, warmup: int, meter: harness.CpuMeter) -> dict:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    statuses, whole, filtered, errors = [], set(), set(), []

    def get() -> tuple[float, list[dict]]:
        with CaptureQueriesContext(connection) as ctx:
            started = time.perf_counter()
            try:
                status = client.get(url).status_code
            except Exception as exc:  # the page raised: a 500 for the user
                status = 500
                errors.append(f"{type(exc).__name__}: {exc}"[:500])
            elapsed = (time.perf_counter() - started) * 1000
        statuses.append(status)
        for query in ctx.captured_queries:
            w, f = big_table_counts(query["sql"])
            if w:
                whole.add(query["sql"][:400])
            if f:
                filtered.add(query["sql"][:400])
        return elapsed, ctx.captured_queries

    cold = [round(get()[0], 1) for _ in range(warmup)]
    times, counts = [], []
    meter.start()
    for _ in range(runs):
        elapsed, queries = get()
        times.append(elapsed)
        counts.append(len(queries))
    cpu = meter.stop()
    slowest = sorted(queries, key=lambda q: float(q["time"] or 0), reverse=True)
    return {
        "url": url,
        "status": statuses[-1],
        "statuses": sorted(set(statuses)),
        "error": errors[-1] if errors else None,
        "warmup_ms": cold,
        "median_ms": round(harness.median(times), 1),
        "p95_ms": round(harness.percentile(times, 95), 1),
        "min_ms": round(min(times), 1),
        "max_ms": round(max(times), 1),
        "queries": counts[-1],
        "queries_min": min(counts),
        "queries_max": max(counts),
        "query_ms_total": round(sum(float(q["time"] or 0) for q in queries) * 1000, 1),
        "cpu_cores_busy": {k: round(v / meter.elapsed, 2) for k, v in cpu.items()},
        "whole_table_counts": sorted(whole),
        "filtered_counts": sorted(filtered),
        "slowest_queries": [
            {"ms": round(float(q["time"] or 0) * 1000, 2), "sql": q["sql"]}
            for q in slowest[:EXPLAIN_TOP]
        ],
    }


def measure(label: str, client, runs: int, warmup: int, meter: harness.CpuMeter) -> dict:
    results = {}
    for name, url in pages():
        r = time_page(client, url, runs, warmup, meter)
        results[name] = r
        extra = f"  ERROR {r['error']}" if r["error"] else ""
        other = r["cpu_cores_busy"].get("other")
        if other is not None:
            extra = f"  other cores {other:.2f}{extra}"
        harness.log(
            f"  {label:<5} {name:<19} HTTP {r['status']}  median {r['median_ms']:7.1f} ms  "
            f"p95 {r['p95_ms']:7.1f} ms  queries {r['queries']:>3} "
            f"(SQL {r['query_ms_total']:.1f} ms)  warm-up {r['warmup_ms']}{extra}"
        )
    return results


def explain(sql: str) -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
        return "\n".join(row[0] for row in cursor.fetchall())


def measure_main() -> int:
    """``dashboard.py --measure``: seed small, time, seed full, time; prints BENCH_DASH."""
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client

    cfg = config()
    user = get_user_model().objects.create_superuser("bench-admin", "bench@example.com", None)
    client = Client()
    client.force_login(user)
    services = harness.Services(database=connection.settings_dict["NAME"])
    own = os.getpid()
    meter = harness.CpuMeter({"bench": lambda: [own], "postgres": services.backend_pids})

    seeds, timings = [], {}
    small = seed("small", cfg["small"], cfg["small"], SMALL_SOURCES, SMALL_CONNECTIONS, cfg["days"])
    seeds.append(small)
    timings["small"] = measure("small", client, cfg["runs"], cfg["warmup"], meter)
    full = seed(
        "full", cfg["deliveries"], cfg["calls"], cfg["sources"], cfg["connections"], cfg["days"]
    )
    seeds.append(full)
    timings["full"] = measure("full", client, cfg["runs"], cfg["warmup"], meter)

    plans = {}
    for name, r in timings["full"].items():
        slow_page = r["p95_ms"] >= TARGET_MS
        for q in r["slowest_queries"]:
            wanted = q["ms"] >= EXPLAIN_QUERY_MS or (slow_page and q["ms"] >= EXPLAIN_MIN_MS)
            if not wanted or not q["sql"].lstrip().upper().startswith("SELECT"):
                continue
            try:
                plan = explain(q["sql"])
            except Exception as exc:
                plan = f"EXPLAIN failed: {exc}"
            plans.setdefault(name, []).append({"ms": q["ms"], "sql": q["sql"], "plan": plan})
    print(RESULT_PREFIX + json.dumps({"seeds": seeds, "timings": timings, "plans": plans}))
    return 0


# -- the benchmark --------------------------------------------------------------------------------


def summarise(timings: dict) -> list[dict]:
    rows = []
    for name, full in timings["full"].items():
        small = timings["small"].get(name, {})
        counts = {full["queries_min"], full["queries_max"]}
        counts |= {small.get("queries_min"), small.get("queries_max")}
        same_queries = len(counts) == 1
        checks = {
            "status_200": full["status"] == 200 and small.get("status") == 200,
            "p95_under_target": full["p95_ms"] < TARGET_MS,
            "queries_constant": same_queries,
            "no_whole_table_count": not full["whole_table_counts"]
            and not small.get("whole_table_counts"),
        }
        rows.append(
            {
                "page": name,
                "url_full": full["url"],
                "status_small": small.get("status"),
                "status_full": full["status"],
                "median_ms_small": small.get("median_ms"),
                "median_ms": full["median_ms"],
                "p95_ms": full["p95_ms"],
                "queries_small": _queries(small),
                "queries_full": _queries(full),
                "filtered_counts": bool(full["filtered_counts"]),
                "checks": checks,
                "target_met": all(checks.values()),
            }
        )
    return rows


def _queries(r: dict) -> str:
    if not r:
        return "-"
    if r["queries_min"] == r["queries_max"]:
        return str(r["queries_min"])
    return f"{r['queries_min']}-{r['queries_max']}"


def print_table(rows: list[dict], cfg: dict) -> None:
    def met(row):
        if row["target_met"]:
            return "yes"
        missed = [k for k, ok in row["checks"].items() if not ok]
        return "NO (" + ", ".join(missed) + ")"

    columns = [
        ("page", lambda r: r["page"]),
        ("HTTP", lambda r: f"{r['status_small']}/{r['status_full']}"),
        ("median ms", lambda r: f"{r['median_ms']:.1f}"),
        ("p95 ms", lambda r: f"{r['p95_ms']:.1f}"),
        ("median ms (small)", lambda r: f"{r['median_ms_small']:.1f}"),
        ("queries (small seed)", lambda r: r["queries_small"]),
        ("queries (full seed)", lambda r: r["queries_full"]),
        ("target met", met),
    ]
    cells = [[t for t, _ in columns]] + [[f(r) for _, f in columns] for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(columns))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in cells]
    harness.log("")
    harness.log(
        f"Dashboard pages, server side (django.test.Client in one process), full seed "
        f"{cfg['deliveries']:,} deliveries + {cfg['calls']:,} call records over "
        f"{cfg['sources']} + {cfg['connections']} integrations; small seed {cfg['small']:,} + "
        f"{cfg['small']:,} over {SMALL_SOURCES} + {SMALL_CONNECTIONS}; {cfg['runs']} runs after "
        f"{cfg['warmup']} warm-ups. HTTP = small/full seed."
    )
    harness.log(lines[0])
    harness.log("-" * len(lines[0]))
    for line in lines[1:]:
        harness.log(line)
    harness.log(
        f"target: p95 < {TARGET_MS:g} ms at the full seed, HTTP 200, the same query count at both "
        "seeds, no COUNT over the whole of webhooks_delivery / connections_callrecord."
    )


def print_details(timings: dict, plans: dict) -> None:
    for seed_name, pages_ in timings.items():
        for name, r in pages_.items():
            for sql in r["whole_table_counts"]:
                harness.log(f"WHOLE-TABLE COUNT ({seed_name}, {name}): {sql}")
            for sql in r["filtered_counts"]:
                harness.log(f"filtered COUNT without LIMIT ({seed_name}, {name}): {sql}")
            if r["error"]:
                harness.log(f"ERROR ({seed_name}, {name}): {r['error']}")
    busiest = max(
        (r["cpu_cores_busy"].get("other", 0) for p in timings.values() for r in p.values()),
        default=0,
    )
    if busiest > BUSY_MACHINE_CORES:
        harness.log(
            f"WARNING: other work on this machine used up to {busiest:.2f} cores while pages "
            "were timed (PostgreSQL's parallel workers of our own queries count there too): "
            "the times may be inflated; run again when it is quiet."
        )
    for name, explained in plans.items():
        harness.log("")
        harness.log(
            f"Slow queries of {name} (full seed; >= {EXPLAIN_QUERY_MS:g} ms, or the slowest of a "
            "page over the target), EXPLAIN (ANALYZE, BUFFERS):"
        )
        for q in explained:
            harness.log(f"-- {q['ms']:.1f} ms: {q['sql'][:1500]}")
            for line in q["plan"].splitlines():
                harness.log(f"   {line}")


def main() -> int:
    harness.exit_on_sigterm()
    cfg = config()
    workdir = harness.workdir()
    services = harness.Services(database=os.environ.get("BENCH_DASH_DB", "hub_bench_dash"))
    started = time.monotonic()
    harness.log(
        f"dashboard benchmark: {cfg['deliveries']:,} deliveries + {cfg['calls']:,} call records, "
        f"database {services.database}, Redis cache db {services.cache_db}, hub code "
        f"{harness.HUB_DIR}"
    )
    with ExitStack() as stack:
        services.reset()
        stack.callback(services.cleanup)
        env = base_env(services, workdir)
        env["DJANGO_ALLOWED_HOSTS"] = "testserver,127.0.0.1,localhost"
        manage(env, "migrate", "--noinput", "-v0")
        manage(env, "collectstatic", "--noinput", "-v0")  # the manifest {% static %} needs
        proc = subprocess.Popen(
            [harness.PYTHON, str(harness.BENCH_DIR / "dashboard.py"), "--measure"],
            cwd=harness.HUB_DIR,
            env=dict(env, DJANGO_SETTINGS_MODULE="hub.settings"),
            stdout=subprocess.PIPE,
            text=True,
        )
        data = None
        for line in proc.stdout:
            if line.startswith(RESULT_PREFIX):
                data = json.loads(line[len(RESULT_PREFIX) :])
            else:
                harness.log(line.rstrip())
        if proc.wait() != 0 or data is None:
            raise RuntimeError(f"the measuring process failed ({proc.returncode})")
        versions = services.versions()

    rows = summarise(data["timings"])
    print_table(rows, cfg)
    print_details(data["timings"], data["plans"])
    for s in data["seeds"]:
        harness.log(
            f"seed ({s['label']}): {s['deliveries']:,} deliveries + {s['calls']:,} call records "
            f"in {s['seconds']:.1f} s"
        )
    all_met = all(r["target_met"] for r in rows)
    path = harness.write_results(
        "dashboard",
        {
            "benchmark": "dashboard",
            "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "code": harness.git_describe(),
            "elapsed_s": round(time.monotonic() - started, 1),
            "config": {
                **cfg,
                "small_sources": SMALL_SOURCES,
                "small_connections": SMALL_CONNECTIONS,
            },
            "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), **versions},
            "targets": {"p95_ms_max": TARGET_MS, "queries": "equal at both seeds"},
            "summary": rows,
            "all_targets_met": all_met,
            "seeds": data["seeds"],
            "timings": data["timings"],
            "plans": data["plans"],
        },
    )
    harness.log(f"results: {path.relative_to(harness.ROOT)}")
    if cfg["strict"] and not all_met:
        return 1
    return 0


if __name__ == "__main__":
    if sys.argv[1:2] == ["--measure"]:
        sys.exit(measure_main())
    sys.exit(main())
