"""A fake GitHub on 127.0.0.1 for the account-linking tests: OAuth (authorize, access token with
form or JSON answers, refresh), the API under /api/v3 (user, emails, repositories with Link
pagination, repository hooks, hook deliveries and redelivery, grant revocation).

What allauth sends and expects is in research/allauth-github.md; the API shapes follow GitHub's
REST docs. State lives on the instance so tests can script and inspect it.
"""

import itertools
import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit

CLIENT_ID, CLIENT_SECRET = "hub-client-id", "hub-client-secret"
USER = {
    "id": 583231,
    "login": "octocat",
    "name": "The Octocat",
    "email": None,
    "avatar_url": "https://avatars.example.test/u/583231",
    "html_url": "https://github.example.test/octocat",
}


class FakeGitHub:
    def __init__(self, port: int):
        self.lock = threading.Lock()
        self.token_mode = "form"  # form | json | json_refresh
        self.deny = False
        self.refresh_delay = 0.0
        self.scopes = "admin:repo_hook, read:user, repo, user:email"
        self.repos = [
            {"id": 1000 + i, "full_name": f"octocat/repo-{i:02d}", "private": i % 3 == 0,
             "updated_at": f"2026-11-{(i % 27) + 1:02d}T10:00:00Z"}
            for i in range(45)
        ]  # fmt: skip
        self.hooks: dict[int, dict] = {}
        self.deliveries: dict[int, list] = {}
        self.redelivered: list[tuple[int, int]] = []
        self.revoked: list[str] = []
        self.refresh_calls = 0
        self.requests: list[tuple[str, str, str]] = []  # (method, raw path, Authorization)
        self.valid_tokens: dict[str, float] = {}  # access token -> expiry (epoch)
        self.refresh_tokens: set[str] = set()
        self.counter = itertools.count(1)
        self.server = _Server(("127.0.0.1", port), _handler(self))
        self.url = f"http://127.0.0.1:{port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()

    def reset(self):
        self.token_mode, self.deny, self.refresh_delay, self.refresh_calls = "form", False, 0.0, 0
        self.hooks.clear()
        self.deliveries.clear()
        self.redelivered.clear()
        self.revoked.clear()
        self.requests.clear()

    # --- tokens --------------------------------------------------------------------------
    def issue(self, expires_in: int | None = None, refresh: bool = False) -> dict:
        n = next(self.counter)
        access = f"gho_fake{n:06d}{'x' * 24}"
        self.valid_tokens[access] = time.time() + expires_in if expires_in else float("inf")
        answer = {"access_token": access, "token_type": "bearer", "scope": self.scopes}
        if refresh:
            token = f"ghr_fake{n:06d}{'y' * 60}"
            self.refresh_tokens.add(token)
            answer |= {"refresh_token": token, "expires_in": expires_in or 28800,
                       "refresh_token_expires_in": 15897600}  # fmt: skip
        return answer

    def token_ok(self, header: str) -> bool:
        token = header.split(" ", 1)[-1] if header else ""
        return self.valid_tokens.get(token, 0) > time.time()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request, client_address):
        pass


