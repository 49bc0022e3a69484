"""Day trade or swing per fill: each investor's fills of one holding on one trade date are matched buy
against sell in arrival order; the matched shares of both legs are day trade, the rest swing. Figures by hand."""

from __future__ import annotations

from datetime import date

from mybroker.contracts.engine import Side as OrderSide
from mybroker.contracts.orders import OrderEventType, OrderStatus
from mybroker.wallet.daytrade import TradeClass, classify, day_figures
from mybroker.wallet.memory import MemoryStore
from mybroker.wallet.reservations import Side
from mybroker.wallet.service import Wallet

from tests.unit.wallet.test_wallet_domain import ACC, DAY, event


def fill(n: int, side: Side, qty: int, price: int = 1000, fees: int = 0, day: date = DAY,
         ticker: str = "PETR4") -> TradeClass:
    return TradeClass(f"f{n}", ACC, f"o{n}", ticker, day, side, qty, price, fees, 0, ticker, id=n)


def run(*fills: TradeClass) -> list[TradeClass]:
    """Classify ``fills`` in order, as the wallet does one transaction at a time."""
    book: list[TradeClass] = []
    for f in fills:
        classified, grown = classify([x for x in book if x.ticker == f.ticker and x.trade_date == f.trade_date], f)
        by_id = {g.id: g for g in grown}
        book = [by_id.get(x.id, x) for x in book] + [classified]
    return book


def test_a_sell_matches_the_buys_of_the_day_earliest_first() -> None:
    b1, b2, s1 = run(fill(1, Side.BUY, 100), fill(2, Side.BUY, 300), fill(3, Side.SELL, 250))
    assert [(x.day_trade_quantity, x.swing_quantity) for x in (b1, b2, s1)] == [(100, 0), (150, 150), (250, 0)]


def test_selling_old_shares_then_buying_back_is_a_day_trade_of_the_smaller_leg() -> None:
    s1, b1 = run(fill(1, Side.SELL, 100), fill(2, Side.BUY, 40))
    assert (s1.day_trade_quantity, s1.swing_quantity, b1.day_trade_quantity) == (40, 60, 40)


def test_other_days_and_other_holdings_do_not_match() -> None:
    out = run(fill(1, Side.BUY, 100), fill(2, Side.SELL, 100, day=date(2026, 11, 25)),
              fill(3, Side.SELL, 100, ticker="VALE3"))
    assert [x.day_trade_quantity for x in out] == [0, 0, 0]


def test_day_figures_split_value_and_fees_pro_rata() -> None:
    # buy 100 @ R$10.00 fees 23; buy 100 @ R$11.00 fees 26; sell 150 @ R$12.00 fees 42
    fills = run(fill(1, Side.BUY, 100, 1000, 23), fill(2, Side.BUY, 100, 1100, 26), fill(3, Side.SELL, 150, 1200, 42))
    (fig,) = day_figures(fills)
    assert (fig.bought_quantity, fig.sold_quantity, fig.day_trade_quantity) == (200, 150, 150)
    assert fig.day_trade_buy_cents == 100 * 1000 + 50 * 1100 == 155_000
    assert fig.day_trade_sell_cents == 150 * 1200 == 180_000
    assert fig.fees_cents == 91
    assert fig.day_trade_fees_cents == 23 + 26 * 50 // 100 + 42 == 78


def test_the_wallet_classifies_each_fill_once_in_its_transaction() -> None:
    w = Wallet(MemoryStore())
    w.deposit(ACC, "d", 1_000_000)
    w.reserve(ACC, "b1", "PETR4", Side.BUY, 100, 3840, DAY)
    done = event(1, "b1", OrderEventType.FILLED, qty=100, price=3840, cum=100, leaves=0, fill=(100, 3840),
                 status=OrderStatus.FILLED)
    w.apply_order_event(done)
    w.apply_order_event(done)  # a redelivery is a duplicate: not classified twice
    w.reserve(ACC, "s1", "PETR4F", Side.SELL, 30, 3900, DAY)  # the fractional market is the same holding
    w.apply_order_event(event(1, "s1", OrderEventType.FILLED, side=OrderSide.SELL, qty=30, price=3900, cum=30,
                              leaves=0, fill=(30, 3900), status=OrderStatus.FILLED))
    trades = w.trades(ACC, DAY, DAY)
    assert [(t.order_id, t.ticker, t.side, t.quantity, t.day_trade_quantity) for t in trades] == [
        ("b1", "PETR4", Side.BUY, 100, 30), ("s1", "PETR4", Side.SELL, 30, 30)]
    assert w.trades(ACC, date(2026, 11, 25), None) == []
