"""The order domain: validation against an instrument's rules, price arithmetic, and the state machine an
order follows under execution reports. Plain Python: no AWS, broker or database import.

Money is integer cents and quantities integer shares, everywhere.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any

from mybroker.contracts.engine import (
    ExecType,
    ExecutionReportMessage,
    OrderType,
    SelfTradePrevention,
    Side,
    TimeInForce,
    replace_seq_of,
)
from mybroker.contracts.orders import TERMINAL_STATUSES, OrderStatus

FRACTIONAL_SUFFIX = "F"
ROUND_LOT_TICKER = re.compile(r"^[A-Z][A-Z0-9]{3}(3|4|5|6|7|8|11|3[1-5])$")
MARKET_TYPES = frozenset({OrderType.MARKET, OrderType.MARKET_WITH_LEFTOVER_AS_LIMIT})
PROTECTED_TYPES = frozenset({OrderType.MARKET, OrderType.MARKET_WITH_LEFTOVER_AS_LIMIT, OrderType.STOP})
LIMIT_TYPES = frozenset({OrderType.LIMIT, OrderType.STOP_LIMIT})
STOP_TYPES = frozenset({OrderType.STOP, OrderType.STOP_LIMIT})


class OrderError(Exception):
    """A refusal with a stable code; ``field`` names the request field at fault (camelCase), if any."""

    def __init__(self, code: str, message: str, status: int = 422, field: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status
        self.field = field


# --- instruments and tickers ----------------------------------------------------------------------------


@dataclass(frozen=True)
class InstrumentRules:
    """What an order is checked against: from the assets service (the round-lot instrument)."""

    ticker: str  # the round-lot ticker, e.g. PETR4
    round_lot: int = 100
    tick_size_cents: int = 1
    rejection_tunnel_pct: int = 10
    suspended: bool = False


def split_ticker(ticker: str) -> tuple[str, bool]:
    """(round-lot ticker, is the fractional market): ``PETR4F`` -> (``PETR4``, True)."""
    t = ticker.upper()
    if t.endswith(FRACTIONAL_SUFFIX) and ROUND_LOT_TICKER.match(t[:-1]):
        return t[:-1], True
    return t, False


def check_lot(quantity: int, rules: InstrumentRules, fractional: bool, field_name: str = "quantity") -> None:
    if fractional:
        if not 1 <= quantity <= rules.round_lot - 1:
            raise OrderError("INVALID_LOT", f"the fractional market takes 1 to {rules.round_lot - 1} shares",
                             field=field_name)
    elif quantity <= 0 or quantity % rules.round_lot:
        raise OrderError("INVALID_LOT", f"quantity must be a multiple of the round lot ({rules.round_lot}); "
                         f"use {rules.ticker}{FRACTIONAL_SUFFIX} for fewer shares", field=field_name)


def check_tick(price_cents: int, rules: InstrumentRules, field_name: str) -> None:
    if price_cents <= 0 or price_cents % rules.tick_size_cents:
        raise OrderError("INVALID_TICK", f"price must be a positive multiple of the tick "
                         f"({rules.tick_size_cents} cents)", field=field_name)


@dataclass(frozen=True)
class Band:
    """The rejection tunnel around a reference price: buys above ``upper`` and sells below ``lower`` are refused."""

    lower: int
    upper: int


def rejection_band(reference_cents: int, pct: int) -> Band:
    lower = -(-reference_cents * (100 - pct) // 100)  # ceiling: never below the tunnel
    upper = reference_cents * (100 + pct) // 100  # floor: never above it
    return Band(max(lower, 0), upper)


def check_band(side: Side, price_cents: int, band: Band, field_name: str) -> None:
    if side is Side.BUY and price_cents > band.upper:
        raise OrderError("PRICE_OUT_OF_BAND", f"a buy above {band.upper} cents is outside the rejection tunnel",
                         field=field_name)
    if side is Side.SELL and price_cents < band.lower:
        raise OrderError("PRICE_OUT_OF_BAND", f"a sell below {band.lower} cents is outside the rejection tunnel",
                         field=field_name)


def protection_price(side: Side, reference_cents: int, pct: int, tick_cents: int) -> int:
    """Reference +/- the rejection tunnel, rounded to the tick towards the reference (so it stays inside it)."""
    band = rejection_band(reference_cents, pct)
    if side is Side.BUY:
        return max(band.upper // tick_cents * tick_cents, tick_cents)
    return max(-(-band.lower // tick_cents) * tick_cents, tick_cents)


# --- placing an order -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlaceRequest:
    """What the client asked for (already shape-checked by the HTTP layer)."""

    ticker: str
    side: Side
    order_type: OrderType
    quantity: int
    time_in_force: TimeInForce = TimeInForce.DAY
    price_cents: int | None = None
    stop_price_cents: int | None = None
    display_quantity: int | None = None
    min_quantity: int | None = None
    expire_date: date | None = None
    self_trade_prevention: SelfTradePrevention = SelfTradePrevention.CANCEL_AGGRESSOR
    client_order_id: str | None = None

    def canonical(self) -> dict[str, Any]:
        return {
            "ticker": self.ticker.upper(), "side": self.side.value, "orderType": self.order_type.value,
            "quantity": self.quantity, "timeInForce": self.time_in_force.value, "priceCents": self.price_cents,
            "stopPriceCents": self.stop_price_cents, "displayQuantity": self.display_quantity,
            "minQuantity": self.min_quantity,
            "expireDate": self.expire_date.isoformat() if self.expire_date else None,
            "selfTradePrevention": self.self_trade_prevention.value, "clientOrderId": self.client_order_id,
        }

    def request_hash(self) -> str:
        """Stable over the request's meaning: the durable guard for a reused clientOrderId."""
        return hashlib.sha256(json.dumps(self.canonical(), sort_keys=True).encode()).hexdigest()


