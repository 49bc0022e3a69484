"""Publishing asset events to Kafka (the adapter; the contract is :mod:`mybroker.contracts.assets`)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, Protocol

from mybroker.assets.catalog import Instrument
from mybroker.contracts.assets import TOPIC, AssetEvent, AssetEventType, InstrumentState


class AssetEvents(Protocol):
    def publish(self, event: AssetEvent) -> None: ...


def asset_event(kind: AssetEventType, instrument: Instrument, changed: tuple[str, ...] = (),
                actor: str = "") -> AssetEvent:
    return AssetEvent(event_id=str(uuid.uuid4()), event_type=kind, ticker=instrument.ticker,
                      occurred_at=datetime.now(UTC), changed=changed, actor=actor,
                      instrument=InstrumentState.model_validate(instrument.model_dump(mode="json")))


class KafkaAssetEvents:
    def __init__(self, bootstrap_servers: str, security_protocol: str = "PLAINTEXT") -> None:
        self.bootstrap_servers = bootstrap_servers
        self.security_protocol = security_protocol
        self._producer: Any = None

    def publish(self, event: AssetEvent) -> None:
        from kafka import KafkaProducer

        if self._producer is None:
            self._producer = KafkaProducer(bootstrap_servers=self.bootstrap_servers, acks="all",
                                           security_protocol=self.security_protocol, request_timeout_ms=5000,
                                           max_block_ms=5000)
        self._producer.send(TOPIC, key=event.ticker.encode(), value=event.to_json()).get(timeout=10)
