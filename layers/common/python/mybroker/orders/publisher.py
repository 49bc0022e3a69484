"""Publishes outbox messages: engine commands to RabbitMQ (publisher confirms, persistent, mandatory) and order
events to Kafka (acks=all). Connections are module-level in the caller, created lazily, and rebuilt after a
failure, so a warm execution environment reuses them."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Sequence
from typing import Any

from mybroker.orders.ports import OutboxMessage

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


class KafkaEventPublisher:
    def __init__(self, bootstrap: str, security_protocol: str = "PLAINTEXT") -> None:
        self.bootstrap = bootstrap
        self.security_protocol = security_protocol
        self._producer: Any = None

    def _p(self) -> Any:
        if self._producer is None:
            from kafka import KafkaProducer

            self._producer = KafkaProducer(bootstrap_servers=self.bootstrap, acks="all", linger_ms=0,
                                           security_protocol=self.security_protocol, retries=3,
                                           request_timeout_ms=10_000, max_block_ms=10_000)
        return self._producer

    def send(self, m: OutboxMessage) -> None:
        try:
            self._p().send(m.target, key=m.key.encode(), value=m.body,
                           headers=[("message_id", m.message_id.encode())]).get(timeout=10)
        except Exception:
            self.close()
            raise

    def close(self) -> None:
        if self._producer is not None:
            with contextlib.suppress(Exception):
                self._producer.close(timeout=2)
        self._producer = None


class OutboxPublisher:
    """The :class:`~mybroker.orders.ports.Publisher`: in outbox order, stopping at the first failure (what is
    left stays unsent for the sweeper, and later messages do not overtake it)."""

    def __init__(self, rabbit: RabbitMqPublisher | None, kafka: KafkaEventPublisher | None) -> None:
        self.rabbit = rabbit
        self.kafka = kafka

    def publish(self, messages: Sequence[OutboxMessage]) -> list[int]:
        sent: list[int] = []
        for m in messages:
            target = self.rabbit if m.destination == "rabbitmq" else self.kafka
            if target is None:
                continue  # this function does not publish there (the sweeper does)
            try:
                target.send(m)
            except Exception:
                log.exception("publishing %s %s failed; left for the sweeper", m.destination, m.message_id)
                break
            sent.append(m.outbox_id)
        return sent
