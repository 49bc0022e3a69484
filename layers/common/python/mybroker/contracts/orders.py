"""Order events on the Kafka ``orders`` topic (key: the account id, so one account's events stay in order).
Version 1. Produced by the orders service; consumed by the wallet (reservations → settlement) and anyone
else. ``event_id`` is deterministic (``<order_id>:<n>``, n = the order's own event sequence), so a consumer
dedupes redeliveries by it. Prices are integer cents, quantities shares.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Final, Literal

from pydantic import BaseModel, ConfigDict

from mybroker.contracts.engine import OrderType, Side, TimeInForce

SCHEMA_VERSION: Final = 1
TOPIC = "orders"


class OrderStatus(StrEnum):
    PENDING_NEW = "PENDING_NEW"  # stored and reserved, not yet acknowledged by the exchange
    NEW = "NEW"
    PARTIALLY_FILLED = "PARTIALLY_FILLED"
    FILLED = "FILLED"
    CANCELED = "CANCELED"
    REJECTED = "REJECTED"
    EXPIRED = "EXPIRED"

    @property
    def open(self) -> bool:
        """Still working at the exchange (or about to be): cancel and replace apply."""
        return self not in TERMINAL_STATUSES


TERMINAL_STATUSES = frozenset({OrderStatus.FILLED, OrderStatus.CANCELED, OrderStatus.REJECTED, OrderStatus.EXPIRED})


class OrderEventType(StrEnum):
    PLACED = "order.placed"
    ACCEPTED = "order.accepted"
    FILLED = "order.filled"  # one fill (partial or final): see ``fill``
    REPLACED = "order.replaced"  # the engine accepted a replace: quantity (new total) and price are the new ones
    # the engine refused a replace: quantity and price are the standing order's, so the wallet restores its hold
    REPLACE_REJECTED = "order.replace_rejected"
    CANCELED = "order.canceled"
    REJECTED = "order.rejected"
    EXPIRED = "order.expired"


class Fill(BaseModel):
    model_config = ConfigDict(frozen=True)
    exec_id: int
    trade_id: int
    quantity: int
    price_cents: int
    fees_cents: int  # B3 trading + settlement fees charged to this account for this fill


class OrderEvent(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)
    schema_version: Literal[1] = SCHEMA_VERSION
    event_id: str
    event_type: OrderEventType
    order_id: str
    account_id: str
    instrument: str  # the ticker traded (PETR4 or the fractional PETR4F)
    side: Side
    order_type: OrderType
    time_in_force: TimeInForce
    quantity: int
    price_cents: int  # the limit, or the protection price of a market order
    status: OrderStatus
    cum_quantity: int
    leaves_quantity: int
    avg_price_cents: int
    fill: Fill | None = None
    reason: str = ""
    # order.replaced / order.replace_rejected: which replace the engine answered (n of <order_id>~n; 0 unknown)
    replace_seq: int = 0
    # YYYY-MM-DD in America/Sao_Paulo: the session of the fill for ``order.filled`` (a GTC/GTD order fills on
    # later sessions), the order's own session otherwise; settlement is trade date + 2 business days
    trade_date: str
    occurred_at: datetime

    def to_json(self) -> bytes:
        return self.model_dump_json().encode()


def parse_order_event(raw: bytes | str) -> OrderEvent:
    return OrderEvent.model_validate_json(raw)
