"""Slack's Web API: bot token as bearer; 429 with Retry-After when rate limited."""

from connections.specs import ProviderSpec

SPEC = ProviderSpec(
    key="slack",
    name="Slack",
    base_url="https://slack.com/api",
    rate_limit="50/m",
    health_check=("POST", "/auth.test"),
)
