"""Signals of the inbound side, for apps built on it (routing).

``deliveries_claimed(sender=Delivery, deliveries=[...])`` is sent in a worker once a message's
deliveries are claimed, before their handlers run, on every attempt (replays included).
Receivers must be idempotent (routing creates each forward once per route) and commit their
own work. If a receiver raises, the signal is sent again for each delivery on its own, inside
that delivery's attempt, so that a failure fails (and retries) the attempt: nothing is skipped.
"""

from django.dispatch import Signal

deliveries_claimed = Signal()
