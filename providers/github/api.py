"""GitHub's REST API: bearer tokens (PATs, app or linked-user tokens), X-RateLimit-* headers."""

from connections.specs import ProviderSpec


def github_rate_limit(headers) -> tuple[int | None, float | None]:
    remaining = headers.get("X-RateLimit-Remaining")
    reset = headers.get("X-RateLimit-Reset")
    return (
        int(remaining) if remaining and remaining.isdigit() else None,
        float(reset) if reset and reset.isdigit() else None,
    )


SPEC = ProviderSpec(
    key="github",
    name="GitHub",
    base_url="https://api.github.com",
    default_headers={"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": "2022-11-28"},
    rate_limit="5000/h",
    rate_limit_headers=github_rate_limit,
    health_check=("GET", "/rate_limit"),
)
