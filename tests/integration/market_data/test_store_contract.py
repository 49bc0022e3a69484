"""One contract for every quote-history store: FerretDB always, a real MongoDB when MONGODB_URI says so."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from mybroker.b3.session import SAO_PAULO
from mybroker.market_data.domain import Bar, Tick, day_start
from mybroker.market_data.storage import MongoQuoteStore

pytestmark = pytest.mark.stack

T0 = datetime(2025, 11, 17, 13, 0, 10, tzinfo=UTC)  # 10:00:10 São Paulo


def tick(sec: int, price: int, qty: int, ticker: str = "PETR4") -> Tick:
    return Tick(ticker, T0 + timedelta(seconds=sec), price, qty, "synthetic")


@pytest.fixture
def store(mongo_db: Any) -> MongoQuoteStore:
    s = MongoQuoteStore(mongo_db, prefix="c_")
    s.ensure_schema()
    return s


def test_schema_indexes_and_tick_storage_kind(store: MongoQuoteStore) -> None:
    assert store.tick_storage in ("timeseries", "regular")
    names = {i["name"] for i in store.bars_collection.list_indexes()}
    assert "ticker_interval_start" in names
    store.ensure_schema()  # idempotent


def test_bars_follow_ticks(store: MongoQuoteStore) -> None:
    ticks = [tick(0, 3800, 100), tick(20, 3850, 200), tick(40, 3790, 300), tick(70, 3810, 50)]
    r = store.record_ticks(ticks)
    assert r.new_ticks == 4 and r.duplicate_ticks == 0
    m1 = store.bars("PETR4", "1m", T0 - timedelta(hours=1), T0 + timedelta(hours=1))
    assert [(b.open_cents, b.high_cents, b.low_cents, b.close_cents, b.volume, b.trades) for b in m1] == [
        (3800, 3850, 3790, 3790, 600, 3), (3810, 3810, 3810, 3810, 50, 1)]
    d1 = store.bars("PETR4", "1d", T0 - timedelta(days=1), T0 + timedelta(days=1))
    assert len(d1) == 1 and d1[0].start == day_start(T0.astimezone(SAO_PAULO).date())
    assert (d1[0].open_cents, d1[0].high_cents, d1[0].low_cents, d1[0].close_cents, d1[0].volume) == (
        3800, 3850, 3790, 3810, 650)
    assert d1[0].notional_cents == 3800 * 100 + 3850 * 200 + 3790 * 300 + 3810 * 50
    for interval in ("5m", "1h"):
        (b,) = store.bars("PETR4", interval, T0 - timedelta(hours=1), T0 + timedelta(hours=1))
        assert b.volume == 650 and b.close_cents == 3810


def test_reingesting_ticks_never_double_counts(store: MongoQuoteStore) -> None:
    ticks = [tick(0, 3800, 100), tick(20, 3850, 200)]
    store.record_ticks(ticks)
    again = store.record_ticks(ticks)
    assert again.new_ticks == 0 and again.duplicate_ticks == 2 and again.bar_updates == 0
    store.record_ticks([ticks[1], tick(30, 3700, 10)])  # a retried batch overlapping a new tick
    (b,) = store.bars("PETR4", "1m", T0 - timedelta(hours=1), T0 + timedelta(hours=1))
    assert b.volume == 310 and b.trades == 3 and b.low_cents == 3700
    assert store.ticks.count_documents({"ticker": "PETR4"}) == 3


def test_late_ticks_are_kept_but_not_applied(store: MongoQuoteStore) -> None:
    store.record_ticks([tick(30, 3800, 100)])
    r = store.record_ticks([tick(10, 9999, 100)])
    assert r.new_ticks == 1 and r.bar_updates == 0
    (b,) = store.bars("PETR4", "1m", T0 - timedelta(hours=1), T0 + timedelta(hours=1))
    assert b.high_cents == 3800 and b.volume == 100


def test_several_ticks_of_one_ticker_in_one_call(store: MongoQuoteStore) -> None:
    ticks = [tick(s, 3800 + s, 10) for s in range(0, 600, 15)] + [tick(s, 6000, 5, "VALE3") for s in range(0, 600, 60)]
    store.record_ticks(ticks)
    m1 = store.bars("PETR4", "1m", T0 - timedelta(hours=1), T0 + timedelta(hours=1))
    assert sum(b.volume for b in m1) == 400 and len(m1) == 10
    (h,) = store.bars("VALE3", "1h", T0 - timedelta(hours=1), T0 + timedelta(hours=1))
    assert h.volume == 50 and h.trades == 10


def test_history_range_limit_and_order(store: MongoQuoteStore) -> None:
    store.record_ticks([tick(60 * m, 3800 + m, 1) for m in range(30)])
    minute0 = T0.replace(second=0)
    got = store.bars("PETR4", "1m", minute0 + timedelta(minutes=5), minute0 + timedelta(minutes=10))
    assert [b.close_cents for b in got] == [3805, 3806, 3807, 3808, 3809]  # start in [start, end)
    limited = store.bars("PETR4", "1m", T0 - timedelta(hours=1), T0 + timedelta(hours=1), limit=3)
    assert [b.close_cents for b in limited] == [3800, 3801, 3802]
    assert store.bars("VALE3", "1m", T0 - timedelta(hours=1), T0 + timedelta(hours=1)) == []


def test_prices_are_integers_in_storage(store: MongoQuoteStore) -> None:
    store.record_ticks([tick(0, 3800, 100)])
    doc = store.bars_collection.find_one({"interval": "1m"})
    assert doc is not None and all(type(doc[k]) is int for k in ("open", "high", "low", "close", "volume"))
    tdoc = store.ticks.find_one({})
    assert tdoc is not None and type(tdoc["price"]) is int


def test_whole_bar_upserts_are_idempotent(store: MongoQuoteStore) -> None:
    d = datetime(2025, 1, 2).date()
    bars = [Bar("PETR4", "1d", day_start(d), 3700, 3755, 3690, 3744, volume=10, trades=2, source="cotahist")]
    first = store.upsert_bars(bars)
    second = store.upsert_bars(bars)
    assert (first.inserted, second.inserted, second.unchanged) == (1, 0, 1)
    assert store.bars_collection.count_documents({}) == 1
    corrected = [Bar("PETR4", "1d", day_start(d), 3700, 3760, 3690, 3750, volume=10, trades=2, source="cotahist")]
    assert store.upsert_bars(corrected).unchanged == 1  # kept as stored by default
    assert store.upsert_bars(corrected, refresh=True).modified == 1
    assert store.upsert_bars(corrected, refresh=True).unchanged == 1
    (b,) = store.bars("PETR4", "1d", day_start(d), day_start(d) + timedelta(days=1))
    assert b.close_cents == 3750


def test_latest_quote_rebuilt_from_daily_bars(store: MongoQuoteStore) -> None:
    store.record_ticks([Tick("PETR4", T0 - timedelta(days=3), 3700, 100, "synthetic"), tick(0, 3800, 100),
                        tick(30, 3820, 50)])
    q = store.latest_quote("PETR4")
    assert q is not None and q.last_cents == 3820 and q.prev_close_cents == 3700 and q.day_volume == 150
    assert q.source == "rebuild" and q.ts == T0 + timedelta(seconds=30)
    assert store.known("PETR4") and not store.known("VALE3") and store.latest_quote("VALE3") is None
    assert [x.ticker for x in store.latest_quotes()] == ["PETR4"]
