"""Quote events onto Kafka: topic ``quotes``, key = ticker (UTF-8), value = the versioned contract's JSON."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, Protocol

from mybroker.contracts.quotes import QuoteEvent

DEFAULT_TOPIC = "quotes"


class QuotePublisher(Protocol):
    def publish(self, events: Sequence[QuoteEvent]) -> int: ...


def producer_config(bootstrap: str, security_protocol: str = "PLAINTEXT",
                    sasl_secret_arn: str | None = None) -> dict[str, Any]:
    """kafka-python producer settings; SASL/SCRAM credentials come from a Secrets Manager secret on AWS."""
    cfg: dict[str, Any] = {"bootstrap_servers": bootstrap.split(","), "acks": "all", "linger_ms": 2,
                           "retries": 3, "request_timeout_ms": 10_000, "security_protocol": security_protocol}
    if sasl_secret_arn:
        from mybroker.aws import client

        raw = client("secretsmanager").get_secret_value(SecretId=sasl_secret_arn)["SecretString"]
        secret = json.loads(raw)
        cfg.update(sasl_mechanism="SCRAM-SHA-512", sasl_plain_username=secret["username"],
                   sasl_plain_password=secret["password"])
    return cfg


class KafkaQuotePublisher:
    """Sends and waits for the broker's acknowledgement (acks=all) before returning."""

    def __init__(self, producer: Any, topic: str = DEFAULT_TOPIC, timeout_s: float = 10.0) -> None:
        self.producer = producer
        self.topic = topic
        self.timeout_s = timeout_s

    @classmethod
    def connect(cls, bootstrap: str, topic: str = DEFAULT_TOPIC, security_protocol: str = "PLAINTEXT",
                sasl_secret_arn: str | None = None) -> KafkaQuotePublisher:
        from kafka import KafkaProducer

        return cls(KafkaProducer(**producer_config(bootstrap, security_protocol, sasl_secret_arn)), topic)

    def publish(self, events: Sequence[QuoteEvent]) -> int:
        futures = [self.producer.send(self.topic, key=e.ticker.encode(), value=e.to_json()) for e in events]
        self.producer.flush(timeout=self.timeout_s)
        for f in futures:
            f.get(timeout=self.timeout_s)  # raises KafkaError if the broker refused or timed out
        return len(futures)

    def close(self) -> None:
        self.producer.close(timeout=self.timeout_s)
