"""Shared pieces of the benchmarks: configuration, the PostgreSQL/Redis reset, gunicorn servers,
wrk runs and the small statistics they need. Each benchmark is a script beside this module
(``bench/ingest.py``, ...) run by ``bench/run.sh`` with the project's virtualenv.
"""

import contextlib
import json
import os
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import redis
from psycopg import sql

ROOT = Path(__file__).resolve().parent.parent
HUB_DIR = Path(os.environ.get("BENCH_HUB_DIR") or ROOT).resolve()
"""The hub code under test: the work tree, or e.g. an export of a commit (git archive)."""
BENCH_DIR = ROOT / "bench"
RESULTS_DIR = BENCH_DIR / "results"
VENV_BIN = ROOT / ".venv" / "bin"
PYTHON = str(VENV_BIN / "python")


def log(message: str) -> None:
    print(message, flush=True)


def env_int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


@dataclass
class Services:
    """The machine's PostgreSQL and Redis, with a database and two Redis dbs of our own.

    ``reset()`` drops and recreates the database and empties the Redis dbs; ``cleanup()`` drops
    and empties them again unless BENCH_KEEP=1 (to look at the rows afterwards).
    """

    pg_url: str = field(
        default_factory=lambda: os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432")
    )
    database: str = field(default_factory=lambda: os.environ.get("BENCH_DB", "hub_bench"))
    redis_url: str = field(
        default_factory=lambda: os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379")
    )
    broker_db: int = field(default_factory=lambda: env_int("BENCH_BROKER_DB", 10))
    cache_db: int = field(default_factory=lambda: env_int("BENCH_CACHE_DB", 11))
    keep: bool = field(default_factory=lambda: os.environ.get("BENCH_KEEP", "0") == "1")
    _conn: psycopg.Connection | None = None

    @property
    def database_url(self) -> str:
        return f"{self.pg_url}/{self.database}"

    @property
    def broker_url(self) -> str:
        return f"{self.redis_url}/{self.broker_db}"

    @property
    def cache_url(self) -> str:
        return f"{self.redis_url}/{self.cache_db}"

    def reset(self) -> None:
        self._recreate_database(create=True)
        self._flush_redis()

    def cleanup(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        if self.keep:
            log(f"BENCH_KEEP=1: keeping database {self.database} and Redis dbs.")
            return
        self._recreate_database(create=False)
        self._flush_redis()

    def count(self, query: str, params=()) -> int:
        """One ``SELECT count(*)`` on the benchmark database (one connection kept open)."""
        row = self._connection().execute(query, params).fetchone()
        return int(row[0])

    def execute(self, statement, params=()) -> psycopg.Cursor:
        """One statement on the benchmark database (autocommit, on the counting connection)."""
        return self._connection().execute(statement, params)

    def _connection(self) -> psycopg.Connection:
        if self._conn is None:
            self._conn = psycopg.connect(self.database_url, autocommit=True)
        return self._conn

    def backend_pids(self) -> list[int]:
        """The PostgreSQL backends serving the benchmark database, except our own counting one."""
        own = self._connection().info.backend_pid
        return [pid for pid in pids_named("postgres", f" {self.database} ") if pid != own]

    def wait_quiet(self, query: str, settle: float = 0.6, limit: float = 15.0) -> int:
        """The count once it has stopped moving for ``settle`` seconds (requests that were in
        flight when wrk stopped are still being stored)."""
        deadline = time.monotonic() + limit
        last, since = self.count(query), time.monotonic()
        while time.monotonic() < deadline:
            time.sleep(0.2)
            current = self.count(query)
            if current != last:
                last, since = current, time.monotonic()
            elif time.monotonic() - since >= settle:
                break
        return last

    def _recreate_database(self, create: bool) -> None:
        with psycopg.connect(f"{self.pg_url}/postgres", autocommit=True) as conn:
            name = sql.Identifier(self.database)
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name))
            if create:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(name))

    def flush_broker(self) -> None:
        """Drop every queued message (the broker's Redis db only)."""
        client = redis.Redis.from_url(self.broker_url)
        client.flushdb()
        client.close()

    def _flush_redis(self) -> None:
        for db in (self.broker_db, self.cache_db):
            client = redis.Redis.from_url(f"{self.redis_url}/{db}")
            client.flushdb()
            client.close()

    def versions(self) -> dict[str, str]:
        with psycopg.connect(f"{self.pg_url}/postgres") as conn:
            pg = conn.execute("SHOW server_version").fetchone()[0]
        client = redis.Redis.from_url(self.redis_url)
        rd = client.info("server")["redis_version"]
        client.close()
        return {"postgresql": pg, "redis": rd}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Gunicorn:
    """A gunicorn server on 127.0.0.1 in its own session; a context manager that stops it.

    The master's pid is written to ``<workdir>/<name>.pid`` (gunicorn --pid) so that run.sh's
    trap can stop it even if this process dies without cleaning up.
    """

    def __init__(
        self, name, app, env, workdir: Path, *, ready_path="/", workers=2, chdir=ROOT,
        worker_class="sync",
    ):  # fmt: skip
        self.name, self.app, self.env, self.workdir = name, app, env, workdir
        self.worker_class = worker_class
        self.chdir = Path(chdir)
        self.ready_path, self.workers = ready_path, workers
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.log_path = workdir / f"{name}.gunicorn.log"
        self.process: subprocess.Popen | None = None

    def __enter__(self):
        command = [
            str(VENV_BIN / "gunicorn"),
            self.app,
            "--bind",
            f"127.0.0.1:{self.port}",
            "--workers",
            str(self.workers),
            "--worker-class",
            self.worker_class,
            "--chdir",
            str(self.chdir),
            "--pid",
            str(self.workdir / f"{self.name}.pid"),
            "--log-level",
            "warning",
        ]
        with open(self.log_path, "ab") as out:
            self.process = subprocess.Popen(
                command,
                cwd=self.chdir,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc):
        self.stop()

    def _wait_ready(self, limit: float = 30.0) -> None:
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name}: gunicorn exited.\n{self.log_tail()}")
            try:
                urllib.request.urlopen(self.base_url + self.ready_path, timeout=2).close()
                return
            except urllib.error.HTTPError:
                return  # any HTTP answer means a worker is serving
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(
            f"{self.name}: gunicorn not answering after {limit} s.\n{self.log_tail()}"
        )

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)  # graceful: the master stops its workers
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)  # its own session: pgid == pid
            self.process.wait()

    def pids(self) -> list[int]:
        """The master and its workers."""
        pid = self.process.pid
        try:
            children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        except OSError:
            children = []
        return [pid, *map(int, children)]

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (children, grandchildren...), from /proc (ppid links)."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        parents.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in parents.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


