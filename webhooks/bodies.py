"""Reading and showing delivery bodies, and making request values storable.

- ``loads(raw)`` is ``json.loads`` that raises ``ValueError`` (``TooDeep``) for documents
  nested more than ``MAX_DEPTH`` levels instead of a ``RecursionError`` (which the C decoder
  raises at a depth that depends on the caller's stack: a body the web process parsed could
  then fail in a worker). Cost: a body with at most ``MAX_DEPTH`` ``[``/``{`` bytes cannot be
  deeper, so most pay one ``bytes.translate`` pass; others get an exact check in byte
  operations (escapes and strings dropped, then the running depth over the brackets), linear
  in the size, with no walk over the parsed objects.
- ``pretty(text)`` is what every page shows for a body: indented JSON when it parses and can be
  printed, else the raw text as stored (never an error).
- ``clean_text(value)``: a value read from a request, storable in a text or JSON column
  (PostgreSQL refuses NUL and unpaired surrogates): those become U+FFFD.
"""

import json
import re
from array import array
from itertools import accumulate

MAX_DEPTH = 128
"""Deepest JSON nesting accepted (serde_json's default; GitHub's payloads nest about 7)."""

_NOT_OPENERS = bytes(b for b in range(256) if b not in b"[{")
_NOT_STRUCTURE = bytes(b for b in range(256) if b not in b'"[]{}')
_STEPS = bytes.maketrans(b"[{]}", b"\x01\x01\xff\xff")  # +1 / -1 as signed bytes
_SURROGATES = re.compile("[\ud800-\udfff]")


class TooDeep(ValueError):
    def __init__(self):
        super().__init__(f"it is nested more than {MAX_DEPTH} levels deep")


def loads(raw: bytes | str):
    try:
        value = json.loads(raw)
    except RecursionError:
        raise TooDeep() from None
    if _deeper_than(raw, MAX_DEPTH):
        raise TooDeep()
    return value


def _deeper_than(data: bytes | str, limit: int) -> bool:
    """Whether valid JSON ``data`` nests more than ``limit`` containers."""
    if isinstance(data, str):  # e.g. a Slack form's payload= field
        if data.count("[") + data.count("{") <= limit:
            return False
        raw = data.encode("utf-8", "surrogatepass")
    else:
        if len(data.translate(None, _NOT_OPENERS)) <= limit:
            return False
        encoding = json.detect_encoding(data)
        raw = data if encoding in ("utf-8", "utf-8-sig") else data.decode(encoding).encode()
    # In valid JSON a backslash only starts an escape inside a string: drop escaped backslashes,
    # then escaped quotes; every remaining quote opens or closes a string.
    if b"\\" in raw:
        raw = raw.replace(b"\\\\", b"").replace(b'\\"', b"")
    structure = raw.translate(None, _NOT_STRUCTURE)
    brackets = b"".join(structure.split(b'"')[::2])
    if len(brackets) <= 2 * limit:
        return False
    return max(accumulate(array("b", brackets.translate(_STEPS)))) > limit


def pretty_headers(headers: dict) -> str:
    """Stored headers as support reads them: indented JSON, names sorted."""
    return json.dumps(headers, indent=2, sort_keys=True, ensure_ascii=False)


def pretty(text: str) -> str:
    """Indented JSON when ``text`` parses within the limit and can be printed, else ``text``."""
    try:
        shown = json.dumps(loads(text), indent=2, ensure_ascii=False)
        shown.encode("utf-8")  # "\ud800" escapes decode to text no page can encode
    except (ValueError, RecursionError):
        return clean_text(text)
    return shown


def clean_text(value: str) -> str:
    """``value`` with NUL and unpaired surrogates replaced by U+FFFD."""
    if "\x00" in value:
        value = value.replace("\x00", "\ufffd")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        value = _SURROGATES.sub("\ufffd", value)
    return value
