"""GitHub: ``X-Hub-Signature-256``, event in ``X-GitHub-Event`` (+ ``action``), id in
``X-GitHub-Delivery``. GitHub never retries a failed delivery."""

from ..signatures import HmacHeader
from .base import Receiver, _get


class GitHubReceiver(Receiver):
    provider = "github"
    label = "GitHub"
    signature = HmacHeader(headers=("X-Hub-Signature-256",), prefix="sha256=")
    id_header = ("X-GitHub-Delivery",)
    done_at_ingest = frozenset({"ping"})
    handlers = {
        "ping": "webhooks.handlers.github.ping",
        "installation": "webhooks.handlers.github.installation",
        "installation_repositories": "webhooks.handlers.github.installation_repositories",
        "push": "webhooks.handlers.github.push",
        "pull_request": "webhooks.handlers.github.pull_request",
    }
    ignored_events = frozenset({"star", "watch", "fork", "check_suite", "check_run", "status"})

    def event_type(self, payload, headers, source) -> str:
        event = headers.get("X-GitHub-Event", "")
        action = _get(payload, "action")
        return f"{event}.{action}" if action and isinstance(action, str) else event
