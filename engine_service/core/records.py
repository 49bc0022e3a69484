"""Input and output records of the matching engine.

Every record is a ``NamedTuple``: cheap to build, immutable, and encoded by
:mod:`engine_service.core.codec` as a compact JSON array. Prices are integer
cents, quantities integer shares, times integer nanoseconds since the epoch.
"""

from __future__ import annotations

from typing import Final, NamedTuple


class Side:
    BUY: Final = "BUY"
    SELL: Final = "SELL"


class OrderType:
    LIMIT: Final = "LIMIT"
    MARKET: Final = "MARKET"
    MARKET_WITH_LEFTOVER_AS_LIMIT: Final = "MARKET_WITH_LEFTOVER_AS_LIMIT"
    STOP: Final = "STOP"
    STOP_LIMIT: Final = "STOP_LIMIT"


class TimeInForce:
    DAY: Final = "DAY"
    IOC: Final = "IOC"
    FOK: Final = "FOK"
    GTC: Final = "GTC"
    GTD: Final = "GTD"
    AT_THE_CLOSE: Final = "AT_THE_CLOSE"
    GOOD_FOR_AUCTION: Final = "GOOD_FOR_AUCTION"


class SelfTradePrevention:
    NONE: Final = "NONE"
    CANCEL_AGGRESSOR: Final = "CANCEL_AGGRESSOR"
    CANCEL_RESTING: Final = "CANCEL_RESTING"
    CANCEL_BOTH: Final = "CANCEL_BOTH"


class ExecType:
    NEW: Final = "NEW"
    PARTIALLY_FILLED: Final = "PARTIALLY_FILLED"
    FILLED: Final = "FILLED"
    CANCELED: Final = "CANCELED"
    REPLACED: Final = "REPLACED"
    REJECTED: Final = "REJECTED"
    EXPIRED: Final = "EXPIRED"
    TRIGGERED: Final = "TRIGGERED"


class Phase:
    CLOSED: Final = "CLOSED"
    PRE_OPEN: Final = "PRE_OPEN"
    OPENING_AUCTION: Final = "OPENING_AUCTION"
    CONTINUOUS: Final = "CONTINUOUS"
    VOLATILITY_AUCTION: Final = "VOLATILITY_AUCTION"
    CLOSING_CALL: Final = "CLOSING_CALL"
    HALTED: Final = "HALTED"


AUCTION_PHASES = frozenset({Phase.OPENING_AUCTION, Phase.VOLATILITY_AUCTION, Phase.CLOSING_CALL})


class Reason:
    """Reason codes carried by REJECTED, CANCELED and EXPIRED reports."""

    NONE: Final = ""
    UNKNOWN_INSTRUMENT: Final = "UNKNOWN_INSTRUMENT"
    INVALID_LOT: Final = "INVALID_LOT"
    INVALID_QTY: Final = "INVALID_QTY"
    INVALID_TICK: Final = "INVALID_TICK"
    INVALID_PRICE: Final = "INVALID_PRICE"
    INVALID_ORDER: Final = "INVALID_ORDER"
    INVALID_TIF_FOR_PHASE: Final = "INVALID_TIF_FOR_PHASE"
    INVALID_EXPIRE_DATE: Final = "INVALID_EXPIRE_DATE"
    PRICE_OUT_OF_BAND: Final = "PRICE_OUT_OF_BAND"
    MARKET_CLOSED: Final = "MARKET_CLOSED"
    INSTRUMENT_HALTED: Final = "INSTRUMENT_HALTED"
    INSTRUMENT_SUSPENDED: Final = "INSTRUMENT_SUSPENDED"  # the catalog suspended it (CatalogUpdate active=False)
    UNKNOWN_ORDER: Final = "UNKNOWN_ORDER"
    FOK_NOT_FILLABLE: Final = "FOK_NOT_FILLABLE"
    MIN_QTY_NOT_MET: Final = "MIN_QTY_NOT_MET"
    NO_LIQUIDITY: Final = "NO_LIQUIDITY"
    NO_REFERENCE_PRICE: Final = "NO_REFERENCE_PRICE"
    SELF_TRADE: Final = "SELF_TRADE"
    IOC_REMAINDER: Final = "IOC_REMAINDER"
    CANCELED_BY_CLIENT: Final = "CANCELED_BY_CLIENT"
    END_OF_DAY: Final = "END_OF_DAY"
    END_OF_AUCTION: Final = "END_OF_AUCTION"
    GTD_DATE_REACHED: Final = "GTD_DATE_REACHED"


# ---------------------------------------------------------------- inputs


