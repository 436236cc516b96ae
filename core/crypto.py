"""Encryption of secrets at rest with the hub's Fernet key set.

Contract: ``encrypt(str) -> str`` (a Fernet token, ASCII) and ``decrypt(token) -> str``.
The first key of ``settings.HUB_ENCRYPTION_KEYS`` encrypts; all of them decrypt, so keys rotate
by prepending a new one and re-encrypting (``manage.py rotate_encryption_keys``).
"""

from functools import cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.signals import setting_changed


class SecretDecryptionError(Exception):
    """A stored secret could not be decrypted with any configured key."""


@cache
def _key_set(keys: tuple[str, ...]) -> MultiFernet:
    if not keys:
        raise SecretDecryptionError("HUB_ENCRYPTION_KEYS is empty: secrets cannot be stored.")
    return MultiFernet([Fernet(k) for k in keys])


def key_set() -> MultiFernet:
    """The MultiFernet built from the configured keys (built once per key list)."""
    return _key_set(tuple(settings.HUB_ENCRYPTION_KEYS))


def encrypt(plaintext: str) -> str:
    return key_set().encrypt(plaintext.encode()).decode("ascii")


def decrypt(token: str) -> str:
    try:
        return key_set().decrypt(token.encode("ascii")).decode()
    except InvalidToken as exc:
        raise SecretDecryptionError(
            "A stored secret cannot be decrypted with HUB_ENCRYPTION_KEYS; was a key removed "
            "before `manage.py rotate_encryption_keys` ran?"
        ) from exc


def rotate(token: str) -> str:
    """Re-encrypt a token under the first key (MultiFernet.rotate)."""
    return key_set().rotate(token.encode("ascii")).decode("ascii")


def _clear(setting, **kwargs):
    if setting == "HUB_ENCRYPTION_KEYS":
        _key_set.cache_clear()


setting_changed.connect(_clear)
