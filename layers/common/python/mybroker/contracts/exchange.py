"""Public market data from the exchange (engine_service) on Kafka. Version 1.

Topic ``trades`` (key: instrument): :class:`TradeEvent`, time & sales.
Topic ``market-data`` (key: instrument): :class:`BookTopEvent` (L1), :class:`DepthEvent` (L2 level),
:class:`PhaseEvent` and :class:`AuctionEvent` (indicative price and quantity during a call), told apart by
``type``. ``seq`` is the instrument's gapless output sequence: a consumer orders and dedupes by it.
The current book of each instrument is also kept in Redis (:data:`BOOK_KEY`, :class:`BookSnapshot`).
Prices are integer cents, quantities shares, times nanoseconds since the epoch.
"""

from __future__ import annotations

from typing import Annotated, Final, Literal

from pydantic import BaseModel, ConfigDict, Field

SCHEMA_VERSION: Final = 1
TRADES_TOPIC = "trades"
MARKET_DATA_TOPIC = "market-data"
BOOK_KEY = "engine:book:{instrument}"  # JSON BookSnapshot
OPEN_ORDERS_KEY = "engine:open-orders:{instrument}"  # hash: client order id -> leaves quantity


class _Event(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)
    schema_version: Literal[1] = SCHEMA_VERSION
    instrument: str
    seq: int
    ts_ns: int


class TradeEvent(_Event):
    type: Literal["TRADE"] = "TRADE"
    trade_id: int
    price_cents: int
    quantity: int
    aggressor_side: str  # "BUY", "SELL", or "" for an auction uncross


class BookTopEvent(_Event):
    type: Literal["L1"] = "L1"
    bid_cents: int  # 0 when the side is empty
    bid_quantity: int
    ask_cents: int
    ask_quantity: int


class DepthEvent(_Event):
    type: Literal["L2"] = "L2"
    side: str
    price_cents: int
    quantity: int  # 0: the level is gone
    order_count: int


class PhaseEvent(_Event):
    type: Literal["PHASE"] = "PHASE"
    phase: str
    auction_end_ns: int


class AuctionEvent(_Event):
    type: Literal["AUCTION"] = "AUCTION"
    indicative_price_cents: int
    indicative_quantity: int
    imbalance_side: str
    imbalance_quantity: int


MarketDataEvent = Annotated[BookTopEvent | DepthEvent | PhaseEvent | AuctionEvent, Field(discriminator="type")]


class MarketDataEnvelope(BaseModel):
    event: MarketDataEvent


def parse_market_data(raw: bytes) -> BookTopEvent | DepthEvent | PhaseEvent | AuctionEvent:
    return MarketDataEnvelope.model_validate_json(b'{"event":' + raw + b"}").event


class PriceLevel(BaseModel):
    price_cents: int
    quantity: int
    orders: int


class BookSnapshot(BaseModel):
    model_config = ConfigDict(extra="ignore")
    schema_version: Literal[1] = SCHEMA_VERSION
    instrument: str
    seq: int
    phase: str
    reference_price_cents: int
    last_price_cents: int
    bids: list[PriceLevel]  # best first
    asks: list[PriceLevel]
