"""Removing secrets from text that will be stored or logged (errors, tracebacks, URLs).

Contract: ``redact(text, secrets)`` replaces every occurrence of each known secret (those of
at least 6 characters) and every credential-shaped token (``Bearer ...``, ``whsec_...``,
``sk_live_...``, ``xox?-...``, ``gh?_...``, ``password=...``) with ``[redacted]``.
"""

import logging
import re

REDACTED = "[redacted]"
_PATTERNS = re.compile(
    r"(?i)(bearer\s+|token\s+|basic\s+)[A-Za-z0-9._~+/=-]{8,}"
    r"|whsec_[A-Za-z0-9+/=_-]+"
    r"|\b(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]+"
    r"|\bxox[abposr]-[A-Za-z0-9-]+"
    r"|\bgh[pousr]_[A-Za-z0-9]{20,}"
    r"|((?:password|passwd|secret|token|api_key|apikey|access_token|client_secret)=)[^&\s]+"
)


def _replace(match: re.Match) -> str:
    prefix = match.group(1) or match.group(2) or ""
    return prefix + REDACTED


def redact(text: str, secrets=()) -> str:
    for secret in secrets:
        if secret and len(secret) >= 6:
            text = text.replace(secret, REDACTED)
    return _PATTERNS.sub(_replace, text)


_QUERY = re.compile(r"\?[^\s'\")]+")


class RedactingFilter(logging.Filter):
    """A logging filter for third-party loggers (urllib3 logs the URL of every retry): drops
    query strings and credential-shaped tokens from the message."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = _QUERY.sub("?[query removed]", record.getMessage())
        record.msg, record.args = redact(message), ()
        return True
