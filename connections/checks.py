"""Connection health checks: one cheap authenticated request through the client."""

from django.utils import timezone

from . import recorder
from .errors import IntegrationError, RateLimited
from .models import Connection


def check(connection: Connection) -> tuple[bool, str]:
    """Run the connection's health check and store the result on it; returns (ok, message).
    A failure is the result, except RateLimited, which is re-raised: the check did not run,
    and the caller should try again when the budget allows. The call is recorded as a test
    call and flushed at once, so the pages show the result right away."""
    spec = connection.spec
    tested = spec.health_check is not None
    if not tested:
        ok, message = False, "No health check is configured (set a health check path)."
    else:
        method, path = spec.health_check
        try:
            response = connection.client().request(method, path, is_test=True)
            ok = True
            message = f"{method} {path}: HTTP {response.status_code} in "
            message += f"{response.elapsed.total_seconds() * 1000:.0f} ms"
        except RateLimited:
            raise
        except IntegrationError as exc:
            ok, message = False, f"{method} {path}: {type(exc).__name__}: {exc}"
        finally:
            recorder.flush()
    Connection.objects.filter(pk=connection.pk).update(
        last_health_check_at=timezone.now(),
        last_health_check_ok=ok if tested else None,  # nothing was tested: no verdict
        last_health_check_message=message[:2000],
    )
    return ok, message
