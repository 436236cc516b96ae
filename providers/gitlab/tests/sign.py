"""Sending a GitLab delivery as GitLab does: the secret token itself in ``X-Gitlab-Token``."""

import uuid
from pathlib import Path

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
HOOKS = {"push": "Push Hook", "merge_request": "Merge Request Hook", "tag_push": "Tag Push Hook"}


def make(secret, delivery_id, body=None, timestamp=None, kind="push", idempotency=True):
    """``delivery_id`` goes in ``Idempotency-Key`` (GitLab 17.4+) or, with ``idempotency=False``
    (older GitLab), in ``X-Gitlab-Event-UUID``."""
    body = body if body is not None else (FIXTURES / "push.json").read_bytes()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "GitLab/17.6.0",
        "X-Gitlab-Event": HOOKS[kind],
        "X-Gitlab-Instance": "https://gitlab.example.com",
        "X-Gitlab-Webhook-UUID": "4a1f9f7e-2c44-4a8f-9e4e-3c1c0f5c9a11",
        "X-Gitlab-Token": secret,
    }
    if idempotency:
        headers["Idempotency-Key"] = delivery_id
        headers["X-Gitlab-Event-UUID"] = str(uuid.uuid4())
    else:
        headers["X-Gitlab-Event-UUID"] = delivery_id
    return body, headers