class NewOrder(NamedTuple):
    """A new order. ``price`` is the limit (LIMIT, STOP_LIMIT); ``stop_price`` triggers STOP and
    STOP_LIMIT; ``protection_price`` bounds MARKET and STOP (0 = the engine's rejection-tunnel limit);
    ``display_qty`` > 0 makes an iceberg; ``expire_date`` is YYYYMMDD for GTD."""

    instrument: str
    client_order_id: str
    investor_id: str
    side: str
    qty: int
    price: int = 0
    order_type: str = OrderType.LIMIT
    tif: str = TimeInForce.DAY
    stop_price: int = 0
    protection_price: int = 0
    display_qty: int = 0
    min_qty: int = 0
    expire_date: int = 0
    stp: str = SelfTradePrevention.CANCEL_AGGRESSOR


class CancelOrder(NamedTuple):
    instrument: str
    order_id: int
    client_order_id: str = ""


class ReplaceOrder(NamedTuple):
    """Amend ``order_id``: ``qty`` is the new total order quantity (filled shares included),
    ``price`` the new limit (0 keeps it), ``stop_price`` the new stop (0 keeps it)."""

    instrument: str
    order_id: int
    client_order_id: str
    qty: int
    price: int = 0
    stop_price: int = 0


class ClockTick(NamedTuple):
    now_ns: int


class SetReferencePrice(NamedTuple):
    instrument: str
    price: int


class Halt(NamedTuple):
    instrument: str


class Resume(NamedTuple):
    instrument: str


class CatalogUpdate(NamedTuple):
    """The instrument as the asset catalog now lists it: a new symbol gets its books (round lot and
    fractional) at once; for a known one the lot, tick and tunnels apply to the orders that come after it
    (resting orders stay as they are), ``active=False`` suspends it at once (HALTED: new orders and
    replaces refused with INSTRUMENT_SUSPENDED, cancels accepted, resting orders stay) and ``active=True``
    reopens it (through a volatility auction during continuous trading). ``version`` orders the updates of
    one instrument (the catalog event's ``occurred_at`` in ns): one not newer than the last applied is
    ignored, so a redelivered or late event changes nothing."""

    instrument: str
    lot: int
    tick: int
    rejection_tunnel_bps: int
    auction_tunnel_bps: int
    active: bool
    version: int


Input = NewOrder | CancelOrder | ReplaceOrder | ClockTick | SetReferencePrice | Halt | Resume | CatalogUpdate

# ---------------------------------------------------------------- outputs
# The first field of every output is its kind, so that an encoded stream is self-describing.
# ``seq`` is the instrument's own output sequence number (1, 2, 3, ... per book).


class ExecutionReport(NamedTuple):
    kind: str  # "EXEC"
    seq: int
    instrument: str
    exec_id: int  # = seq: (instrument, exec_id) is unique and the same on every replay
    exec_type: str
    order_id: int
    client_order_id: str
    orig_client_order_id: str
    investor_id: str
    side: str
    order_type: str
    tif: str
    price: int
    order_qty: int
    cum_qty: int
    leaves_qty: int
    avg_price: int  # cum value / cum qty, rounded half up to the cent
    last_price: int
    last_qty: int
    trade_id: int
    reason: str
    ts: int


class Trade(NamedTuple):
    kind: str  # "TRADE"
    seq: int
    instrument: str
    trade_id: int
    price: int
    qty: int
    buy_order_id: int
    sell_order_id: int
    buy_investor_id: str
    sell_investor_id: str
    aggressor_side: str  # "" for an auction uncross
    ts: int


class Quote(NamedTuple):
    """L1: best bid and ask (price 0 and qty 0 when that side is empty)."""

    kind: str  # "L1"
    seq: int
    instrument: str
    bid_price: int
    bid_qty: int
    ask_price: int
    ask_qty: int
    ts: int


class DepthUpdate(NamedTuple):
    """L2: the new displayed total of one price level (qty 0 = level removed)."""

    kind: str  # "L2"
    seq: int
    instrument: str
    side: str
    price: int
    qty: int
    order_count: int
    ts: int


class PhaseChange(NamedTuple):
    kind: str  # "PHASE"
    seq: int
    instrument: str
    phase: str
    auction_end_ns: int  # end of a volatility auction, else 0
    ts: int


class AuctionInfo(NamedTuple):
    """Indicative (theoretical) auction price and matched quantity, published during a call."""

    kind: str  # "AUCTION"
    seq: int
    instrument: str
    indicative_price: int
    indicative_qty: int
    imbalance_side: str
    imbalance_qty: int
    ts: int


Output = ExecutionReport | Trade | Quote | DepthUpdate | PhaseChange | AuctionInfo

OUTPUT_TYPES: dict[str, type[tuple[object, ...]]] = {
    "EXEC": ExecutionReport,
    "TRADE": Trade,
    "L1": Quote,
    "L2": DepthUpdate,
    "PHASE": PhaseChange,
    "AUCTION": AuctionInfo,
}
