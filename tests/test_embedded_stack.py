"""The README's `make run` on the embedded defaults (SQLite, SQLite broker, no server): a signed
webhook posted to the running stack is processed by its real worker, a worker killed -9 is
restarted by supervisor and processes the next one, and Ctrl-C stops it all."""

import os
import re
import signal
import sqlite3
import uuid
from pathlib import Path

import requests

from . import signers, stack


def test_make_run_processes_a_webhook_and_stops_on_ctrl_c(tmp_path):
    data_dir = tmp_path / "data"
    port = stack.free_port()
    env = stack.hub_env(
        HUB_DATA_DIR=data_dir,
        HUB_PORT=port,
        HUB_ADMIN_USER="admin",
        HUB_ADMIN_PASSWORD="a-long-password",
        DATABASE_URL=None,
        CACHE_URL=None,
        CELERY_BROKER_URL=None,
        HUB_ENCRYPTION_KEYS=None,
        DJANGO_SECRET_KEY=None,
        DJANGO_SETTINGS_MODULE=None,
        MAKEFLAGS=None,
        MAKELEVEL=None,
    )
    log = tmp_path / "make-run.log"
    proc = stack.start(["make", "run"], env, log)
    try:
        stack.wait_for_port(port, timeout=180, proc=proc)
        secret, source_id = stack.create_github_source(env, "e2e")
        body, headers = signers.make_github(secret, str(uuid.uuid4()))
        url = f"http://127.0.0.1:{port}/webhooks/{source_id}/"
        response = requests.post(url, data=body, headers=headers, timeout=10)
        assert response.status_code == 202, response.text
        pk = response.json()["id"]

        def outcome():
            with sqlite3.connect(data_dir / "hub.sqlite3", timeout=10) as db:
                row = db.execute(
                    "SELECT status, attempts, error FROM webhooks_delivery WHERE id = ?", [pk]
                ).fetchone()
            return row if row[0] not in ("queued", "processing") else None

        status, attempts, error = stack.wait_until(
            outcome, timeout=60, what="worker outcome", log=log
        )
        assert (status, attempts) == ("processed", 1), error

        # nothing stays down: the worker killed -9 is restarted and processes the next one
        (worker,) = [p for p in _processes_with(str(data_dir)) if _is_worker_main(p)]
        for pid in [worker, *stack.children(worker)]:  # the worker and its pool, as in a crash
            os.kill(pid, signal.SIGKILL)
        stack.wait_until(
            lambda: (
                [p for p in _processes_with(str(data_dir)) if _is_worker_main(p)]
                not in ([], [worker])
            ),
            timeout=60,
            what="a new worker started by supervisor",
        )
        body, headers = signers.make_github(secret, str(uuid.uuid4()))
        response = requests.post(url, data=body, headers=headers, timeout=10)
        pk = response.json()["id"]
        status, attempts, error = stack.wait_until(outcome, timeout=60, what="after the restart")
        assert status == "processed", error
        assert (data_dir / "hub.sqlite3").exists() and (data_dir / "broker.sqlite3").exists()
        sign_in = requests.get(f"http://127.0.0.1:{port}/admin/login/", timeout=10)
        assert sign_in.status_code == 200 and "/accounts/login/" in sign_in.url
        stylesheet = re.search(r'href="(/static/hub/hub[^"]*)"', sign_in.text).group(1)
        css = requests.get(f"http://127.0.0.1:{port}{stylesheet}", timeout=10)
        assert css.status_code == 200 and "body" in css.text
    finally:
        returncode = stack.stop(proc, sig=signal.SIGINT, timeout=60)
    assert returncode is not None, log.read_text()[-3000:]
    try:
        stack.wait_until(
            lambda: not _processes_with(str(data_dir)), timeout=45, what="everything to stop"
        )
    except TimeoutError:
        left = {
            p: stack.cmdline(p).replace(b"\0", b" ").decode()
            for p in _processes_with(str(data_dir))
        }
        raise AssertionError(
            f"still running after Ctrl-C: {left}\n{log.read_text()[-3000:]}"
        ) from None


def _is_worker_main(pid: int) -> bool:
    """The Celery worker's main process (its pool children have the worker as parent)."""
    try:
        cmd = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        parent = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
        parent_cmd = Path(f"/proc/{parent}/cmdline").read_bytes()
    except (OSError, ValueError, IndexError):
        return False
    return (
        b"worker" in cmd and any(c.endswith(b"celery") for c in cmd) and b"celery" not in parent_cmd
    )


def _processes_with(marker: str) -> list[int]:
    """Pids whose environment names our data directory (web, worker, beat and their children)."""
    found = []
    for environ in Path("/proc").glob("[0-9]*/environ"):
        try:
            if marker.encode() in environ.read_bytes():
                found.append(int(environ.parent.name))
        except OSError:
            continue
    return found
