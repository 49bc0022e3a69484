"""The JSON of the wallet's reports (brokerage notes, monthly income tax, year-end positions): camelCase on
the wire, integer cents and shares."""

from __future__ import annotations

from datetime import date

from pydantic import Field

from mybroker.contracts.api import Camel
from mybroker.tax.monthly import MonthReport
from mybroker.tax.rules import AssetKind, LossPool, Trading
from mybroker.wallet.notes import BrokerageNote
from mybroker.wallet.reports import TaxMonth, YearEndPosition


class NoteTradeView(Camel):
    side: str = Field(description="C (compra) or V (venda)")
    market: str = Field(description="VISTA (round lot) or FRACIONARIO")
    ticker: str
    obs: str = Field(description="D: day trade")
    quantity: int
    price_cents: int
    value_cents: int
    dc: str = Field(description="D: debit to the client, C: credit")
    day_trade_quantity: int


class NoteView(Camel):
    number: int
    account_id: str
    trade_date: date
    settle_date: date
    trades: list[NoteTradeView]
    sales_cents: int
    purchases_cents: int
    options_cents: int = 0
    term_cents: int = 0
    total_traded_cents: int
    net_operations_cents: int = Field(description="sales - purchases (> 0 credited)")
    settlement_fee_cents: int = Field(description="taxa de liquidação")
    registration_fee_cents: int = Field(description="taxa de registro")
    clearing_total_cents: int
    trading_fee_cents: int = Field(description="emolumentos")
    brokerage_cents: int = Field(description="corretagem")
    iss_cents: int
    irrf_base_cents: int = Field(description="the day's swing sales")
    irrf_cents: int
    day_trade_irrf_base_cents: int = Field(description="the day's net day-trade gain")
    day_trade_irrf_cents: int
    fees_cents: int = Field(description="every fee of the note: what the ledger charged the day's fills")
    net_cents: int = Field(description="líquido para settleDate (> 0 credited to the client)")

    @classmethod
    def of(cls, n: BrokerageNote) -> NoteView:
        return cls(number=n.number, account_id=n.account_id, trade_date=n.trade_date, settle_date=n.settle_date,
                   trades=[NoteTradeView(side=t.side, market=t.market, ticker=t.ticker, obs=t.obs,
                                         quantity=t.quantity, price_cents=t.price_cents, value_cents=t.value_cents,
                                         dc=t.dc, day_trade_quantity=t.day_trade_quantity) for t in n.trades],
                   sales_cents=n.sales_cents, purchases_cents=n.purchases_cents,
                   total_traded_cents=n.total_traded_cents, net_operations_cents=n.net_operations_cents,
                   settlement_fee_cents=n.settlement_fee_cents, registration_fee_cents=n.registration_fee_cents,
                   clearing_total_cents=n.clearing_total_cents, trading_fee_cents=n.trading_fee_cents,
                   brokerage_cents=n.brokerage_cents, iss_cents=n.iss_cents, irrf_base_cents=n.irrf_base_cents,
                   irrf_cents=n.irrf_cents, day_trade_irrf_base_cents=n.day_trade_irrf_base_cents,
                   day_trade_irrf_cents=n.day_trade_irrf_cents, fees_cents=n.fees_cents, net_cents=n.net_cents)


class CategoryView(Camel):
    """Realized results of one kind and trading in the month (stocks swing, stocks day trade, ETF, ...)."""

    kind: AssetKind
    trading: Trading
    sales_cents: int
    result_cents: int


class PoolView(Camel):
    pool: LossPool = Field(description="COMMON (stocks, ETFs, BDRs swing), DAY_TRADE, FII")
    gains_cents: int
    losses_cents: int
    exempt_gains_cents: int
    loss_carried_in_cents: int
    taxable_cents: int
    loss_carried_out_cents: int
    rate_percent: str
    tax_cents: int


class TaxMonthView(Camel):
    month: str
    categories: list[CategoryView]
    stock_swing_sales_cents: int
    exempt: bool = Field(description="stock swing sales within R$ 20,000: their gains are exempt")
    pools: list[PoolView]
    tax_cents: int
    irrf_withheld_cents: int = Field(description="IRRF of the month's trades")
    irrf_pending_cents: int = Field(description="of which the wallet has not yet taken (settled cash short)")
    irrf_carried_in_cents: int
    irrf_deducted_cents: int
    irrf_carried_out_cents: int
    darf_carried_in_cents: int
    darf_cents: int = Field(description="to pay by dueDate; under R$ 10.00 it is carried to the next month")
    darf_carried_out_cents: int
    darf_code: str
    due_date: date
    assumed_stock: list[str] = Field(description="tickers the catalog does not know, taxed as stocks")

    @classmethod
    def of(cls, t: TaxMonth) -> TaxMonthView:
        r: MonthReport = t.report
        y, m = r.month
        cats: dict[tuple[AssetKind, Trading], list[int]] = {}
        for x in t.ledger.results:
            if (x.trade_date.year, x.trade_date.month) == r.month:
                c = cats.setdefault((x.kind, x.trading), [0, 0])
                c[0] += x.sales_cents
                c[1] += x.result_cents
        return cls(
            month=f"{y:04d}-{m:02d}",
            categories=[CategoryView(kind=k, trading=tr, sales_cents=v[0], result_cents=v[1])
                        for (k, tr), v in sorted(cats.items())],
            stock_swing_sales_cents=r.stock_swing_sales_cents, exempt=r.exempt,
            pools=[PoolView(pool=p.pool, gains_cents=p.gains_cents, losses_cents=p.losses_cents,
                            exempt_gains_cents=p.exempt_gains_cents, loss_carried_in_cents=p.loss_carried_in_cents,
                            taxable_cents=p.taxable_cents, loss_carried_out_cents=p.loss_carried_out_cents,
                            rate_percent=f"{p.rate / 10_000:g}", tax_cents=p.tax_cents) for p in r.pools],
            tax_cents=r.tax_cents, irrf_withheld_cents=r.irrf_withheld_cents, irrf_pending_cents=t.irrf_pending_cents,
            irrf_carried_in_cents=r.irrf_carried_in_cents, irrf_deducted_cents=r.irrf_deducted_cents,
            irrf_carried_out_cents=r.irrf_carried_out_cents, darf_carried_in_cents=r.darf_carried_in_cents,
            darf_cents=r.darf_cents, darf_carried_out_cents=r.darf_carried_out_cents, darf_code=r.darf_code,
            due_date=r.due_date, assumed_stock=list(t.assumed_stock))


class YearEndPositionView(Camel):
    ticker: str
    kind: AssetKind
    quantity: int
    cost_cents: int = Field(description="total cost, fees included (the declaration's 'situação em 31/12')")
    average_price_cents: int = Field(description="cost / quantity, rounded down")

    @classmethod
    def of(cls, p: YearEndPosition) -> YearEndPositionView:
        return cls(ticker=p.ticker, kind=p.kind, quantity=p.holding.quantity, cost_cents=p.holding.cost_cents,
                   average_price_cents=p.holding.cost_cents // p.holding.quantity)


class YearEndView(Camel):
    year: int
    as_of: date
    items: list[YearEndPositionView]
    total_cost_cents: int
