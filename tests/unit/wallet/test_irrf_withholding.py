"""IRRF withheld by the wallet: each trading day's "dedo-duro" is recomputed with every fill and taken from
settled cash when that day's trades settle, under the floor. Figures by hand: B3 fees 0.0230 % rounded up,
IRRF 0.005 % of swing sales and 1 % of the day's day-trade gain, none under R$ 1.00, half up to the cent."""

from __future__ import annotations

from datetime import date

import pytest
from mybroker.b3.calendar import settlement_date
from mybroker.contracts.engine import Side as OrderSide
from mybroker.contracts.orders import OrderEventType, OrderStatus
from mybroker.wallet.ledger import BRL, IRRF, Bucket
from mybroker.wallet.memory import MemoryStore
from mybroker.wallet.reservations import Side
from mybroker.wallet.service import Wallet, WalletError
from mybroker.wallet.views import WalletView

from tests.unit.wallet.test_wallet_domain import ACC, bal, event

MON, TUE = date(2026, 11, 23), date(2026, 11, 24)


def trade(w: Wallet, order: str, side: Side, qty: int, price: int, day: date) -> None:
    w.reserve(ACC, order, "PETR4", side, qty, price, day)
    w.apply_order_event(event(1, order, OrderEventType.FILLED, qty=qty, price=price, cum=qty, leaves=0,
                              fill=(qty, price), status=OrderStatus.FILLED, trade_date=day.isoformat(),
                              side=OrderSide.BUY if side is Side.BUY else OrderSide.SELL))


def test_a_day_trade_gain_has_1_percent_withheld_when_it_settles() -> None:
    w = Wallet(MemoryStore())
    w.deposit(ACC, "d", 5_000_000)
    # buy 1,000 @ R$38.40: fees 884 (883.2 up); sell 1,000 @ R$39.00: fees 897. Gain 3,899,103 - 3,840,884
    trade(w, "b", Side.BUY, 1000, 3840, TUE)
    trade(w, "s", Side.SELL, 1000, 3900, TUE)
    (day,) = w.store.withholdings(ACC, None, None)
    assert (day.swing_base_cents, day.swing_cents, day.day_trade_base_cents, day.day_trade_cents) == (0, 0, 58_219, 582)
    assert w.settle_due(TUE) == 0  # nothing due on the trade day
    assert bal(w, Bucket.AVAILABLE) == 5_000_000 - 3_840_884
    w.settle_due(settlement_date(TUE))
    assert bal(w, Bucket.AVAILABLE) == 5_000_000 - 3_840_884 + 3_899_103 - 582
    assert w.withhold_due(settlement_date(TUE)) == 0  # once
    assert isinstance(w.store, MemoryStore)
    assert sum(p.amount for _, _, p in w.store.s.postings if p.account_id == IRRF) == 582
    assert w.reconcile() == []


def test_swing_sales_under_and_over_the_one_real_minimum() -> None:
    w = Wallet(MemoryStore())
    w.deposit(ACC, "d", 10_000_000)
    trade(w, "b", Side.BUY, 2000, 3840, MON)  # fees: 7,680,000 x 0.023 % = 1,766.4 -> 1,767
    w.settle_due(settlement_date(MON))
    trade(w, "s1", Side.SELL, 100, 3840, TUE)  # R$3,840.00 x 0.005 % = 19 cents: not withheld
    assert w.store.withholdings(ACC, TUE, TUE)[0].swing_cents == 0
    trade(w, "s2", Side.SELL, 1000, 3900, TUE)  # the day's sales R$42,840.00 x 0.005 % = 214.2 -> 214
    (day,) = w.store.withholdings(ACC, TUE, TUE)
    assert (day.swing_base_cents, day.swing_cents, day.day_trade_cents) == (4_284_000, 214, 0)
    before = bal(w, Bucket.AVAILABLE)
    w.settle_due(settlement_date(TUE))
    # proceeds: 384,000 - 89 and 3,900,000 - 897 arrive, 214 leave for Receita Federal
    assert bal(w, Bucket.AVAILABLE) == before + 383_911 + 3_899_103 - 214
    assert w.reconcile() == []


