"""The Redis hot cache: key layout, monotonic writes, many-ticker reads, rebuild from MongoDB, read latency."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from mybroker.contracts.quotes import QuoteEvent
from mybroker.market_data.cache import QuoteCache
from mybroker.market_data.domain import Tick
from mybroker.market_data.storage import MongoQuoteStore

pytestmark = pytest.mark.stack

TS = datetime(2025, 11, 17, 14, 0, tzinfo=UTC)


def ev(ticker: str = "PETR4", last: int = 3812, ts: datetime = TS) -> QuoteEvent:
    return QuoteEvent(event_id=QuoteEvent.make_id(ticker, ts, "synthetic"), ticker=ticker, ts=ts,
                      trading_date=date(2025, 11, 17), last_cents=last, reference_cents=last, source="synthetic")


@pytest.fixture
def cache(redis_client: Any, redis_prefix: str) -> QuoteCache:
    return QuoteCache(redis_client, prefix=redis_prefix)


def test_key_layout(cache: QuoteCache, redis_client: Any, redis_prefix: str) -> None:
    assert cache.is_empty()
    assert cache.put(ev())
    raw = json.loads(redis_client.get(f"{redis_prefix}quote:PETR4"))
    assert raw["last_cents"] == 3812 and raw["schema_version"] == 1
    assert redis_client.zscore(f"{redis_prefix}quotes", "PETR4") == TS.timestamp() * 1000
    assert not cache.is_empty() and cache.tickers() == ["PETR4"]


def test_reads(cache: QuoteCache) -> None:
    cache.put_many([ev("PETR4", 3812), ev("VALE3", 6150)])
    assert cache.last_price_cents("PETR4") == 3812 and cache.reference_price_cents("VALE3") == 6150
    assert cache.latest("ITUB4") is None and cache.last_price_cents("ITUB4") is None
    many = cache.latest_many(["VALE3", "ITUB4", "PETR4"])
    assert sorted(many) == ["PETR4", "VALE3"] and many["VALE3"].last_cents == 6150


def test_older_quotes_never_overwrite_newer(cache: QuoteCache) -> None:
    assert cache.put(ev(last=3812))
    assert not cache.put(ev(last=3000, ts=TS - timedelta(minutes=1)))
    assert cache.put(ev(last=3900, ts=TS + timedelta(minutes=1)))
    assert cache.last_price_cents("PETR4") == 3900


def test_unreadable_entry_is_a_miss(cache: QuoteCache, redis_client: Any) -> None:
    redis_client.set(cache.key("PETR4"), b"{not json")
    assert cache.latest("PETR4") is None


def test_rebuild_from_mongo(cache: QuoteCache, ferret_db: Any) -> None:
    store = MongoQuoteStore(ferret_db)
    store.record_ticks([Tick("PETR4", TS, 3812, 100, "synthetic"), Tick("VALE3", TS, 6150, 10, "synthetic")])
    assert cache.rebuild(store) == 2
    assert cache.last_price_cents("PETR4") == 3812 and cache.latest("VALE3") is not None
