"""Moving a source's built-in handlers onto routes, where the forward machinery runs them.

``route_builtin_handlers(source) -> list[Route]``: for each entry of the source's provider
dispatch table (built-in handlers and HUB_WEBHOOK_HANDLERS), a handler destination naming that
handler (one per handler, shared by every source) and a route from the source for its event
types (the table's key, exactly and as a family: ``pull_request`` takes ``pull_request`` and
``pull_request.*``, as the table resolves them); then the source's ``handling`` becomes
"routes only", so processing runs no built-in handler for it and each handler runs once, as a
forward: its own retries, ordering key, pause and replay. Idempotent: what exists is reused.
One transaction: a source is never left half moved.
"""

from django.db import transaction

from webhooks import registry
from webhooks.models import Source

from .models import Destination, Route, generate_secret


@transaction.atomic
def route_builtin_handlers(source: Source) -> list[Route]:
    table = registry.table(source.provider)
    routes = []
    for event_type, handler in sorted(table.handlers.items()):
        path = registry.path(handler)
        destination, _ = Destination.objects.get_or_create(
            kind=Destination.Kind.HANDLER,
            handler=path,
            defaults={"name": f"Handler {path}"[:200], "secret": generate_secret()},
        )
        route, _ = Route.objects.get_or_create(
            source=source,
            destination=destination,
            defaults={
                "name": f"{source.name}: {event_type}"[:200],
                "event_types": [event_type, f"{event_type}.*"] if "." not in event_type
                else [event_type],
            },
        )  # fmt: skip
        routes.append(route)
    if source.handling != Source.Handling.ROUTES:
        source.handling = Source.Handling.ROUTES
        source.save(update_fields=["handling", "updated_at"])
    return routes
