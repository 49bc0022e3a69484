"""Realized results by average cost, day trades apart, and the IRRF a broker withholds each day.

Per ticker and trading day: the quantity both bought and sold that day (``min(bought, sold)``) is a day
trade, valued at the day's average buy cost and average sale proceeds; the rest of the buys raise the
position (average cost, fees included), the rest of the sales realize a result against it. Fees go with
their trades, in proportion to quantity. Every division is done by allocation, so no cent is lost.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date

from mybroker.tax.rules import RULES, AssetKind, TaxRules, Trading, share_of


@dataclass(frozen=True)
class Trade:
    trade_date: date
    ticker: str  # the holding: PETR4 (fractional PETR4F trades are the same holding)
    kind: AssetKind
    side: str  # BUY or SELL
    quantity: int
    price_cents: int
    fees_cents: int  # every fee charged on the trade (B3's, brokerage, ISS)

    @property
    def value_cents(self) -> int:
        return self.quantity * self.price_cents


@dataclass
class Holding:
    quantity: int = 0
    cost_cents: int = 0  # total cost, fees included; the average price is cost / quantity

    def buy(self, quantity: int, cost_cents: int) -> None:
        self.quantity += quantity
        self.cost_cents += cost_cents

    def sell(self, quantity: int) -> int:
        """The cost basis of ``quantity`` sold (the position keeps the rounding remainder)."""
        if quantity > self.quantity:
            raise ValueError(f"selling {quantity} of a position of {self.quantity}")
        basis = self.cost_cents * quantity // self.quantity
        self.quantity -= quantity
        self.cost_cents -= basis
        if self.quantity == 0:
            self.cost_cents = 0  # (cannot be non-zero: the last sale takes the whole cost)
        return basis


@dataclass(frozen=True)
class Result:
    """One realized result: a day trade of a ticker on a day, or the swing sales of a ticker on a day."""

    trade_date: date
    ticker: str
    kind: AssetKind
    trading: Trading
    quantity: int
    sales_cents: int  # gross sale value of the quantity realized
    proceeds_cents: int  # sale value less the sales' fees
    cost_cents: int  # what the quantity cost, fees included
    irrf_base_cents: int = 0

    @property
    def result_cents(self) -> int:
        return self.proceeds_cents - self.cost_cents


@dataclass(frozen=True)
class Withholding:
    """IRRF ("dedo-duro") the broker withholds on one trading day."""

    trade_date: date
    swing_base_cents: int  # the day's swing sale value
    swing_cents: int
    day_trade_base_cents: int  # the day's net day-trade gain (all tickers), if positive
    day_trade_cents: int

    @property
    def total_cents(self) -> int:
        return self.swing_cents + self.day_trade_cents


@dataclass
class Ledger:
    """What a sequence of trades realized, and what is still held."""

    holdings: dict[str, Holding] = field(default_factory=dict)
    kinds: dict[str, AssetKind] = field(default_factory=dict)
    results: list[Result] = field(default_factory=list)
    withholdings: list[Withholding] = field(default_factory=list)


def _part(total: int, part: int, whole: int) -> int:
    return total * part // whole if whole else 0


@dataclass(frozen=True)
class TickerDay:
    """One holding's trades on one day, split into the day trade and the rest."""

    bought: int
    sold: int
    buy_cost_cents: int  # value + fees of every buy
    sale_value_cents: int
    proceeds_cents: int  # sale value less the sales' fees
    day_trade: int  # min(bought, sold)
    day_trade_cost_cents: int
    day_trade_sales_cents: int
    day_trade_proceeds_cents: int

    @classmethod
    def of(cls, ts: Iterable[Trade]) -> TickerDay:
        buys = [t for t in ts if t.side == "BUY"]
        sells = [t for t in ts if t.side == "SELL"]
        bought, sold = sum(t.quantity for t in buys), sum(t.quantity for t in sells)
        buy_cost = sum(t.value_cents + t.fees_cents for t in buys)
        sale_value = sum(t.value_cents for t in sells)
        proceeds = sale_value - sum(t.fees_cents for t in sells)
        dt = min(bought, sold)
        return cls(bought, sold, buy_cost, sale_value, proceeds, dt, _part(buy_cost, dt, bought),
                   _part(sale_value, dt, sold), _part(proceeds, dt, sold))

    @property
    def swing_sales_cents(self) -> int:
        return self.sale_value_cents - self.day_trade_sales_cents

    @property
    def day_trade_result_cents(self) -> int:
        return self.day_trade_proceeds_cents - self.day_trade_cost_cents


