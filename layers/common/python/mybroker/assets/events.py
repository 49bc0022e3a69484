"""Asset events (the contract is :mod:`mybroker.contracts.assets`) and the outbox message that carries each one
to the Kafka ``assets`` topic, keyed by ticker. The event id is chosen once, when the change is decided, and
stored with it, so a message published again is the same event to its consumers."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from mybroker.assets.catalog import Instrument
from mybroker.contracts.assets import TOPIC, AssetEvent, AssetEventType, InstrumentState
from mybroker.outbox import OutboxMessage


def asset_event(kind: AssetEventType, instrument: Instrument, changed: tuple[str, ...] = (),
                actor: str = "") -> AssetEvent:
    return AssetEvent(event_id=str(uuid.uuid4()), event_type=kind, ticker=instrument.ticker,
                      occurred_at=datetime.now(UTC), changed=changed, actor=actor,
                      instrument=InstrumentState.model_validate(instrument.model_dump(mode="json")))


def event_message(event: AssetEvent) -> OutboxMessage:
    return OutboxMessage("kafka", TOPIC, event.ticker, event.event_id, event.to_json())
