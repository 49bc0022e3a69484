"""What a broker hands its client after the trade, from the wallet's own records: the brokerage note of a day,
the monthly income-tax report and the yearly positions report. Each holding's kind (stock, ETF, BDR, FII)
comes from the asset catalog through :class:`AssetKinds`. Plain Python over the wallet store."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Protocol

from mybroker.tax.gains import Holding, Ledger, realize
from mybroker.tax.monthly import MonthReport, reports
from mybroker.tax.rules import RULES, AssetKind, TaxRules
from mybroker.wallet.daytrade import TradeClass
from mybroker.wallet.notes import BrokerageNote, note_of
from mybroker.wallet.ports import WalletStore

# the catalog's instrument kinds as the income-tax rules group them
KIND_OF_INSTRUMENT: Mapping[str, AssetKind] = {
    "SHARE_ON": AssetKind.STOCK, "SHARE_PN": AssetKind.STOCK, "UNIT": AssetKind.STOCK,
    "ETF": AssetKind.ETF, "BDR": AssetKind.BDR, "FII": AssetKind.FII,
}


class AssetKinds(Protocol):
    def kinds(self, tickers: Iterable[str]) -> dict[str, AssetKind]:
        """The tax kind of each ticker the catalog knows; unknown tickers are left out."""


@dataclass(frozen=True)
class TaxMonth:
    report: MonthReport
    ledger: Ledger
    assumed_stock: tuple[str, ...]  # tickers the catalog does not know, taxed as stocks
    irrf_pending_cents: int  # IRRF of the month's trades not yet taken from the wallet (settled cash short)


@dataclass(frozen=True)
class YearEndPosition:
    ticker: str
    kind: AssetKind
    holding: Holding


class Reports:
    def __init__(self, store: WalletStore, rules: TaxRules = RULES) -> None:
        self.store = store
        self.rules = rules

    def note(self, account_id: str, trade_date: date) -> BrokerageNote | None:
        history = self.store.trade_classes(account_id, None, trade_date)
        day = [t for t in history if t.trade_date == trade_date]
        if not day:
            return None
        number = len({t.trade_date for t in history})  # the investor's n-th trading day
        return note_of(account_id, trade_date, day, number, self.rules)

    def _ledger(self, trades: list[TradeClass], catalog: AssetKinds) -> tuple[Ledger, tuple[str, ...]]:
        tickers = sorted({t.ticker for t in trades})
        kinds = catalog.kinds(tickers) if tickers else {}
        assumed = tuple(t for t in tickers if t not in kinds)
        return realize((t.for_tax(kinds.get(t.ticker, AssetKind.STOCK)) for t in trades), self.rules), assumed

    def tax_month(self, account_id: str, year: int, month: int, catalog: AssetKinds) -> TaxMonth:
        """The month's report, with losses, IRRF and small DARFs carried from every earlier month of trading."""
        next_month = date(year + (month == 12), month % 12 + 1, 1)
        trades = [t for t in self.store.trade_classes(account_id, None, next_month) if t.trade_date < next_month]
        ledger, assumed = self._ledger(trades, catalog)
        first = (trades[0].trade_date.year, trades[0].trade_date.month) if trades else (year, month)
        first = min(first, (year, month))
        report = reports(ledger, first, (year, month), self.rules)[-1]
        month_start = date(year, month, 1)
        pending = sum(w.owed_cents for w in self.store.withholdings(account_id, month_start, next_month)
                      if w.trade_date < next_month)
        return TaxMonth(report, ledger, assumed, pending)

    def year_end(self, account_id: str, year: int, catalog: AssetKinds) -> list[YearEndPosition]:
        """Custody on 31 December at average cost (fees included), as the yearly declaration asks."""
        ledger, _ = self._ledger(self.store.trade_classes(account_id, None, date(year, 12, 31)), catalog)
        return [YearEndPosition(t, ledger.kinds.get(t, AssetKind.STOCK), h)
                for t, h in sorted(ledger.holdings.items()) if h.quantity]

