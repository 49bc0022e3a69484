"""The public JSON shapes of orders-api: camelCase on the wire, cents and shares as integers."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import Field

from mybroker.contracts.api import Camel
from mybroker.contracts.engine import OrderType, SelfTradePrevention, Side, TimeInForce
from mybroker.contracts.orders import OrderStatus
from mybroker.contracts.requests import IsoDate, PriceCents, Shares
from mybroker.orders.domain import FillRecord, Order, PlaceRequest


class PlaceOrderBody(Camel):
    client_order_id: str | None = Field(default=None, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:-]+$",
                                        description="your idempotency key: the same id and body give the same order")
    ticker: str = Field(min_length=5, max_length=12, pattern=r"^[A-Za-z0-9]+$", examples=["PETR4", "PETR4F"])
    side: Side
    order_type: OrderType = OrderType.LIMIT
    time_in_force: TimeInForce = TimeInForce.DAY
    quantity: Shares = Field(description="shares")
    price_cents: PriceCents | None = Field(default=None, description="limit (LIMIT, STOP_LIMIT)")
    stop_price_cents: PriceCents | None = Field(default=None, description="trigger (STOP, STOP_LIMIT)")
    display_quantity: Shares | None = Field(default=None, description="iceberg: shares shown on the book")
    min_quantity: Shares | None = None
    expire_date: IsoDate | None = Field(default=None, description="GTD only")
    self_trade_prevention: SelfTradePrevention = SelfTradePrevention.CANCEL_AGGRESSOR

    def to_domain(self) -> PlaceRequest:
        return PlaceRequest(
            ticker=self.ticker.upper(), side=self.side, order_type=self.order_type, quantity=self.quantity,
            time_in_force=self.time_in_force, price_cents=self.price_cents, stop_price_cents=self.stop_price_cents,
            display_quantity=self.display_quantity, min_quantity=self.min_quantity, expire_date=self.expire_date,
            self_trade_prevention=self.self_trade_prevention, client_order_id=self.client_order_id,
        )


class ReplaceOrderBody(Camel):
    quantity: Shares | None = Field(default=None, description="new total quantity")
    price_cents: PriceCents | None = Field(default=None, description="new limit")


class FillView(Camel):
    exec_id: int
    trade_id: int
    quantity: int
    price_cents: int
    fees_cents: int
    occurred_at: datetime

    @classmethod
    def of(cls, f: FillRecord) -> FillView:
        return cls(exec_id=f.exec_id, trade_id=f.trade_id, quantity=f.quantity, price_cents=f.price_cents,
                   fees_cents=f.fees_cents, occurred_at=f.occurred_at)


class OrderView(Camel):
    order_id: str
    client_order_id: str
    ticker: str
    side: Side
    order_type: OrderType
    time_in_force: TimeInForce
    quantity: int
    price_cents: int | None
    stop_price_cents: int | None
    protection_price_cents: int | None
    display_quantity: int | None
    min_quantity: int | None
    expire_date: date | None
    self_trade_prevention: SelfTradePrevention
    status: OrderStatus
    cum_quantity: int
    leaves_quantity: int
    avg_price_cents: int
    reason: str
    trade_date: date
    created_at: datetime
    updated_at: datetime | None
    fills: list[FillView] | None = None

    @classmethod
    def of(cls, o: Order, fills: list[FillRecord] | None = None) -> OrderView:
        return cls(
            order_id=o.order_id, client_order_id=o.client_order_id, ticker=o.instrument, side=o.side,
            order_type=o.order_type, time_in_force=o.time_in_force, quantity=o.quantity,
            price_cents=o.price_cents or None, stop_price_cents=o.stop_price_cents or None,
            protection_price_cents=o.protection_price_cents or None, display_quantity=o.display_quantity or None,
            min_quantity=o.min_quantity or None, expire_date=o.expire_date,
            self_trade_prevention=o.self_trade_prevention, status=o.status, cum_quantity=o.cum_quantity,
            leaves_quantity=o.leaves_quantity, avg_price_cents=o.avg_price_cents, reason=o.reason,
            trade_date=o.trade_date, created_at=o.created_at, updated_at=o.updated_at,
            fills=None if fills is None else [FillView.of(f) for f in fills],
        )


class OrderPage(Camel):
    items: list[OrderView]
    total: int
    limit: int
    offset: int
