"""Routing's receivers of the inbound side's signals (connected in RoutingConfig.ready())."""

from webhooks.signals import deliveries_claimed

from . import forwarding


def fan_out(sender, deliveries, **kwargs) -> None:
    forwarding.fan_out(deliveries)


def connect() -> None:
    deliveries_claimed.connect(fan_out, dispatch_uid="routing.fan_out")
