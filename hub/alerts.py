"""Alert emails: one when an integration goes down or needs attention (a linked account that
must be re-authorized included), one when it recovers; never one per check.

``evaluate(now)`` (beat, every HUB_ALERT_SECONDS) compares each integration's status with the
open incidents: a new bad status opens an incident and mails the admins (superusers and the
admins group, with an email address); an open incident whose integration is no longer in that
status is closed with a recovery mail. The unique constraint on open incidents makes a second
evaluator racing the first a no-op.
"""

import logging

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from core.urls import public_url

from . import health
from .models import Incident
from .roles import ADMINS

logger = logging.getLogger(__name__)
ALERTING = ("down", "needs_attention")


def evaluate(now=None) -> dict[str, int]:
    now = now or timezone.now()
    current = {(i.kind, str(i.id)): i for i in health.overview(now)}
    opened = closed = 0
    for item in current.values():
        if item.status not in ALERTING:
            continue
        try:
            with transaction.atomic():
                Incident.objects.create(
                    kind=item.status, integration_kind=item.kind, integration_id=str(item.id),
                    integration_name=item.name, reason=item.rule,
                )  # fmt: skip
        except IntegrityError:
            continue  # already open: no second mail
        opened += 1
        what = f"{item.name} ({item.kind}, {item.provider}) is {item.status_label}"
        _mail(f"[hub] {item.name} is {item.status_label}", f"{what}: {item.rule}.\n\n{_link(item)}")
    for incident in Incident.objects.filter(closed_at__isnull=True):
        item = current.get((incident.integration_kind, incident.integration_id))
        if item is not None and item.status == incident.kind:
            continue
        incident.closed_at = now
        incident.save(update_fields=["closed_at"])
        closed += 1
        state = item.status_label if item else "gone"
        _mail(f"[hub] {incident.integration_name} recovered", f"{incident.integration_name} is "
              f"{state} again (was {incident.get_kind_display().lower()} since "
              f"{incident.opened_at:%Y-%m-%d %H:%M} UTC).")  # fmt: skip
    return {"opened": opened, "closed": closed}


def _recipients() -> list[str]:
    users = (
        get_user_model()
        .objects.filter(Q(is_superuser=True) | Q(groups__name=ADMINS), is_active=True)
        .exclude(email="")
    )
    return sorted(set(users.values_list("email", flat=True)))


def _mail(subject: str, body: str) -> None:
    recipients = _recipients()
    if not recipients:
        logger.warning("hub.alerts.no_recipients", extra={"subject": subject})
        return
    send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, recipients)


def _link(item) -> str:
    return public_url(f"/integrations/{item.kind}/{item.id}/")
