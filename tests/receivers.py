"""Local HTTP receivers for routing tests: real sockets on 127.0.0.1, each recording what it
got and verifying the Standard Webhooks signature with the ``standardwebhooks`` library."""

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import standardwebhooks


class Receiver:
    """``Receiver(secret, answer=lambda n, headers, body: 200)``: ``received`` holds
    ``(headers, body, verified)`` of every request, in arrival order."""

    def __init__(self, secret: str | None = None, answer=None):
        self.secret = secret
        self.answer = answer or (lambda n, headers, body: 200)
        self.received: list[tuple[dict, bytes, bool]] = []
        self.answered: list[int] = []  # the status answered to received[i]
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                headers = dict(self.headers.items())
                with receiver.lock:
                    n = len(receiver.received)
                    code = receiver.answer(n, headers, body)
                    receiver.received.append((headers, body, receiver.verify(headers, body)))
                    receiver.answered.append(code)
                hang = getattr(receiver, "hang", None)
                if hang is not None and hang(n):
                    time.sleep(30)  # the worker sending this is killed meanwhile
                self.send_response(code)
                if 300 <= code < 400:
                    self.send_header("Location", "http://127.0.0.1:9/elsewhere")
                payload = f'{{"seen": {n}}}'.encode()
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def verify(self, headers: dict, body: bytes) -> bool:
        if not self.secret:
            return False
        lowered = {k.lower(): v for k, v in headers.items()}
        try:
            standardwebhooks.Webhook(self.secret).verify(body, lowered, json_parse=False)
        except standardwebhooks.webhooks.WebhookVerificationError:
            return False
        return True

    def close(self):
        self.server.shutdown()
        self.server.server_close()
