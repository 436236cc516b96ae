"""Repository webhooks on GitHub, registered for a user with their linked account's token,
and recovery of what GitHub failed to deliver (GitHub never retries by itself).

All GitHub calls go through the connection's resilient client (connections.client).
"""

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from .models import Delivery, RedeliveryRequest, RepositoryHook, Source

logger = logging.getLogger(__name__)
AVAILABLE_EVENTS = (
    "push", "pull_request", "issues", "issue_comment", "release", "create", "delete",
    "workflow_run",
)  # fmt: skip
DEFAULT_EVENTS = ("push", "pull_request")


def connect(connection, owner, repo: str, events, request=None) -> RepositoryHook:
    """Create a source for ``repo`` and register its webhook on GitHub (JSON, with the
    source's secret). Raises IntegrationError if GitHub refuses; nothing is kept then."""
    events = [e for e in events if e in AVAILABLE_EVENTS] or list(DEFAULT_EVENTS)
    with transaction.atomic():
        source = Source(name=f"GitHub {repo}", provider="github", connection=connection)
        secret = source.set_secret()
        source.save()
        answer = connection.client().post(
            f"/repos/{repo}/hooks",
            json={
                "name": "web",
                "active": True,
                "events": events,
                "config": {
                    "url": source.receiving_url(request),
                    "content_type": "json",
                    "secret": secret,
                    "insecure_ssl": "0",
                },
            },
        )
        return RepositoryHook.objects.create(
            source=source,
            connection=connection,
            owner=owner,
            repo=repo,
            hook_id=answer.json()["id"],
            events=events,
        )


def disconnect(hook: RepositoryHook) -> bool:
    """Remove the webhook at GitHub and stop receiving; the source and its deliveries stay.
    Returns False when GitHub could not be told (the hook may still exist there)."""
    from connections.errors import IntegrationError, NotFound

    removed = True
    try:
        hook.connection.client().delete(f"/repos/{hook.repo}/hooks/{hook.hook_id}")
    except NotFound:
        pass  # already gone at GitHub
    except IntegrationError:
        logger.warning("webhooks.github.unhook_failed", extra={"hook_id": hook.pk}, exc_info=True)
        removed = False
    with transaction.atomic():
        Source.objects.filter(pk=hook.source_id).update(enabled=False)
        hook.delete()
    return removed


def redeliver_missed(hook: RepositoryHook) -> int:
    """Ask GitHub to redeliver, once each, the deliveries of the last
    HUB_GITHUB_REDELIVERY_DAYS (GitHub keeps 3) that the hub never stored (failed, or lost).
    Marks earlier requests whose delivery has since arrived as recovered. Returns how many
    redeliveries were requested."""
    now = timezone.now()
    window = now - timedelta(days=settings.HUB_GITHUB_REDELIVERY_DAYS)
    client = hook.connection.client()
    latest: dict[str, dict] = {}
    log_path = f"/repos/{hook.repo}/hooks/{hook.hook_id}/deliveries"
    for entry in client.paginate(log_path, params={"per_page": 100}):
        if _parse(entry["delivered_at"]) < window:
            break  # newest first: the rest is older
        latest.setdefault(entry["guid"], entry)
    stored = set(
        Delivery.objects.filter(source_id=hook.source_id, external_id__in=list(latest))
        .exclude(status=Delivery.Status.REJECTED)
        .values_list("external_id", flat=True)
    )
    asked = set(
        RedeliveryRequest.objects.filter(hook=hook, guid__in=list(latest)).values_list(
            "guid", flat=True
        )
    )
    requested = 0
    for guid, entry in latest.items():
        if guid in stored or guid in asked:
            continue
        status = entry.get("status_code") or 0
        reason = "never stored" if 200 <= status < 300 else f"failed (HTTP {status or 'none'})"
        client.post(f"{log_path}/{entry['id']}/attempts")
        RedeliveryRequest.objects.create(
            hook=hook, guid=guid, github_delivery_id=entry["id"], reason=reason
        )
        requested += 1
    _mark_recovered(hook, now)
    RepositoryHook.objects.filter(pk=hook.pk).update(redelivery_checked_at=now)
    return requested


def _mark_recovered(hook: RepositoryHook, now) -> None:
    pending = dict(
        RedeliveryRequest.objects.filter(hook=hook, recovered_at__isnull=True).values_list(
            "guid", "pk"
        )
    )
    arrived = list(
        Delivery.objects.filter(source_id=hook.source_id, external_id__in=list(pending))
        .exclude(status=Delivery.Status.REJECTED)
        .values_list("external_id", flat=True)
    )
    if arrived:
        Delivery.objects.filter(source_id=hook.source_id, external_id__in=arrived).update(
            recovered_at=now
        )
        RedeliveryRequest.objects.filter(pk__in=[pending[g] for g in arrived]).update(
            recovered_at=now
        )


def _parse(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))
