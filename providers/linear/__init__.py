"""Linear: workspace webhooks (issues, comments, projects, cycles...), HMAC-signed."""

from core.catalog import Provider

from .receiver import LinearReceiver

PROVIDER = Provider(key="linear", label="Linear", receiver=LinearReceiver())
