"""Starting real processes for tests: a web server, a Celery worker, the whole `make run`."""

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, timeout: float = 30, proc: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before listening on {port}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"nothing listening on 127.0.0.1:{port} after {timeout} s")


def wait_until(
    predicate, timeout: float = 30, interval: float = 0.2, what: str = "condition", log=None
):
    """``predicate()``'s first true value; TimeoutError after ``timeout`` s, with the last 80
    lines of ``log`` (a Path) when given, so that a failure says what the processes did."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    tail = ""
    if log is not None and Path(log).exists():
        tail = "\n" + "\n".join(Path(log).read_text(errors="replace").splitlines()[-80:])
    raise TimeoutError(f"{what} not reached after {timeout} s{tail}")


def hub_env(**overrides) -> dict:
    """The test process's environment (keys, services) with overrides; None removes a name."""
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "hub.settings", "PYTHONUNBUFFERED": "1"}
    for name, value in overrides.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = str(value)
    return env


def start(args: list[str], env: dict, log: Path) -> subprocess.Popen:
    """Start a process in its own group, output to ``log``."""
    return subprocess.Popen(
        args,
        cwd=ROOT,
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def stop(proc: subprocess.Popen, sig=signal.SIGTERM, timeout: float = 20) -> int:
    """Signal the whole process group and wait; SIGKILL if it does not stop in time."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)
    _reap_group(proc.pid, timeout)
    return proc.returncode


def _reap_group(pgid: int, timeout: float) -> None:
    """Wait for the rest of the group (e.g. prefork children) to exit; SIGKILL stragglers."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGKILL)


def manage(*args: str, env: dict) -> str:
    result = subprocess.run(
        [str(BIN / "python"), "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    if result.returncode:
        raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


def gunicorn(port: int, env: dict, log: Path, workers: int = 1) -> subprocess.Popen:
    """The web server as production runs it (gunicorn over uvicorn workers, hub.asgi)."""
    proc = start(
        [
            str(BIN / "gunicorn"),
            "hub.asgi:application",
            "--worker-class",
            "hub.server.UvicornWorker",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
        ],
        env,
        log,
    )
    wait_for_port(port, proc=proc)
    return proc


def celery_worker(
    env: dict, log: Path, concurrency: int = 1, beat: Path | None = None
) -> subprocess.Popen:
    """A real worker (prefork); with ``beat`` (a schedule file path) it also runs beat."""
    args = [str(BIN / "celery"), "-A", "hub", "worker", "--loglevel", "INFO"]
    args += ["--concurrency", str(concurrency), "--without-gossip", "--without-mingle"]
    if beat is not None:
        args += ["--beat", "--schedule", str(beat)]
    return start(args, env, log)


FAST = {  # time compressed for the tests
    "HUB_SWEEP_SECONDS": "1",
    "HUB_CLAIM_TIMEOUT": "3",
    "HUB_SWEEP_QUEUED_AFTER": "2",
    "HUB_FORWARD_CLAIM_TIMEOUT": "4",
}


def database_url() -> str:
    """The test database, for the processes a test starts."""
    from django.db import connection

    s = connection.settings_dict
    return f"postgres://{s['USER']}@{s['HOST']}:{s['PORT']}/{s['NAME']}"


def create_github_source(env: dict, name: str) -> tuple[str, str]:
    """A GitHub source created through ``manage.py shell`` in ``env``'s database:
    returns (secret, source id)."""
    out = manage(
        "shell",
        "-c",
        f"from webhooks.models import Source; s=Source(name={name!r}, provider='github'); "
        "print(s.set_secret()); s.save(); print(s.pk)",
        env=env,
    )
    secret, source_id = out.split()[-2:]
    return secret, source_id


def children(pid: int) -> list[int]:
    """The pids whose parent is ``pid`` (from /proc)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(stat.parent.name))
        except (OSError, ValueError, IndexError):
            continue
    return found


def cmdline(pid: int) -> bytes:
    """A process's command line, arguments separated by NUL (b"" once it is gone)."""
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""
