"""The brokerage note of a trading day, figures by hand (B3 2.30 bps rounded up per fill, split as settlement
fee 1.80 bps rounded up and trading fee the rest; IRRF as in test_irrf_withholding)."""

from __future__ import annotations

from datetime import date

import pytest
from mybroker.fees import b3_fee_parts, b3_fees_cents
from mybroker.wallet.daytrade import TradeClass, classify
from mybroker.wallet.notes import note_of
from mybroker.wallet.reservations import Side

TUE = date(2026, 11, 24)


def day(*fills: tuple[Side, str, int, int]) -> list[TradeClass]:
    out: list[TradeClass] = []
    for n, (side, instrument, qty, price) in enumerate(fills, 1):
        f = TradeClass(f"e{n}", "acc", f"o{n}", instrument.removesuffix("F"), TUE, side, qty, price,
                       b3_fees_cents(qty * price, TUE), 0, instrument, id=n)
        classified, grown = classify([x for x in out if x.ticker == f.ticker], f)
        by_id = {g.id: g for g in grown}
        out = [by_id.get(x.id, x) for x in out] + [classified]
    return out


def test_fee_parts_add_up_to_the_charge() -> None:
    assert b3_fee_parts(384_000, 89, TUE) == (19, 70)  # settlement 69.12 -> 70
    assert b3_fee_parts(390_000, 90, TUE) == (19, 71)
    assert b3_fee_parts(384_000, 116, date(2025, 7, 1)) == (20, 96)  # old table: 0.025 % of 3,840.00 = 96


def test_a_day_trade_and_a_fractional_buy_on_one_note() -> None:
    fills = day((Side.BUY, "PETR4", 100, 3840), (Side.SELL, "PETR4", 100, 3900), (Side.BUY, "PETR4F", 30, 3910))
    assert [f.fees_cents for f in fills] == [89, 90, 27]  # 117,300 x 0.023 % = 26.98 -> 27
    n = note_of("acc", TUE, fills, number=7)
    assert [(t.side, t.market, t.ticker, t.obs, t.quantity, t.value_cents, t.dc) for t in n.trades] == [
        ("C", "VISTA", "PETR4", "D", 100, 384_000, "D"), ("V", "VISTA", "PETR4", "D", 100, 390_000, "C"),
        ("C", "FRACIONARIO", "PETR4F", "", 30, 117_300, "D")]
    assert (n.number, n.settle_date) == (7, date(2026, 11, 26))
    assert (n.sales_cents, n.purchases_cents, n.total_traded_cents) == (390_000, 501_300, 891_300)
    assert (n.net_operations_cents, n.settlement_fee_cents, n.trading_fee_cents) == (-111_300, 163, 43)
    assert n.fees_cents == 89 + 90 + 27 == 206
    # day trade valued at the day's average buy: 501,416 x 100 / 130 = 385,704; gain 389,910 - 385,704 = 4,206,
    # 1 % = 42 cents: under R$1.00, not withheld; no swing sale
    assert (n.day_trade_irrf_base_cents, n.day_trade_irrf_cents, n.irrf_base_cents, n.irrf_cents) == (4_206, 0, 0, 0)
    assert n.clearing_total_cents == -111_300 - 163
    assert n.net_cents == -111_506


def test_a_day_trade_gain_with_irrf_withheld_from_the_net() -> None:
    n = note_of("acc", TUE, day((Side.BUY, "PETR4", 1000, 3840), (Side.SELL, "PETR4", 1000, 3900)), number=1)
    assert (n.settlement_fee_cents, n.trading_fee_cents) == (692 + 702, 192 + 195)
    assert (n.day_trade_irrf_base_cents, n.day_trade_irrf_cents) == (58_219, 582)
    assert n.net_cents == 60_000 - 884 - 897 - 582 == 57_637


def test_no_note_without_trades() -> None:
    with pytest.raises(ValueError):
        note_of("acc", TUE, [], number=1)
