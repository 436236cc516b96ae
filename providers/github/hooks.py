"""Repository webhooks on GitHub, registered for a user with their linked account's token,
and recovery of what GitHub failed to deliver (GitHub never retries by itself).

All GitHub calls go through the connection's resilient client (connections.client).
"""

import logging
import re
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from connections.client import api_path
from webhooks.models import Delivery, RedeliveryRequest, RepositoryHook, Source

logger = logging.getLogger(__name__)
AVAILABLE_EVENTS = (
    "push", "pull_request", "issues", "issue_comment", "release", "create", "delete",
    "workflow_run",
)  # fmt: skip
DEFAULT_EVENTS = ("push", "pull_request")
OWNER = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}")
"""A GitHub user or organization login: 1-39 alphanumerics or single hyphens, no hyphen at
either end."""
NAME = re.compile(r"[A-Za-z0-9._-]{1,100}")
"""A repository name: 1-100 of letters, digits, '.', '_' and '-' (not '.' or '..')."""


class BadRepository(ValueError):
    """A repository name that is not ``owner/name`` in GitHub's grammar (nothing was sent)."""


def parse_repository(full_name: str) -> tuple[str, str]:
    """``(owner, name)`` of ``owner/name``, checked against GitHub's grammar before any URL is
    built from it; raises BadRepository saying what is wrong."""
    owner, slash, name = (full_name or "").strip().partition("/")
    if not slash or not owner or not name:
        raise BadRepository("Choose a repository as owner/name, e.g. octocat/hello-world.")
    if not OWNER.fullmatch(owner):
        raise BadRepository(
            f"{owner[:60]!r} is not a GitHub owner: 1-39 letters, digits or single hyphens, "
            "not starting or ending with a hyphen."
        )
    if not NAME.fullmatch(name) or name in (".", ".."):
        raise BadRepository(
            f"{name[:60]!r} is not a GitHub repository name: 1-100 letters, digits, '.', '_' "
            "or '-'."
        )
    return owner, name


def _hooks_path(repo: str, *rest) -> str:
    return api_path("repos", *parse_repository(repo), "hooks", *rest)


def _github_id(value) -> int:
    """An id from GitHub's own answer, used in a URL: a positive integer, or ValueError."""
    if isinstance(value, bool) or not isinstance(value, int | str) or not str(value).isdigit():
        raise ValueError(f"GitHub answered an id that is not a number: {str(value)[:40]!r}")
    return int(value)


def connect(connection, owner, repo: str, events, request=None) -> RepositoryHook:
    """Create a source for ``repo`` and register its webhook on GitHub (JSON, with the
    source's secret). Raises BadRepository before any call when ``repo`` is not owner/name in
    GitHub's grammar, IntegrationError if GitHub refuses; nothing is kept then."""
    path = _hooks_path(repo)
    events = [e for e in events if e in AVAILABLE_EVENTS] or list(DEFAULT_EVENTS)
    with transaction.atomic():
        source = Source(name=f"GitHub {repo}", provider="github", connection=connection)
        secret = source.set_secret()
        source.save()
        answer = connection.client().post(
            path,
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
            hook_id=_github_id(answer.json().get("id")),
            events=events,
        )


def disconnect(hook: RepositoryHook) -> bool:
    """Remove the webhook at GitHub and stop receiving; the source and its deliveries stay.
    Returns False when GitHub could not be told (the hook may still exist there)."""
    from connections.errors import IntegrationError, NotFound

    removed = True
    try:
        hook.connection.client().delete(_hooks_path(hook.repo, hook.hook_id))
    except NotFound:
        pass  # already gone at GitHub
    except (IntegrationError, BadRepository):
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
    log_path = _hooks_path(hook.repo, hook.hook_id, "deliveries")
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
        github_id = _github_id(entry.get("id"))
        client.post(api_path("repos", *parse_repository(hook.repo), "hooks", hook.hook_id,
                             "deliveries", github_id, "attempts"))  # fmt: skip
        RedeliveryRequest.objects.create(
            hook=hook, guid=guid, github_delivery_id=github_id, reason=reason
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
