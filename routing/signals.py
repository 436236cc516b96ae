"""Routing's receivers of the inbound side's signals (connected in RoutingConfig.ready())."""

from webhooks.signals import delivery_claimed

from . import forwarding


def fan_out(sender, delivery, **kwargs) -> None:
    forwarding.fan_out(delivery)


def connect() -> None:
    delivery_claimed.connect(fan_out, dispatch_uid="routing.fan_out")
