"""Reading the fields a built-in handler needs from a payload, with errors that say what is
missing: ``require(event, "repository.full_name")`` returns the value or raises
``PermanentError("github push: the payload has no 'repository.full_name'")`` (the delivery dies
at once with that message: retrying the same payload cannot help). ``optional`` returns a
default instead of raising."""

from .errors import PermanentError
from .events import Event

_MISSING = object()


def _walk(payload, path: str):
    value = payload
    for key in path.split("."):
        if not isinstance(value, dict) or key not in value:
            return _MISSING
        value = value[key]
    return value


def require(event: Event, path: str, kind: type | tuple = object):
    """The value at the dotted ``path`` of the event's payload, of type ``kind``."""
    value = _walk(event.payload, path)
    if value is _MISSING or value is None:
        raise PermanentError(f"{event.provider} {event.type}: the payload has no {path!r}.")
    if not isinstance(value, kind):
        raise PermanentError(
            f"{event.provider} {event.type}: {path!r} is a {type(value).__name__}, "
            f"not what this event carries."
        )
    return value


def optional(event: Event, path: str, default=None):
    value = _walk(event.payload, path)
    return default if value is _MISSING or value is None else value


def require_object(event: Event) -> dict:
    """The payload itself, which must be a JSON object."""
    if not isinstance(event.payload, dict):
        raise PermanentError(
            f"{event.provider} {event.type}: the payload is a {type(event.payload).__name__}, "
            "not a JSON object."
        )
    return event.payload
