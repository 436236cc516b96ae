"""GitHub's handlers: installation coverage, and compact push / pull request activity.

A handler is ``handler(event: webhooks.events.Event) -> None`` and runs inside the transaction
that records the delivery's outcome (see webhooks.processing). ``ping`` is finished at ingest
(the receiver's ``done_at_ingest`` marks the source verified), so a replayed ping is ignored."""

from core import bulk
from webhooks.errors import PermanentError
from webhooks.events import Event
from webhooks.models import Activity, SourceRepository
from webhooks.payload_fields import optional, require, require_object


def installation(event: Event) -> None:
    """``installation.created``/``deleted`` and friends: which repositories the source covers."""
    require_object(event)
    inst_id = require(event, "installation.id", int)
    if event.type == "installation.deleted":
        SourceRepository.objects.filter(source=event.source, installation_id=inst_id).delete()
        return
    _add(event, optional(event, "repositories", []), inst_id)


def installation_repositories(event: Event) -> None:
    require_object(event)
    inst_id = require(event, "installation.id", int)
    _add(event, optional(event, "repositories_added", []), inst_id)
    removed = [_repo(event, r, "repositories_removed")[0] for r in optional(
        event, "repositories_removed", [])]  # fmt: skip
    SourceRepository.objects.filter(source=event.source, repo_id__in=removed).delete()


def _repo(event: Event, repo, where: str) -> tuple[int, str]:
    """(id, full_name) of one repository entry of a list, or PermanentError naming the list."""
    if (
        not isinstance(repo, dict)
        or not isinstance(repo.get("id"), int)
        or not repo.get("full_name")
    ):
        raise PermanentError(
            f"{event.provider} {event.type}: an entry of {where!r} has no 'id' and 'full_name'."
        )
    return repo["id"], repo["full_name"]


def _add(event: Event, repositories, installation_id) -> None:
    if not isinstance(repositories, list):
        raise PermanentError(f"{event.provider} {event.type}: 'repositories' is not a list.")
    for repo in repositories:
        repo_id, full_name = _repo(event, repo, "repositories")
        SourceRepository.objects.update_or_create(
            source=event.source,
            repo_id=repo_id,
            defaults={"full_name": full_name, "installation_id": installation_id},
        )


def push(event: Event) -> None:
    require_object(event)
    commits = optional(event, "commits", [])
    _record(event, ref=require(event, "ref", str), commit_count=len(commits) if isinstance(
        commits, list) else 0)  # fmt: skip


def pull_request(event: Event) -> None:
    require_object(event)
    _record(event, pr_number=require(event, "number", int))


def _record(event: Event, **fields) -> None:
    """One Activity per delivery, written again on a replay: one ``INSERT ... ON CONFLICT
    (delivery) DO UPDATE`` (``update_or_create`` took a savepoint, a locking SELECT and an INSERT,
    the largest part of a push's processing; ``bulk_create`` compiled the statement per call)."""
    values = {
        "source": event.source,
        "kind": event.type,
        "repo": require(event, "repository.full_name", str),
        "sender": optional(event, "sender.login", ""),
        **fields,
    }
    bulk.upsert(
        [Activity(delivery_id=event.delivery_id, **values)],
        unique_fields=("delivery",),
        update_fields=tuple(values),
    )


HANDLERS = {
    "installation": installation,
    "installation_repositories": installation_repositories,
    "push": push,
    "pull_request": pull_request,
}
IGNORED = frozenset({"ping", "star", "watch", "fork", "check_suite", "check_run", "status"})
