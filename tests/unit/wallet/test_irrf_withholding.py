"""IRRF withheld by the wallet: each trading day's "dedo-duro" is recomputed with every fill and taken from
settled cash when that day's trades settle, under the floor. Figures by hand: B3 fees 0.0230 % rounded up,
IRRF 0.005 % of swing sales and 1 % of the day's day-trade gain, none under R$ 1.00, half up to the cent."""

from __future__ import annotations

from datetime import date

from mybroker.b3.calendar import settlement_date
from mybroker.contracts.engine import Side as OrderSide
from mybroker.contracts.orders import OrderEventType, OrderStatus
from mybroker.wallet.ledger import BRL, IRRF, Bucket
from mybroker.wallet.memory import MemoryStore
from mybroker.wallet.reservations import Side
from mybroker.wallet.service import Wallet

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


def test_the_withholding_waits_under_the_floor_when_the_proceeds_were_spent() -> None:
    w = Wallet(MemoryStore())
    w.deposit(ACC, "d", 3_840_884)  # exactly the buy below
    trade(w, "b", Side.BUY, 1000, 3840, TUE)
    trade(w, "s", Side.SELL, 1000, 3900, TUE)
    # the sale's projected proceeds buy again the same day: 3,898,000 + fees 897 (896.54 up) = 3,898,897
    trade(w, "b2", Side.BUY, 1000, 3898, TUE)
    # the day trade is now valued at the day's average buy cost: (3,840,884 + 3,898,897) / 2 = 3,869,890
    # (floor), a gain of 3,899,103 - 3,869,890 = 29,213, IRRF 1 % = 292
    assert w.store.withholdings(ACC, TUE, TUE)[0].day_trade_cents == 292
    w.settle_due(settlement_date(TUE))
    # settled cash after the three trades: 3,899,103 - 3,898,897 = 206 < 292: the IRRF waits, nothing negative
    assert bal(w, Bucket.AVAILABLE) == 206
    assert w.store.withholdings(ACC, TUE, TUE)[0].withheld is False
    w.deposit(ACC, "d2", 1_000)
    assert w.withhold_due(settlement_date(TUE)) == 1
    assert bal(w, Bucket.AVAILABLE, BRL) == 206 + 1_000 - 292
    assert w.reconcile() == []
