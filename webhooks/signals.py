"""Signals of the inbound side, for apps built on it (routing).

``delivery_claimed(sender=Delivery, delivery=...)`` is sent in a worker once a delivery is
claimed, before its handler runs, on every attempt (replays included). Receivers must be
idempotent (routing creates each forward once per route) and commit their own work; an
exception fails the attempt, which is retried like a handler's failure.
"""

from django.dispatch import Signal

delivery_claimed = Signal()
