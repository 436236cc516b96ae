"""GitHub: Repository and app webhooks, the REST API, and repository hooks registered for linked
accounts (``hooks.py``, ``tasks.py``)."""

from core.catalog import Provider

from .api import SPEC
from .handlers import HANDLERS, IGNORED
from .receiver import GitHubReceiver

PROVIDER = Provider(
    key="github",
    label="GitHub",
    receiver=GitHubReceiver(),
    handlers=HANDLERS,
    ignored=IGNORED,
    api=SPEC,
)
