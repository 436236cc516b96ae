"""Forwarding benchmark: stored forwards sent by one Celery worker, against a bare requests loop.

A local keep-alive HTTP server (bench/echo_server.py, 200 to everything) is the destination.

- **Floor**: one process POSTs N bodies in a loop with one ``requests.Session``, each signed
  exactly as the hub signs a forward (``routing.forwarding.sign``: Standard Webhooks over the
  raw bytes) with the same headers.
- **Hub**: N stored deliveries, one route to the destination, N pending forwards published at
  once with ``routing.forwarding.publish`` and sent by one worker (``--concurrency 2``):
  claim, sign, POST, attempt row and outcome per forward. Throughput = N / (last - first
  ``delivered_at``) ("span").
- **Lag**: deliveries inserted and handed to the workers at BENCH_FWD_PACED_RATE per second
  for BENCH_FWD_PACED_SECONDS (as ingest does: ``webhooks.publisher.enqueue``), processed by
  a no-op handler, fanned out and forwarded; lag = ``delivered_at`` (set when the destination's
  answer arrived) - ``received_at``, with the route's ordering key off and then on (one key per
  delivery modulo 50). Each paced run starts a fresh worker, waits until it has sent 100 stored
  forwards (it is up and connected), and paces WARMUP_SECONDS (3) more first, left out of the
  figures.

Target: hub forwards/s >= 70% of the floor's posts/s.

Settings (environment): BENCH_FORWARDS (5000), BENCH_FWD_ROUNDS (2), BENCH_FWD_PACED_RATE
(200), BENCH_FWD_PACED_SECONDS (15), BENCH_FWD_DB (hub_bench_fwd), BENCH_STRICT=1 to exit 1
when the target is missed.
"""

import os
import platform
import subprocess
import sys
import time
from contextlib import ExitStack
from datetime import UTC, datetime

import harness
from client import wait_listening
from ingest import base_env, manage

TARGET_THROUGHPUT = 0.70
WARMUP_SECONDS = 3
"""Paced runs start a fresh worker: the lag of its first seconds (imports, connections, first
statements) is left out of the figures; the same pace runs through it."""
BODY = (
    'b\'{"action": "opened", "repository": {"full_name": "acme/widgets"}, "x": "\''
    " + b'y' * 1000 + b'\"}'"
)
"""Python source of the forwarded body (about 1 KB of JSON), evaluated in the shells."""

SETUP = """
from routing.models import Destination, Route
from webhooks.models import Source
s = Source(name='bench', provider='generic', signature_header='X-Signature',
           signature_prefix='sha256=', id_header='X-Request-Id', event_header='X-Event',
           rate_limit='100000000/m')
s.set_secret()
s.save()
d = Destination(name='echo', url={url!r}, timeout=10)
d.set_secret()
d.save()
r = Route.objects.create(name='all', source=s, destination=d, retry_schedule=[1, 1, 1])
print('BENCH_SETUP', s.pk, d.pk, r.pk)
"""

FILL = """
from django.utils import timezone
from routing.models import Forward
from webhooks.models import Delivery
body = {body}
now = timezone.now()
rows = Delivery.objects.bulk_create([
    Delivery(source_id={source!r}, provider='generic', event_type='bench.noop',
             status='processed', received_at=now, queued_at=now, body=body,
             body_size=len(body), headers={{'Content-Type': 'application/json'}})
    for _ in range({count})], batch_size=2000)
fw = Forward.objects.bulk_create([
    Forward(delivery=d, route_id={route}, destination_id={dest}) for d in rows], batch_size=2000)
print('BENCH_IDS', fw[0].pk, fw[-1].pk)
"""

PUBLISH = """
import sys, time
from routing.forwarding import publish
ids = list(range({lo}, {hi} + 1))
print('READY', flush=True)
sys.stdin.readline()
t0 = time.time()
publish(ids)
print('BENCH_PUBLISHED', t0, time.time(), flush=True)
"""

FLOOR = """
import time, requests
from routing.forwarding import sign
from routing.models import Destination
d = Destination.objects.get(pk={dest})
body = {body}
session = requests.Session()
session.trust_env = False
def post(i):
    ts = int(time.time())
    wid = f'msg_{{i:032x}}'
    headers = {{'Content-Type': 'application/json', 'User-Agent': 'IntegrationHub/1',
               'X-Hub-Source': 'src', 'X-Hub-Event-Type': 'bench.noop', 'X-Hub-Delivery': str(i),
               'webhook-id': wid, 'webhook-timestamp': str(ts),
               'webhook-signature': sign(d.secret, wid, ts, body)}}
    r = session.post(d.url, data=body, headers=headers, timeout=(3.05, 10), allow_redirects=False)
    assert r.status_code == 200
for i in range(200):
    post(i)
t0 = time.perf_counter()
for i in range({count}):
    post(i)
print('BENCH_FLOOR', {count} / (time.perf_counter() - t0))
"""

