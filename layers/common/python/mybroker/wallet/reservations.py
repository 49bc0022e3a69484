"""Reservations for open orders: how much cash (BUY) or how many shares (SELL) an order holds, and how a
fill, a replace or the order's end changes that. Plain arithmetic on integers, no I/O.

The bookkeeping is order-independent, so at-least-once and out-of-order events are safe:

- ``filled_quantity`` counts the fills the wallet has applied (each event id once).
- ``final_quantity`` is the order's final cumulative quantity, known once a terminal event arrived
  (canceled/expired/rejected, or a fill with nothing left).
- The reservation holds what the not-yet-applied part of the order can still cost: the rest of the order
  while it is live, or only the fills still in flight (``final_quantity - filled_quantity``) once it ended.
  Anything above that is released; a fill takes its cost from the reservation (any shortfall, e.g. fee
  rounding or a fill after a DELETE, from available).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from mybroker.fees import b3_fees_cents

BASE_TICKER = re.compile(r"^[A-Z][A-Z0-9]{3}(3|4|5|6|7|8|11|3[1-5])$")
FRACTIONAL_TICKER = re.compile(r"^[A-Z][A-Z0-9]{3}(3|4|5|6|7|8|11|3[1-5])F$")


class Side(StrEnum):
    BUY = "BUY"
    SELL = "SELL"


class ReservationStatus(StrEnum):
    ACTIVE = "ACTIVE"  # the order may still trade
    CLOSED = "CLOSED"  # the order ended (filled, canceled, expired, rejected)
    RELEASED = "RELEASED"  # released by DELETE (the order never reached the exchange)


def base_ticker(ticker: str) -> str:
    """PETR4F (fractional market) and PETR4 are one holding: PETR4. Raises ValueError if not a B3 ticker."""
    t = ticker.strip().upper()
    if FRACTIONAL_TICKER.match(t):
        return t[:-1]
    if BASE_TICKER.match(t):
        return t
    raise ValueError(f"{ticker!r} is not a B3 ticker (e.g. PETR4, PETR4F, BOVA11)")


def buy_hold_cents(quantity: int, price_cents: int, trade_date: date) -> int:
    """Cash a buy of ``quantity`` at up to ``price_cents`` can cost: value plus estimated B3 fees."""
    if quantity <= 0:
        return 0
    value = quantity * price_cents
    return value + b3_fees_cents(value, trade_date)


def request_hash(*parts: object) -> str:
    return hashlib.sha256("|".join(str(p) for p in parts).encode()).hexdigest()


@dataclass
class Reservation:
    account_id: str
    order_id: str
    instrument: str  # as ordered: PETR4 or PETR4F
    ticker: str  # the holding: PETR4
    side: Side
    quantity: int  # the order's total quantity (filled shares included)
    price_cents: int  # the limit, or the protection price of a market order
    trade_date: date
    reserved_cents: int = 0
    reserved_quantity: int = 0
    filled_quantity: int = 0
    final_quantity: int | None = None
    status: ReservationStatus = ReservationStatus.ACTIVE
    request_hash: str = ""
    # a replace sent to the exchange and not answered yet: the hold covers both terms until the engine
    # accepts (order.replaced: these become the terms) or refuses (order.replace_rejected: dropped)
    pending_quantity: int | None = None
    pending_price_cents: int | None = None
    # which replace each set of terms belongs to (the n of the engine's client order id <order_id>~n; 0 before
    # any): an answer clears only its own pending replace, and an older answer never overwrites newer terms
    pending_seq: int = 0
    replace_seq: int = 0
    # how much of the hold (cents for a buy, shares for a sell) came from projected credits (RECEIVABLE)
    # rather than settled AVAILABLE: a release gives it back there first
    pledged: int = 0
    confirmed: bool = False  # an event of the order was seen: only the order's own events may end it now

    def _outstanding(self, quantity: int) -> int:
        end = quantity if self.final_quantity is None else self.final_quantity
        return max(0, end - self.filled_quantity)

    @property
    def outstanding_quantity(self) -> int:
        """Shares of the order that may still be filled and are not applied yet (the widest of the standing
        terms and a pending replace's)."""
        q = self._outstanding(self.quantity)
        if self.pending_quantity is not None:
            q = max(q, self._outstanding(self.pending_quantity))
        return q

    def target_cents(self) -> int:
        if self.side is not Side.BUY:
            return 0
        need = buy_hold_cents(self._outstanding(self.quantity), self.price_cents, self.trade_date)
        if self.pending_quantity is not None and self.pending_price_cents is not None:
            need = max(need, buy_hold_cents(self._outstanding(self.pending_quantity), self.pending_price_cents,
                                            self.trade_date))
        return need

    def target_quantity(self) -> int:
        return self.outstanding_quantity if self.side is Side.SELL else 0


@dataclass(frozen=True)
class Change:
    """How a reservation operation moves the user's balances (all amounts >= 0)."""

    reserve_cents: int = 0  # available -> reserved
    release_cents: int = 0  # reserved -> available
    reserve_quantity: int = 0
    release_quantity: int = 0


def new_reservation(account_id: str, order_id: str, instrument: str, side: Side, quantity: int, price_cents: int,
                    trade_date: date) -> tuple[Reservation, Change]:
    r = Reservation(account_id, order_id, instrument.upper(), base_ticker(instrument), side, quantity, price_cents,
                    trade_date, request_hash=request_hash(instrument.upper(), side, quantity, price_cents))
    r.reserved_cents, r.reserved_quantity = r.target_cents(), r.target_quantity()
    return r, Change(reserve_cents=r.reserved_cents, reserve_quantity=r.reserved_quantity)


def rebalance(r: Reservation, allow_increase: bool, allow_decrease: bool = True) -> Change:
    """Bring the reservation to what its outstanding part needs; more only when ``allow_increase``, less only
    when ``allow_decrease``."""
    want_cents, want_qty = r.target_cents(), r.target_quantity()
    if r.status is ReservationStatus.RELEASED:
        want_cents, want_qty = 0, 0
    d_cents, d_qty = want_cents - r.reserved_cents, want_qty - r.reserved_quantity
    if not allow_increase:
        d_cents, d_qty = min(d_cents, 0), min(d_qty, 0)
    if not allow_decrease:
        d_cents, d_qty = max(d_cents, 0), max(d_qty, 0)
    r.reserved_cents += d_cents
    r.reserved_quantity += d_qty
    return Change(reserve_cents=max(d_cents, 0), release_cents=max(-d_cents, 0),
                  reserve_quantity=max(d_qty, 0), release_quantity=max(-d_qty, 0))


class ReplacePending(Exception):
    """A newer replace while one is unanswered: the hold can cover the standing terms and one replace."""


def _need(r: Reservation, quantity: int, price_cents: int) -> int:
    out = r._outstanding(quantity)
    return buy_hold_cents(out, price_cents, r.trade_date) if r.side is Side.BUY else out


def widen_for_replace(r: Reservation, quantity: int, price_cents: int, seq: int) -> Change:
    """Replace ``seq`` about to be sent (``quantity``: the new total, filled included; ``price_cents``: the new
    limit). The hold grows to cover the new terms if they need more, and never shrinks here: it shrinks only
    when the exchange answers (:func:`replace_accepted`, :func:`replace_refused`).

    One replace at a time: a newer one while the wallet has not seen the answer to the last raises
    :class:`ReplacePending` (the wallet could not tell which of the two the engine will accept). Two calls for
    the same replace (racing requests, of which the orders service stores one) keep the wider terms; a call
    for a replace already answered changes nothing."""
    if seq <= r.replace_seq or (r.pending_quantity is not None and seq < r.pending_seq):
        return Change()
    if r.pending_quantity is not None and r.pending_price_cents is not None:
        if seq > r.pending_seq:
            raise ReplacePending(f"replace {r.pending_seq} of order {r.order_id} is not answered yet")
        if _need(r, quantity, price_cents) <= _need(r, r.pending_quantity, r.pending_price_cents):
            return rebalance(r, allow_increase=True, allow_decrease=False)
    r.pending_quantity, r.pending_price_cents, r.pending_seq = quantity, price_cents, seq
    return rebalance(r, allow_increase=True, allow_decrease=False)


def _answered(r: Reservation) -> int:
    """The replace an answer without a number (an event from before replaces were numbered) answers: the
    pending one."""
    return r.pending_seq if r.pending_quantity is not None and r.pending_seq else r.replace_seq + 1


def replace_accepted(r: Reservation, quantity: int, price_cents: int, seq: int) -> Change:
    """The engine accepted replace ``seq``: these are the order's terms now (unless a newer replace's answer
    came first); the hold keeps only what they, and a newer replace still pending, need."""
    seq = seq or _answered(r)
    if seq > r.replace_seq:
        r.quantity, r.price_cents, r.replace_seq = quantity, price_cents, seq
    if r.pending_quantity is not None and r.pending_seq <= seq:
        r.pending_quantity = r.pending_price_cents = None
    return rebalance(r, allow_increase=False)


def replace_refused(r: Reservation, quantity: int, price_cents: int, seq: int) -> Change:
    """The engine refused replace ``seq``: the standing terms (``quantity``, ``price_cents``) stay. A refusal
    of an older replace leaves a newer pending one, and its hold, alone."""
    seq = seq or _answered(r)
    if seq > r.replace_seq:
        r.quantity, r.price_cents = quantity, price_cents
    if r.pending_quantity is not None and r.pending_seq <= seq:
        r.pending_quantity = r.pending_price_cents = None
    return rebalance(r, allow_increase=False)


def release_all(r: Reservation) -> Change:
    r.status = ReservationStatus.RELEASED
    return rebalance(r, allow_increase=False)


@dataclass(frozen=True)
class FillEffect:
    """Where one fill's cash (BUY: value + fees) or shares (SELL) come from, and what is released after."""

    from_reserved: int  # cents (BUY) or shares (SELL)
    from_available: int  # the shortfall beyond the reservation
    release: Change


def apply_fill(r: Reservation, quantity: int, price_cents: int, fees_cents: int, final: int | None) -> FillEffect:
    """Apply one fill (once: the caller dedupes by event id), then mark the order's end if known."""
    if r.side is Side.BUY:
        cost = quantity * price_cents + fees_cents
        take = min(cost, r.reserved_cents)
        r.reserved_cents -= take
        short = cost - take
    else:
        take = min(quantity, r.reserved_quantity)
        r.reserved_quantity -= take
        short = quantity - take
    r.filled_quantity += quantity
    if final is not None:
        _mark_ended(r, final)
    return FillEffect(take, short, rebalance(r, allow_increase=False))


def end(r: Reservation, final_quantity: int) -> Change:
    """The order ended with ``final_quantity`` shares filled in total; keep only what in-flight fills need."""
    _mark_ended(r, final_quantity)
    return rebalance(r, allow_increase=False)


def _mark_ended(r: Reservation, final_quantity: int) -> None:
    r.final_quantity = final_quantity
    if r.status is ReservationStatus.ACTIVE:
        r.status = ReservationStatus.CLOSED
