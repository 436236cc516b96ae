"""A per-process, read-only cache of Source rows for the ingest hot path.

Not shared state: each web process keeps its own copy of configuration for at most
HUB_SOURCE_CACHE_SECONDS. Ingest re-reads the row whenever a signature fails on the cached copy,
so a rotated secret verifies at once; disabling a source takes effect within the TTL.
Unknown ids are cached too (bounded), so random URLs do not cost a query each.
"""

import time
import uuid
from collections import OrderedDict

from django.conf import settings

from .models import Source

_MAX_ENTRIES = 2048
_entries: OrderedDict[str, tuple[float, Source | None]] = OrderedDict()


def get(source_id: str, refresh: bool = False) -> Source | None:
    """The Source with this id, or None when the id is not one. Raises DatabaseError."""
    now = time.monotonic()
    hit = None if refresh else _entries.get(source_id)
    if hit is not None and hit[0] > now:
        return hit[1]
    try:
        uuid.UUID(source_id)
    except ValueError:
        return None
    source = Source.objects.filter(pk=source_id).first()
    _entries[source_id] = (now + settings.HUB_SOURCE_CACHE_SECONDS, source)
    _entries.move_to_end(source_id)
    while len(_entries) > _MAX_ENTRIES:
        _entries.popitem(last=False)
    return source


def clear() -> None:
    _entries.clear()
