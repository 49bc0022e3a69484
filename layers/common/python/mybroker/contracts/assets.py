"""Asset (instrument catalog) events on the Kafka ``assets`` topic (key: the ticker, UTF-8), version 1.
Produced by assets-api when an admin creates or changes an instrument; consumers keep their own copy of
the rules (orders, engine). ``instrument`` is the full state after the change, so a consumer can apply the
newest event per ticker and ignore older ones (compare ``occurred_at``). Unknown fields are ignored.
Delivered at least once, from an outbox: an event sent again keeps its ``event_id``, and may arrive after a
newer one.

Producer::

    producer.send("assets", key=event.ticker.encode(), value=event.to_json())
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict

SCHEMA_VERSION = 1
TOPIC = "assets"


class AssetEventType(StrEnum):
    CREATED = "asset.created"
    UPDATED = "asset.updated"
    SUSPENDED = "asset.suspended"  # status became SUSPENDED: stop accepting orders for it


class InstrumentState(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)
    ticker: str
    name: str
    isin: str
    kind: str
    round_lot: int
    tick_size_cents: int
    status: str
    rejection_tunnel_pct: int
    auction_tunnel_pct: int


class AssetEvent(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)
    schema_version: Literal[1] = 1
    event_id: str
    event_type: AssetEventType
    ticker: str
    occurred_at: datetime
    changed: tuple[str, ...] = ()  # the fields an update changed (empty on create)
    instrument: InstrumentState
    actor: str = ""  # the admin who made the change (Cognito username)

    def to_json(self) -> bytes:
        return self.model_dump_json().encode()


def parse_asset_event(raw: bytes | str) -> AssetEvent:
    return AssetEvent.model_validate_json(raw)
