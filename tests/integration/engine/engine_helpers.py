"""Shared pieces of the engine service's integration tests: the test instruments, a fixed clock, the
topology (own queue, dead-letter queue and output exchange per test) and a consumer of the reports."""

from __future__ import annotations

import json
import os
import time
import uuid
from dataclasses import dataclass
from typing import Any

from mybroker.contracts.engine import DEAD_LETTER_EXCHANGE

from engine_service.core import InstrumentConfig

AMQP_URL = os.environ.get("TEST_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672/%2F")
KAFKA = os.environ.get("TEST_KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
START_NS = 1_794_835_800_000_000_000  # Monday 2026-11-16 10:30 America/Sao_Paulo: continuous trading
NIGHT_NS = START_NS + 10 * 3600 * 10**9  # 20:30, the market is closed
# test-only symbols, so that the books the running system keeps in Redis are never touched
INSTRUMENTS = [InstrumentConfig("ZZTA3", reference_price=3000), InstrumentConfig("ZZTB4", 2000, 100, 5)]


class FixedClock:
    """The service's clock in tests: time moves only when the test says so."""

    def __init__(self, now_ns: int = START_NS) -> None:
        self.t = now_ns

    def now_ns(self) -> int:
        return self.t


@dataclass
class Topology:
    queue: str
    dlq: str
    output_exchange: str

    @classmethod
    def create(cls, channel: Any) -> Topology:
        """The same arguments as local_runtime/topology.py gives the system's queues."""
        tag = uuid.uuid4().hex[:10]
        t = cls(f"test.engine.{tag}", f"test.engine.{tag}.dlq", f"test.engine.out.{tag}")
        channel.exchange_declare(DEAD_LETTER_EXCHANGE, exchange_type="direct", durable=True)
        channel.queue_declare(t.dlq, durable=True, arguments={"x-queue-type": "quorum"})
        channel.queue_bind(t.dlq, DEAD_LETTER_EXCHANGE, routing_key=t.dlq)
        channel.queue_declare(t.queue, durable=True, arguments={
            "x-queue-type": "quorum", "x-delivery-limit": 5,
            "x-dead-letter-exchange": DEAD_LETTER_EXCHANGE, "x-dead-letter-routing-key": t.dlq})
        channel.exchange_declare(t.output_exchange, exchange_type="topic", durable=True)
        return t

    def delete(self, channel: Any) -> None:
        channel.queue_delete(self.queue)
        channel.queue_delete(self.dlq)
        channel.exchange_delete(self.output_exchange)


class Reports:
    """An exclusive queue bound to the output exchange; collects every report body."""

    def __init__(self, url: str, exchange: str, key: str = "#") -> None:
        import pika

        self.connection = pika.BlockingConnection(pika.URLParameters(url))
        self.channel = self.connection.channel()
        self.queue = self.channel.queue_declare("", exclusive=True).method.queue
        self.channel.queue_bind(self.queue, exchange, routing_key=key)
        self.received: list[tuple[str, dict[str, Any]]] = []  # (routing key, body)
        self.channel.basic_consume(self.queue, self._on, auto_ack=True)

    def _on(self, _ch: Any, method: Any, _props: Any, body: bytes) -> None:
        self.received.append((method.routing_key, json.loads(body)))

    def bodies(self) -> list[dict[str, Any]]:
        return [b for _, b in self.received]

    def wait_for(self, n: int, timeout: float = 20.0) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while len(self.received) < n and time.monotonic() < deadline:
            self.connection.process_data_events(time_limit=0.05)
        return self.bodies()

    def drain(self, quiet: float = 0.3) -> list[dict[str, Any]]:
        """Collects until nothing came for ``quiet`` seconds."""
        while True:
            before = len(self.received)
            self.connection.process_data_events(time_limit=quiet)
            if len(self.received) == before:
                return self.bodies()

    def close(self) -> None:
        if self.connection.is_open:
            self.connection.close()


def publish(channel: Any, queue: str, body: bytes, message_id: str = "") -> None:
    import pika

    channel.basic_publish("", queue, body, pika.BasicProperties(content_type="application/json", delivery_mode=2,
                                                                message_id=message_id or None))