def _check(t: Trade) -> Trade:
    if t.quantity <= 0 or t.price_cents <= 0 or t.fees_cents < 0 or t.side not in ("BUY", "SELL"):
        raise ValueError(f"not a trade: {t}")
    return t


def _by_ticker(trades: Iterable[Trade]) -> dict[str, list[Trade]]:
    out: dict[str, list[Trade]] = defaultdict(list)
    for t in trades:
        out[t.ticker].append(_check(t))
    return out


def _withholding(day: date, days: Iterable[TickerDay], rules: TaxRules) -> Withholding:
    ds = list(days)
    swing_sales = sum(d.swing_sales_cents for d in ds)
    dt_base = max(0, sum(d.day_trade_result_cents for d in ds))
    return Withholding(day, swing_sales, _withheld(swing_sales, rules.swing_irrf, rules),
                       dt_base, _withheld(dt_base, rules.day_trade_irrf, rules))


def _withheld(base_cents: int, rate: int, rules: TaxRules) -> int:
    """IRRF on ``base_cents``, or 0 when it is "igual ou inferior a R$ 1,00" (Lei 11.033/2004, art. 2, par. 4):
    the exact amount is compared, before it is rounded to the cent."""
    exact_micro_cents = max(0, base_cents) * rate  # rate in hundredths of a bp: cents x 1e-6
    return share_of(base_cents, rate) if exact_micro_cents > rules.irrf_minimum_cents * 1_000_000 else 0


def day_withholding(day: date, trades: Iterable[Trade], rules: TaxRules = RULES) -> Withholding:
    """The IRRF of one investor's trading day, from that day's trades alone (the swing sales' value and the
    day trades' net gain need no earlier holdings)."""
    return _withholding(day, (TickerDay.of(ts) for ts in _by_ticker(trades).values()), rules)


def realize(trades: Iterable[Trade], rules: TaxRules = RULES) -> Ledger:
    """Apply the trades day by day (within a day their order does not matter)."""
    by_day: dict[date, list[Trade]] = defaultdict(list)
    out = Ledger()
    for t in trades:
        by_day[t.trade_date].append(t)
    for day in sorted(by_day):
        tickers = _by_ticker(by_day[day])
        figures: list[TickerDay] = []
        for ticker in sorted(tickers):
            ts = tickers[ticker]
            kind = ts[0].kind
            out.kinds[ticker] = kind
            d = TickerDay.of(ts)
            figures.append(d)
            holding = out.holdings.setdefault(ticker, Holding())
            if d.day_trade:
                out.results.append(Result(day, ticker, kind, Trading.DAY_TRADE, d.day_trade,
                                          d.day_trade_sales_cents, d.day_trade_proceeds_cents,
                                          d.day_trade_cost_cents))
            if d.bought > d.day_trade:
                holding.buy(d.bought - d.day_trade, d.buy_cost_cents - d.day_trade_cost_cents)
            if d.sold > d.day_trade:
                basis = holding.sell(d.sold - d.day_trade)
                out.results.append(Result(day, ticker, kind, Trading.SWING, d.sold - d.day_trade,
                                          d.swing_sales_cents, d.proceeds_cents - d.day_trade_proceeds_cents,
                                          basis, irrf_base_cents=d.swing_sales_cents))
        out.withholdings.append(_withholding(day, figures, rules))
    return out


def positions_at(ledger: Ledger) -> Mapping[str, Holding]:
    """The holdings left (quantity and total cost), as the yearly declaration lists them."""
    return {t: h for t, h in sorted(ledger.holdings.items()) if h.quantity}