@dataclass(frozen=True)
class ValidatedOrder:
    instrument: str  # the book: PETR4 or PETR4F
    price_cents: int  # limit (LIMIT, STOP_LIMIT), 0 otherwise
    stop_price_cents: int
    protection_price_cents: int  # MARKET, MWLAL, STOP; 0 otherwise
    reference_cents: int | None

    @property
    def reservation_price_cents(self) -> int:
        """The most a share can cost (buy) or the least it fetches (sell): what the wallet reserves against."""
        return self.price_cents or self.protection_price_cents


def validate_shape(req: PlaceRequest, today: date) -> None:
    """Rules that need no instrument: which prices each type takes, TIF/expiry, iceberg and min quantity."""
    t = req.order_type
    if t in LIMIT_TYPES and not req.price_cents:
        raise OrderError("VALIDATION_ERROR", f"{t.value} needs priceCents", field="priceCents")
    if t not in LIMIT_TYPES and req.price_cents:
        raise OrderError("VALIDATION_ERROR", f"{t.value} takes no priceCents", field="priceCents")
    if t in STOP_TYPES and not req.stop_price_cents:
        raise OrderError("VALIDATION_ERROR", f"{t.value} needs stopPriceCents", field="stopPriceCents")
    if t not in STOP_TYPES and req.stop_price_cents:
        raise OrderError("VALIDATION_ERROR", f"{t.value} takes no stopPriceCents", field="stopPriceCents")
    if req.time_in_force is TimeInForce.GTD:
        if req.expire_date is None:
            raise OrderError("VALIDATION_ERROR", "GTD needs expireDate", field="expireDate")
        if req.expire_date < today:
            raise OrderError("VALIDATION_ERROR", "expireDate is in the past", field="expireDate")
    elif req.expire_date is not None:
        raise OrderError("VALIDATION_ERROR", "expireDate is only for GTD", field="expireDate")
    if req.display_quantity:
        if t is not OrderType.LIMIT:
            raise OrderError("VALIDATION_ERROR", "an iceberg (displayQuantity) must be a LIMIT order",
                             field="displayQuantity")
        if req.time_in_force in (TimeInForce.IOC, TimeInForce.FOK):
            raise OrderError("VALIDATION_ERROR", "an iceberg cannot be IOC or FOK", field="displayQuantity")
        if req.display_quantity >= req.quantity:
            raise OrderError("VALIDATION_ERROR", "displayQuantity must be below quantity", field="displayQuantity")
    if req.min_quantity and req.min_quantity > req.quantity:
        raise OrderError("VALIDATION_ERROR", "minQuantity cannot exceed quantity", field="minQuantity")