def test_the_irrf_due_is_kept_from_what_buys_and_withdrawals_may_use() -> None:
    # found in review: the sale's whole projected proceeds bought again the same day, the settled cash left at
    # D+2 (206) was under the day's IRRF (292), and a withdrawal before the next run kept the IRRF unpaid for
    # good. The IRRF computed and not yet withheld is now spoken for.
    w = Wallet(MemoryStore())
    w.deposit(ACC, "d", 3_840_884)  # exactly the buy below
    trade(w, "b", Side.BUY, 1000, 3840, TUE)
    trade(w, "s", Side.SELL, 1000, 3900, TUE)  # a day trade: gain 3,899,103 - 3,840,884 = 58,219, IRRF 582
    assert w.store.irrf_owed(ACC) == 582
    # the whole proceeds again: 3,898,000 + fees 897 (896.54 up) = 3,898,897 > 3,899,103 - 582 = 3,898,521
    with pytest.raises(WalletError) as e:
        w.reserve(ACC, "b2", "PETR4", Side.BUY, 1000, 3898, TUE)
    assert e.value.code == "INSUFFICIENT_FUNDS"
    view = WalletView.of(ACC, w.store.balances(ACC), w.store.pending_settlements(ACC), True, w.store.irrf_owed(ACC))
    assert (view.buying_power_cents, view.irrf_due_cents) == (3_898_521, 582)
    # 999 @ R$38.98: 3,894,102 + fees 896 (895.64 up) = 3,894,998 <= 3,898,521
    trade(w, "b3", Side.BUY, 999, 3898, TUE)
    # the day trade is valued at the day's average buy cost: (3,840,884 + 3,894,998) x 1,000 / 1,999 =
    # 3,869,876 (floor of 3,869,876.9), a gain of 3,899,103 - 3,869,876 = 29,227, IRRF 1 % = 292 (292.27)
    assert w.store.withholdings(ACC, TUE, TUE)[0].day_trade_cents == 292
    # receivable left, unpledged: 3,899,103 - 3,894,998 = 4,105; of it 292 are the IRRF's
    with pytest.raises(WalletError):
        w.withdraw(ACC, "w", 1)  # nothing settled to withdraw yet
    w.settle_due(settlement_date(TUE))
    assert w.store.withholdings(ACC, TUE, TUE)[0].withheld is True
    assert bal(w, Bucket.AVAILABLE, BRL) == 4_105 - 292
    assert w.withdraw(ACC, "w", 4_105 - 292)[1]
    assert w.reconcile() == []


def test_settled_cash_stays_withdrawable_when_the_proceeds_cover_the_irrf() -> None:
    # 1,000 @ R$40.00 bought Monday and sold Tuesday at R$50.00: a swing sale of R$50,000.00, IRRF 0.005 % =
    # R$2.50, which the sale's own proceeds will pay at D+2: the settled cash is not held back for it
    w = Wallet(MemoryStore())
    w.deposit(ACC, "d", 4_001_000)
    trade(w, "b", Side.BUY, 1000, 4000, MON)  # 4,000,000 + fees 920 = 4,000,920
    w.settle_due(settlement_date(MON))
    trade(w, "s", Side.SELL, 1000, 5000, TUE)  # proceeds 5,000,000 - fees 1,150 = 4,998,850; IRRF 250
    assert w.store.irrf_owed(ACC) == 250
    # settled cash 4,001,000 - 4,000,920 = 80; the proceeds (4,998,850) cover the IRRF: all 80 withdrawable
    assert w.withdraw(ACC, "w1", 80)[1]
    w.settle_due(settlement_date(TUE))
    assert bal(w, Bucket.AVAILABLE, BRL) == 4_998_850 - 250
    assert w.store.irrf_owed(ACC) == 0
    assert w.reconcile() == []


def test_a_fill_that_arrives_after_its_day_was_withheld_owes_the_difference() -> None:
    # found in review: the late fill raised ("already withheld") and the order-events partition stopped.
    # Monday: 2,000 @ R$38.40 (fees 1,767). Tuesday: a swing sale of 1,000 @ R$39.00, IRRF 0.005 % of
    # R$39,000.00 = 195, withheld at D+2; then a second Tuesday fill of 1,000 @ R$39.00 comes late: the day's
    # sales R$78,000.00 owe 390, so 195 more are withheld, under an entry of their own.
    w = Wallet(MemoryStore())
    w.deposit(ACC, "d", 10_000_000)
    trade(w, "b", Side.BUY, 2000, 3840, MON)
    w.settle_due(settlement_date(MON))
    trade(w, "s1", Side.SELL, 1000, 3900, TUE)
    w.settle_due(settlement_date(TUE))
    (day,) = w.store.withholdings(ACC, TUE, TUE)
    assert (day.total_cents, day.withheld_cents, day.withheld) == (195, 195, True)
    trade(w, "s2", Side.SELL, 1000, 3900, TUE)  # consumed after the settlement run: no exception
    (day,) = w.store.withholdings(ACC, TUE, TUE)
    assert (day.total_cents, day.owed_cents, day.revision) == (390, 195, 1)
    assert w.store.irrf_owed(ACC) == 195
    w.settle_due(settlement_date(TUE))
    (day,) = w.store.withholdings(ACC, TUE, TUE)
    assert (day.withheld_cents, day.withheld, w.store.irrf_owed(ACC)) == (390, True, 0)
    assert isinstance(w.store, MemoryStore)
    assert sum(p.amount for _, _, p in w.store.s.postings if p.account_id == IRRF) == 390
    assert w.reconcile() == []
