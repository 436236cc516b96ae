"""EncryptedTextField: a model field whose value is encrypted at rest.

Written here rather than taken from a package: the maintained options (django-fernet-encrypted-
fields, django-cryptography) derive their keys from SECRET_KEY or lack MultiFernet rotation,
and the field is a dozen lines over ``core.crypto``.

The Python value is the plaintext ``str`` (or ``""``); the column holds a Fernet token. The
field is never used in lookups (tokens are randomised) and never shown by default forms.
"""

from django.db import models

from . import crypto


class EncryptedTextField(models.TextField):
    description = "Text encrypted at rest with the hub's Fernet key set"

    def from_db_value(self, value, expression, connection):
        if value in (None, ""):
            return value
        return crypto.decrypt(value)

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if value in (None, ""):
            return value
        return crypto.encrypt(value)

    def formfield(self, **kwargs):
        # Never render a secret into a form; admin forms declare their own write-only field.
        return None
