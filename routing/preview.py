"""What a route's filter, transform and ordering key give on a real delivery, before saving
(the admin's "Preview" button and ``POST /api/v1/routes/preview/``), like Hookdeck's tester."""

import json

from webhooks.models import Delivery

from .expressions import ExpressionError, evaluate, validate_expression
from .forwarding import document


def recent_delivery(source=None, provider="", delivery_id=None):
    """The delivery to try on: the one asked for (it must belong to the source or provider),
    else the newest accepted one."""
    deliveries = Delivery.objects.exclude(status=Delivery.Status.REJECTED)
    deliveries = (
        deliveries.filter(source=source) if source else deliveries.filter(provider=provider)
    )
    if delivery_id:
        return deliveries.filter(pk=delivery_id).first()
    return deliveries.order_by("-pk").first()


def preview(delivery, filter="", transform="", ordering_key="") -> dict:  # noqa: A002
    """{"delivery", "event_type", "filter", "transform", "ordering_key"}: each expression's
    value as JSON text, or its error."""
    doc = document(delivery)
    out = {"delivery": delivery.pk, "event_type": delivery.event_type}
    for name, expression in (("filter", filter), ("transform", transform),
                             ("ordering_key", ordering_key)):  # fmt: skip
        if not expression:
            out[name] = None
            continue
        try:
            validate_expression(expression)
            value = evaluate(expression, doc)
        except ExpressionError as exc:
            out[name] = f"error: {exc}"
        except Exception as exc:  # a ValidationError: the parse error, said as it is
            out[name] = f"error: {' '.join(getattr(exc, 'messages', [str(exc)]))}"
        else:
            if name == "filter":
                out[name] = (
                    "passes" if value else f"filtered out (the filter gives {json.dumps(value)})"
                )
            else:
                out[name] = json.dumps(value, ensure_ascii=False)[:2000]
    return out


def in_words(result: dict) -> str:
    parts = [f"On delivery {result['delivery']} ({result['event_type'] or 'no event type'}):"]
    for name, label in (("filter", "filter"), ("transform", "transform"),
                        ("ordering_key", "ordering key")):  # fmt: skip
        if result[name] is not None:
            parts.append(f"{label} -> {result[name]};")
    return " ".join(parts)
