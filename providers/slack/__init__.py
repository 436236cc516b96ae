"""Slack: Slack's Events API, slash commands and interactivity, and the Web API."""

from core.catalog import Provider

from .api import SPEC
from .handlers import HANDLERS, IGNORED
from .receiver import SlackReceiver

PROVIDER = Provider(
    key="slack",
    label="Slack",
    receiver=SlackReceiver(),
    handlers=HANDLERS,
    ignored=IGNORED,
    api=SPEC,
)
