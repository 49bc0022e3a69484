"""Simulated mode: the engine's trades move the quote (last, high/low, volume) and never count twice."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from mybroker.b3.session import SAO_PAULO
from mybroker.contracts.exchange import TradeEvent
from mybroker.contracts.quotes import QuoteEvent
from mybroker.market_data.domain import trade_quote

OPEN = datetime(2025, 11, 17, 10, 0, tzinfo=SAO_PAULO).astimezone(UTC)


def trade(seq: int, price: int, qty: int, at: datetime, trade_id: int | None = None) -> TradeEvent:
    return TradeEvent(instrument="PETR4", seq=seq, ts_ns=int(at.timestamp() * 1_000_000) * 1000,
                      trade_id=trade_id or seq, price_cents=price, quantity=qty, aggressor_side="BUY")


def opening_reference(price: int = 3800, at: datetime = OPEN) -> QuoteEvent:
    return QuoteEvent(event_id="PETR4:0:synthetic", ticker="PETR4", ts=at, trading_date=date(2025, 11, 17),
                      last_cents=price, reference_cents=price, open_cents=price, high_cents=price,
                      low_cents=price, prev_close_cents=3750, source="synthetic", mode="simulated")


def test_trades_set_last_high_low_and_volume_but_not_the_reference() -> None:
    t = OPEN + timedelta(minutes=5)
    quote, ticks = trade_quote(opening_reference(), [trade(5, 3810, 100, t), trade(6, 3790, 200, t)])
    assert quote is not None
    assert (quote.last_cents, quote.reference_cents, quote.open_cents) == (3790, 3800, 3800)
    assert (quote.high_cents, quote.low_cents, quote.prev_close_cents) == (3810, 3790, 3750)
    assert (quote.day_volume, quote.tick_volume, quote.trade_seq) == (300, 300, 6)
    assert quote.source == "trade" and quote.mode == "simulated" and quote.phase == "CONTINUOUS"
    assert quote.event_id == "PETR4:trade:6" and quote.ts == t
    # one aggressor, one instant, two trades: two ticks told apart by trade id
    assert [(k.id, k.price_cents, k.quantity) for k in ticks] == [("PETR4|T5", 3810, 100), ("PETR4|T6", 3790, 200)]


def test_a_redelivered_batch_changes_nothing_and_an_overlapping_one_only_adds_what_is_new() -> None:
    t = OPEN + timedelta(minutes=5)
    first, _ = trade_quote(opening_reference(), [trade(5, 3810, 100, t), trade(6, 3790, 200, t)])
    assert trade_quote(first, [trade(5, 3810, 100, t), trade(6, 3790, 200, t)]) == (None, [])
    later, ticks = trade_quote(first, [trade(6, 3790, 200, t), trade(7, 3820, 300, t + timedelta(seconds=1))])
    assert later is not None and [k.trade_id for k in ticks] == [7]
    assert (later.last_cents, later.high_cents, later.day_volume, later.tick_volume) == (3820, 3820, 600, 300)


def test_a_trade_of_an_earlier_session_is_stale() -> None:
    yesterday = OPEN - timedelta(days=1) + timedelta(hours=3)
    assert trade_quote(opening_reference(), [trade(99, 3700, 100, yesterday)]) == (None, [])


def test_the_first_trade_of_a_new_session_opens_the_day() -> None:
    day1, _ = trade_quote(opening_reference(), [trade(5, 3900, 100, OPEN + timedelta(hours=2))])
    assert day1 is not None
    next_day = OPEN + timedelta(days=1, minutes=1)
    quote, _ = trade_quote(day1, [trade(3, 3950, 100, next_day)])  # sequence numbers need not keep growing
    assert quote is not None and quote.trading_date == date(2025, 11, 18)
    assert (quote.prev_close_cents, quote.open_cents, quote.reference_cents) == (3900, 3950, 3950)
    assert (quote.day_volume, quote.high_cents, quote.low_cents) == (100, 3950, 3950)


def test_without_any_quote_the_first_trade_is_the_reference() -> None:
    quote, _ = trade_quote(None, [trade(1, 3800, 100, OPEN)])
    assert quote is not None and quote.reference_cents == quote.last_cents == 3800
    assert quote.prev_close_cents is None


def test_an_auction_trade_before_the_feed_quote_of_the_day_keeps_the_quote_time_monotonic() -> None:
    feed_at = OPEN + timedelta(minutes=1)
    quote, _ = trade_quote(opening_reference(at=feed_at), [trade(1, 3805, 500, OPEN)])
    assert quote is not None and quote.ts == feed_at and quote.last_cents == 3805
