"""The brokerage note (nota de corretagem, SINACOR layout) of one investor's trading day, from the wallet's
own classified fills: the trades, the business summary, the financial summary with each fee as B3 charges it
and the IRRF, and the net for settlement at D+2. Its fees are the fills' fees as the ledger charged them, so
the note and the ledger agree to the cent. Plain arithmetic, no I/O."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from mybroker.b3.calendar import settlement_date
from mybroker.fees import b3_fee_parts, schedule_on
from mybroker.tax.gains import Withholding, day_withholding
from mybroker.tax.rules import RULES, AssetKind, TaxRules
from mybroker.wallet.daytrade import TradeClass
from mybroker.wallet.reservations import Side


@dataclass(frozen=True)
class NoteTrade:
    """One line of the note's "Negócios realizados"."""

    side: str  # C (compra) or V (venda)
    market: str  # VISTA (round lot) or FRACIONARIO
    ticker: str  # as traded: PETR4 or PETR4F
    obs: str  # D: day trade (some of the fill's shares were bought and sold the same day)
    quantity: int
    price_cents: int
    value_cents: int
    dc: str  # D: debited to the client (a buy), C: credited (a sale)
    day_trade_quantity: int


@dataclass(frozen=True)
class BrokerageNote:
    number: int  # the investor's n-th trading day with this broker
    account_id: str
    trade_date: date
    settle_date: date
    trades: tuple[NoteTrade, ...]
    # Resumo dos negócios
    sales_cents: int  # vendas à vista
    purchases_cents: int  # compras à vista
    # Resumo financeiro: Clearing
    net_operations_cents: int  # sales - purchases (signed: > 0 is a credit)
    settlement_fee_cents: int  # taxa de liquidação
    registration_fee_cents: int  # taxa de registro (none on the cash market since 2019)
    # Bolsa
    trading_fee_cents: int  # emolumentos
    # Custos operacionais
    brokerage_cents: int  # corretagem
    iss_cents: int  # ISS on the brokerage
    irrf_base_cents: int  # swing sales of the day ("I.R.R.F. s/ operações, base")
    irrf_cents: int
    day_trade_irrf_base_cents: int  # the day's net day-trade gain
    day_trade_irrf_cents: int

    @property
    def total_traded_cents(self) -> int:  # valor das operações
        return self.sales_cents + self.purchases_cents

    @property
    def clearing_total_cents(self) -> int:
        return self.net_operations_cents - self.settlement_fee_cents - self.registration_fee_cents

    @property
    def fees_cents(self) -> int:
        """Every fee of the note: what the ledger charged the day's fills."""
        return self.settlement_fee_cents + self.registration_fee_cents + self.trading_fee_cents + self.brokerage_cents

    @property
    def operating_costs_cents(self) -> int:
        return self.brokerage_cents + self.iss_cents

    @property
    def net_cents(self) -> int:
        """Líquido para ``settle_date`` (signed: > 0 credited to the client). IRRF is withheld from it."""
        taxes = self.iss_cents + self.irrf_cents + self.day_trade_irrf_cents
        return self.net_operations_cents - self.fees_cents - taxes


def note_of(account_id: str, trade_date: date, fills: Sequence[TradeClass], number: int,
            rules: TaxRules = RULES) -> BrokerageNote:
    """The note of ``fills`` (the investor's classified fills of ``trade_date``, in arrival order)."""
    day = [f for f in fills if f.trade_date == trade_date and f.account_id == account_id]
    if not day:
        raise ValueError(f"no trades on {trade_date}")
    trades, sales, purchases, trading_fee, settlement_fee = [], 0, 0, 0, 0
    commission = schedule_on(trade_date).commission_cents
    for f in day:
        value = f.quantity * f.price_cents
        trading, settlement = b3_fee_parts(value, f.fees_cents, trade_date)
        trading_fee, settlement_fee = trading_fee + trading, settlement_fee + settlement
        if f.side is Side.BUY:
            purchases += value
        else:
            sales += value
        trades.append(NoteTrade(
            side="C" if f.side is Side.BUY else "V", market="FRACIONARIO" if f.instrument.endswith("F") else "VISTA",
            ticker=f.instrument, obs="D" if f.day_trade_quantity else "", quantity=f.quantity,
            price_cents=f.price_cents, value_cents=value, dc="D" if f.side is Side.BUY else "C",
            day_trade_quantity=f.day_trade_quantity))
    w: Withholding = day_withholding(trade_date, [f.for_tax(AssetKind.STOCK) for f in day], rules)
    return BrokerageNote(
        number=number, account_id=account_id, trade_date=trade_date, settle_date=settlement_date(trade_date),
        trades=tuple(trades), sales_cents=sales, purchases_cents=purchases, net_operations_cents=sales - purchases,
        settlement_fee_cents=settlement_fee, registration_fee_cents=0, trading_fee_cents=trading_fee,
        brokerage_cents=commission * len(day), iss_cents=0, irrf_base_cents=w.swing_base_cents,
        irrf_cents=w.swing_cents, day_trade_irrf_base_cents=w.day_trade_base_cents,
        day_trade_irrf_cents=w.day_trade_cents)
