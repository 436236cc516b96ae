"""GitLab: the secret token itself in ``X-Gitlab-Token`` (compared in constant time), the hook
name in ``X-Gitlab-Event`` (``Push Hook``), the kind in the body's ``object_kind`` (plus
``object_attributes.action`` where there is one: ``merge_request.open``). Idempotency: GitLab
sends ``Idempotency-Key`` (the same on every retry of one webhook request, GitLab 17.4 and
newer) and ``X-Gitlab-Event-UUID`` (one per event); the first present is the delivery id."""

import re

from webhooks.receiving import Receiver, field
from webhooks.signatures import SecretToken


class GitLabReceiver(Receiver):
    provider = "gitlab"
    label = "GitLab"
    signature = SecretToken(header="X-Gitlab-Token")
    id_header = ("Idempotency-Key", "X-Gitlab-Event-UUID")

    def event_type(self, payload, headers, source) -> str:
        kind = field(payload, "object_kind")
        if not isinstance(kind, str) or not kind:
            # "Push Hook" -> "push", "Merge Request Hook" -> "merge_request"
            hook = re.sub(r"\s+hook$", "", headers.get("X-Gitlab-Event", ""), flags=re.I)
            kind = "_".join(hook.lower().split())
        action = field(field(payload, "object_attributes"), "action")
        return f"{kind}.{action}" if isinstance(action, str) and action else kind
