"""A programmable HTTP server on 127.0.0.1 for client tests that need real sockets and real
time (timeouts, Retry-After, backoff, connection pooling, several processes)."""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class FakeAPI:
    """``script(path, [(status, headers, body, delay), ...])`` answers in order (the last one
    repeats); ``hits[path]`` counts requests; ``requests`` keeps (method, path, headers)."""

    def __init__(self):
        self.scripts: dict[str, list] = {}
        self.hits: dict[str, int] = {}
        self.requests: list = []
        self.lock = threading.Lock()
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _answer(self):
                path = self.path.split("?")[0]
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                with api.lock:
                    api.hits[path] = api.hits.get(path, 0) + 1
                    api.requests.append((self.command, self.path, dict(self.headers)))
                    script = api.scripts.get(path) or [(404, {}, {"message": "Not Found"}, 0)]
                    status, headers, body, delay = script.pop(0) if len(script) > 1 else script[0]
                if delay:
                    time.sleep(delay)
                payload = json.dumps(body).encode()
                self.send_response(status)
                for name, value in {"Content-Type": "application/json", **headers}.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _answer

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request, client_address):
                pass  # a client that timed out and hung up is what some tests do on purpose

        self.server = Server(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def script(self, path, answers):
        """Each answer: a status, or (status, headers[, body[, delay seconds]])."""
        with self.lock:
            self.scripts[path] = [_full(a) for a in answers]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def _full(answer) -> tuple:
    parts = list(answer) if isinstance(answer, tuple) else [answer]
    status, headers, body, delay = parts + [None] * (4 - len(parts))
    return status, headers or {}, body if body is not None else {"ok": status < 400}, delay or 0
