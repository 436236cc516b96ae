"""Tokens of users' linked accounts, for connections with the ``linked_user`` scheme."""

from .errors import AuthFailed


def linked_user_token(connection) -> str:
    """The owner's OAuth access token for the connection's provider.

    Linking accounts (django-allauth) is not part of the hub yet, so a ``linked_user``
    connection cannot call out: it fails with a message saying so.
    """
    raise AuthFailed(
        f"The connection '{connection.name}' uses a linked user's token, and no account is "
        "linked yet; use another auth scheme until account linking is available.",
        connection=connection,
    )
