"""The tax rules as dated, configurable data (sources in docs/tax.md).

Rates and withholding are in hundredths of a basis point (1 % = 10_000), so everything stays in integers.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class AssetKind(StrEnum):
    STOCK = "STOCK"  # shares and units on the cash market
    ETF = "ETF"
    BDR = "BDR"
    FII = "FII"  # real-estate funds


class Trading(StrEnum):
    SWING = "SWING"  # "operações comuns"
    DAY_TRADE = "DAY_TRADE"


class LossPool(StrEnum):
    """Where a loss may be offset: common operations of any kind among themselves (stocks, ETFs, BDRs),
    day trades among themselves, and FII trades only against FII gains."""

    COMMON = "COMMON"
    DAY_TRADE = "DAY_TRADE"
    FII = "FII"


@dataclass(frozen=True)
class TaxRules:
    swing_rate: int = 150_000  # 15 %
    day_trade_rate: int = 200_000  # 20 %
    fii_rate: int = 200_000  # 20 %, day trade or not
    stock_exemption_cents: int = 2_000_000  # R$ 20,000 of swing stock sales in a month: their gains are exempt
    swing_irrf: int = 50  # 0.005 % of each swing sale's value
    day_trade_irrf: int = 10_000  # 1 % of the day's day-trade gain
    irrf_minimum_cents: int = 100  # no withholding of R$ 1.00 or less (the exact amount, before rounding)
    darf_minimum_cents: int = 1_000  # a DARF under R$ 10.00 is not paid: it adds to the next month's
    darf_code: str = "6015"
    # a loss in a month whose stock sales were exempt still carries forward (the common reading of IN RFB
    # 1.585/2015, art. 59; configurable because some advisers disagree)
    exempt_month_losses_carry: bool = True


RULES = TaxRules()


def pool_of(kind: AssetKind, trading: Trading) -> LossPool:
    if kind is AssetKind.FII:
        return LossPool.FII
    return LossPool.DAY_TRADE if trading is Trading.DAY_TRADE else LossPool.COMMON


def rate_of(pool: LossPool, rules: TaxRules = RULES) -> int:
    return {LossPool.COMMON: rules.swing_rate, LossPool.DAY_TRADE: rules.day_trade_rate,
            LossPool.FII: rules.fii_rate}[pool]


def share_of(amount_cents: int, rate: int) -> int:
    """``amount x rate`` (rate in hundredths of a bp), rounded half up to the cent; never negative."""
    if amount_cents <= 0:
        return 0
    return (amount_cents * rate + 500_000) // 1_000_000