def validate(req: PlaceRequest, rules: InstrumentRules, reference_cents: int | None, today: date) -> ValidatedOrder:
    """Every refusal a client can get before the balance check, in a stable order."""
    validate_shape(req, today)
    _, fractional = split_ticker(req.ticker)
    if rules.suspended:
        raise OrderError("INSTRUMENT_SUSPENDED", f"{rules.ticker} is suspended", field="ticker")
    check_lot(req.quantity, rules, fractional)
    if req.display_quantity:
        check_lot(req.display_quantity, rules, fractional, "displayQuantity")
    if req.min_quantity:
        check_lot(req.min_quantity, rules, fractional, "minQuantity")
    if req.price_cents:
        check_tick(req.price_cents, rules, "priceCents")
    if req.stop_price_cents:
        check_tick(req.stop_price_cents, rules, "stopPriceCents")
    protection = 0
    if reference_cents is None:
        if req.order_type in PROTECTED_TYPES:
            raise OrderError("NO_REFERENCE_PRICE", f"no reference price for {rules.ticker}: use a limit order",
                             field="orderType")
    else:
        band = rejection_band(reference_cents, rules.rejection_tunnel_pct)
        if req.price_cents:
            check_band(req.side, req.price_cents, band, "priceCents")
        if req.order_type in PROTECTED_TYPES:
            protection = protection_price(req.side, reference_cents, rules.rejection_tunnel_pct,
                                          rules.tick_size_cents)
    return ValidatedOrder(split_ticker(req.ticker)[0] + (FRACTIONAL_SUFFIX if fractional else ""),
                          req.price_cents or 0, req.stop_price_cents or 0, protection, reference_cents)


def validate_replace(order: Order, quantity: int | None, price_cents: int | None, rules: InstrumentRules,
                     reference_cents: int | None) -> tuple[int, int]:
    """The new (quantity, limit) of a replace; refuses what the order cannot become."""
    if order.is_terminal:
        raise OrderError("ORDER_NOT_REPLACEABLE", f"the order is {order.status.value}", status=409)
    if quantity is None and price_cents is None:
        raise OrderError("VALIDATION_ERROR", "give quantity and/or priceCents", field="quantity")
    new_qty = order.quantity if quantity is None else quantity
    new_price = order.price_cents if price_cents is None else price_cents
    _, fractional = split_ticker(order.instrument)
    if quantity is not None:
        check_lot(new_qty, rules, fractional)
        if new_qty <= order.cum_quantity:
            raise OrderError("VALIDATION_ERROR", f"quantity must exceed the {order.cum_quantity} already filled",
                             field="quantity")
    if price_cents is not None:
        if order.order_type not in LIMIT_TYPES:
            raise OrderError("VALIDATION_ERROR", f"a {order.order_type.value} order has no limit to change",
                             field="priceCents")
        check_tick(new_price, rules, "priceCents")
        if reference_cents is not None:
            check_band(order.side, new_price, rejection_band(reference_cents, rules.rejection_tunnel_pct),
                       "priceCents")
    if new_qty == order.quantity and new_price == order.price_cents:
        raise OrderError("VALIDATION_ERROR", "nothing to change", field="quantity")
    return new_qty, new_price


# --- the order and its state machine --------------------------------------------------------------------


@dataclass(frozen=True)
class FillRecord:
    exec_id: int
    trade_id: int
    quantity: int
    price_cents: int
    fees_cents: int
    occurred_at: datetime


