"""The wallet API's JSON: camelCase on the wire, integer cents and shares."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Annotated

from pydantic import Field, StringConstraints

from mybroker.contracts.api import Camel
from mybroker.contracts.requests import Identifier, PriceCents, Shares, strict_int
from mybroker.wallet.daytrade import DayFigures, TradeClass
from mybroker.wallet.ledger import BRL, Bucket, spendable_cash
from mybroker.wallet.ports import PendingSettlement, StatementLine, WalletStore
from mybroker.wallet.positions import Cost
from mybroker.wallet.reservations import Reservation, ReservationStatus, Side
from mybroker.wallet.service import MAX_AMOUNT_CENTS, Transfer

OrderId = Identifier
IdempotencyKey = Annotated[str, StringConstraints(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.:~-]+$")]


class TransferRequest(Camel):
    amount_cents: Annotated[int, strict_int(1, MAX_AMOUNT_CENTS)] = Field(
        description="integer cents (R$10.50 -> 1050)")
    idempotency_key: IdempotencyKey | None = Field(
        default=None, description="or the Idempotency-Key header: the same key again returns the same transfer")


class ProjectedCash(Camel):
    settle_date: date
    credits_cents: int = Field(description="sale proceeds settling that day, net of fees")
    debits_cents: int = Field(description="buys settling that day, fees included")
    balance_cents: int = Field(description="settled cash after that day's settlement (D+1, D+2 ...)")


class WalletView(Camel):
    account_id: str
    currency: str = BRL
    available_cents: int = Field(description="settled cash, free to spend or withdraw (D0)")
    reserved_cents: int = Field(description="held for open buy orders")
    receivable_cents: int = Field(description="sale proceeds arriving at settlement (T+2), not yet pledged")
    payable_cents: int = Field(description="committed to buys, leaving at settlement (T+2)")
    irrf_due_cents: int = Field(0, description="IRRF computed on trades and not withheld yet (taken at settlement)")
    buying_power_cents: int = Field(description="what a buy may use now: settled plus projected credits, less "
                                               "the IRRF due")
    projected: list[ProjectedCash] = Field(default_factory=list, description="settled cash per settlement day")

    @classmethod
    def read(cls, store: WalletStore, account_id: str, projected_cash: bool) -> WalletView:
        return cls.of(account_id, store.balances(account_id), store.pending_settlements(account_id), projected_cash,
                      store.irrf_owed(account_id))

    @classmethod
    def of(cls, account_id: str, balances: dict[tuple[Bucket, str], int],
           pending: Sequence[PendingSettlement] = (), projected_cash: bool = True, irrf_owed: int = 0) -> WalletView:
        available = balances.get((Bucket.AVAILABLE, BRL), 0)
        receivable = balances.get((Bucket.RECEIVABLE, BRL), 0)
        days: dict[date, tuple[int, int]] = {}
        for p in pending:
            credit, debit = days.get(p.settle_date, (0, 0))
            if p.side is Side.SELL:
                credit += p.value_cents - p.fees_cents
            else:
                debit += p.value_cents + p.fees_cents
            days[p.settle_date] = (credit, debit)
        # what RECEIVABLE still holds arrives first; credits already pledged to buys left with them
        unpledged = receivable
        balance, projected = available, []
        for day in sorted(days):
            credit, debit = days[day]
            arriving = min(credit, unpledged)
            unpledged -= arriving
            balance += arriving
            projected.append(ProjectedCash(settle_date=day, credits_cents=arriving, debits_cents=debit,
                                           balance_cents=balance))
        settled, credits = spendable_cash(available, receivable, irrf_owed)
        return cls(account_id=account_id, available_cents=available,
                   reserved_cents=balances.get((Bucket.RESERVED, BRL), 0), receivable_cents=receivable,
                   payable_cents=balances.get((Bucket.PAYABLE, BRL), 0), irrf_due_cents=max(0, irrf_owed),
                   buying_power_cents=settled + (credits if projected_cash else 0), projected=projected)


class TransferView(Camel):
    entry_id: int
    kind: str
    amount_cents: int
    idempotency_key: str
    created_at: datetime
    wallet: WalletView

    @classmethod
    def of(cls, t: Transfer, wallet: WalletView) -> TransferView:
        return cls(entry_id=t.entry.id, kind=t.entry.kind, amount_cents=t.amount_cents,
                   idempotency_key=t.idempotency_key, created_at=t.entry.created_at, wallet=wallet)


class ReservationRequest(Camel):
    order_id: OrderId
    ticker: Annotated[str, StringConstraints(min_length=5, max_length=7)] = Field(examples=["PETR4", "PETR4F"])
    side: Side
    quantity: Shares
    price_cents: PriceCents = Field(description="the limit, or a market order's protection price")


class ReplaceRequest(Camel):
    quantity: Shares = Field(description="the order's new total quantity, filled shares included")
    price_cents: PriceCents


class ReservationView(Camel):
    order_id: str
    side: Side
    ticker: str
    instrument: str
    quantity: int
    price_cents: int
    reserved_cents: int
    reserved_quantity: int
    filled_quantity: int
    status: ReservationStatus

    @classmethod
    def of(cls, r: Reservation) -> ReservationView:
        return cls(order_id=r.order_id, side=r.side, ticker=r.ticker, instrument=r.instrument, quantity=r.quantity,
                   price_cents=r.price_cents, reserved_cents=r.reserved_cents, reserved_quantity=r.reserved_quantity,
                   filled_quantity=r.filled_quantity, status=r.status)


class PositionView(Camel):
    ticker: str
    available_quantity: int
    reserved_quantity: int = Field(description="held for open sell orders")
    receivable_quantity: int = Field(description="bought, arriving at settlement (T+2)")
    total_quantity: int
    average_price_cents: int = Field(description="B3 rules: fees included, sells do not change it")
    cost_cents: int
    last_price_cents: int | None = Field(default=None, description="from the quote cache; null when unknown")
    market_value_cents: int | None = None
    quote_at: datetime | None = None


class PositionsView(Camel):
    items: list[PositionView]
    market_value_cents: int = Field(description="sum over positions with a known price")


def positions_of(balances: dict[tuple[Bucket, str], int], costs: dict[str, Cost]) -> list[PositionView]:
    tickers = sorted({a for (_, a), v in balances.items() if a != BRL and v})
    out = []
    for t in tickers:
        avail = balances.get((Bucket.AVAILABLE, t), 0)
        res = balances.get((Bucket.RESERVED, t), 0)
        rec = balances.get((Bucket.RECEIVABLE, t), 0)
        cost = costs.get(t, Cost(0, 0))
        out.append(PositionView(ticker=t, available_quantity=avail, reserved_quantity=res, receivable_quantity=rec,
                                total_quantity=avail + res + rec, average_price_cents=cost.average_price_cents,
                                cost_cents=cost.cost_cents))
    return out


class StatementLineView(Camel):
    id: int
    entry_id: int
    posted_at: datetime
    kind: str = Field(description="deposit, withdrawal, reserve, replace, release, fill, settlement")
    ref: str = Field(description="the order id, idempotency key or settlement it belongs to")
    memo: str
    bucket: Bucket
    asset: str = Field(description="BRL (amount in cents) or a ticker (amount in shares)")
    amount: int

    @classmethod
    def of(cls, s: StatementLine) -> StatementLineView:
        return cls(id=s.id, entry_id=s.entry_id, posted_at=s.posted_at, kind=s.kind, ref=s.ref, memo=s.memo,
                   bucket=s.bucket, asset=s.asset, amount=s.amount)


class StatementView(Camel):
    items: list[StatementLineView]
    next_cursor: int | None = Field(default=None, description="pass as ?cursor= for the next (older) page")


class TradeView(Camel):
    """One fill, classified: the shares of it matched the same day against the other side are day trade."""

    order_id: str
    ticker: str = Field(description="the holding (PETR4F fills count in PETR4)")
    trade_date: date
    side: Side
    quantity: int
    price_cents: int
    fees_cents: int
    day_trade_quantity: int
    swing_quantity: int

    @classmethod
    def of(cls, t: TradeClass) -> TradeView:
        return cls(order_id=t.order_id, ticker=t.ticker, trade_date=t.trade_date, side=t.side, quantity=t.quantity,
                   price_cents=t.price_cents, fees_cents=t.fees_cents, day_trade_quantity=t.day_trade_quantity,
                   swing_quantity=t.swing_quantity)


class TradingDayView(Camel):
    """One holding on one day: what was bought and sold, and the day-trade part (min of the two legs)."""

    ticker: str
    trade_date: date
    bought_quantity: int
    sold_quantity: int
    day_trade_quantity: int
    day_trade_buy_cents: int
    day_trade_sell_cents: int
    day_trade_result_cents: int = Field(description="sell minus buy value of the day-trade shares, before fees")
    fees_cents: int
    day_trade_fees_cents: int = Field(description="each fill's fees pro rata to its day-trade shares")

    @classmethod
    def of(cls, d: DayFigures) -> TradingDayView:
        return cls(ticker=d.ticker, trade_date=d.trade_date, bought_quantity=d.bought_quantity,
                   sold_quantity=d.sold_quantity, day_trade_quantity=d.day_trade_quantity,
                   day_trade_buy_cents=d.day_trade_buy_cents, day_trade_sell_cents=d.day_trade_sell_cents,
                   day_trade_result_cents=d.day_trade_sell_cents - d.day_trade_buy_cents, fees_cents=d.fees_cents,
                   day_trade_fees_cents=d.day_trade_fees_cents)


class TradesView(Camel):
    items: list[TradeView]
    days: list[TradingDayView]