class Daemon:
    """A background process (e.g. a Celery worker) in its own session; a context manager that
    stops it (SIGTERM, then SIGKILL to its process group). Its pid is written to
    ``<workdir>/<name>.pid`` so that run.sh's trap can stop it if this process dies first."""

    def __init__(self, name, command, env, workdir: Path, *, cwd=ROOT, stop_timeout=30.0):
        self.name, self.command, self.env, self.workdir = name, command, env, workdir
        self.cwd, self.stop_timeout = Path(cwd), stop_timeout
        self.log_path = workdir / f"{name}.log"
        self.pid_path = workdir / f"{name}.pid"
        self.process: subprocess.Popen | None = None

    def __enter__(self):
        with open(self.log_path, "ab") as out:
            self.process = subprocess.Popen(
                self.command,
                cwd=self.cwd,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        self.pid_path.write_text(str(self.process.pid))
        return self

    def __exit__(self, *exc):
        self.stop()

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def check_alive(self) -> None:
        if not self.alive():
            raise RuntimeError(f"{self.name} exited.\n{self.log_tail()}")

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=self.stop_timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)  # leftovers of its session, if any
        self.pid_path.unlink(missing_ok=True)

    def pids(self) -> list[int]:
        """The process and everything below it (a prefork pool's children)."""
        if not self.alive():
            return []
        return [self.process.pid, *descendants(self.process.pid)]

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def percentile(values, q: float) -> float:
    """The q-th percentile (0-100) of ``values`` by linear interpolation (nan if empty)."""
    values = sorted(values)
    if not values:
        return float("nan")
    k = (len(values) - 1) * q / 100
    lo = int(k)
    hi = min(lo + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (k - lo)


@dataclass
class WrkResult:
    seconds: float
    requests: int
    statuses: dict[int, int]
    errors: dict[str, int]
    latency_us: dict[str, float]

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def ok(self) -> int:
        """Responses with a 2xx status."""
        return sum(n for status, n in self.statuses.items() if 200 <= status < 300)

    @property
    def not_ok(self) -> int:
        return self.requests - self.ok

    @property
    def socket_errors(self) -> int:
        return sum(v for k, v in self.errors.items() if k != "status")


def wrk(url, script: Path, args, *, connections, seconds, threads=2, timeout=10) -> WrkResult:
    """One wrk run; the Lua script prints ``BENCH_RESULT <json>`` from its ``done()``."""
    threads = max(1, min(threads, connections))
    command = [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{seconds}s",
        f"--timeout={timeout}s",
        "-s",
        str(script),
        url,
        "--",
        *map(str, args),
    ]
    proc = subprocess.run(command, capture_output=True, text=True, check=False)
    match = re.search(r"^BENCH_RESULT (\{.*\})$", proc.stdout, re.MULTILINE)
    if proc.returncode != 0 or match is None:
        raise RuntimeError(f"wrk failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    data = json.loads(match.group(1))
    return WrkResult(
        seconds=data["duration_us"] / 1e6,
        requests=data["requests"],
        statuses={int(k): v for k, v in data["statuses"].items()},
        errors=data["errors"],
        latency_us=data["latency_us"],
    )


def ensure_wrk() -> str:
    path = shutil.which("wrk")
    if path is None:
        raise SystemExit("wrk is not installed (bench/run.sh installs it with apt-get).")
    out = subprocess.run(["wrk", "--version"], capture_output=True, text=True, check=False)
    return (out.stdout or out.stderr).splitlines()[0].split(" Copyright")[0].strip()


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _cpu_seconds(pid: int) -> float:
    """User + system CPU of one process (0 if it is gone)."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime, stime


def pids_named(name: str, cmdline_contains: str = "") -> list[int]:
    """Processes whose command name is ``name`` (e.g. redis-server) and, if given, whose command
    line contains ``cmdline_contains`` (e.g. " hub_bench " for the PostgreSQL backends serving
    that database: the machine's PostgreSQL may be busy with other people's tests)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if (entry / "comm").read_text().strip() != name:
                continue
            if cmdline_contains:
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
                if cmdline_contains not in cmdline:
                    continue
        except OSError:
            continue
        found.append(int(entry.name))
    return found


def machine_busy_seconds() -> float:
    """CPU seconds all cores have spent busy since boot (/proc/stat: all but idle and iowait)."""
    with open("/proc/stat") as fh:
        fields = [int(v) for v in fh.readline().split()[1:]]
    idle = fields[3] + fields[4]
    return (sum(fields[:8]) - idle) / CLOCK_TICKS


class CpuMeter:
    """CPU seconds used between ``start()`` and ``stop()`` by groups of processes.

    ``groups`` maps a label to a function returning pids (called at both ends, so processes
    that start in between, e.g. new PostgreSQL backends, are counted from zero); "children" is
    this process's waited-for children (wrk), and "other" what the rest of the machine used
    (other people's work on a shared machine; the figures are only comparable when it is low).
    """

    def __init__(self, groups):
        self.groups = groups
        self._start: dict[str, dict[int, float]] = {}
        self._children = 0.0

    @staticmethod
    def _children_cpu() -> float:
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        return usage.ru_utime + usage.ru_stime

    def start(self) -> None:
        self._start = {
            label: {pid: _cpu_seconds(pid) for pid in pids()} for label, pids in self.groups.items()
        }
        self._children = self._children_cpu()
        self._machine = machine_busy_seconds()
        self._started = time.monotonic()
        self.elapsed = 0.0

    def stop(self) -> dict[str, float]:
        used = {}
        for label, pids in self.groups.items():
            before = self._start.get(label, {})
            used[label] = sum(max(0.0, _cpu_seconds(p) - before.get(p, 0.0)) for p in pids())
        used["children"] = self._children_cpu() - self._children
        machine = machine_busy_seconds() - self._machine
        self.elapsed = time.monotonic() - self._started
        used["other"] = max(0.0, machine - sum(used.values()))
        return used


def median(values) -> float:
    values = list(values)
    return statistics.median(values) if values else float("nan")


def workdir() -> Path:
    """BENCH_TMP (made and removed by run.sh), else a new temporary directory."""
    path = os.environ.get("BENCH_TMP") or tempfile.mkdtemp(prefix="hub-bench.")
    return Path(path)


def exit_on_sigterm() -> None:
    """Turn SIGTERM into SystemExit so that ``finally`` blocks stop the servers."""
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))


def write_results(name: str, data: dict) -> Path:
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"{name}.json"
    path.write_text(json.dumps(data, indent=2) + "\n")
    return path


def git_describe() -> dict:
    """The commit of the work tree, whether it has changes, and where the hub code came from."""

    def git(*args):
        command = ["git", *args]
        out = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
        return out.stdout.strip()

    return {
        "commit": git("rev-parse", "--short", "HEAD") or None,
        "work_tree_dirty": bool(git("status", "--porcelain", "--untracked-files=no")),
        "hub_dir": str(HUB_DIR),
    }
