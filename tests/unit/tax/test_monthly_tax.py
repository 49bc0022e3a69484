"""Worked examples of the income tax on B3 trades (rules in docs/tax.md). Every expected figure is worked out
by hand in the comments, from the rules, not by calling the code under test."""

from __future__ import annotations

from datetime import date

import pytest
from mybroker.tax.gains import Trade, positions_at, realize
from mybroker.tax.monthly import last_business_day_of_next_month, reports
from mybroker.tax.rules import AssetKind, LossPool

STOCK, ETF = AssetKind.STOCK, AssetKind.ETF


def t(day: str, ticker: str, side: str, qty: int, price: int, fees: int = 0, kind: AssetKind = STOCK) -> Trade:
    return Trade(date.fromisoformat(day), ticker, kind, side, qty, price, fees)


def pool(report, which: LossPool):  # type: ignore[no-untyped-def]
    return next(p for p in report.pools if p.pool is which)


def test_exemption_reached_no_tax() -> None:
    # buy 1,000 ITSA4 at R$ 10.00, sell them at R$ 15.00: sales R$ 15,000.00 <= R$ 20,000.00, so the
    # R$ 5,000.00 gain is exempt. IRRF 0.005 % x 15,000.00 = R$ 0.75, under R$ 1.00: not withheld.
    ledger = realize([t("2026-01-05", "ITSA4", "BUY", 1000, 1000), t("2026-01-20", "ITSA4", "SELL", 1000, 1500)])
    (jan,) = reports(ledger, (2026, 1), (2026, 1))
    assert jan.stock_swing_sales_cents == 1_500_000 and jan.exempt
    assert pool(jan, LossPool.COMMON).exempt_gains_cents == 500_000
    assert jan.tax_cents == 0 and jan.irrf_withheld_cents == 0 and jan.darf_cents == 0


def test_exemption_not_reached_fees_in_the_cost() -> None:
    # buy 2,000 at R$ 10.00 + R$ 4.60 fees = R$ 20,004.60; sell 2,000 at R$ 12.00 = R$ 24,000.00 - R$ 5.52
    # fees = R$ 23,994.48. Sales R$ 24,000 > R$ 20,000: the gain R$ 3,989.88 is taxed at 15 % = R$ 598.482
    # -> R$ 598.48. IRRF 0.005 % x 24,000.00 = R$ 1.20. DARF R$ 598.48 - R$ 1.20 = R$ 597.28, due on the
    # last business day of February 2026 (the 28th is a Saturday): Friday the 27th.
    ledger = realize([t("2026-01-05", "VALE3", "BUY", 2000, 1000, 460),
                      t("2026-01-26", "VALE3", "SELL", 2000, 1200, 552)])
    (jan,) = reports(ledger, (2026, 1), (2026, 1))
    assert not jan.exempt
    common = pool(jan, LossPool.COMMON)
    assert (common.gains_cents, common.taxable_cents, common.tax_cents) == (398_988, 398_988, 59_848)
    assert jan.irrf_withheld_cents == 120 and jan.irrf_deducted_cents == 120
    assert jan.darf_cents == 59_728 and jan.darf_code == "6015" and jan.due_date == date(2026, 2, 27)


def test_day_trade_loss_carried_forward_only_against_day_trades() -> None:
    # January: day trade buy 100 PETR4 at R$ 40.00, sell at R$ 38.00: a R$ 200.00 day-trade loss.
    # February: a swing gain (3,000 VALE3 bought at R$ 10, sold at R$ 11: sales R$ 33,000 > R$ 20,000, gain
    # R$ 3,000 x 15 % = R$ 450.00) that the day-trade loss may NOT offset; and a day trade of 100 PETR4 bought
    # at R$ 30 and sold at R$ 35 (+R$ 500.00): R$ 500 - R$ 200 carried = R$ 300 x 20 % = R$ 60.00.
    # IRRF: 0.005 % x 33,000 = R$ 1.65; 1 % x 500 = R$ 5.00. Tax R$ 510.00 - R$ 6.65 = DARF R$ 503.35,
    # due 31 March 2026 (a Tuesday).
    ledger = realize([
        t("2026-01-12", "PETR4", "BUY", 100, 4000), t("2026-01-12", "PETR4", "SELL", 100, 3800),
        t("2026-02-02", "VALE3", "BUY", 3000, 1000), t("2026-02-20", "VALE3", "SELL", 3000, 1100),
        t("2026-02-10", "PETR4", "SELL", 100, 3500), t("2026-02-10", "PETR4", "BUY", 100, 3000),
    ])
    jan, feb = reports(ledger, (2026, 1), (2026, 2))
    assert pool(jan, LossPool.DAY_TRADE).loss_carried_out_cents == 20_000 and jan.darf_cents == 0
    dt, common = pool(feb, LossPool.DAY_TRADE), pool(feb, LossPool.COMMON)
    assert (dt.gains_cents, dt.loss_carried_in_cents, dt.taxable_cents, dt.tax_cents) == (50_000, 20_000, 30_000,
                                                                                          6_000)
    assert (common.taxable_cents, common.tax_cents) == (300_000, 45_000)
    assert feb.irrf_withheld_cents == 165 + 500
    assert feb.darf_cents == 50_335 and feb.due_date == date(2026, 3, 31)


