"""JMESPath expressions of routes (filter, transform, ordering key), compiled once and checked
when saved: the admin and the API validate through ``validate_expression``.

An expression reads ``{"body": <the delivery's JSON body, or null>, "headers": {...}}``: e.g.
``body.action == 'opened'`` (filter), ``{ref: body.ref, repo: body.repository.full_name}``
(transform), ``body.repository.full_name`` (ordering key).
"""

from functools import lru_cache

import jmespath
from django.core.exceptions import ValidationError
from jmespath.exceptions import JMESPathError

MAX_LENGTH = 1000


@lru_cache(maxsize=512)
def compiled(expression: str):
    return jmespath.compile(expression)


def validate_expression(value: str) -> None:
    """ValidationError with JMESPath's own parse error (position included)."""
    if not value:
        return
    if len(value) > MAX_LENGTH:
        raise ValidationError(f"At most {MAX_LENGTH} characters.", code="too_long")
    try:
        compiled(value)
    except JMESPathError as exc:
        raise ValidationError(
            f"Not a JMESPath expression: {exc}", code="invalid_jmespath"
        ) from None


def evaluate(expression: str, document: dict):
    """The expression's value over ``document``; a runtime error (a function given the wrong
    type) raises ``ExpressionError`` naming the expression."""
    try:
        return compiled(expression).search(document)
    except JMESPathError as exc:
        raise ExpressionError(f"{expression!r} failed on this delivery: {exc}") from None


class ExpressionError(Exception):
    """An expression that parsed could not be evaluated on one delivery."""
