"""The Celery application. Tasks take ids only; configuration comes from Django settings."""

import os

from celery import Celery
from celery.signals import task_prerun

from core.dbcheck import check_connection

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hub.settings")

app = Celery("hub")
app.config_from_object("django.conf:settings", namespace="CELERY")
# Celery's Django fixup closes the database connection around every task unless told to
# reuse it; reconnecting costs ~5 ms of CPU per task on PostgreSQL (research/performance-floor.md).
app.conf["CELERY_DB_REUSE_MAX"] = int(os.environ.get("CELERY_DB_REUSE_MAX", "1000"))
app.autodiscover_tasks(["webhooks", "connections", "routing", "hub", "providers.github"])


@task_prerun.connect(weak=False)
def _usable_database(**kwargs) -> None:
    """Every task starts on a usable database connection. The fixup above reuses a connection
    for up to CELERY_DB_REUSE_MAX tasks without looking at it, so after a database restart a
    pool process failed every task on its dead connection until that count ran out (about
    5 minutes in a fault run). Django's own per-request check does it instead (a connection
    that errored and no longer answers, or is older than CONN_MAX_AGE, is closed; with
    CONN_HEALTH_CHECKS the next query first checks it), without a SELECT 1 round trip per task
    (core.dbcheck: the socket each task, the full check at most a second apart)."""
    check_connection()
