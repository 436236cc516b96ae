"""The error taxonomy of outbound calls. Every message says what a support person can do."""


class IntegrationError(Exception):
    """An outbound call failed. Trying later can help for RateLimited, ProviderUnavailable and
    CircuitOpen (``connections.tasks.retry_when_limited`` retries the first at its reset)."""

    def __init__(self, message: str, *, status: int | None = None, connection=None):
        super().__init__(message)
        self.status = status
        self.connection_id = getattr(connection, "pk", None)


class AuthFailed(IntegrationError):
    """401/403: the credentials were refused. The connection is marked 'needs attention'."""


class NotFound(IntegrationError):
    """404: the resource does not exist (or the credentials cannot see it)."""


class ClientError(IntegrationError):
    """Another 4xx: the request itself is wrong; retrying the same request cannot help."""


class RateLimited(IntegrationError):
    """The connection's budget (ours or the provider's) is spent; ``retry_after`` seconds."""

    def __init__(self, message: str, *, retry_after: float, **kwargs):
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class ProviderUnavailable(IntegrationError):
    """5xx, timeout or connection failure after every retry."""


class CircuitOpen(IntegrationError):
    """Recent calls kept failing, so calls fail fast until ``retry_after`` seconds pass."""

    def __init__(self, message: str, *, retry_after: float, **kwargs):
        super().__init__(message, **kwargs)
        self.retry_after = retry_after
