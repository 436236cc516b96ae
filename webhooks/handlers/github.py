"""GitHub: ping, installation coverage, and compact push / pull request activity."""

from django.utils import timezone

from ..events import Event
from ..models import Activity, Source, SourceRepository


def ping(event: Event) -> None:
    """GitHub proved the URL and secret work: mark the source verified."""
    Source.objects.filter(pk=event.source.pk).update(verified_at=timezone.now())


def installation(event: Event) -> None:
    """``installation.created``/``deleted`` and friends: which repositories the source covers."""
    payload = event.payload
    inst_id = (payload.get("installation") or {}).get("id")
    if event.type == "installation.deleted":
        SourceRepository.objects.filter(source=event.source, installation_id=inst_id).delete()
        return
    _add(event.source, payload.get("repositories") or [], inst_id)


def installation_repositories(event: Event) -> None:
    payload = event.payload
    inst_id = (payload.get("installation") or {}).get("id")
    _add(event.source, payload.get("repositories_added") or [], inst_id)
    removed = [r["id"] for r in payload.get("repositories_removed") or []]
    SourceRepository.objects.filter(source=event.source, repo_id__in=removed).delete()


def _add(source, repositories, installation_id) -> None:
    for repo in repositories:
        SourceRepository.objects.update_or_create(
            source=source,
            repo_id=repo["id"],
            defaults={"full_name": repo["full_name"], "installation_id": installation_id},
        )


def push(event: Event) -> None:
    p = event.payload
    _record(event, ref=p.get("ref", ""), commit_count=len(p.get("commits") or []))


def pull_request(event: Event) -> None:
    _record(event, pr_number=event.payload.get("number"))


def _record(event: Event, **fields) -> None:
    p = event.payload
    Activity.objects.update_or_create(
        delivery_id=event.delivery_id,
        defaults={
            "source": event.source,
            "kind": event.type,
            "repo": (p.get("repository") or {}).get("full_name", ""),
            "sender": (p.get("sender") or {}).get("login", ""),
            **fields,
        },
    )
