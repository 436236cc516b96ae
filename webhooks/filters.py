"""The one delivery filter, shared by the API, the admin, replay jobs and the shell command."""

import django_filters

from .models import Delivery


class DeliveryFilter(django_filters.FilterSet):
    received_after = django_filters.IsoDateTimeFilter(field_name="received_at", lookup_expr="gte")
    received_before = django_filters.IsoDateTimeFilter(field_name="received_at", lookup_expr="lt")

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
