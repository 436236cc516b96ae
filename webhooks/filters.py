"""The one delivery filter vocabulary, shared by the API list, the replay endpoint, the support
desk, the admin's "replay all matching", replay jobs and the shell command.

Names: ``source`` (id), ``provider``, ``status`` (one, or several comma-separated:
``dead,retrying``), ``event_type``, ``external_id``, ``received_after``, ``received_before``
(ISO 8601, converted to UTC) and ``q`` (text in the payload, case-insensitive for ASCII).

``filtered(filters)`` -> the matching deliveries (ValueError with the field errors when a value
is invalid); ``describe(filters)`` -> the same filters in words, for people.
"""

from datetime import UTC, datetime

import django_filters
from django import forms
from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import F, Func, TextField, Value
from django.db.models.functions import Cast
from django_filters.fields import IsoDateTimeField

from .models import Delivery, Source

FILTER_FIELDS = (
    "source", "provider", "status", "event_type", "external_id", "received_after",
    "received_before", "q",
)  # fmt: skip
STATUSES = dict(Delivery.Status.choices)


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


class StatusesField(forms.CharField):
    """One status or several comma-separated, checked: cleaned to a list."""

    def clean(self, value):
        value = super().clean(value)
        if not value:
            return None
        wanted = [part.strip() for part in value.split(",") if part.strip()]
        unknown = [part for part in wanted if part not in STATUSES]
        if unknown:
            raise ValidationError(f"Unknown status {unknown[0]!r}; use {', '.join(STATUSES)}.")
        return wanted


class StatusesFilter(django_filters.CharFilter):
    field_class = StatusesField

    def filter(self, qs, value):
        return qs.filter(status__in=value) if value else qs


class DeliveryFilter(django_filters.FilterSet):
    status = StatusesFilter(help_text="One status, or several comma-separated.")
    received_after = UTCDateTimeFilter(field_name="received_at", lookup_expr="gte")
    received_before = UTCDateTimeFilter(field_name="received_at", lookup_expr="lt")
    q = django_filters.CharFilter(
        method="filter_text", max_length=200, help_text="Text in the payload (body)."
    )

    class Meta:
        model = Delivery
        fields = ["source", "provider", "event_type", "external_id"]

    def filter_text(self, queryset, name, value):
        return queryset.annotate(searchable_body=_searchable_body()).filter(
            searchable_body__icontains=_searchable(value)
        )


def _searchable_body():
    """The body as searchable text. On PostgreSQL ``encode(body, 'escape')`` (never fails on
    bytes that are not UTF-8, unlike convert_from); elsewhere a plain cast."""
    if connection.vendor == "postgresql":
        return Func(F("body"), Value("escape"), function="encode", output_field=TextField())
    return Cast("body", TextField())


def _searchable(text: str) -> str:
    """``text`` as it appears in ``_searchable_body`` (PostgreSQL's escape format writes each
    non-ASCII byte as \\ooo and a backslash as \\\\)."""
    if connection.vendor != "postgresql":
        return text
    out = []
    for byte in text.encode():
        if byte == 0x5C:
            out.append("\\\\")
        elif byte >= 0x80 or byte < 0x20:
            out.append(f"\\{byte:03o}")
        else:
            out.append(chr(byte))
    return "".join(out)


def filtered(filters: dict):
    """Deliveries matching ``filters``. Raises ValueError with the field errors when a name is
    unknown or a value is invalid."""
    unknown = set(filters) - set(FILTER_FIELDS)
    if unknown:
        raise ValueError({name: ["Unknown filter."] for name in sorted(unknown)})
    fs = DeliveryFilter(filters, queryset=Delivery.objects.all())
    if not fs.is_valid():
        raise ValueError(
            {k: [e["message"] for e in v] for k, v in fs.errors.get_json_data().items()}
        )
    return fs.qs


def describe(filters: dict) -> str:
    """The filters in words, e.g. "source Orders, status dead or retrying, text 'refund'"."""
    parts = []
    for name in FILTER_FIELDS:
        value = filters.get(name)
        if not value:
            continue
        if name == "source":
            source = Source.objects.filter(pk=value).values_list("name", flat=True).first()
            parts.append(f"source {source or value}")
        elif name == "status":
            words = [STATUSES.get(s.strip(), s).lower() for s in str(value).split(",")]
            parts.append("status " + " or ".join(words))
        elif name in ("received_after", "received_before"):
            when = _when(value)
            parts.append(f"received {'from' if name == 'received_after' else 'before'} {when}")
        elif name == "q":
            parts.append(f"text {value!r}")
        else:
            parts.append(f"{name.replace('_', ' ')} {value}")
    return ", ".join(parts) or "every delivery"


def _when(value) -> str:
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return str(value)
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
