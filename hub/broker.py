"""kombu's Redis transport, with a guard that keeps the worker alive when Redis goes away.

Seen in a fault run (kombu and Celery 5.7.0): Redis was killed; the worker closed its channel,
and the channel's QoS tried to push its unacknowledged messages back to Redis
(``restore_unacked_once``) through a connection whose ``client`` was already None, so
``_connparams`` raised ``AttributeError: 'NoneType' object has no attribute 'hostname'``.
Celery took that for an unrecoverable error and the worker exited (every time, in
tests/test_chaos.py). Here that restore is skipped when the connection is gone, and the worker
goes on reconnecting. Nothing is lost by skipping it: the messages stay in Redis's unacked set
(restored there after the visibility timeout), and the hub never depends on the broker for a
delivery (deliveries still ``queued`` are published again by the sweep, lost claims too).
``CELERY_BROKER_TRANSPORT`` names this class when the broker is Redis (hub/settings.py).
"""

import logging

from kombu.transport import redis

logger = logging.getLogger(__name__)


class QoS(redis.QoS):
    def restore_unacked_once(self, stderr=None):
        connection = getattr(self.channel, "connection", None)
        if connection is None or getattr(connection, "client", None) is None:
            logger.warning(
                "hub.broker.restore_skipped_connection_gone",
                extra={"unacked": len(getattr(self, "_delivered", {}) or {})},
            )
            return None
        return super().restore_unacked_once(stderr)


class Channel(redis.Channel):
    QoS = QoS


class Transport(redis.Transport):
    Channel = Channel
