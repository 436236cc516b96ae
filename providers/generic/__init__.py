"""Generic HMAC: Any sender signing with an HMAC header configured on the source; any REST API."""

from core.catalog import Provider

from .api import SPEC
from .receiver import GenericReceiver

PROVIDER = Provider(
    key="generic",
    label="Generic HMAC",
    receiver=GenericReceiver(),
    api=SPEC,
)
