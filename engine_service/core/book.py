"""One instrument's order book and its B3 rules: price-time priority matching, auctions,
tunnels, stops, icebergs, self-trade prevention and expiry.

Hot-path notes: prices are ints; each side is a dict ``price -> PriceLevel`` plus a sorted list of
keys whose *last* element is the best price (bids keyed by price, asks by ``-price``); a price
level is an intrusive doubly linked list of orders (O(1) cancel). Outputs are NamedTuples built
with ``tuple.__new__`` (no keyword parsing) and appended to ``self.out``.

Fast paths (continuous trading, nothing else touched by this input): a LIMIT/MARKET order that does
not cross rests and publishes its NEW, L2 and (if the top changed) L1 inline; a cancel of a resting
order does the same. Everything else goes through ``_execute``/``_match`` and ``flush()``; both give
the same outputs. The module is written for mypyc as well (``build_native.py``): ``Final``
module constants and class aliases (C statics instead of module-dict lookups), typed attributes,
and input fields type-checked on an untyped view *before* the typed unpacking, so that a
malformed input gives the same reject compiled as in pure Python.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from sys import intern
from typing import Any, Final

from engine_service.core.records import (
    AUCTION_PHASES,
    AuctionInfo,
    CancelOrder,
    DepthUpdate,
    ExecutionReport,
    NewOrder,
    OrderType,
    Phase,
    PhaseChange,
    Quote,
    Reason,
    ReplaceOrder,
    SelfTradePrevention,
    Trade,
)

_tnew: Final = tuple.__new__
# Module-level Final aliases: mypyc reads them from C statics instead of the module dict.
_EXEC: Final = ExecutionReport
_TRADE: Final = Trade
_L1: Final = Quote
_L2: Final = DepthUpdate
_PHASE: Final = PhaseChange
_AUCTION: Final = AuctionInfo
_intern: Final = intern
_insort: Final = insort
_bisect_left: Final = bisect_left
IN_AUCTION: Final = AUCTION_PHASES

BUY: Final = "BUY"
SELL: Final = "SELL"
LIMIT: Final = OrderType.LIMIT
MARKET: Final = OrderType.MARKET
MWLAL: Final = OrderType.MARKET_WITH_LEFTOVER_AS_LIMIT
STOP: Final = OrderType.STOP
STOP_LIMIT: Final = OrderType.STOP_LIMIT
ORDER_TYPES: Final = frozenset({LIMIT, MARKET, MWLAL, STOP, STOP_LIMIT})
DAY: Final = "DAY"
IOC: Final = "IOC"
FOK: Final = "FOK"
GTC: Final = "GTC"
GTD: Final = "GTD"
MOC: Final = "AT_THE_CLOSE"
MOA: Final = "GOOD_FOR_AUCTION"
TIFS: Final = frozenset({DAY, IOC, FOK, GTC, GTD, MOC, MOA})
STP_NONE: Final = SelfTradePrevention.NONE
STP_AGGRESSOR: Final = SelfTradePrevention.CANCEL_AGGRESSOR
STP_RESTING: Final = SelfTradePrevention.CANCEL_RESTING
STP_BOTH: Final = SelfTradePrevention.CANCEL_BOTH
STP_MODES: Final = frozenset({STP_NONE, STP_AGGRESSOR, STP_RESTING, STP_BOTH})

EX_NEW: Final = "NEW"
EX_PARTIAL: Final = "PARTIALLY_FILLED"
EX_FILLED: Final = "FILLED"
EX_CANCELED: Final = "CANCELED"
EX_REPLACED: Final = "REPLACED"
EX_REJECTED: Final = "REJECTED"
EX_EXPIRED: Final = "EXPIRED"
EX_TRIGGERED: Final = "TRIGGERED"

CONTINUOUS: Final = Phase.CONTINUOUS
CLOSED: Final = Phase.CLOSED
PRE_OPEN: Final = Phase.PRE_OPEN
HALTED: Final = Phase.HALTED
VOLATILITY_AUCTION: Final = Phase.VOLATILITY_AUCTION
CLOSING_CALL: Final = Phase.CLOSING_CALL

MAX_PRICE: Final = 1 << 62
Depth = list[tuple[int, list[tuple[int, int]]]]

# Where a live order sits.
IN_BOOK: Final = 0
IN_STOPS: Final = 1
IN_PENDING: Final = 2  # AT_THE_CLOSE / GOOD_FOR_AUCTION waiting for their auction

# Match outcomes.
MATCH_DONE: Final = 0
MATCH_SELF_TRADE: Final = 1
MATCH_AUCTION: Final = 2


# Order fields saved by a snapshot (the links are rebuilt from the level queues).
ORDER_STATE_FIELDS: Final = (
    "order_id",
    "client_order_id",
    "investor_id",
    "side",
    "order_type",
    "tif",
    "price",
    "stop_price",
    "qty",
    "leaves",
    "cum",
    "cum_value",
    "display",
    "visible",
    "min_qty",
    "expire_date",
    "stp",
    "where",
)


class Order:
    __slots__ = (
        "client_order_id",
        "cum",
        "cum_value",
        "display",
        "expire_date",
        "investor_id",
        "leaves",
        "min_qty",
        "next",
        "order_id",
        "order_type",
        "prev",
        "price",
        "qty",
        "side",
        "stop_price",
        "stp",
        "tif",
        "visible",
        "where",
    )

    def __init__(
        self,
        order_id: int,
        client_order_id: str,
        investor_id: str,
        side: str,
        order_type: str,
        tif: str,
        price: int,
        stop_price: int,
        qty: int,
        display: int,
        min_qty: int,
        expire_date: int,
        stp: str,
    ) -> None:
        self.order_id = order_id
        self.client_order_id = client_order_id
        self.investor_id = investor_id
        self.side = side
        self.order_type = order_type
        self.tif = tif
        self.price = price
        self.stop_price = stop_price
        self.qty = qty
        self.leaves = qty
        self.cum = 0
        self.cum_value = 0
        self.display = display
        self.visible = display if 0 < display < qty else qty
        self.min_qty = min_qty
        self.expire_date = expire_date
        self.stp = stp
        self.where = IN_BOOK
        self.prev: Order | None = None
        self.next: Order | None = None


    def state(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in ORDER_STATE_FIELDS)

    @staticmethod
    def from_state(values: tuple[Any, ...]) -> Order:
        order = Order(0, "", "", BUY, LIMIT, DAY, 0, 0, 0, 0, 0, 0, STP_NONE)
        for name, value in zip(ORDER_STATE_FIELDS, values, strict=True):
            setattr(order, name, value)
        return order


class PriceLevel:
    __slots__ = ("count", "head", "price", "qty", "tail")

    def __init__(self, price: int) -> None:
        self.price = price
        self.qty = 0  # displayed quantity
        self.count = 0
        self.head: Order | None = None
        self.tail: Order | None = None

    def append(self, order: Order) -> None:
        tail = self.tail
        order.prev = tail
        order.next = None
        if tail is None:
            self.head = order
        else:
            tail.next = order
        self.tail = order
        self.qty += order.visible
        self.count += 1

    def unlink(self, order: Order) -> None:
        prev = order.prev
        nxt = order.next
        if prev is None:
            self.head = nxt
        else:
            prev.next = nxt
        if nxt is None:
            self.tail = prev
        else:
            nxt.prev = prev
        order.prev = order.next = None
        self.qty -= order.visible
        self.count -= 1

    def orders(self) -> list[Order]:
        result = []
        node = self.head
        while node is not None:
            result.append(node)
            node = node.next
        return result


def _bounds(reference: int, bps: int, tick: int) -> tuple[int, int]:
    """(low, high) tunnel limits around ``reference`` rounded inwards to the tick."""
    if reference <= 0 or bps <= 0:
        return 0, MAX_PRICE
    high = reference * (10000 + bps) // 10000
    high -= high % tick
    low = -((-reference * (10000 - bps)) // 10000)
    low += (-low) % tick
    return max(low, tick), high


class IdSource:
    """Engine-wide order id counter shared by all books."""

    __slots__ = ("last",)

    def __init__(self, last: int = 0) -> None:
        self.last = last


class OrderBook:
    def __init__(
        self,
        symbol: str,
        ids: IdSource,
        lot: int = 100,
        max_qty: int = 0,
        tick: int = 1,
        reference_price: int = 0,
        rejection_tunnel_bps: int = 1000,
        auction_tunnel_bps: int = 500,
        volatility_auction_ns: int = 300_000_000_000,
    ) -> None:
        self.symbol = symbol
        self.ids = ids
        self.lot = lot
        self.max_qty = max_qty  # 0 = unbounded (fractional books: lot of the standard market - 1)
        self.tick = tick
        self.rejection_tunnel_bps = rejection_tunnel_bps
        self.auction_tunnel_bps = auction_tunnel_bps
        self.volatility_auction_ns = volatility_auction_ns
        self.reference_price = 0
        self.rej_lo, self.rej_hi, self.auc_lo, self.auc_hi = 0, MAX_PRICE, 0, MAX_PRICE
        self.set_reference(reference_price)
        self.last_price = 0
        # the lowest and highest prices traded since the stops were last checked (0: none), for this input only
        self.traded_lo = 0
        self.traded_hi = 0
        self.bids: dict[int, PriceLevel] = {}
        self.bid_keys: list[int] = []  # ascending prices: best bid last
        self.asks: dict[int, PriceLevel] = {}
        self.ask_keys: list[int] = []  # ascending -price: best ask last
        self.orders: dict[int, Order] = {}
        self.stops: list[Order] = []
        self.pending: list[Order] = []
        self.phase = CLOSED
        self.scheduled_phase = CLOSED
        self.auction_end_ns = 0
        self.seq = 0
        self.trade_seq = 0
        self.now = 0
        self.trading_date = 0
        self.next_trading_date = 0  # YYYYMMDD of the next session (0: not known yet, GTD then uses today)
        self.l1: tuple[int, int, int, int] = (0, 0, 0, 0)
        self.indicative: tuple[int, int, str, int] = (0, 0, "", 0)
        self.touched_bids: dict[int, None] = {}
        self.touched_asks: dict[int, None] = {}
        self.out: list[Any] = []
        # suspended by the catalog: HALTED through every session until re-activated (a Halt is for one
        # session: the close ends it)
        self.suspended = False

    # ------------------------------------------------------------ helpers

    def set_reference(self, price: int) -> None:
        self.reference_price = price
        self.rej_lo, self.rej_hi = _bounds(price, self.rejection_tunnel_bps, self.tick)
        self.auc_lo, self.auc_hi = _bounds(price, self.auction_tunnel_bps, self.tick)

    def _report(
        self,
        o: Order,
        exec_type: str,
        last_price: int = 0,
        last_qty: int = 0,
        trade_id: int = 0,
        reason: str = "",
        orig_client_order_id: str = "",
    ) -> None:
        self.seq = seq = self.seq + 1
        cum = o.cum
        self.out.append(
            _tnew(
                _EXEC,
                (
                    "EXEC", seq, self.symbol, seq, exec_type, o.order_id, o.client_order_id,
                    orig_client_order_id, o.investor_id, o.side, o.order_type, o.tif, o.price, o.qty,
                    cum, o.leaves, (2 * o.cum_value + cum) // (2 * cum) if cum else 0,
                    last_price, last_qty, trade_id, reason, self.now,
                ),
            )
        )

    def _reject_new(self, msg: tuple[Any, ...], reason: str) -> None:
        """REJECTED for a NewOrder; ``msg`` is read untyped (its fields may be of any type)."""
        self.seq = seq = self.seq + 1
        self.out.append(
            _tnew(
                _EXEC,
                (
                    "EXEC", seq, self.symbol, seq, EX_REJECTED, 0, msg[1], "", msg[2], msg[3], msg[6],
                    msg[7], msg[5], msg[4], 0, 0, 0, 0, 0, 0, reason, self.now,
                ),
            )
        )

    def _reject_request(self, order_id: Any, client_order_id: Any, reason: str, o: Order | None) -> None:
        self.seq = seq = self.seq + 1
        if o is None:
            fields: tuple[Any, ...] = (
                "EXEC", seq, self.symbol, seq, EX_REJECTED, order_id, client_order_id, "",
                "", "", "", "", 0, 0, 0, 0, 0, 0, 0, 0, reason, self.now,
            )
        else:
            cum = o.cum
            fields = (
                "EXEC", seq, self.symbol, seq, EX_REJECTED, o.order_id, client_order_id,
                o.client_order_id, o.investor_id, o.side, o.order_type, o.tif, o.price, o.qty, cum,
                o.leaves, (2 * o.cum_value + cum) // (2 * cum) if cum else 0, 0, 0, 0, reason, self.now,
            )
        self.out.append(_tnew(_EXEC, fields))

    def _emit_phase(self) -> None:
        self.seq = seq = self.seq + 1
        self.out.append(
            _tnew(_PHASE, ("PHASE", seq, self.symbol, self.phase, self.auction_end_ns, self.now))
        )

    def _remove_live(self, o: Order) -> None:
        """Take a live order out of wherever it sits (book, stops, pending) and forget it."""
        where = o.where
        if where == IN_BOOK:
            price = o.price
            if o.side == BUY:
                level = self.bids[price]
                level.unlink(o)
                self.touched_bids[price] = None
                if not level.count:
                    del self.bids[price]
                    keys = self.bid_keys
                    if keys[-1] == price:
                        keys.pop()
                    else:
                        del keys[_bisect_left(keys, price)]
            else:
                level = self.asks[price]
                level.unlink(o)
                self.touched_asks[price] = None
                if not level.count:
                    del self.asks[price]
                    keys = self.ask_keys
                    if keys[-1] == -price:
                        keys.pop()
                    else:
                        del keys[_bisect_left(keys, -price)]
        elif where == IN_STOPS:
            self.stops.remove(o)
        else:
            self.pending.remove(o)
        del self.orders[o.order_id]

    def _rest(self, o: Order) -> None:
        price = o.price
        o.where = IN_BOOK
        display = o.display
        o.visible = display if 0 < display < o.leaves else o.leaves
        if o.side == BUY:
            level = self.bids.get(price)
            if level is None:
                level = self.bids[price] = PriceLevel(price)
                keys = self.bid_keys
                if not keys or price > keys[-1]:
                    keys.append(price)
                else:
                    _insort(keys, price)
            self.touched_bids[price] = None
        else:
            level = self.asks.get(price)
            if level is None:
                level = self.asks[price] = PriceLevel(price)
                keys = self.ask_keys
                if not keys or -price > keys[-1]:
                    keys.append(-price)
                else:
                    _insort(keys, -price)
            self.touched_asks[price] = None
        level.append(o)

    def flush(self) -> None:
        """Publish L2 for every touched level, L1 if the top changed, and the indicative auction
        price during a call. Called once at the end of each input."""
        tb = self.touched_bids
        ta = self.touched_asks
        if not tb and not ta:
            return
        out = self.out
        symbol = self.symbol
        now = self.now
        seq = self.seq
        l1 = self.l1
        top_touched = False  # only a level at or better than the published top can change L1
        if tb:
            bids = self.bids
            old_bid = l1[0]
            for price in tb:
                level = bids.get(price)
                seq += 1
                if level is None:
                    out.append(_tnew(_L2, ("L2", seq, symbol, BUY, price, 0, 0, now)))
                else:
                    out.append(
                        _tnew(_L2, ("L2", seq, symbol, BUY, price, level.qty, level.count, now))
                    )
                if price >= old_bid:
                    top_touched = True
            tb.clear()
        if ta:
            asks = self.asks
            old_ask = l1[2]
            for price in ta:
                level = asks.get(price)
                seq += 1
                if level is None:
                    out.append(_tnew(_L2, ("L2", seq, symbol, SELL, price, 0, 0, now)))
                else:
                    out.append(
                        _tnew(_L2, ("L2", seq, symbol, SELL, price, level.qty, level.count, now))
                    )
                if price <= old_ask or not old_ask:
                    top_touched = True
            ta.clear()
        if top_touched:
            seq = self._publish_l1(seq)
        self.seq = seq
        if self.phase in IN_AUCTION:
            self.publish_indicative()

    def _publish_l1(self, seq: int) -> int:
        """Append an L1 quote if the top of book differs from the published one; returns the
        sequence number after it (``seq`` is the last one used)."""
        bid_keys = self.bid_keys
        if bid_keys:
            bid_price = bid_keys[-1]
            bid_qty = self.bids[bid_price].qty
        else:
            bid_price = bid_qty = 0
        ask_keys = self.ask_keys
        if ask_keys:
            ask_price = -ask_keys[-1]
            ask_qty = self.asks[ask_price].qty
        else:
            ask_price = ask_qty = 0
        l1 = self.l1
        if l1[0] != bid_price or l1[1] != bid_qty or l1[2] != ask_price or l1[3] != ask_qty:
            self.l1 = (bid_price, bid_qty, ask_price, ask_qty)
            seq += 1
            self.out.append(_tnew(_L1, ("L1", seq, self.symbol, bid_price, bid_qty, ask_price, ask_qty, self.now)))
        return seq

    # ------------------------------------------------------------ inputs

    def new_order(self, msg: NewOrder) -> None:
        # ---- validation (nothing is mutated before an order is accepted). The field types are
        # checked on an untyped view before the typed unpacking: compiled with mypyc, unpacking a
        # mistyped field would raise instead of giving the same INVALID_ORDER as pure Python.
        self.traded_lo = self.traded_hi = 0  # the stops see this input's trades, never an earlier one's
        m: tuple[Any, ...] = msg
        if (
            (m[3] != BUY and m[3] != SELL)
            or m[6] not in ORDER_TYPES
            or m[7] not in TIFS
            or m[13] not in STP_MODES
            or type(m[4]) is not int
            or type(m[5]) is not int
            or type(m[8]) is not int
            or type(m[9]) is not int
            or type(m[10]) is not int
            or type(m[11]) is not int
            or type(m[12]) is not int
            or type(m[1]) is not str
            or type(m[2]) is not str
        ):
            return self._reject_new(m, Reason.INVALID_ORDER)
        (_, client_order_id, investor_id, side, qty, price, order_type, tif, stop_price, protection,
         display, min_qty, expire_date, stp) = msg
        phase = self.phase
        if phase != CONTINUOUS:
            if phase in (CLOSED, PRE_OPEN):
                return self._reject_new(m, Reason.MARKET_CLOSED)
            if phase == HALTED:
                return self._reject_new(m, Reason.INSTRUMENT_SUSPENDED if self.suspended else Reason.INSTRUMENT_HALTED)
            if tif in (IOC, FOK) or order_type == MWLAL:
                return self._reject_new(m, Reason.INVALID_TIF_FOR_PHASE)
        lot = self.lot
        if qty <= 0 or qty % lot or (self.max_qty and qty > self.max_qty):
            return self._reject_new(m, Reason.INVALID_LOT)
        if display and (display < 0 or display % lot or display > qty):
            return self._reject_new(m, Reason.INVALID_QTY)
        if min_qty and (min_qty < 0 or min_qty > qty):
            return self._reject_new(m, Reason.INVALID_QTY)
        tick = self.tick
        is_buy = side == BUY
        if order_type in (LIMIT, STOP_LIMIT):
            if price <= 0:
                return self._reject_new(m, Reason.INVALID_PRICE)
            if price % tick:
                return self._reject_new(m, Reason.INVALID_TICK)
        elif order_type == MWLAL:
            if is_buy:
                if not self.ask_keys:
                    return self._reject_new(m, Reason.NO_LIQUIDITY)
                price = -self.ask_keys[-1]
            else:
                if not self.bid_keys:
                    return self._reject_new(m, Reason.NO_LIQUIDITY)
                price = self.bid_keys[-1]
        else:  # MARKET, STOP: the protection price
            if protection:
                if protection < 0:
                    return self._reject_new(m, Reason.INVALID_PRICE)
                if protection % tick:
                    return self._reject_new(m, Reason.INVALID_TICK)
                price = protection
            elif self.reference_price <= 0:
                return self._reject_new(m, Reason.NO_REFERENCE_PRICE)
            else:
                price = self.rej_hi if is_buy else self.rej_lo
        if order_type in (STOP, STOP_LIMIT):
            if stop_price <= 0:
                return self._reject_new(m, Reason.INVALID_PRICE)
            if stop_price % tick:
                return self._reject_new(m, Reason.INVALID_TICK)
        if (price > self.rej_hi) if is_buy else (price < self.rej_lo):
            return self._reject_new(m, Reason.PRICE_OUT_OF_BAND)
        if tif == GTD:
            if expire_date < self.trading_date or expire_date < 19000101:
                return self._reject_new(m, Reason.INVALID_EXPIRE_DATE)
        else:
            expire_date = 0
        if phase == CONTINUOUS and (tif == FOK or min_qty) and order_type not in (STOP, STOP_LIMIT):
            need = qty if tif == FOK else min_qty
            if self._available(is_buy, price, investor_id, stp, need) < need:
                reason = Reason.FOK_NOT_FILLABLE if tif == FOK else Reason.MIN_QTY_NOT_MET
                return self._reject_new(m, reason)
        # ---- accepted
        ids = self.ids
        ids.last = order_id = ids.last + 1
        investor_id = _intern(investor_id)  # one string per investor: less memory, faster STP compare
        o = Order(order_id, client_order_id, investor_id, side, order_type, tif, price, stop_price, qty,
                  display, min_qty, expire_date, stp)
        self.orders[order_id] = o
        self.seq = seq = self.seq + 1
        out = self.out
        symbol = self.symbol
        now = self.now
        out.append(
            _tnew(
                _EXEC,
                (
                    "EXEC", seq, symbol, seq, EX_NEW, order_id, client_order_id, "", investor_id, side,
                    order_type, tif, price, qty, 0, qty, 0, 0, 0, 0, "", now,
                ),
            )
        )
        if order_type in (LIMIT, MARKET):
            if phase != CONTINUOUS:
                if (tif == MOC and phase != CLOSING_CALL) or (tif == MOA and phase not in IN_AUCTION):
                    o.where = IN_PENDING
                    self.pending.append(o)
                else:
                    self._execute(o)
                return None
            if tif in (MOC, MOA):
                o.where = IN_PENDING
                self.pending.append(o)
                return None
            # fast path: continuous trading, an order that does not cross rests at once and its
            # L2 (and L1 if the top changed) are published here instead of by flush()
            if is_buy:
                keys = self.ask_keys
                if (keys and -keys[-1] <= price) or tif in (IOC, FOK) or self.touched_bids or self.touched_asks:
                    self._execute(o)
                    return None
                levels = self.bids
                level = levels.get(price)
                if level is None:
                    level = levels[price] = PriceLevel(price)
                    keys = self.bid_keys
                    if not keys or price > keys[-1]:
                        keys.append(price)
                    else:
                        _insort(keys, price)
                top = price >= self.l1[0]
            else:
                keys = self.bid_keys
                if (keys and keys[-1] >= price) or tif in (IOC, FOK) or self.touched_bids or self.touched_asks:
                    self._execute(o)
                    return None
                levels = self.asks
                level = levels.get(price)
                if level is None:
                    level = levels[price] = PriceLevel(price)
                    keys = self.ask_keys
                    if not keys or -price > keys[-1]:
                        keys.append(-price)
                    else:
                        _insort(keys, -price)
                ask = self.l1[2]
                top = price <= ask or not ask
            tail = level.tail
            if tail is None:
                level.head = o
            else:
                tail.next = o
                o.prev = tail
            level.tail = o
            level.qty = level_qty = level.qty + o.visible
            level.count = count = level.count + 1
            self.seq = seq = seq + 1
            out.append(_tnew(_L2, ("L2", seq, symbol, side, price, level_qty, count, now)))
            if top:
                self.seq = self._publish_l1(seq)
            return None
        if order_type in (STOP, STOP_LIMIT):
            o.where = IN_STOPS  # armed by the trades that follow (check_stops)
            self.stops.append(o)
        elif (tif == MOC and phase != CLOSING_CALL) or (tif == MOA and phase not in IN_AUCTION):
            o.where = IN_PENDING
            self.pending.append(o)
        else:
            self._execute(o)
        return None

    def cancel(self, msg: CancelOrder) -> None:
        m: tuple[Any, ...] = msg  # untyped view, see new_order()
        order_id: int = m[1] if type(m[1]) is int else 0
        orders = self.orders
        o = orders.get(order_id) if order_id else None
        if o is None:
            return self._reject_request(m[1], m[2], Reason.UNKNOWN_ORDER, None)
        if type(m[2]) is not str:
            return self._reject_request(order_id, m[2], Reason.INVALID_ORDER, o)
        client_order_id: str = m[2]
        if (
            o.where == IN_BOOK and self.phase == CONTINUOUS and not self.touched_bids
            and not self.touched_asks
        ):
            # fast path: the report, then the level's L2 (and L1 if the top changed) right here
            price = o.price
            side = o.side
            if side == BUY:
                levels = self.bids
                level = levels[price]
                top = price >= self.l1[0]
            else:
                levels = self.asks
                level = levels[price]
                ask = self.l1[2]
                top = price <= ask or not ask
            prev = o.prev
            nxt = o.next
            if prev is None:
                level.head = nxt
            else:
                prev.next = nxt
            if nxt is None:
                level.tail = prev
            else:
                nxt.prev = prev
            o.prev = o.next = None
            level.qty = level_qty = level.qty - o.visible
            level.count = count = level.count - 1
            if not count:
                del levels[price]
                if side == BUY:
                    keys = self.bid_keys
                    key = price
                else:
                    keys = self.ask_keys
                    key = -price
                if keys[-1] == key:
                    keys.pop()
                else:
                    del keys[_bisect_left(keys, key)]
            del orders[order_id]
            orig = o.client_order_id
            if client_order_id:
                o.client_order_id = client_order_id
            o.leaves = 0
            self.seq = seq = self.seq + 1
            cum = o.cum
            symbol = self.symbol
            now = self.now
            out = self.out
            out.append(
                _tnew(
                    _EXEC,
                    (
                        "EXEC", seq, symbol, seq, EX_CANCELED, order_id, o.client_order_id, orig,
                        o.investor_id, side, o.order_type, o.tif, price, o.qty, cum, 0,
                        (2 * o.cum_value + cum) // (2 * cum) if cum else 0, 0, 0, 0,
                        Reason.CANCELED_BY_CLIENT, now,
                    ),
                )
            )
            self.seq = seq = seq + 1
            out.append(_tnew(_L2, ("L2", seq, symbol, side, price, level_qty if count else 0, count, now)))
            if top:
                self.seq = self._publish_l1(seq)
            return None
        self._remove_live(o)
        orig = o.client_order_id
        if msg.client_order_id:
            o.client_order_id = msg.client_order_id
        o.leaves = 0
        self._report(o, EX_CANCELED, 0, 0, 0, Reason.CANCELED_BY_CLIENT, orig)

    def replace(self, msg: ReplaceOrder) -> None:
        self.traded_lo = self.traded_hi = 0
        m: tuple[Any, ...] = msg  # untyped view, see new_order()
        o = self.orders.get(m[1]) if type(m[1]) is int else None
        if o is None:
            return self._reject_request(m[1], m[2], Reason.UNKNOWN_ORDER, None)
        if type(m[3]) is not int or type(m[4]) is not int or type(m[5]) is not int or type(m[2]) is not str:
            return self._reject_request(m[1], m[2], Reason.INVALID_ORDER, o)
        _, order_id, client_order_id, qty, price, stop_price = msg
        phase = self.phase
        if phase in (CLOSED, PRE_OPEN):
            return self._reject_request(order_id, client_order_id, Reason.MARKET_CLOSED, o)
        if phase == HALTED:
            reason = Reason.INSTRUMENT_SUSPENDED if self.suspended else Reason.INSTRUMENT_HALTED
            return self._reject_request(order_id, client_order_id, reason, o)
        if qty <= o.cum or qty % self.lot or (self.max_qty and qty > self.max_qty) or (
            o.display and o.display > qty
        ):
            return self._reject_request(order_id, client_order_id, Reason.INVALID_LOT, o)
        order_type = o.order_type
        if not price or order_type in (MARKET, STOP, MWLAL):
            price = o.price
        if price <= 0:
            return self._reject_request(order_id, client_order_id, Reason.INVALID_PRICE, o)
        if price % self.tick or (stop_price and stop_price % self.tick):
            return self._reject_request(order_id, client_order_id, Reason.INVALID_TICK, o)
        if stop_price < 0:
            return self._reject_request(order_id, client_order_id, Reason.INVALID_PRICE, o)
        is_buy = o.side == BUY
        if price != o.price and ((price > self.rej_hi) if is_buy else (price < self.rej_lo)):
            return self._reject_request(order_id, client_order_id, Reason.PRICE_OUT_OF_BAND, o)
        orig = o.client_order_id
        o.client_order_id = client_order_id
        leaves = qty - o.cum
        if o.where != IN_BOOK:
            o.qty = qty
            o.leaves = leaves
            o.price = price
            if stop_price:
                o.stop_price = stop_price
            o.visible = min(o.display, leaves) if o.display else leaves
            self._report(o, EX_REPLACED, 0, 0, 0, "", orig)
            if o.where == IN_STOPS:
                self.check_stops()
            return None
        if price == o.price and leaves <= o.leaves:
            # quantity decrease (or nothing): keeps its place in the queue
            level = self.bids[price] if is_buy else self.asks[price]
            o.qty = qty
            o.leaves = leaves
            if o.visible > leaves:
                level.qty -= o.visible - leaves
                o.visible = leaves
            if is_buy:
                self.touched_bids[price] = None
            else:
                self.touched_asks[price] = None
            self._report(o, EX_REPLACED, 0, 0, 0, "", orig)
            return None
        # price change or quantity increase: loses priority, may trade
        self._remove_live(o)
        self.orders[order_id] = o
        o.qty = qty
        o.leaves = leaves
        o.price = price
        o.visible = min(o.display, leaves) if o.display else leaves
        self._report(o, EX_REPLACED, 0, 0, 0, "", orig)
        self._execute(o, entry=False)  # a MARKET_WITH_LEFTOVER_AS_LIMIT that rested is a limit at its price now

    # ------------------------------------------------------------ continuous matching

    def _available(self, is_buy: bool, limit: int, investor_id: str, stp: str, need: int) -> int:
        """Quantity an aggressor could fill now (FOK and minimum-quantity checks)."""
        if is_buy:
            levels = self.asks
            keys = self.ask_keys
        else:
            levels = self.bids
            keys = self.bid_keys
        total = 0
        auc_lo = self.auc_lo
        auc_hi = self.auc_hi
        for i in range(len(keys) - 1, -1, -1):
            price = -keys[i] if is_buy else keys[i]
            if (price > limit) if is_buy else (price < limit):
                break
            if price < auc_lo or price > auc_hi:
                break
            # an own order that stops the match (self-trade prevention cancelling the aggressor) is reached
            # after the orders ahead of it, and an iceberg ahead only shows its slice before it goes to the
            # back, behind the own order: so only those slices count before one
            o = levels[price].head
            level_total = 0
            ahead = 0
            while o is not None:
                if stp != STP_NONE and o.investor_id == investor_id:
                    if stp != STP_RESTING:
                        return total + ahead
                else:
                    level_total += o.leaves
                    ahead += o.visible if o.display else o.leaves
                    if total + ahead >= need:
                        return total + ahead
                o = o.next
            total += level_total
            if total >= need:
                return total
        return total

    def _match(self, o: Order) -> int:
        """Match aggressor ``o`` against the opposite side; return a MATCH_* outcome."""
        is_buy = o.side == BUY
        if is_buy:
            levels = self.asks
            keys = self.ask_keys
            touched = self.touched_asks
            sign = -1
        else:
            levels = self.bids
            keys = self.bid_keys
            touched = self.touched_bids
            sign = 1
        limit = o.price
        investor_id = o.investor_id
        stp = o.stp
        out = self.out
        symbol = self.symbol
        now = self.now
        orders = self.orders
        agg_id = o.order_id
        result = MATCH_DONE
        traded_price = 0
        first_price = 0
        price = 0
        while keys:
            price = keys[-1] * sign
            if (price > limit) if is_buy else (price < limit):
                break
            if price < self.auc_lo or price > self.auc_hi:
                result = MATCH_AUCTION
                break
            level = levels[price]
            touched[price] = None
            r = level.head
            while r is not None:
                nxt = r.next
                if stp != STP_NONE and r.investor_id == investor_id:
                    if stp in (STP_RESTING, STP_BOTH):
                        level.unlink(r)
                        del orders[r.order_id]
                        r.leaves = 0
                        self._report(r, EX_CANCELED, reason=Reason.SELF_TRADE)
                    if stp != STP_RESTING:
                        result = MATCH_SELF_TRADE
                        break
                    r = nxt
                    continue
                leaves = o.leaves
                visible = r.visible
                fill = leaves if leaves < visible else visible
                self.trade_seq = trade_id = self.trade_seq + 1
                self.seq = seq = self.seq + 1
                if is_buy:
                    out.append(_tnew(_TRADE, ("TRADE", seq, symbol, trade_id, price, fill, agg_id, r.order_id,
                                             investor_id, r.investor_id, BUY, now)))
                else:
                    out.append(_tnew(_TRADE, ("TRADE", seq, symbol, trade_id, price, fill, r.order_id, agg_id,
                                             r.investor_id, investor_id, SELL, now)))
                value = fill * price
                o.leaves = leaves = leaves - fill
                o.cum += fill
                o.cum_value += value
                self._report(o, EX_FILLED if not leaves else EX_PARTIAL, price, fill, trade_id)
                r.leaves -= fill
                r.cum += fill
                r.cum_value += value
                r.visible = visible - fill
                level.qty -= fill
                if not r.leaves:
                    level.unlink(r)
                    del orders[r.order_id]
                    self._report(r, EX_FILLED, price, fill, trade_id)
                else:
                    if visible == fill:  # iceberg slice used up: replenish at the back of the queue
                        level.unlink(r)
                        r.visible = r.display if r.display < r.leaves else r.leaves
                        level.append(r)
                        if nxt is None:
                            nxt = r
                    self._report(r, EX_PARTIAL, price, fill, trade_id)
                if not first_price:
                    first_price = price
                traded_price = price
                if not leaves:
                    break
                r = nxt
            if not level.count:
                del levels[price]
                keys.pop()
            if result != MATCH_DONE or not o.leaves:
                break
        if traded_price:
            self.last_price = traded_price
            self._traded(first_price, traded_price)  # a sweep moves one way: its first and last prints
        return result

    def _traded(self, a: int, b: int) -> None:
        lo, hi = (a, b) if a <= b else (b, a)
        if not self.traded_hi or hi > self.traded_hi:
            self.traded_hi = hi
        if not self.traded_lo or lo < self.traded_lo:
            self.traded_lo = lo

    def _execute(self, o: Order, entry: bool = True) -> None:
        """Run an accepted order against the book in the current phase, then rest/cancel the rest. On ``entry``
        a MARKET_WITH_LEFTOVER_AS_LIMIT takes the best opposite price as its limit (or is canceled without
        one); a replaced one keeps the price it rested at."""
        phase = self.phase
        if phase == CONTINUOUS:
            if o.order_type == MWLAL and entry:
                if o.side == BUY:
                    if not self.ask_keys:
                        del self.orders[o.order_id]
                        o.leaves = 0
                        return self._report(o, EX_CANCELED, reason=Reason.NO_LIQUIDITY)
                    o.price = -self.ask_keys[-1]
                elif not self.bid_keys:
                    del self.orders[o.order_id]
                    o.leaves = 0
                    return self._report(o, EX_CANCELED, reason=Reason.NO_LIQUIDITY)
                else:
                    o.price = self.bid_keys[-1]
            if o.side == BUY:
                crosses = bool(self.ask_keys) and -self.ask_keys[-1] <= o.price
            else:
                crosses = bool(self.bid_keys) and self.bid_keys[-1] >= o.price
            if not crosses:  # fast path: nothing to match
                if o.tif == IOC or o.tif == FOK:
                    del self.orders[o.order_id]
                    o.leaves = 0
                    self._report(o, EX_CANCELED, 0, 0, 0, Reason.IOC_REMAINDER)
                else:
                    self._rest(o)
                return None
            last_before = self.trade_seq
            result = self._match(o)
            if result == MATCH_SELF_TRADE:
                del self.orders[o.order_id]
                o.leaves = 0
                self._report(o, EX_CANCELED, reason=Reason.SELF_TRADE)
            elif o.leaves:
                tif = o.tif
                if tif in (IOC, FOK):
                    del self.orders[o.order_id]
                    o.leaves = 0
                    self._report(o, EX_CANCELED, reason=Reason.IOC_REMAINDER)
                else:
                    self._rest(o)
            else:
                del self.orders[o.order_id]
            if result == MATCH_AUCTION and o.order_id in self.orders:
                # the book goes to auction for an order that would trade past the auction tunnel and waits
                # there; an IOC's remainder was canceled, so nothing is left to uncross against
                self.start_volatility_auction()
            if self.trade_seq != last_before and self.stops:
                self.check_stops()
        else:
            self._rest(o)

    # ------------------------------------------------------------ stops

    def check_stops(self) -> None:
        """Trigger the stop orders that the trades since the last check reached: a buy stop at or below the
        highest price traded, a sell stop at or above the lowest, so a sweep through several levels triggers on
        any of them; cascades included. Only trades after a stop was accepted arm it: a stop whose price the
        market had already passed waits for the next trade at or through it. A triggered FOK or minimum-quantity
        stop is checked then, as it would have been on entry."""
        while self.stops and self.traded_hi:
            lo, hi = self.traded_lo, self.traded_hi
            self.traded_lo = self.traded_hi = 0
            triggered = [
                s for s in self.stops
                if (hi >= s.stop_price if s.side == BUY else lo <= s.stop_price)
            ]
            if not triggered:
                return
            for s in triggered:
                self.stops.remove(s)
            for s in triggered:
                if s.order_id not in self.orders:
                    continue
                s.where = IN_BOOK
                self._report(s, EX_TRIGGERED)
                if self.phase == CONTINUOUS and (s.tif == FOK or s.min_qty):
                    need = s.leaves if s.tif == FOK else s.min_qty
                    if self._available(s.side == BUY, s.price, s.investor_id, s.stp, need) < need:
                        del self.orders[s.order_id]
                        s.leaves = 0
                        self._report(s, EX_CANCELED, reason=Reason.FOK_NOT_FILLABLE if s.tif == FOK
                                     else Reason.MIN_QTY_NOT_MET)
                        continue
                if self.phase == CONTINUOUS or self.phase in IN_AUCTION:
                    self._execute(s)
                else:
                    self._rest(s)

    # ------------------------------------------------------------ phases and auctions

    def halt(self) -> None:
        if self.phase != HALTED:
            self.phase = HALTED
            self.auction_end_ns = 0
            self._emit_phase()

    def resume(self) -> None:
        if self.phase != HALTED or self.suspended:
            return
        if self.scheduled_phase == CONTINUOUS:
            self.phase = VOLATILITY_AUCTION  # B3 reopens a halted instrument through an auction
            self.auction_end_ns = self.now + self.volatility_auction_ns
        else:
            self.phase = self.scheduled_phase
        self._emit_phase()
        if self.phase in IN_AUCTION:
            self._inject_pending()
            self.publish_indicative()

    def start_volatility_auction(self) -> None:
        self.phase = VOLATILITY_AUCTION
        self.auction_end_ns = self.now + self.volatility_auction_ns
        self._emit_phase()
        self.publish_indicative()

    def end_volatility_auction(self) -> None:
        """Called by the engine when ``now`` reaches ``auction_end_ns``."""
        if self.phase != VOLATILITY_AUCTION:
            return
        self.traded_lo = self.traded_hi = 0
        self.uncross()
        self.phase = self.scheduled_phase
        self.auction_end_ns = 0
        self._emit_phase()
        self.check_stops()

    def set_scheduled_phase(self, new: str) -> None:
        """Apply a schedule boundary (the engine has set ``now`` to the boundary time)."""
        self.traded_lo = self.traded_hi = 0
        self.scheduled_phase = new
        old = self.phase
        if self.suspended and new != CLOSED:
            if old != HALTED:  # a suspended instrument does not open: it is halted again after the close
                self.phase = HALTED
                self.auction_end_ns = 0
                self._emit_phase()
            return
        if old == HALTED and new != CLOSED:
            return
        if old == new:
            return
        if old in IN_AUCTION and new not in IN_AUCTION:
            self.uncross()
        self.phase = new
        self.auction_end_ns = 0
        self._emit_phase()
        if new in IN_AUCTION:
            self._inject_pending()
            self.publish_indicative()
        elif new == CLOSED:
            self.expire_day_orders()
        if self.phase == CONTINUOUS:
            self.check_stops()

    def _inject_pending(self) -> None:
        if not self.pending:
            return
        closing = self.phase == CLOSING_CALL
        keep = []
        for o in self.pending:
            if o.tif == MOA or closing:
                self._rest(o)
            else:
                keep.append(o)
        self.pending = keep

    def equilibrium(self) -> tuple[int, int, str, int]:
        """Theoretical auction price: maximum volume, then minimum imbalance, then closest to the
        last trade (or reference), then closest to the reference, then the lower price.
        Returns (price, qty, imbalance side, imbalance qty); price 0 when nothing crosses."""
        if not self.bid_keys or not self.ask_keys or self.bid_keys[-1] < -self.ask_keys[-1]:
            return (0, 0, "", 0)
        bid_total = {p: sum(o.leaves for o in lvl.orders()) for p, lvl in self.bids.items()}
        ask_total = {p: sum(o.leaves for o in lvl.orders()) for p, lvl in self.asks.items()}
        anchor = self.last_price or self.reference_price
        reference = self.reference_price or anchor
        # the orders' prices, and the last trade and the reference themselves: when the best volume and
        # imbalance hold over a range of prices, the one closest to them may lie between two orders' prices
        tick = self.tick
        candidates = sorted(set(bid_total) | set(ask_total) | {p for p in (anchor, reference) if p and not p % tick})
        n = len(candidates)
        buy_cum = [0] * n
        running = 0
        for i in range(n - 1, -1, -1):
            running += bid_total.get(candidates[i], 0)
            buy_cum[i] = running
        sell_cum = [0] * n
        running = 0
        for i in range(n):
            running += ask_total.get(candidates[i], 0)
            sell_cum[i] = running
        best: tuple[int, int, int, int, int] | None = None
        best_i = 0
        for i in range(n):
            volume = min(buy_cum[i], sell_cum[i])
            price = candidates[i]
            key = (-volume, abs(buy_cum[i] - sell_cum[i]), abs(price - anchor), abs(price - reference), price)
            if best is None or key < best:
                best = key
                best_i = i
        volume = min(buy_cum[best_i], sell_cum[best_i])
        if volume <= 0:
            return (0, 0, "", 0)
        imbalance = buy_cum[best_i] - sell_cum[best_i]
        side = BUY if imbalance > 0 else SELL if imbalance < 0 else ""
        return (candidates[best_i], volume, side, abs(imbalance))

    def publish_indicative(self) -> None:
        indicative = self.equilibrium()
        if indicative != self.indicative:
            self.indicative = indicative
            self.seq = seq = self.seq + 1
            price, qty, side, imbalance = indicative
            self.out.append(
                _tnew(_AUCTION, ("AUCTION", seq, self.symbol, price, qty, side, imbalance, self.now))
            )

    def uncross(self) -> None:
        """Execute the auction at the theoretical price, price-time priority, hidden quantity
        included; GOOD_FOR_AUCTION remainders expire afterwards."""
        price, volume, _, _ = self.equilibrium()
        remaining = volume
        out = self.out
        symbol = self.symbol
        now = self.now
        while remaining > 0:
            bid_level = self.bids[self.bid_keys[-1]]
            ask_level = self.asks[-self.ask_keys[-1]]
            b = bid_level.head
            a = ask_level.head
            assert b is not None and a is not None
            fill = min(b.leaves, a.leaves, remaining)
            remaining -= fill
            self.trade_seq = trade_id = self.trade_seq + 1
            self.seq = seq = self.seq + 1
            out.append(_tnew(_TRADE, ("TRADE", seq, symbol, trade_id, price, fill, b.order_id, a.order_id,
                                     b.investor_id, a.investor_id, "", now)))
            for o, level in ((b, bid_level), (a, ask_level)):
                o.leaves -= fill
                o.cum += fill
                o.cum_value += fill * price
                if o.leaves:
                    new_visible = min(o.display, o.leaves) if o.display else o.leaves
                    level.qty += new_visible - o.visible
                    o.visible = new_visible
                    self._report(o, EX_PARTIAL, price, fill, trade_id)
                    if o is b:
                        self.touched_bids[level.price] = None
                    else:
                        self.touched_asks[level.price] = None
                else:
                    self._remove_live(o)
                    self._report(o, EX_FILLED, price, fill, trade_id)
        if volume:
            self.last_price = price
            self._traded(price, price)
            self.set_reference(price)
        for o in [o for o in self.orders.values() if o.tif == MOA and o.where == IN_BOOK]:
            self._remove_live(o)
            o.leaves = 0
            self._report(o, EX_EXPIRED, reason=Reason.END_OF_AUCTION)
        self.indicative = (0, 0, "", 0)

    def expire_day_orders(self) -> None:
        """At the close: DAY and AT_THE_CLOSE orders expire, and GTD ones whose date comes before the next
        session (a date on a weekend or a holiday expires at the close of the session before it)."""
        last = self.next_trading_date - 1 if self.next_trading_date else self.trading_date
        expired = [
            o for o in self.orders.values()
            if o.tif == DAY or o.tif == MOC or o.tif == IOC or o.tif == FOK
            or (o.tif == GTD and o.expire_date <= last)
        ]
        for o in expired:
            self._remove_live(o)
            o.leaves = 0
            self._report(o, EX_EXPIRED, reason=Reason.GTD_DATE_REACHED if o.tif == GTD else Reason.END_OF_DAY)

    # ------------------------------------------------------------ queries (not on the hot path)

    def depth(self) -> tuple[Depth, Depth]:
        """(bids best first, asks best first), each level as (price, [(order id, leaves), ...])."""
        bids = [(p, [(o.order_id, o.leaves) for o in self.bids[p].orders()]) for p in reversed(self.bid_keys)]
        asks = [(-k, [(o.order_id, o.leaves) for o in self.asks[-k].orders()]) for k in self.ask_keys[::-1]]
        return bids, asks

    def displayed_levels(self, n: int) -> tuple[list[tuple[int, int, int]], list[tuple[int, int, int]]]:
        """The ``n`` best (price, displayed quantity, orders) a side, as the L2 feed shows them: an iceberg
        counts its visible slice only."""
        bids = [(p, self.bids[p].qty, self.bids[p].count) for p in reversed(self.bid_keys[-n:])]
        asks = [(-k, self.asks[-k].qty, self.asks[-k].count) for k in reversed(self.ask_keys[-n:])]
        return bids, asks

    def best_bid(self) -> int:
        return self.bid_keys[-1] if self.bid_keys else 0

    def best_ask(self) -> int:
        return -self.ask_keys[-1] if self.ask_keys else 0