def test_fractional_and_round_lot_are_one_holding() -> None:
    # 2 March: 100 BBAS3 at R$ 20.00 (fees R$ 0.46) and 7 BBAS3 on the fractional market at R$ 21.00 (fees
    # R$ 0.04): 107 shares costing R$ 2,000.00 + R$ 147.00 + R$ 0.50 = R$ 2,147.50.
    # 16 March: sell 50 at R$ 25.00 (fees R$ 0.29): cost basis 214,750 x 50 / 107 = 100,350.46 -> R$ 1,003.50;
    # proceeds R$ 1,250.00 - R$ 0.29 = R$ 1,249.71; gain R$ 246.21, exempt (sales R$ 1,250).
    # Left: 57 shares costing R$ 2,147.50 - R$ 1,003.50 = R$ 1,144.00.
    ledger = realize([t("2026-03-02", "BBAS3", "BUY", 100, 2000, 46), t("2026-03-02", "BBAS3", "BUY", 7, 2100, 4),
                      t("2026-03-16", "BBAS3", "SELL", 50, 2500, 29)])
    (swing,) = ledger.results
    assert (swing.cost_cents, swing.proceeds_cents, swing.result_cents) == (100_350, 124_971, 24_621)
    (mar,) = reports(ledger, (2026, 3), (2026, 3))
    assert mar.exempt and mar.tax_cents == 0 and pool(mar, LossPool.COMMON).exempt_gains_cents == 24_621
    left = positions_at(ledger)["BBAS3"]
    assert (left.quantity, left.cost_cents) == (57, 114_400)


def test_irrf_deducted_and_small_darf_carried_to_the_next_month() -> None:
    # April: 10,000 shares bought at R$ 10.00 and sold at R$ 10.01: sales R$ 100,100 > R$ 20,000; gain R$ 100
    # x 15 % = R$ 15.00; IRRF 0.005 % x 100,100 = R$ 5.005 -> R$ 5.01; R$ 15.00 - R$ 5.01 = R$ 9.99, under the
    # R$ 10.00 minimum: not paid, carried. May: 2,000 bought at R$ 10, sold at R$ 12 (no fees): R$ 4,000 x 15 %
    # = R$ 600.00; IRRF R$ 1.20; DARF R$ 598.80 + R$ 9.99 carried = R$ 608.79.
    ledger = realize([t("2026-04-06", "ABEV3", "BUY", 10_000, 1000), t("2026-04-07", "ABEV3", "SELL", 10_000, 1001),
                      t("2026-05-04", "WEGE3", "BUY", 2000, 1000), t("2026-05-05", "WEGE3", "SELL", 2000, 1200)])
    apr, may = reports(ledger, (2026, 4), (2026, 5))
    assert (apr.tax_cents, apr.irrf_withheld_cents, apr.darf_cents, apr.darf_carried_out_cents) == (1500, 501, 0, 999)
    assert (may.tax_cents, may.irrf_withheld_cents, may.darf_carried_in_cents, may.darf_cents) == (60_000, 120, 999,
                                                                                                  60_879)


