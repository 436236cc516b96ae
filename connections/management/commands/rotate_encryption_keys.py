"""Re-encrypt every secret at rest under the first key of HUB_ENCRYPTION_KEYS."""

from django.apps import apps
from django.core.management.base import BaseCommand
from django.db import transaction

from core.fields import EncryptedTextField


class Command(BaseCommand):
    help = (
        "Re-encrypt all encrypted fields with the first key in HUB_ENCRYPTION_KEYS. Run it after "
        "prepending a new key; afterwards the old key can be removed."
    )

    def handle(self, *args, **options):
        total = 0
        for model in apps.get_models():
            fields = [f for f in model._meta.concrete_fields if isinstance(f, EncryptedTextField)]
            if not fields:
                continue
            names = [f.attname for f in fields]
            # Reading decrypts with whichever key matches; writing encrypts under the first key.
            rows = model._base_manager.values_list("pk", *names)
            with transaction.atomic():
                for pk, *values in rows.iterator(chunk_size=500):
                    updates = {}
                    for name, value in zip(names, values, strict=True):
                        if value:
                            updates[name] = value
                    if updates:
                        model._base_manager.filter(pk=pk).update(**updates)
                        total += 1
            self.stdout.write(f"{model._meta.label}: re-encrypted {', '.join(names)}")
        self.stdout.write(self.style.SUCCESS(f"{total} rows re-encrypted under the first key."))
