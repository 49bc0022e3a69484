"""market-data-api over real Redis and MongoDB: latest quotes, several tickers, history, unknown tickers."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from mybroker.market_data.cache import QuoteCache
from mybroker.market_data.publisher import KafkaQuotePublisher
from mybroker.market_data.service import ingest_once
from mybroker.market_data.storage import MongoQuoteStore
from mybroker.market_data.synthetic import SyntheticFeed

from functions.market_data import handler
from tests.integration.market_data.test_ingest import OPEN
from tests.unit.market_data.helpers import call

pytestmark = pytest.mark.stack


@pytest.fixture
def loaded(ferret_db: Any, redis_client: Any, redis_prefix: str, kafka_topic: str,
           monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[MongoQuoteStore, QuoteCache]]:
    store, cache = MongoQuoteStore(ferret_db), QuoteCache(redis_client, redis_prefix)
    publisher = KafkaQuotePublisher.connect(kafka_topic)
    feed = SyntheticFeed(seed=5)
    for m in range(0, 20):
        ingest_once(OPEN + timedelta(minutes=m, seconds=1), ("PETR4", "VALE3"), feed, store, cache, publisher)
    publisher.close()
    monkeypatch.setattr(handler, "store", lambda: store)
    monkeypatch.setattr(handler, "quote_cache", lambda: cache)
    yield store, cache


def test_latest_quote(loaded: tuple[MongoQuoteStore, QuoteCache]) -> None:
    status, body = call(handler.handler, "/quotes/petr4")
    assert status == 200 and body["ticker"] == "PETR4" and isinstance(body["lastCents"], int)
    assert body["lastCents"] == loaded[1].last_price_cents("PETR4")


def test_unknown_ticker_is_404(loaded: tuple[MongoQuoteStore, QuoteCache]) -> None:
    status, body = call(handler.handler, "/quotes/ZZZZ3")
    assert status == 404 and body["code"] == "UNKNOWN_INSTRUMENT"
    status, body = call(handler.handler, "/quotes/ZZZZ3/history")
    assert status == 404 and body["code"] == "UNKNOWN_INSTRUMENT"


def test_several_quotes_with_missing(loaded: tuple[MongoQuoteStore, QuoteCache]) -> None:
    status, body = call(handler.handler, "/quotes", {"tickers": "VALE3,ZZZZ3,petr4"})
    assert status == 200
    assert [q["ticker"] for q in body["quotes"]] == ["VALE3", "PETR4"] and body["missing"] == ["ZZZZ3"]


def test_falls_back_to_mongo_when_the_cache_is_cold(loaded: tuple[MongoQuoteStore, QuoteCache]) -> None:
    loaded[1].clear()
    status, body = call(handler.handler, "/quotes/VALE3")
    assert status == 200 and body["source"] == "rebuild"


def test_history(loaded: tuple[MongoQuoteStore, QuoteCache]) -> None:
    q = {"interval": "1m", "start": "2025-11-17T10:00:00", "end": "2025-11-17T10:10:00"}  # naive = São Paulo
    status, body = call(handler.handler, "/quotes/PETR4/history", q)
    assert status == 200, body
    assert len(body["bars"]) == 10 and body["interval"] == "1m"
    assert all(b["lowCents"] <= b["closeCents"] <= b["highCents"] for b in body["bars"])
    status, body = call(handler.handler, "/quotes/PETR4/history", {"interval": "5m", "start": "2025-11-17T13:00:00Z",
                                                                     "end": "2025-11-17T14:00:00Z"})
    assert status == 200 and len(body["bars"]) == 4
    status, body = call(handler.handler, "/quotes/PETR4/history", {"interval": "1d", "start": "2025-11-01",
                                                                     "end": "2025-11-30"})
    assert status == 200 and len(body["bars"]) == 1
    status, body = call(handler.handler, "/quotes/PETR4/history", {"interval": "1d", "start": "2020-01-01",
                                                                     "end": "2020-02-01"})
    assert status == 200 and body["bars"] == []  # known ticker, empty range


def test_store_outage_is_503_not_500(loaded: tuple[MongoQuoteStore, QuoteCache], monkeypatch: pytest.MonkeyPatch
                                     ) -> None:
    def broken() -> Any:
        raise ConnectionError("mongo down")

    monkeypatch.setattr(handler, "store", broken)
    status, body = call(handler.handler, "/quotes/ZZZZ3")
    assert status == 503 and body["code"] == "UNAVAILABLE"