PACED = """
import sys, time
from django.utils import timezone
from routing.models import Route
from webhooks.models import Delivery
from webhooks.publisher import enqueue, flush
Route.objects.filter(pk={route}).update(ordering_key={key!r})
rate, count, warm = {rate}, {count}, {warm}
Delivery.objects.exists()
print('READY', flush=True)
sys.stdin.readline()
start, first, last = time.monotonic(), None, None
for i in range(warm + count):
    wait = start + i / rate - time.monotonic()
    if wait > 0:
        time.sleep(wait)
    body = b'{{"n": %d, "key": "k%d"}}' % (i, i % 50)
    now = timezone.now()
    last = Delivery.objects.create(
        source_id={source!r}, provider='generic', event_type='bench.noop', status='queued',
        received_at=now, queued_at=now, body=body, body_size=len(body),
        headers={{'Content-Type': 'application/json'}}).pk
    first = first or (last if i >= warm else None)
    enqueue(last)
time.sleep(0.2)
flush()
print('BENCH_PACED', first, last, flush=True)
"""


def _field(out: str, marker: str) -> list[str]:
    for line in out.splitlines():
        if line.startswith(marker + " "):
            return line.split()[1:]
    raise RuntimeError(f"no {marker} line in:\n{out}")


class Bench:
    def __init__(self, services, workdir):
        self.services, self.workdir = services, workdir
        env = base_env(services, workdir)
        env["PYTHONPATH"] = f"{harness.HUB_DIR}{os.pathsep}{harness.ROOT}"
        self.env = dict(env, DJANGO_SETTINGS_MODULE="bench.settings_processing")
        self.worker_no = 0

    def shell(self, code: str) -> str:
        return manage(self.env, "shell", "-c", code)

    def worker(self) -> harness.Daemon:
        self.worker_no += 1
        command = [str(harness.VENV_BIN / "celery"), "-A", "hub", "worker", "--concurrency", "2"]
        command += ["--without-gossip", "--without-mingle", "--loglevel", "WARNING"]
        command += ["--hostname", f"fwd{self.worker_no}@%h"]
        return harness.Daemon(
            f"worker-fwd-{self.worker_no}", command, self.env, self.workdir, cwd=harness.HUB_DIR
        )

    def popen(self, code: str) -> subprocess.Popen:
        proc = subprocess.Popen(
            [harness.PYTHON, "manage.py", "shell", "-v0", "-c", code],
            cwd=harness.HUB_DIR, env=self.env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        for line in proc.stdout:
            if line.strip() == "READY":
                return proc
        proc.kill()
        raise RuntimeError(f"publisher did not start: {proc.communicate()[1]}")

    def wait_delivered(self, lo: int, hi: int, worker, limit: float = 120) -> None:
        want, last, since = hi - lo + 1, -1, time.monotonic()
        query = "SELECT count(*) FROM routing_forward WHERE status = 'delivered'"
        query += " AND id BETWEEN %s AND %s"
        while True:
            done = self.services.count(query, (lo, hi))
            if done >= want:
                return
            worker.check_alive()
            if done != last:
                last, since = done, time.monotonic()
            elif time.monotonic() - since > 60:
                raise RuntimeError(f"stuck at {done}/{want} delivered\n{worker.log_tail()}")
            if time.monotonic() - since > limit:
                raise RuntimeError("too slow")
            time.sleep(0.2)

    def warm(self, ids: dict, worker) -> None:
        """100 stored forwards sent by the fresh worker: it is up, connected and warm."""
        warm_lo, warm_hi = (
            int(v)
            for v in _field(
                self.shell(FILL.format(body=BODY, source=ids["source"], count=100,
                                       route=ids["route"], dest=ids["dest"])),
                "BENCH_IDS",
            )
        )  # fmt: skip
        proc = self.popen(PUBLISH.format(lo=warm_lo, hi=warm_hi))
        proc.communicate("go\n", timeout=60)
        self.wait_delivered(warm_lo, warm_hi, worker)

    def drain(self, ids: dict, n: int) -> float:
        lo, hi = (
            int(v)
            for v in _field(
                self.shell(FILL.format(body=BODY, source=ids["source"], count=n,
                                       route=ids["route"], dest=ids["dest"])),
                "BENCH_IDS",
            )
        )  # fmt: skip
        with self.worker() as worker:
            self.warm(ids, worker)
            proc = self.popen(PUBLISH.format(lo=lo, hi=hi))
            proc.communicate("go\n", timeout=120)
            self.wait_delivered(lo, hi, worker)
        first, last = self.services.execute(
            "SELECT extract(epoch FROM min(delivered_at))::float8,"
            " extract(epoch FROM max(delivered_at))::float8 FROM routing_forward"
            " WHERE id BETWEEN %s AND %s",
            (lo, hi),
        ).fetchone()
        return n / (last - first)

    def paced(self, ids: dict, rate: float, seconds: float, key: str) -> dict:
        count = int(rate * seconds)
        with self.worker() as worker:
            self.warm(ids, worker)
            proc = self.popen(
                PACED.format(route=ids["route"], key=key, rate=rate, count=count,
                             warm=int(rate * WARMUP_SECONDS), source=ids["source"])
            )  # fmt: skip
            out, err = proc.communicate("go\n", timeout=(seconds + WARMUP_SECONDS) * 4 + 60)
            first, last = (int(v) for v in _field(out, "BENCH_PACED"))
            query = (
                "SELECT count(*) FROM routing_forward WHERE status = 'delivered'"
                " AND delivery_id BETWEEN %s AND %s"
            )
            deadline = time.monotonic() + 120
            while self.services.count(query, (first, last)) < last - first + 1:
                worker.check_alive()
                if time.monotonic() > deadline:
                    raise RuntimeError(f"paced run: not all delivered\n{worker.log_tail()}")
                time.sleep(0.2)
        rows = self.services.execute(
            "SELECT extract(epoch FROM f.delivered_at - d.received_at)::float8"
            " FROM routing_forward f JOIN webhooks_delivery d ON d.id = f.delivery_id"
            " WHERE f.delivery_id BETWEEN %s AND %s",
            (first, last),
        ).fetchall()
        lags = sorted(r[0] * 1000 for r in rows)
        return {
            "count": len(lags),
            "p50_ms": round(harness.percentile(lags, 50), 1),
            "p99_ms": round(harness.percentile(lags, 99), 1),
            "max_ms": round(lags[-1], 1),
        }


def main() -> int:
    harness.exit_on_sigterm()
    n = harness.env_int("BENCH_FORWARDS", 5000)
    rounds = harness.env_int("BENCH_FWD_ROUNDS", 2)
    rate = float(os.environ.get("BENCH_FWD_PACED_RATE", "200"))
    seconds = float(os.environ.get("BENCH_FWD_PACED_SECONDS", "15"))
    strict = os.environ.get("BENCH_STRICT", "0") == "1"
    workdir = harness.workdir()
    services = harness.Services(database=os.environ.get("BENCH_FWD_DB", "hub_bench_fwd"))
    started = time.monotonic()
    harness.log(
        f"forwarding benchmark: {n} forwards x {rounds} rounds, paced {rate:g}/s for "
        f"{seconds:g} s, database {services.database}"
    )
    with ExitStack() as stack:
        services.reset()
        stack.callback(services.cleanup)
        port = harness.free_port()
        echo = harness.Daemon(
            "echo", [harness.PYTHON, str(harness.BENCH_DIR / "echo_server.py"), str(port)],
            os.environ.copy(), workdir,
        )  # fmt: skip
        stack.enter_context(echo)
        wait_listening(port)
        bench = Bench(services, workdir)
        manage(bench.env, "migrate", "--noinput", "-v0")
        url = f"http://127.0.0.1:{port}/hook"
        source, dest, route = _field(bench.shell(SETUP.format(url=url)), "BENCH_SETUP")
        ids = {"source": source, "dest": dest, "route": route}
        runs = []
        for i in range(rounds):
            floor = float(_field(bench.shell(FLOOR.format(dest=dest, body=BODY, count=n)),
                                 "BENCH_FLOOR")[0])  # fmt: skip
            hub = bench.drain(ids, n)
            runs.append({"floor": floor, "hub": hub, "ratio": hub / floor})
            harness.log(
                f"  round {i + 1}: hub {hub:7.0f} forwards/s  floor {floor:7.0f} posts/s  "
                f"{hub / floor:.2f}x"
            )
        lag_off = bench.paced(ids, rate, seconds, key="")
        lag_on = bench.paced(ids, rate, seconds, key="body.key")
    ratio = harness.median([r["ratio"] for r in runs])
    met = ratio >= TARGET_THROUGHPUT
    harness.log(
        f"forwarding: hub {harness.median([r['hub'] for r in runs]):,.0f}/s vs bare requests loop "
        f"{harness.median([r['floor'] for r in runs]):,.0f}/s = {ratio:.2f}x "
        f"(target >= {TARGET_THROUGHPUT:.2f}x: {'met' if met else 'MISS'})"
    )
    for label, lag in (("ordering key off", lag_off), ("ordering key on ", lag_on)):
        harness.log(
            f"  paced {rate:g}/s, {label}: lag received -> destination p50 {lag['p50_ms']} ms "
            f"p99 {lag['p99_ms']} ms max {lag['max_ms']} ms ({lag['count']} forwards)"
        )
    path = harness.write_results(
        "forwarding",
        {
            "benchmark": "forwarding",
            "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "code": harness.git_describe(),
            "elapsed_s": round(time.monotonic() - started, 1),
            "config": {
                "forwards": n,
                "rounds": rounds,
                "paced_rate": rate,
                "seconds": seconds,
                "worker": "celery prefork, concurrency 2, one worker",
            },  # fmt: skip
            "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
            "targets": {"throughput_ratio_min": TARGET_THROUGHPUT},
            "summary": {"ratio": ratio, "lag_key_off": lag_off, "lag_key_on": lag_on},
            "all_targets_met": met,
            "runs": runs,
        },
    )
    harness.log(f"results: {path.relative_to(harness.ROOT)} ({time.monotonic() - started:.0f} s)")
    return 1 if strict and not met else 0


if __name__ == "__main__":
    sys.exit(main())
