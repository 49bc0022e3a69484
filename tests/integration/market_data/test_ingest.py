"""Ingestion end to end over the real services: synthetic feed -> MongoDB bars -> Redis cache -> Kafka."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from mybroker.b3.session import SAO_PAULO
from mybroker.contracts.quotes import parse_quote_event
from mybroker.market_data.cache import QuoteCache
from mybroker.market_data.domain import ProviderQuote
from mybroker.market_data.provider import FetchResult
from mybroker.market_data.publisher import KafkaQuotePublisher
from mybroker.market_data.service import ingest_once
from mybroker.market_data.storage import MongoQuoteStore
from mybroker.market_data.synthetic import SyntheticFeed

from tests.fixtures.kafka import consume_all
from tests.integration.market_data.conftest import KAFKA

pytestmark = pytest.mark.stack

TICKERS = ("PETR4", "VALE3", "ITUB4")
OPEN = datetime(2025, 11, 17, 10, 0, tzinfo=SAO_PAULO)


@pytest.fixture
def parts(ferret_db: Any, redis_client: Any, redis_prefix: str, kafka_topic: str) -> Iterator[
        tuple[MongoQuoteStore, QuoteCache, KafkaQuotePublisher]]:
    publisher = KafkaQuotePublisher.connect(kafka_topic)
    yield MongoQuoteStore(ferret_db), QuoteCache(redis_client, redis_prefix), publisher
    publisher.close()


class Failing:
    name = "brapi"

    def fetch(self, tickers: Sequence[str], now: datetime) -> FetchResult:
        raise TimeoutError("provider took too long")


class Garbage:
    name = "brapi"

    def fetch(self, tickers: Sequence[str], now: datetime) -> FetchResult:
        return FetchResult(quotes=[ProviderQuote("PETR4", now, 3812, day_volume=100),
                                   ProviderQuote("VALE3", now, -5),
                                   ProviderQuote("ITUB4", now, 3500, 3600, 3000, 3100)],
                           failed={"BBDC4": "missing from the response"})


def test_a_session_of_ingestion(parts: tuple[MongoQuoteStore, QuoteCache, KafkaQuotePublisher],
                                kafka_topic: str) -> None:
    store, cache, publisher = parts
    feed = SyntheticFeed(seed=9)
    minutes = 30
    for m in range(minutes):
        report = ingest_once(OPEN + timedelta(minutes=m, seconds=5), TICKERS, feed, store, cache, publisher)
        assert report.events == 3 and report.published == 3 and not report.failed
    # the cache holds the feed's latest state
    last = feed.quote("PETR4", OPEN + timedelta(minutes=minutes - 1, seconds=5))
    cached = cache.latest("PETR4")
    assert cached is not None and cached.last_cents == last.last_cents and cached.day_volume == last.day_volume
    # bars: the daily volume equals the feed's cumulative volume, and 1m bars add up to it
    start, end = OPEN - timedelta(hours=1), OPEN + timedelta(hours=2)
    (day,) = store.bars("PETR4", "1d", start - timedelta(days=1), end)
    assert day.volume == last.day_volume and day.close_cents == last.last_cents
    assert sum(b.volume for b in store.bars("PETR4", "1m", start, end)) == last.day_volume
    assert len(store.bars("PETR4", "1m", start, end)) == minutes
    # kafka: keyed by ticker, values are the contract
    records = consume_all(kafka_topic, minutes * 3)
    assert len(records) >= minutes * 3
    mine = [r for r in records if r.key == b"PETR4"]
    events = [parse_quote_event(r.value) for r in mine]
    assert len({r.partition for r in mine}) == 1 and all(e.ticker == "PETR4" for e in events)
    assert events[-1].last_cents == last.last_cents


def test_retrying_the_same_event_changes_nothing(parts: tuple[MongoQuoteStore, QuoteCache, KafkaQuotePublisher]
                                                 ) -> None:
    store, cache, publisher = parts
    feed = SyntheticFeed(seed=9)
    now = OPEN + timedelta(minutes=42)
    first = ingest_once(now, TICKERS, feed, store, cache, publisher)
    again = ingest_once(now, TICKERS, feed, store, cache, publisher)
    assert first.new_ticks == 3 and again.new_ticks == 0 and again.bar_updates == 0
    (day,) = store.bars("PETR4", "1d", OPEN - timedelta(days=1), OPEN + timedelta(days=1))
    assert day.volume == feed.quote("PETR4", now).day_volume


def test_provider_failure_never_raises(parts: tuple[MongoQuoteStore, QuoteCache, KafkaQuotePublisher]) -> None:
    store, cache, publisher = parts
    report = ingest_once(OPEN + timedelta(minutes=1), TICKERS, Failing(), store, cache, publisher)
    assert report.provider_error is not None and "took too long" in report.provider_error and report.events == 0


def test_bad_records_are_skipped_and_the_rest_kept(parts: tuple[MongoQuoteStore, QuoteCache, KafkaQuotePublisher]
                                                   ) -> None:
    store, cache, publisher = parts
    report = ingest_once(OPEN + timedelta(minutes=1), TICKERS, Garbage(), store, cache, publisher)
    assert set(report.bad_records) == {"VALE3", "ITUB4"} and report.failed == {"BBDC4": "missing from the response"}
    assert report.events == 1 and cache.last_price_cents("PETR4") == 3812


def test_closed_market_is_skipped_and_empty_cache_rebuilt(
        parts: tuple[MongoQuoteStore, QuoteCache, KafkaQuotePublisher]) -> None:
    store, cache, publisher = parts
    ingest_once(OPEN + timedelta(minutes=3), TICKERS, SyntheticFeed(1), store, cache, publisher)
    cache.clear()
    holiday = datetime(2025, 11, 20, 12, 0, tzinfo=SAO_PAULO)
    report = ingest_once(holiday, TICKERS, SyntheticFeed(1), store, cache, publisher)
    assert report.skipped == "market closed" and report.cache_rebuilt == 3
    assert cache.latest("PETR4") is not None


def test_simulated_mode_sets_the_opening_reference_once(
        parts: tuple[MongoQuoteStore, QuoteCache, KafkaQuotePublisher]) -> None:
    store, cache, publisher = parts
    feed = SyntheticFeed(4)
    first = ingest_once(OPEN + timedelta(minutes=1), TICKERS, feed, store, cache, publisher, mode="simulated")
    later = ingest_once(OPEN + timedelta(minutes=30), TICKERS, feed, store, cache, publisher, mode="simulated")
    assert first.events == 3 and later.events == 0 and later.held == 3
    q = cache.latest("PETR4")
    opening = feed.quote("PETR4", OPEN + timedelta(minutes=1))
    assert q is not None and q.mode == "simulated" and q.reference_cents == opening.open_cents


def test_the_lambda_handler(monkeypatch: pytest.MonkeyPatch, ferret_db: Any, redis_client: Any, redis_prefix: str,
                            kafka_topic: str) -> None:
    from functions.market_data import ingest

    monkeypatch.setenv("MONGODB_URI", "mongodb://127.0.0.1:27017/")
    monkeypatch.setenv("MARKET_DATA_DATABASE", ferret_db.name)
    monkeypatch.setenv("QUOTE_CACHE_PREFIX", redis_prefix)
    monkeypatch.setenv("QUOTES_TOPIC", kafka_topic)
    monkeypatch.setenv("QUOTE_TICKERS", "PETR4,BOVA11")
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:6379/0")
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", KAFKA)
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "MyBrokerB3Test")
    from mybroker.market_data import config
    from mybroker.settings import settings

    settings.cache_clear()
    config.redis_client.cache_clear()
    config.mongo_client.cache_clear()
    ingest.deps.cache_clear()
    try:
        event = {"version": "0", "id": "e1", "detail-type": "Scheduled Event", "source": "aws.scheduler",
                 "time": "2025-11-17T13:15:00Z", "resources": [], "detail": {}}
        from tests.unit.market_data.helpers import CONTEXT

        out = ingest.handler(event, CONTEXT)
        assert out["events"] == 2 and out["published"] == 2 and out["now"].startswith("2025-11-17T13:15")
        cached = QuoteCache(redis_client, redis_prefix).latest("BOVA11")
        assert cached is not None and cached.ts == datetime(2025, 11, 17, 13, 15, tzinfo=UTC)
        json.dumps(out)
    finally:
        d = ingest.deps()
        d.publisher.close()  # type: ignore[attr-defined]
        ingest.deps.cache_clear()
        settings.cache_clear()
        config.redis_client.cache_clear()
        config.mongo_client.cache_clear()