@dataclass(frozen=True)
class Order:
    order_id: str
    account_id: str
    client_order_id: str  # the client's idempotency key (or the order id when none was given)
    instrument: str
    side: Side
    order_type: OrderType
    time_in_force: TimeInForce
    quantity: int
    price_cents: int
    trade_date: date
    created_at: datetime
    stop_price_cents: int = 0
    protection_price_cents: int = 0
    display_quantity: int = 0
    min_quantity: int = 0
    expire_date: date | None = None
    self_trade_prevention: SelfTradePrevention = SelfTradePrevention.CANCEL_AGGRESSOR
    status: OrderStatus = OrderStatus.PENDING_NEW
    cum_quantity: int = 0
    leaves_quantity: int = 0
    avg_price_cents: int = 0
    filled_quantity: int = 0  # sum over the fills recorded (cum_quantity may run ahead of a late fill)
    filled_value_cents: int = 0  # sum of quantity x price over those fills: the average, exactly
    engine_client_order_id: str = ""  # the id the engine knows the order by now: order_id or <order_id>~n
    replace_seq: int = 0
    event_seq: int = 0  # events emitted so far: the next is <order_id>:<event_seq + 1>
    last_exec_id: int = 0  # the newest execution report applied to the status
    reason: str = ""
    request_hash: str = ""
    updated_at: datetime | None = None

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL_STATUSES

    @property
    def effective_price_cents(self) -> int:
        return self.price_cents or self.protection_price_cents


@dataclass(frozen=True)
class Emitted:
    """An event to publish: the type, and the fill it reports (``order.filled`` only)."""

    event_type: str
    fill: FillRecord | None = None
    reason: str = ""
    replace_seq: int = 0  # order.replaced / order.replace_rejected: the replace answered


@dataclass(frozen=True)
class Transition:
    order: Order
    events: tuple[Emitted, ...] = ()
    fill: FillRecord | None = None


_STATUS_OF: dict[ExecType, OrderStatus] = {
    ExecType.NEW: OrderStatus.NEW,
    ExecType.PARTIALLY_FILLED: OrderStatus.PARTIALLY_FILLED,
    ExecType.FILLED: OrderStatus.FILLED,
    ExecType.CANCELED: OrderStatus.CANCELED,
    ExecType.REJECTED: OrderStatus.REJECTED,
    ExecType.EXPIRED: OrderStatus.EXPIRED,
}


def apply_report(order: Order, report: ExecutionReportMessage, fees_cents: int, occurred_at: datetime) -> Transition:
    """The order after one (not yet seen) execution report, and the events that say so.

    Rules, so that redelivered and reordered reports converge: a fill is recorded whenever it arrives (it
    happened); the status, leaves and limit follow only a report newer than the last applied one; the
    cumulative quantity never goes backwards; a terminal status is final; a REJECTED of a cancel or
    replace (the engine refusing the request, not the order) leaves the order as it was.
    """
    events: list[Emitted] = []
    fill: FillRecord | None = None
    newer = report.exec_id > order.last_exec_id
    o = order
    if report.exec_type in (ExecType.PARTIALLY_FILLED, ExecType.FILLED) and report.last_quantity > 0:
        fill = FillRecord(report.exec_id, report.trade_id, report.last_quantity, report.last_price_cents,
                          fees_cents, occurred_at)
        value = o.filled_value_cents + fill.quantity * fill.price_cents
        filled = o.filled_quantity + fill.quantity
        o = replace(o, filled_value_cents=value, filled_quantity=filled, avg_price_cents=value // filled,
                    cum_quantity=max(o.cum_quantity, filled, report.cum_quantity if newer else 0))
    if newer:
        o = _follow(o, report, events)
    if fill is not None:
        events.insert(0, Emitted("order.filled", fill))
        if not o.is_terminal:
            done = o.cum_quantity >= o.quantity
            o = replace(o, status=OrderStatus.FILLED if done else OrderStatus.PARTIALLY_FILLED,
                        leaves_quantity=max(o.quantity - o.cum_quantity, 0))
    return Transition(replace(o, event_seq=o.event_seq + len(events)), tuple(events), fill)


