"""``manage.py route_builtin_handlers <source id>...``: run these sources' built-in handlers as
handler destinations of routes (routing.builtin), and say what was made."""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from routing.builtin import route_builtin_handlers
from webhooks.models import Source


class Command(BaseCommand):
    help = (
        "Run the built-in handlers of these sources as handler destinations of routes (per-route "
        "retries, ordering, pause, replay) and switch the sources to 'routes only'."
    )

    def add_arguments(self, parser):
        parser.add_argument("sources", nargs="+", help="Source ids (UUIDs).")

    def handle(self, *args, sources, **options):
        for source_id in sources:
            try:
                source = Source.objects.get(pk=source_id)
            except (Source.DoesNotExist, ValidationError):
                raise CommandError(f"No source has the id {source_id!r}.") from None
            routes = route_builtin_handlers(source)
            self.stdout.write(f"{source.name} ({source.pk}): routes only")
            for route in routes:
                self.stdout.write(
                    f"  route {route.pk} {route.name!r}: {', '.join(route.event_types)} -> "
                    f"{route.destination.handler}"
                )
            if not routes:
                self.stdout.write("  (its provider has no built-in handler)")
