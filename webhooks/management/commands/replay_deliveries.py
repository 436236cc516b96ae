"""Replay every delivery a filter matches, from the shell, with a progress bar."""

import re
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from tqdm import tqdm

from core import catalog
from webhooks import operations
from webhooks.filters import describe, filtered
from webhooks.models import ReplayJob

UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def duration(value: str) -> timedelta:
    match = re.fullmatch(r"(\d+)([smhd])", value)
    if not match:
        raise ValueError(f"{value!r} is not a duration like 90s, 30m, 2h or 7d")
    return timedelta(**{UNITS[match.group(2)]: int(match.group(1))})


class Command(BaseCommand):
    help = (
        "Replay the deliveries that match the filters (e.g. --status dead --since 2h). Runs as a "
        "replay job in this process, in batches, showing progress; Ctrl-C stops it after the "
        "current batch and `--resume JOB` continues it."
    )

    def add_arguments(self, parser):
        parser.add_argument("--status", help="e.g. dead, or several: dead,retrying")
        parser.add_argument("--source", help="source id (UUID)")
        parser.add_argument("--provider", choices=sorted(catalog.receivers()))
        parser.add_argument("--event-type", dest="event_type")
        parser.add_argument("--external-id", dest="external_id", help="the provider's id")
        parser.add_argument("--q", help="text in the payload (as the support desk's search)")
        parser.add_argument(
            "--as", dest="as_user", metavar="USERNAME", help="record the replay as this user"
        )
        parser.add_argument("--since", help="received within this long: 90s, 30m, 2h, 7d")
        parser.add_argument("--until", help="received before this long ago: 90s, 30m, 2h, 7d")
        parser.add_argument("--batch", type=int, default=500)
        parser.add_argument("--dry-run", action="store_true", help="only count the matches")
        parser.add_argument("--resume", type=int, metavar="JOB", help="continue a replay job")

    def handle(self, *args, **options):
        if options["resume"]:
            job = ReplayJob.objects.filter(pk=options["resume"]).first()
            if job is None:
                raise CommandError(f"No replay job {options['resume']}.")
            ReplayJob.objects.filter(pk=job.pk).update(
                cancel_requested=False, status=ReplayJob.Status.RUNNING
            )
            job.refresh_from_db()
        else:
            filters = self._filters(options)
            try:
                count = filtered(filters).count()
            except ValueError as exc:
                raise CommandError(f"Invalid filter: {exc}") from None
            self.stdout.write(f"{count} deliveries match: {describe(filters)}.")
            if options["dry_run"] or not count:
                return
            job = ReplayJob.objects.create(
                filters=filters, total=count, created_by=self._user(options["as_user"])
            )
        self._run(job, options["batch"])

    def _filters(self, options) -> dict:
        names = ("status", "source", "provider", "event_type", "external_id", "q")
        filters = {k: options[k] for k in names if options[k]}
        try:
            if options["since"]:
                since = timezone.now() - duration(options["since"])
                filters["received_after"] = since.isoformat()
            if options["until"]:
                until = timezone.now() - duration(options["until"])
                filters["received_before"] = until.isoformat()
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        if not filters:
            raise CommandError("Give at least one filter (e.g. --status dead --since 2h).")
        return filters

    def _user(self, username):
        if not username:
            return None  # recorded as "shell"
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user {username!r}.")
        return user

    def _run(self, job: ReplayJob, batch: int) -> None:
        bar = tqdm(total=job.total or None, unit="delivery", file=self.stderr._out)

        def progress(current):
            bar.total = current.total
            bar.n = current.replayed + current.skipped
            bar.refresh()

        try:
            job = operations.run_job(job.pk, batch=batch, on_progress=progress)
        except KeyboardInterrupt:
            ReplayJob.objects.filter(pk=job.pk).update(cancel_requested=True)
            raise CommandError(
                f"Interrupted; job {job.pk} stopped. Continue with --resume {job.pk}."
            ) from None
        finally:
            bar.close()
        self.stdout.write(
            self.style.SUCCESS(
                f"Job {job.pk} {job.status}: {job.replayed} queued again, {job.skipped} skipped."
            )
        )
