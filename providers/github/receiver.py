"""GitHub: ``X-Hub-Signature-256``, event in ``X-GitHub-Event`` (+ ``action``), id in
``X-GitHub-Delivery``. GitHub never retries a failed delivery."""

from webhooks.receiving import Receiver, field
from webhooks.signatures import HmacHeader


class GitHubReceiver(Receiver):
    provider = "github"
    label = "GitHub"
    signature = HmacHeader(headers=("X-Hub-Signature-256",), prefix="sha256=")
    id_header = ("X-GitHub-Delivery",)
    done_at_ingest = frozenset({"ping"})

    def event_type(self, payload, headers, source) -> str:
        event = headers.get("X-GitHub-Event", "")
        action = field(payload, "action")
        return f"{event}.{action}" if action and isinstance(action, str) else event