def test_etf_gains_are_not_exempt() -> None:
    # 100 BOVA11 bought at R$ 100.00 and sold at R$ 110.00: sales R$ 11,000, but the exemption is for stocks
    # only: R$ 1,000 x 15 % = R$ 150.00. IRRF R$ 0.55: under R$ 1.00, not withheld.
    ledger = realize([t("2026-06-01", "BOVA11", "BUY", 100, 10_000, kind=ETF),
                      t("2026-06-15", "BOVA11", "SELL", 100, 11_000, kind=ETF)])
    (jun,) = reports(ledger, (2026, 6), (2026, 6))
    assert jun.tax_cents == 15_000 and jun.darf_cents == 15_000 and jun.irrf_withheld_cents == 0


def test_a_partial_day_trade_leaves_the_rest_as_swing() -> None:
    # holding 100 ITUB4 at R$ 30.00; on one day buy 100 at R$ 31.00 and sell 150 at R$ 32.00: 100 are a day trade
    # (+R$ 100.00), the other 50 a swing sale against the R$ 30.00 average (+R$ 100.00); the day's buy does not
    # change the average. Left: 50 shares at R$ 30.00.
    ledger = realize([t("2026-07-01", "ITUB4", "BUY", 100, 3000), t("2026-07-02", "ITUB4", "BUY", 100, 3100),
                      t("2026-07-02", "ITUB4", "SELL", 150, 3200)])
    dt, swing = sorted(ledger.results, key=lambda r: r.trading.value)
    assert (dt.trading.value, dt.quantity, dt.result_cents) == ("DAY_TRADE", 100, 10_000)
    assert (swing.quantity, swing.result_cents) == (50, 10_000)
    assert (positions_at(ledger)["ITUB4"].quantity, positions_at(ledger)["ITUB4"].cost_cents) == (50, 150_000)


@pytest.mark.parametrize(("month", "due"), [((2026, 1), date(2026, 2, 27)), ((2026, 3), date(2026, 4, 30)),
                                            ((2026, 12), date(2027, 1, 29))])
def test_darf_due_on_the_last_business_day_of_the_next_month(month: tuple[int, int], due: date) -> None:
    assert last_business_day_of_next_month(*month) == due


def test_selling_more_than_held_is_refused() -> None:
    with pytest.raises(ValueError):
        realize([t("2026-01-05", "PETR4", "SELL", 100, 3000)])


@pytest.mark.parametrize(("sales_cents", "withheld"), [
    (1_990_000, 0),  # R$ 19,900.00 x 0.005 % = R$ 0.995: under R$ 1.00 (it would round up to 1.00)
    (2_000_000, 0),  # R$ 20,000.00 x 0.005 % = R$ 1.00 exactly: "igual ou inferior a R$ 1,00", not withheld
    (2_000_200, 100),  # R$ 20,002.00 x 0.005 % = R$ 1.0001: withheld, rounded to R$ 1.00
    (2_010_000, 101),  # R$ 20,100.00 x 0.005 % = R$ 1.005 -> R$ 1.01 (half up)
])
def test_swing_irrf_of_one_real_or_less_is_not_withheld(sales_cents: int, withheld: int) -> None:
    ledger = realize([t("2026-08-03", "ITSA4", "BUY", 100, sales_cents // 100),
                      t("2026-08-04", "ITSA4", "SELL", 100, sales_cents // 100)])
    assert [(w.swing_base_cents, w.swing_cents) for w in ledger.withholdings] == [(0, 0), (sales_cents, withheld)]


@pytest.mark.parametrize(("gain_cents", "withheld"), [
    (10_000, 0),  # a R$ 100.00 day-trade gain x 1 % = R$ 1.00 exactly: not withheld
    (10_001, 100),  # R$ 100.01 x 1 % = R$ 1.0001 -> R$ 1.00
    (10_050, 101),  # R$ 100.50 x 1 % = R$ 1.005 -> R$ 1.01
])
def test_day_trade_irrf_of_one_real_or_less_is_not_withheld(gain_cents: int, withheld: int) -> None:
    ledger = realize([t("2026-08-05", "VALE3", "BUY", 1, 100_000),
                      t("2026-08-05", "VALE3", "SELL", 1, 100_000 + gain_cents)])
    (day,) = ledger.withholdings
    assert (day.day_trade_base_cents, day.day_trade_cents) == (gain_cents, withheld)
