"""Publishes engine commands from the outbox to RabbitMQ (publisher confirms, persistent, mandatory). Order events
go to Kafka through the shared :class:`mybroker.outbox.KafkaEventPublisher`, both behind
:class:`mybroker.outbox.OutboxPublisher`. Connections are module-level in the caller, created lazily, and rebuilt
after a failure, so a warm execution environment reuses them."""

from __future__ import annotations

import logging
from typing import Any

from mybroker.outbox import OutboxMessage

log = logging.getLogger(__name__)


class RabbitMqPublisher:
    def __init__(self, url: str) -> None:
        self.url = url
        self._conn: Any = None
        self._channel: Any = None

    def _ch(self) -> Any:
        import pika

        if self._channel is None or not self._channel.is_open or self._conn is None or not self._conn.is_open:
            self.close()
            params = pika.URLParameters(self.url)
            params.heartbeat = 0  # the environment freezes between invocations; never miss heartbeats
            params.connection_attempts = 2
            params.socket_timeout = 5
            self._conn = pika.BlockingConnection(params)
            self._channel = self._conn.channel()
            self._channel.confirm_delivery()
        return self._channel

    def send(self, m: OutboxMessage) -> None:
        import pika

        for attempt in (1, 2):  # a connection found dead after a freeze is rebuilt once
            try:
                self._ch().basic_publish(
                    m.target, m.key, m.body,
                    pika.BasicProperties(content_type="application/json", delivery_mode=2, message_id=m.message_id),
                    mandatory=True)
                return
            except (pika.exceptions.AMQPConnectionError, pika.exceptions.AMQPChannelError,
                    pika.exceptions.StreamLostError, ConnectionError):
                self.close()
                if attempt == 2:
                    raise

    def close(self) -> None:
        try:
            if self._conn is not None and self._conn.is_open:
                self._conn.close()
        except Exception:
            pass
        self._conn = self._channel = None
