"""Day trade or swing: every fill is classified per investor, holding (base ticker: PETR4F and PETR4 are one)
and trade date. The shares bought and sold the same day by the same investor in the same holding, matched in
the order the fills arrived, are day trade; the rest is swing. Fees and the income-tax report read these
figures per fill and per day. Plain arithmetic, no I/O."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date

from mybroker.tax.gains import Trade
from mybroker.tax.rules import AssetKind
from mybroker.wallet.reservations import Side


@dataclass(frozen=True)
class TradeClass:
    """One fill, classified (stored in the fill's transaction; ``source_key`` is the fill's event id)."""

    source_key: str
    account_id: str
    order_id: str
    ticker: str  # the holding (base ticker)
    trade_date: date
    side: Side
    quantity: int
    price_cents: int
    fees_cents: int
    day_trade_quantity: int
    instrument: str  # as traded: PETR4 (round lot) or PETR4F (fractional market)
    id: int = 0  # arrival order

    @property
    def swing_quantity(self) -> int:
        return self.quantity - self.day_trade_quantity

    def for_tax(self, kind: AssetKind) -> Trade:
        """The fill as the income-tax rules read it (the holding's kind comes from the asset catalog)."""
        return Trade(self.trade_date, self.ticker, kind, self.side.value, self.quantity, self.price_cents,
                     self.fees_cents)


def classify(day: Iterable[TradeClass], fill: TradeClass) -> tuple[TradeClass, list[TradeClass]]:
    """Classify a new ``fill`` against the investor's earlier fills of the same holding and day (``day``, in
    arrival order). Its shares match the other side's still-unmatched shares, earliest first; both legs of a
    match are day trade. Returns the classified fill and the earlier fills whose day-trade part grew."""
    left = fill.quantity
    grown = []
    for f in sorted(day, key=lambda x: x.id):
        if left == 0:
            break
        if f.side is fill.side or f.swing_quantity == 0:
            continue
        take = min(left, f.swing_quantity)
        left -= take
        grown.append(replace(f, day_trade_quantity=f.day_trade_quantity + take))
    return replace(fill, day_trade_quantity=fill.quantity - left), grown


@dataclass(frozen=True)
class DayFigures:
    """One investor's trading in one holding on one day."""

    ticker: str
    trade_date: date
    bought_quantity: int
    sold_quantity: int
    day_trade_quantity: int  # matched: min(bought, sold)
    day_trade_buy_cents: int  # value of the day-trade shares bought (quantity x price of each fill's part)
    day_trade_sell_cents: int
    fees_cents: int  # all the day's fees in the holding
    day_trade_fees_cents: int  # each fill's fees pro rata to its day-trade part (floor)


def day_figures(fills: Iterable[TradeClass]) -> list[DayFigures]:
    """Per (holding, day) totals of classified fills, sorted by day then ticker."""
    groups: dict[tuple[date, str], list[TradeClass]] = {}
    for f in fills:
        groups.setdefault((f.trade_date, f.ticker), []).append(f)
    out = []
    for (day, ticker), fs in sorted(groups.items()):
        buys = [f for f in fs if f.side is Side.BUY]
        sells = [f for f in fs if f.side is Side.SELL]
        out.append(DayFigures(
            ticker=ticker, trade_date=day,
            bought_quantity=sum(f.quantity for f in buys), sold_quantity=sum(f.quantity for f in sells),
            day_trade_quantity=sum(f.day_trade_quantity for f in buys),
            day_trade_buy_cents=sum(f.day_trade_quantity * f.price_cents for f in buys),
            day_trade_sell_cents=sum(f.day_trade_quantity * f.price_cents for f in sells),
            fees_cents=sum(f.fees_cents for f in fs),
            day_trade_fees_cents=sum(f.fees_cents * f.day_trade_quantity // f.quantity for f in fs)))
    return out
