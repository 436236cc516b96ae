"""The Celery application. Tasks take ids only; configuration comes from Django settings."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hub.settings")

app = Celery("hub")
app.config_from_object("django.conf:settings", namespace="CELERY")
# Celery's Django fixup closes the database connection around every task unless told to
# reuse it; reconnecting costs ~5 ms of CPU per task on PostgreSQL (research/performance-floor.md).
app.conf["CELERY_DB_REUSE_MAX"] = int(os.environ.get("CELERY_DB_REUSE_MAX", "1000"))
app.autodiscover_tasks(["webhooks", "connections", "routing", "hub", "providers.github"])