def _handler(gh: FakeGitHub):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def _send(self, status, body=None, headers=None, form=False):
            payload = b""
            content_type = "application/json"
            if form:
                payload, content_type = (
                    urlencode(body).encode(),
                    "application/x-www-form-urlencoded",
                )
            elif body is not None:
                payload = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def _body(self):
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            if self.headers.get("Content-Type", "").startswith("application/json"):
                return json.loads(raw or b"{}")
            return {k: v[-1] for k, v in parse_qs(raw.decode()).items()}

        def do_GET(self):
            self._route("GET")

        def do_POST(self):
            self._route("POST")

        def do_DELETE(self):
            self._route("DELETE")

        def _route(self, method):
            with gh.lock:
                gh.requests.append((method, self.path, self.headers.get("Authorization", "")))
            url = urlsplit(self.path)
            query = {k: v[-1] for k, v in parse_qs(url.query).items()}
            for (verb, pattern), fn in ROUTES.items():
                match = re.fullmatch(pattern, url.path)
                if verb == method and match:
                    return fn(self, query, *match.groups())
            self._send(404, {"message": "Not Found"})

        # --- OAuth ------------------------------------------------------------------------
        def authorize(self, query):
            target = query["redirect_uri"]
            if gh.deny:
                params = {"error": "access_denied", "state": query.get("state", "")}
            else:
                params = {"code": f"code-{next(gh.counter)}", "state": query.get("state", "")}
            self.send_response(302)
            self.send_header("Location", f"{target}?{urlencode(params)}")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def access_token(self, query):
            form = self._body()
            if form.get("client_id") != CLIENT_ID or form.get("client_secret") != CLIENT_SECRET:
                return self._send(200, {"error": "incorrect_client_credentials"}, form=True)
            if form.get("grant_type") == "refresh_token":
                return self._refresh(form)
            with gh.lock:
                if gh.token_mode == "json_refresh":
                    answer = gh.issue(expires_in=28800, refresh=True)
                else:
                    answer = gh.issue()
            self._send(200, answer, form=gh.token_mode == "form")

        def _refresh(self, form):
            with gh.lock:
                gh.refresh_calls += 1
                token = form.get("refresh_token")
                if token not in gh.refresh_tokens:
                    return self._send(200, {"error": "bad_refresh_token"})
                gh.refresh_tokens.discard(token)  # single-use
            time.sleep(gh.refresh_delay)
            with gh.lock:
                answer = gh.issue(expires_in=28800, refresh=True)
            self._send(200, answer)

        # --- API --------------------------------------------------------------------------
        def _authed(self):
            if not gh.token_ok(self.headers.get("Authorization", "")):
                self._send(401, {"message": "Bad credentials"})
                return False
            return True

        def user(self, query):
            if self._authed():
                self._send(200, USER, {"X-OAuth-Scopes": gh.scopes})

        def emails(self, query):
            if self._authed():
                self._send(200, [{"email": "octocat@example.test", "primary": True,
                                  "verified": True, "visibility": "public"}])  # fmt: skip

        def repos(self, query):
            if not self._authed():
                return
            page, per_page = int(query.get("page", 1)), int(query.get("per_page", 30))
            items = gh.repos[(page - 1) * per_page : page * per_page]
            links = []
            if page * per_page < len(gh.repos):
                links.append(
                    f'<{gh.url}/api/v3/user/repos?page={page + 1}&per_page={per_page}>; rel="next"'
                )
            headers = {"X-OAuth-Scopes": gh.scopes}
            if links:
                headers["Link"] = ", ".join(links)
            self._send(200, items, headers)

        def create_hook(self, query, owner, repo):
            if not self._authed():
                return
            body = self._body()
            with gh.lock:
                hook_id = 400000 + next(gh.counter)
                gh.hooks[hook_id] = {"id": hook_id, "repo": f"{owner}/{repo}", **body}
            self._send(201, {"id": hook_id, "type": "Repository", "active": True, **body})

        def delete_hook(self, query, owner, repo, hook_id):
            if not self._authed():
                return
            found = gh.hooks.pop(int(hook_id), None)
            self._send(204 if found else 404, None if found else {"message": "Not Found"})

        def hook_deliveries(self, query, owner, repo, hook_id):
            if self._authed():
                self._send(200, gh.deliveries.get(int(hook_id), []))

        def redeliver(self, query, owner, repo, hook_id, delivery_id):
            if self._authed():
                with gh.lock:
                    gh.redelivered.append((int(hook_id), int(delivery_id)))
                self._send(202, {})

        def revoke_grant(self, query, client_id):
            body = self._body()
            gh.revoked.append(body.get("access_token", ""))
            gh.valid_tokens.pop(body.get("access_token", ""), None)
            self._send(204)

    ROUTES = {
        ("GET", r"/login/oauth/authorize"): Handler.authorize,
        ("POST", r"/login/oauth/access_token"): Handler.access_token,
        ("GET", r"/api/v3/user"): Handler.user,
        ("GET", r"/api/v3/user/emails"): Handler.emails,
        ("GET", r"/api/v3/user/repos"): Handler.repos,
        ("POST", r"/api/v3/repos/([^/]+)/([^/]+)/hooks"): Handler.create_hook,
        ("DELETE", r"/api/v3/repos/([^/]+)/([^/]+)/hooks/(\d+)"): Handler.delete_hook,
        ("GET", r"/api/v3/repos/([^/]+)/([^/]+)/hooks/(\d+)/deliveries"): Handler.hook_deliveries,
        (
            "POST",
            r"/api/v3/repos/([^/]+)/([^/]+)/hooks/(\d+)/deliveries/(\d+)/attempts",
        ): Handler.redeliver,
        ("DELETE", r"/api/v3/applications/([^/]+)/grant"): Handler.revoke_grant,
    }
    return Handler
