"""Any REST API: set the base URL, auth scheme and health check on the connection."""

from connections.specs import ProviderSpec

SPEC = ProviderSpec(key="generic", name="Generic REST", base_url="", rate_limit="600/m")
