"""Models of the inbound side, one module per concern."""

from .activity import Activity, SourceRepository
from .attempt import Attempt
from .delivery import Delivery
from .github_hooks import RedeliveryRequest, RepositoryHook
from .replay import ReplayJob
from .rollups import DeliveryErrorGroup, DeliveryRollup
from .source import Source

__all__ = [
    "Activity",
    "Attempt",
    "Delivery",
    "DeliveryErrorGroup",
    "DeliveryRollup",
    "RedeliveryRequest",
    "ReplayJob",
    "RepositoryHook",
    "Source",
    "SourceRepository",
]