def _follow(o: Order, r: ExecutionReportMessage, events: list[Emitted]) -> Order:
    """Apply the status part of a report newer than anything applied so far."""
    o = replace(o, last_exec_id=r.exec_id)
    if o.is_terminal:
        return o
    t = r.exec_type
    cum = max(o.cum_quantity, r.cum_quantity)
    if t is ExecType.REJECTED:
        # UNKNOWN_ORDER answers only a cancel or replace (of an order the engine does not hold yet: a cancel that
        # overtook its order's NEW command): never the order's own rejection, which would end it and release its
        # hold while the NEW still reaches the book and trades
        own = (r.client_order_id == o.order_id and o.status is OrderStatus.PENDING_NEW and o.cum_quantity == 0
               and r.reason != "UNKNOWN_ORDER")
        if not own:  # the engine refused a cancel or replace: the order stands
            revert = r.client_order_id == o.engine_client_order_id and r.client_order_id != o.order_id
            if revert and r.client_order_id != r.orig_client_order_id:
                # the newest replace was refused: say so with the standing quantity and price, so the wallet
                # takes its hold back to them (an older replace refused while a newer one is pending says
                # nothing: the newer one's answer settles the hold)
                events.append(Emitted("order.replace_rejected", reason=r.reason,
                                      replace_seq=replace_seq_of(r.client_order_id)))
            return replace(o, reason=r.reason,
                           engine_client_order_id=_previous_client_id(o) if revert else o.engine_client_order_id)
        events.append(Emitted("order.rejected", reason=r.reason))
        return replace(o, status=OrderStatus.REJECTED, leaves_quantity=0, reason=r.reason)
    if t is ExecType.NEW:
        if o.status is OrderStatus.PENDING_NEW:
            events.append(Emitted("order.accepted"))
            return replace(o, status=OrderStatus.NEW, leaves_quantity=r.leaves_quantity, cum_quantity=cum)
        return o
    if t is ExecType.TRIGGERED:
        return replace(o, status=OrderStatus.NEW if o.status is OrderStatus.PENDING_NEW else o.status)
    if t is ExecType.REPLACED:
        events.append(Emitted("order.replaced", replace_seq=replace_seq_of(r.client_order_id)))
        status = OrderStatus.PARTIALLY_FILLED if cum > 0 else OrderStatus.NEW
        return replace(o, quantity=r.order_quantity, price_cents=r.price_cents or o.price_cents,
                       leaves_quantity=r.leaves_quantity, cum_quantity=cum, status=status,
                       engine_client_order_id=r.client_order_id or o.engine_client_order_id)
    if t in (ExecType.PARTIALLY_FILLED, ExecType.FILLED):
        status = _STATUS_OF[t] if t is ExecType.FILLED or cum < o.quantity else OrderStatus.FILLED
        return replace(o, status=status, cum_quantity=cum, leaves_quantity=r.leaves_quantity if
                       status is not OrderStatus.FILLED else 0)
    if t in (ExecType.CANCELED, ExecType.EXPIRED):
        events.append(Emitted("order.canceled" if t is ExecType.CANCELED else "order.expired", reason=r.reason))
        return replace(o, status=_STATUS_OF[t], cum_quantity=cum, leaves_quantity=0, reason=r.reason or o.reason)
    return o


def _previous_client_id(o: Order) -> str:
    from mybroker.contracts.engine import replace_client_order_id

    return o.order_id if o.replace_seq <= 1 else replace_client_order_id(o.order_id, o.replace_seq - 1)


def sort_reports(reports: list[ExecutionReportMessage]) -> list[ExecutionReportMessage]:
    """Apply per instrument in exec id order (the engine's sequence), whatever order they arrived in."""
    return sorted(reports, key=lambda r: (r.instrument, r.exec_id))


@dataclass
class BatchResult:
    applied: int = 0
    duplicates: int = 0
    unknown: int = 0
    malformed: int = 0
    order_ids: set[str] = field(default_factory=set)
