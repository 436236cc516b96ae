"""Exceptions handlers raise to steer processing."""


class PermanentError(Exception):
    """Raise from a handler when retrying cannot help (bad data, unknown account): the
    delivery goes straight to ``dead`` with this message, without retries."""
