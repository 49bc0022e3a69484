"""The monthly income-tax report: per loss pool, results, the R$ 20,000 stock exemption, losses carried
forward, tax, IRRF deducted, and the DARF (code 6015) due by the last business day of the next month."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta

from mybroker.b3.calendar import is_business_day
from mybroker.tax.gains import Ledger, Result
from mybroker.tax.rules import RULES, AssetKind, LossPool, TaxRules, Trading, pool_of, rate_of, share_of

Month = tuple[int, int]  # (year, month)


@dataclass(frozen=True)
class PoolLine:
    pool: LossPool
    gains_cents: int  # positive results counted in the month
    losses_cents: int  # negative results counted in the month (as a positive number)
    exempt_gains_cents: int  # stock swing gains left out by the exemption
    loss_carried_in_cents: int
    taxable_cents: int
    loss_carried_out_cents: int
    rate: int  # hundredths of a bp
    tax_cents: int


@dataclass(frozen=True)
class MonthReport:
    month: Month
    stock_swing_sales_cents: int
    exempt: bool  # stock swing sales within the exemption
    pools: tuple[PoolLine, ...]
    tax_cents: int
    irrf_withheld_cents: int  # withheld this month
    irrf_carried_in_cents: int  # withheld earlier this year and not yet deducted
    irrf_deducted_cents: int
    irrf_carried_out_cents: int
    darf_carried_in_cents: int  # earlier months' tax under the DARF minimum
    darf_cents: int  # to pay by ``due_date`` (0 when under the minimum: carried out)
    darf_carried_out_cents: int
    darf_code: str
    due_date: date


@dataclass
class Carry:
    """What one month hands to the next."""

    losses: dict[LossPool, int] = field(default_factory=lambda: defaultdict(int))
    irrf_cents: int = 0
    irrf_year: int = 0
    darf_cents: int = 0


def last_business_day_of_next_month(year: int, month: int) -> date:
    y, m = (year + 1, 1) if month == 12 else (year, month + 1)
    first_after = date(y + 1, 1, 1) if m == 12 else date(y, m + 1, 1)
    d = first_after - timedelta(days=1)
    while not is_business_day(d):
        d -= timedelta(days=1)
    return d


def _in_month(r: Result, month: Month) -> bool:
    return (r.trade_date.year, r.trade_date.month) == month


def month_report(ledger: Ledger, month: Month, carry: Carry, rules: TaxRules = RULES) -> tuple[MonthReport, Carry]:
    results = [r for r in ledger.results if _in_month(r, month)]
    stock_swing = [r for r in results if r.kind is AssetKind.STOCK and r.trading is Trading.SWING]
    stock_sales = sum(r.sales_cents for r in stock_swing)
    exempt = stock_sales <= rules.stock_exemption_cents
    stock_net = sum(r.result_cents for r in stock_swing)
    lines: list[PoolLine] = []
    out = Carry(losses=defaultdict(int, carry.losses))
    tax = 0
    for pool in LossPool:
        in_pool = [r for r in results if pool_of(r.kind, r.trading) is pool]
        exempt_gains = 0
        counted = in_pool
        if pool is LossPool.COMMON and exempt and stock_swing:
            counted = [r for r in in_pool if not (r.kind is AssetKind.STOCK and r.trading is Trading.SWING)]
            if stock_net > 0:
                exempt_gains = stock_net
            elif rules.exempt_month_losses_carry:
                counted = counted + stock_swing
        gains = sum(r.result_cents for r in counted if r.result_cents > 0)
        losses = -sum(r.result_cents for r in counted if r.result_cents < 0)
        carried_in = carry.losses.get(pool, 0)
        balance = gains - losses - carried_in
        taxable, carried_out = (balance, 0) if balance >= 0 else (0, -balance)
        rate = rate_of(pool, rules)
        pool_tax = share_of(taxable, rate)
        tax += pool_tax
        out.losses[pool] = carried_out
        lines.append(PoolLine(pool, gains, losses, exempt_gains, carried_in, taxable, carried_out, rate, pool_tax))
    year = month[0]
    irrf_in = carry.irrf_cents if carry.irrf_year == year else 0  # IRRF offsets tax within the same year
    withheld = sum(w.total_cents for w in ledger.withholdings
                   if (w.trade_date.year, w.trade_date.month) == month)
    available = irrf_in + withheld
    deducted = min(tax, available)
    out.irrf_cents, out.irrf_year = available - deducted, year
    due = tax - deducted + carry.darf_cents
    darf, darf_out = (due, 0) if due >= rules.darf_minimum_cents else (0, due)
    out.darf_cents = darf_out
    report = MonthReport(month, stock_sales, exempt, tuple(lines), tax, withheld, irrf_in, deducted,
                         out.irrf_cents, carry.darf_cents, darf, darf_out, rules.darf_code,
                         last_business_day_of_next_month(*month))
    return report, out


def reports(ledger: Ledger, first: Month, last: Month, rules: TaxRules = RULES) -> list[MonthReport]:
    """Every month from ``first`` to ``last``, each carrying into the next."""
    out: list[MonthReport] = []
    carry = Carry()
    y, m = first
    while (y, m) <= last:
        report, carry = month_report(ledger, (y, m), carry, rules)
        out.append(report)
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out
