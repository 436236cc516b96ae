"""Test-only models (the tests app has no migrations: the test database creates them)."""

from django.db import models


class SideEffect(models.Model):
    """One row per committed run of a test handler: counts how often a handler really ran."""

    delivery_id = models.BigIntegerField(help_text="The delivery the handler ran for.")
    attempt = models.PositiveIntegerField(help_text="The attempt number it ran in.")

    class Meta:
        app_label = "tests"

    def __str__(self):
        return f"delivery {self.delivery_id} attempt {self.attempt}"
