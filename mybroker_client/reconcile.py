"""Reconciliation for the client's own users: broker (the orders API) against the engine, and the wallet
against the users' fills.

``compare`` applies the rules of ``mybroker.orders.reconcile.compare`` (the unit tests check both agree) to
orders as the API shows them, limited to the accounts the caller owns: an engine order is only ours to
report when its order id is one of our users' orders. The API does not show an order's current engine client
order id, so ``CLIENT_ORDER_ID_MISMATCH`` cannot be checked from here.

The engine's view is read from Redis (``engine:open-orders:<instrument>``): local stack only; no API route
exposes it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from mybroker.contracts.engine import broker_order_id
from mybroker.orders.reconcile import AGENT_PREFIX
from mybroker.orders.reconcile import engine_view_from_redis as engine_view_from_redis

from mybroker_client.models import Order, OrderStatus, Positions, Side, Wallet

EngineView = Mapping[str, Mapping[str, int]]


@dataclass(frozen=True)
class Difference:
    kind: str  # MISSING_IN_ENGINE | UNKNOWN_TO_BROKER | LEAVES_MISMATCH | LEDGER_MISMATCH
    instrument: str
    order_id: str
    broker: int | None
    engine: int | None
    detail: str = ""


def compare(orders: Iterable[Order], engine: EngineView) -> list[Difference]:
    """``orders``: all of our users' orders (any status). Open ones must rest in the engine with the same
    leaves; an engine order whose id is ours but which the broker shows as ended is UNKNOWN_TO_BROKER."""
    out: list[Difference] = []
    mine = {o.order_id: o for o in orders}
    theirs: dict[tuple[str, str], int] = {}
    for instrument, book in engine.items():
        for coid, leaves in book.items():
            if not coid.startswith(AGENT_PREFIX):
                theirs[(instrument, broker_order_id(coid))] = int(leaves)
    for oid, o in sorted(mine.items()):
        if not o.status.open:
            continue
        seen = theirs.get((o.ticker, oid))
        if seen is None:
            if o.status is not OrderStatus.PENDING_NEW:
                out.append(Difference("MISSING_IN_ENGINE", o.ticker, oid, o.leaves_quantity, None))
        elif seen != o.leaves_quantity:
            out.append(Difference("LEAVES_MISMATCH", o.ticker, oid, o.leaves_quantity, seen))
    for (instrument, oid), leaves in sorted(theirs.items()):
        ours = mine.get(oid)
        if ours is not None and not ours.status.open:
            out.append(Difference("UNKNOWN_TO_BROKER", instrument, oid, None, leaves, f"broker says {ours.status}"))
    return out


@dataclass
class Expected:
    """What a user's wallet must show given their deposits and fills."""

    deposits_cents: int = 0
    cash_cents: int = 0  # deposits - buys (value + fees) + sells (value - fees)
    unsettled_buys_cents: int = 0  # value + fees of buys not settled yet: the payable bucket
    shares: dict[str, int] = field(default_factory=dict)  # base ticker -> bought - sold


def expected_from(deposits_cents: int, orders: Iterable[Order], settled_dates: set[object] | None = None) -> Expected:
    """``orders`` with their fills. Buys whose trade date is in ``settled_dates`` are no longer payable."""
    e = Expected(deposits_cents=deposits_cents, cash_cents=deposits_cents)
    for o in orders:
        base = o.ticker.removesuffix("F") if len(o.ticker) > 5 and o.ticker.endswith("F") else o.ticker
        for f in o.fills or []:
            value = f.quantity * f.price_cents
            if o.side is Side.BUY:
                e.cash_cents -= value + f.fees_cents
                if not settled_dates or o.trade_date not in settled_dates:
                    e.unsettled_buys_cents += value + f.fees_cents
                e.shares[base] = e.shares.get(base, 0) + f.quantity
            else:
                e.cash_cents += value - f.fees_cents
                e.shares[base] = e.shares.get(base, 0) - f.quantity
    return e


def check_ledger(user: str, expected: Expected, wallet: Wallet, positions: Positions,
                 open_orders: int) -> list[Difference]:
    out: list[Difference] = []
    cash = wallet.available_cents + wallet.reserved_cents + wallet.receivable_cents
    if cash != expected.cash_cents:
        out.append(Difference("LEDGER_MISMATCH", "BRL", user, expected.cash_cents, cash,
                              "available + reserved + receivable vs deposits - buys + sells"))
    if wallet.payable_cents != expected.unsettled_buys_cents:
        out.append(Difference("LEDGER_MISMATCH", "BRL", user, expected.unsettled_buys_cents, wallet.payable_cents,
                              "payable vs unsettled buys"))
    if open_orders == 0 and wallet.reserved_cents != 0:
        out.append(Difference("LEDGER_MISMATCH", "BRL", user, 0, wallet.reserved_cents,
                              "cash still reserved with no open order"))
    held = {p.ticker: p.total_quantity for p in positions.items}
    for ticker in sorted(set(held) | set(expected.shares)):
        if held.get(ticker, 0) != expected.shares.get(ticker, 0):
            out.append(Difference("LEDGER_MISMATCH", ticker, user, expected.shares.get(ticker, 0),
                                  held.get(ticker, 0), "shares held vs bought - sold"))
    return out
