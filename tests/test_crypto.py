"""Secrets at rest: MultiFernet key rotation without losing a secret."""

import io

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.db import connection
from django.test import override_settings

from core import crypto
from webhooks.models import Source

pytestmark = pytest.mark.django_db


def _raw_secret(pk):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT secret FROM webhooks_source WHERE id = %s",
            [pk.hex if connection.vendor == "sqlite" else pk],
        )
        return cursor.fetchone()[0]


def test_key_rotation_re_encrypts_under_the_new_key(settings, make_source):
    old_key = settings.HUB_ENCRYPTION_KEYS[0]
    source, secret = make_source("github")
    new_key = Fernet.generate_key().decode()
    with override_settings(HUB_ENCRYPTION_KEYS=[new_key, old_key]):
        assert Source.objects.get(pk=source.pk).secret == secret  # old token still decrypts
        out = io.StringIO()
        call_command("rotate_encryption_keys", stdout=out)
        assert "1 rows re-encrypted" in out.getvalue()
    with override_settings(HUB_ENCRYPTION_KEYS=[new_key]):  # old key removed
        assert Source.objects.get(pk=source.pk).secret == secret
        assert Fernet(new_key.encode()).decrypt(_raw_secret(source.pk).encode()).decode() == secret


def test_a_removed_key_fails_loudly(make_source):
    source, _ = make_source("github")
    other_key = Fernet.generate_key().decode()
    with (
        override_settings(HUB_ENCRYPTION_KEYS=[other_key]),
        pytest.raises(crypto.SecretDecryptionError, match="rotate_encryption_keys"),
    ):
        Source.objects.get(pk=source.pk)
