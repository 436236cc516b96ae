"""Run by test_shared_state in a separate OS process: N calls through one connection's client,
printing a JSON summary {"ok": n, "RateLimited": n, ...}."""

import json
import sys

import django

django.setup()

from connections.errors import IntegrationError  # noqa: E402
from connections.models import Connection  # noqa: E402

connection_id, path, count = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
outcomes: dict[str, int] = {}
for _ in range(count):
    client = Connection.objects.get(pk=connection_id).client()
    try:
        client.get(path)
        key = "ok"
    except IntegrationError as exc:
        key = type(exc).__name__
    outcomes[key] = outcomes.get(key, 0) + 1
print(json.dumps(outcomes))
