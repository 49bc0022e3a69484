"""The API's JSON as the client sees it: pydantic models, camelCase on the wire, money in integer cents.

Requests forbid unknown fields (a typo fails here, not as a 422). Responses ignore fields they do not know, so
the server may add fields without breaking old clients. ``tests/e2e/client/test_openapi_contract.py`` checks
every field named here against the services' OpenAPI specs.
"""

from __future__ import annotations

from datetime import date, datetime

from mybroker.contracts.engine import OrderType as OrderType
from mybroker.contracts.engine import SelfTradePrevention as SelfTradePrevention
from mybroker.contracts.engine import Side as Side
from mybroker.contracts.engine import TimeInForce as TimeInForce
from mybroker.contracts.orders import OrderStatus as OrderStatus
from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

# the message contracts' enums (mybroker.contracts) are the API's too: one definition, used here as they are


class Request(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, serialize_by_alias=True,
                              extra="forbid")

    def body(self) -> dict[str, object]:
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


class Camel(BaseModel):
    """A response: every service answers in camelCase."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore")


# ---- errors ---------------------------------------------------------------------------------------------------

class ErrorBody(BaseModel):
    model_config = ConfigDict(extra="ignore")
    code: str = "ERROR"
    message: str = ""
    field: str | None = None


# ---- assets ---------------------------------------------------------------------------------------------------

class Instrument(Camel):
    ticker: str
    name: str
    isin: str
    kind: str
    round_lot: int = 100
    tick_size_cents: int = 1
    status: str = "ACTIVE"
    rejection_tunnel_pct: int = 10
    auction_tunnel_pct: int = 5
    fractional: str


class InstrumentPage(Camel):
    items: list[Instrument]
    total: int
    limit: int
    offset: int


class InstrumentCreate(Request):
    ticker: str
    name: str
    isin: str
    kind: str
    round_lot: int | None = None
    tick_size_cents: int | None = None
    status: str | None = None
    rejection_tunnel_pct: int | None = None
    auction_tunnel_pct: int | None = None


class InstrumentPatch(Request):
    name: str | None = None
    isin: str | None = None
    kind: str | None = None
    round_lot: int | None = None
    tick_size_cents: int | None = None
    status: str | None = None
    rejection_tunnel_pct: int | None = None
    auction_tunnel_pct: int | None = None


# ---- orders ---------------------------------------------------------------------------------------------------

class PlaceOrder(Request):
    ticker: str
    side: Side
    quantity: int = Field(gt=0)
    order_type: OrderType = OrderType.LIMIT
    time_in_force: TimeInForce = TimeInForce.DAY
    price_cents: int | None = Field(default=None, gt=0)
    stop_price_cents: int | None = Field(default=None, gt=0)
    display_quantity: int | None = Field(default=None, gt=0)
    min_quantity: int | None = Field(default=None, gt=0)
    expire_date: date | None = None
    self_trade_prevention: SelfTradePrevention | None = None
    client_order_id: str | None = None


class ReplaceOrder(Request):
    quantity: int | None = Field(default=None, gt=0)
    price_cents: int | None = Field(default=None, gt=0)


class Fill(Camel):
    exec_id: int
    trade_id: int
    quantity: int
    price_cents: int
    fees_cents: int
    occurred_at: datetime


class Order(Camel):
    order_id: str
    client_order_id: str
    ticker: str
    side: Side
    order_type: OrderType
    time_in_force: TimeInForce
    quantity: int
    price_cents: int | None = None
    stop_price_cents: int | None = None
    protection_price_cents: int | None = None
    display_quantity: int | None = None
    min_quantity: int | None = None
    expire_date: date | None = None
    self_trade_prevention: SelfTradePrevention
    status: OrderStatus
    cum_quantity: int
    leaves_quantity: int
    avg_price_cents: int
    reason: str = ""
    trade_date: date
    created_at: datetime
    updated_at: datetime | None = None
    fills: list[Fill] | None = None


class OrderPage(Camel):
    items: list[Order]
    total: int
    limit: int
    offset: int


# ---- wallet ---------------------------------------------------------------------------------------------------

class Transfer(Request):
    amount_cents: int = Field(gt=0)
    idempotency_key: str | None = None


class Wallet(Camel):
    account_id: str
    currency: str = "BRL"
    available_cents: int
    reserved_cents: int
    receivable_cents: int
    payable_cents: int


class TransferResult(Camel):
    entry_id: int
    kind: str
    amount_cents: int
    idempotency_key: str
    created_at: datetime
    wallet: Wallet


class Position(Camel):
    ticker: str
    available_quantity: int
    reserved_quantity: int
    receivable_quantity: int
    total_quantity: int
    average_price_cents: int
    cost_cents: int
    last_price_cents: int | None = None
    market_value_cents: int | None = None
    quote_at: datetime | None = None


class Positions(Camel):
    items: list[Position]
    market_value_cents: int


class StatementLine(Camel):
    id: int
    entry_id: int
    posted_at: datetime
    kind: str
    ref: str
    memo: str
    bucket: str
    asset: str
    amount: int


class Statement(Camel):
    items: list[StatementLine]
    next_cursor: int | None = None


# ---- market data ----------------------------------------------------------------------------------------------

class Quote(Camel):
    ticker: str
    ts: datetime
    trading_date: date
    last_cents: int
    reference_cents: int
    open_cents: int | None = None
    high_cents: int | None = None
    low_cents: int | None = None
    prev_close_cents: int | None = None
    day_volume: int = 0
    source: str = ""
    mode: str = ""
    phase: str = "CLOSED"


class QuotesPage(Camel):
    quotes: list[Quote]
    missing: list[str]


class Bar(Camel):
    start: datetime
    open_cents: int
    high_cents: int
    low_cents: int
    close_cents: int
    volume: int
    trades: int
    notional_cents: int


class History(Camel):
    ticker: str
    interval: str
    start: datetime
    end: datetime
    bars: list[Bar]


class SessionWindow(Camel):
    phase: str
    start: datetime
    end: datetime


class PriceLevel(Camel):
    price_cents: int
    quantity: int
    orders: int


class BookSnapshot(Camel):
    """The exchange's book of one ticker (GET /market/book/{ticker}): ten best levels a side."""

    instrument: str
    seq: int
    phase: str
    reference_price_cents: int
    last_price_cents: int
    bids: list[PriceLevel]
    asks: list[PriceLevel]


class MarketStatus(Camel):
    now: datetime
    phase: str
    trading_day: bool
    variant: str
    next_change_at: datetime
    next_phase: str
    windows: list[SessionWindow]
    next_trading_days: list[date] = Field(default_factory=list)
