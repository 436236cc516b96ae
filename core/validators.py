"""The grammars of values that reach a URL, a header, a rate window or a retry schedule, in one
place: model fields use these validators, so the admin and the API refuse the same input with
the same message, and nothing is stored that a worker cannot use.

- ``parse_rate("600/m") -> (600, 60)`` and ``validate_rate``: ``<count>/<n><unit>`` with unit
  s, m, h or d, count 1..1,000,000,000 and n 1..1,000 (``10/5s`` is ten per five seconds).
- ``validate_header_name``: an HTTP field name (RFC 9110 token).
- ``validate_header_value``: printable ASCII without CR/LF or edge spaces (tokens and keys).
- ``validate_retry_schedule``: a list of at most ``MAX_RETRY_STEPS`` waits, each a number of
  seconds from 0 to ``MAX_RETRY_WAIT``.
"""

import math
import re

from django.core.exceptions import ValidationError
from django.utils.deconstruct import deconstructible

PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
RATE = re.compile(r"(\d{1,10})/(\d{0,4})([smhd])")
TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]{1,100}")
VISIBLE = re.compile(r"[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?")
MAX_RETRY_STEPS = 20
MAX_RETRY_WAIT = 7 * 86400


def parse_rate(rate: str) -> tuple[int, int]:
    """``(count, seconds)`` of a rate; ValueError saying what is wrong."""
    match = RATE.fullmatch(rate or "")
    if not match:
        raise ValueError(
            f"{str(rate)[:40]!r} is not a rate: use '<count>/<period>' with period s, m, h or d, "
            "e.g. '600/m' or '10/5s'."
        )
    count, multiplier, unit = int(match[1]), int(match[2] or 1), match[3]
    if not 1 <= count <= 1_000_000_000:
        raise ValueError("The count of a rate must be between 1 and 1,000,000,000.")
    if not 1 <= multiplier <= 1000:
        raise ValueError("The period of a rate must be between 1 and 1,000 units (e.g. '10/5s').")
    return count, multiplier * PERIODS[unit]


def validate_rate(value: str) -> None:
    try:
        parse_rate(value)
    except ValueError as exc:
        raise ValidationError(str(exc), code="invalid_rate") from None


def validate_header_name(value: str) -> None:
    if value and not TOKEN.fullmatch(value):
        raise ValidationError(
            "An HTTP header name: letters, digits and !#$%&'*+.^_`|~- only, at most 100.",
            code="invalid_header_name",
        )


def validate_header_value(value: str, what: str = "This value") -> None:
    """For secrets and names that are sent in a header: the message never repeats the value."""
    if value and not VISIBLE.fullmatch(value):
        raise ValidationError(
            f"{what} is sent in an HTTP header: use printable ASCII only, without line breaks "
            "or spaces at either end.",
            code="invalid_header_value",
        )


@deconstructible
class RetrySchedule:
    """Validator of a retry schedule (a list of waits in seconds)."""

    def __call__(self, value) -> None:
        if value is None:
            return
        message = (
            f"A list of at most {MAX_RETRY_STEPS} waits in seconds, each from 0 to "
            f"{MAX_RETRY_WAIT} (7 days), e.g. [5, 300, 1800]."
        )
        if not isinstance(value, list) or len(value) > MAX_RETRY_STEPS:
            raise ValidationError(message, code="invalid_schedule")
        for step in value:
            number = isinstance(step, int | float) and not isinstance(step, bool)
            if not number or not math.isfinite(step) or not 0 <= step <= MAX_RETRY_WAIT:
                raise ValidationError(message, code="invalid_schedule")

    def __eq__(self, other):
        return isinstance(other, RetrySchedule)


validate_retry_schedule = RetrySchedule()
