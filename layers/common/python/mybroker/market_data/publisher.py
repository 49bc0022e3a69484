"""Quote events onto Kafka: topic ``quotes``, key = ticker (UTF-8), value = the versioned contract's JSON."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from mybroker.contracts.quotes import QuoteEvent
from mybroker.settings import Settings

DEFAULT_TOPIC = "quotes"


class QuotePublisher(Protocol):
    def publish(self, events: Sequence[QuoteEvent]) -> int: ...


class KafkaQuotePublisher:
    """Sends and waits for the broker's acknowledgement (acks=all) before returning."""

    def __init__(self, producer: Any, topic: str = DEFAULT_TOPIC, timeout_s: float = 10.0) -> None:
        self.producer = producer
        self.topic = topic
        self.timeout_s = timeout_s

    @classmethod
    def connect(cls, topic: str = DEFAULT_TOPIC, s: Settings | None = None) -> KafkaQuotePublisher:
        from mybroker.kafka import producer

        return cls(producer(s, linger_ms=2), topic)

    def publish(self, events: Sequence[QuoteEvent]) -> int:
        futures = [self.producer.send(self.topic, key=e.ticker.encode(), value=e.to_json()) for e in events]
        self.producer.flush(timeout=self.timeout_s)
        for f in futures:
            f.get(timeout=self.timeout_s)  # raises KafkaError if the broker refused or timed out
        return len(futures)

    def close(self) -> None:
        self.producer.close(timeout=self.timeout_s)
