"""The one delivery filter, shared by the API, the admin, replay jobs and the shell command."""

from datetime import UTC

import django_filters
from django.core.exceptions import ValidationError
from django_filters.fields import IsoDateTimeField

from .models import Delivery


class UTCDateTimeField(IsoDateTimeField):
    """An ISO 8601 time, converted to UTC: PostgreSQL refuses offsets beyond ±15:59, and a time
    that leaves the calendar once converted is an error, not a 500."""

    def clean(self, value):
        value = super().clean(value)
        if value is None:
            return None
        try:
            return value.astimezone(UTC)
        except OverflowError:
            raise ValidationError("This time is out of range.", code="invalid") from None


class UTCDateTimeFilter(django_filters.IsoDateTimeFilter):
    field_class = UTCDateTimeField


class DeliveryFilter(django_filters.FilterSet):
    received_after = UTCDateTimeFilter(field_name="received_at", lookup_expr="gte")
    received_before = UTCDateTimeFilter(field_name="received_at", lookup_expr="lt")

    class Meta:
        model = Delivery
        fields = ["source", "provider", "status", "event_type", "external_id"]


FILTER_FIELDS = (
    "source",
    "provider",
    "status",
    "event_type",
    "external_id",
    "received_after",
    "received_before",
)


def filtered(filters: dict):
    """Deliveries matching ``filters`` (names as in DeliveryFilter). Raises ValueError with the
    field errors when a value is invalid."""
    unknown = set(filters) - set(FILTER_FIELDS)
    if unknown:
        raise ValueError({name: ["Unknown filter."] for name in sorted(unknown)})
    fs = DeliveryFilter(filters, queryset=Delivery.objects.all())
    if not fs.is_valid():
        raise ValueError(fs.errors.get_json_data())
    return fs.qs
