"""Slow or stalled request bodies cannot occupy the workers that answer providers.

The web server is started exactly as `make run`'s Procfile starts it. 32 sockets each announce
a 100,000-byte body, send a few bytes and hold; meanwhile a signed delivery must be answered
202 and /healthz 200, each within 1 s (the client's timeout: a bound on behaviour, not a
benchmark).
"""

import shlex
import socket
import uuid
from pathlib import Path

import pytest
import requests

from . import signers, stack

pytestmark = [pytest.mark.production, pytest.mark.django_db(transaction=True)]


def procfile_web(port: int) -> list[str]:
    line = next(
        line.split(":", 1)[1]
        for line in (stack.ROOT / "Procfile").read_text().splitlines()
        if line.startswith("web:")
    )
    line = line.replace("${HUB_PORT:-8000}", str(port)).replace(".venv/bin/", f"{stack.BIN}/")
    return shlex.split(line)


def _hold(port: int, path: str) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    sock.sendall(
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        'Content-Length: 100000\r\n\r\n{"slow"'.encode()
    )
    return sock


def test_32_stalled_bodies_do_not_delay_a_delivery_or_healthz(make_source, tmp_path: Path):
    source, secret = make_source("github")
    port = stack.free_port()
    env = stack.hub_env(DJANGO_SETTINGS_MODULE="tests.settings", DATABASE_URL=stack.database_url())
    server = stack.start(procfile_web(port), env, tmp_path / "web.log")
    held = []
    try:
        stack.wait_for_port(port, proc=server)
        base = f"http://127.0.0.1:{port}"
        stack.wait_until(lambda: _answers(base + "/healthz"), timeout=30, what="the server")
        for n in range(32):
            path = source.get_receive_path() if n % 2 else "/accounts/login/"
            held.append(_hold(port, path))
        body, headers = signers.make_github(secret, str(uuid.uuid4()))
        delivery = requests.post(base + source.get_receive_path(), data=body, headers=headers,
                                 timeout=1)  # fmt: skip
        assert delivery.status_code == 202, delivery.text
        assert requests.get(base + "/healthz", timeout=1).status_code == 200
        # A body announced over HUB_REQUEST_BODY_CEILING is refused before it is read.
        with socket.create_connection(("127.0.0.1", port), timeout=2) as sock:
            sock.sendall(
                f"POST {source.get_receive_path()} HTTP/1.1\r\nHost: x\r\n"
                "Content-Length: 999999999\r\n\r\n{".encode()
            )
            assert sock.recv(200).startswith(b"HTTP/1.1 413")
    finally:
        for sock in held:
            sock.close()
        stack.stop(server)


def _answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=2).status_code == 200
    except requests.RequestException:
        return False
