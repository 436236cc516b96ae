"""Reading and showing delivery bodies: JSON with a nesting limit, and one pretty-print.

``loads(raw)`` is ``json.loads`` that raises ``ValueError`` (``TooDeep``) for documents nested
more than ``MAX_DEPTH`` levels instead of a ``RecursionError`` (which the C decoder raises at a
depth that depends on the caller's stack: a body the web process parsed could then fail in a
worker). The check costs two ``bytes.count`` calls for any body with at most ``MAX_DEPTH``
brackets in all (every webhook we have seen); only larger ones are walked, iteratively.

``pretty(text)`` is what every page shows for a body: indented JSON when it parses, else the
raw text as stored (never an error).
"""

import json

MAX_DEPTH = 200
"""Deepest JSON nesting accepted (GitHub's payloads nest about 6 levels)."""


class TooDeep(ValueError):
    pass


def loads(raw: bytes | str):
    opens = raw.count(b"[" if isinstance(raw, bytes) else "[") + raw.count(
        b"{" if isinstance(raw, bytes) else "{"
    )
    try:
        value = json.loads(raw)
    except RecursionError:
        raise TooDeep(f"it is nested more than {MAX_DEPTH} levels deep") from None
    if opens > MAX_DEPTH and depth(value) > MAX_DEPTH:
        raise TooDeep(f"it is nested more than {MAX_DEPTH} levels deep")
    return value


def depth(value) -> int:
    """Nesting depth of a parsed JSON value (0 for a scalar), without recursion."""
    deepest, stack = 0, [(value, 0)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict):
            item = item.values()
        elif not isinstance(item, list):
            continue
        level += 1
        deepest = max(deepest, level)
        if deepest > MAX_DEPTH:
            return deepest
        stack.extend((child, level) for child in item)
    return deepest


def pretty(text: str) -> str:
    """Indented JSON when ``text`` parses within the limit, else ``text`` unchanged."""
    try:
        return json.dumps(loads(text), indent=2, ensure_ascii=False)
    except (ValueError, RecursionError):
        return text
