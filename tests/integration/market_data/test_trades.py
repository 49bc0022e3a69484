"""Simulated mode over the real services: engine trades on Kafka -> the market-data-trades function, run in
the Lambda emulator by an on-demand Kafka mapping -> bars in MongoDB, the quote in Redis and on Kafka."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from kafka import KafkaProducer
from mybroker.b3.session import SAO_PAULO
from mybroker.contracts.exchange import TradeEvent
from mybroker.contracts.quotes import QuoteEvent, parse_quote_event
from mybroker.market_data.cache import QuoteCache
from mybroker.market_data.publisher import KafkaQuotePublisher
from mybroker.market_data.service import apply_trades
from mybroker.market_data.storage import MongoQuoteStore

from infra.declarations import Function, KafkaSource, System, Topic
from local_runtime.runtime import LocalRuntime
from tests.fixtures.harness import Probe, declare, undeclare
from tests.fixtures.kafka import consume_all
from tests.integration.market_data.conftest import FERRETDB, KAFKA

pytestmark = pytest.mark.stack

OPEN = datetime(2025, 11, 17, 10, 0, tzinfo=SAO_PAULO).astimezone(UTC)


def trade(seq: int, price: int, qty: int, at: datetime, instrument: str = "PETR4") -> TradeEvent:
    return TradeEvent(instrument=instrument, seq=seq, ts_ns=int(at.timestamp() * 1_000_000) * 1000, trade_id=seq,
                      price_cents=price, quantity=qty, aggressor_side="SELL")


def reference(ticker: str, price: int) -> QuoteEvent:
    return QuoteEvent(event_id=f"{ticker}:0:synthetic", ticker=ticker, ts=OPEN, trading_date=OPEN.date(),
                      last_cents=price, reference_cents=price, open_cents=price, high_cents=price, low_cents=price,
                      prev_close_cents=price - 50, source="synthetic", mode="simulated")


def minute_bar(store: MongoQuoteStore, ticker: str, at: datetime) -> Any:
    start = at.replace(second=0, microsecond=0)
    (bar,) = store.bars(ticker, "1m", start, start + timedelta(minutes=1))
    return bar


def test_trades_move_quotes_and_bars_once(ferret_db: Any, redis_client: Any, redis_prefix: str,
                                          kafka_topic: str) -> None:
    store, cache = MongoQuoteStore(ferret_db), QuoteCache(redis_client, redis_prefix)
    publisher = KafkaQuotePublisher.connect(kafka_topic)
    cache.put_many([reference("PETR4", 3800), reference("VALE3", 6100)])
    at = OPEN + timedelta(minutes=3, seconds=10)
    # one sell sweeping three PETR4 levels in the same instant, and a VALE3 print
    batch = [trade(10, 3805, 100, at), trade(11, 3803, 200, at), trade(12, 3801, 300, at),
             trade(4, 6090, 100, at, "VALE3")]
    try:
        report = apply_trades(batch, store, cache, publisher, "simulated")
        assert (report.applied, report.new_ticks, report.cached, report.published) == (4, 4, 2, 2)
        again = apply_trades(batch, store, cache, publisher, "simulated")  # a redelivered batch
        assert (again.applied, again.new_ticks, again.published) == (0, 0, 0)
        ignored = apply_trades([trade(13, 3900, 100, at)], store, cache, publisher, "mirror")
        assert ignored.ignored and ignored.applied == 0
    finally:
        publisher.close()
    petr = cache.latest("PETR4")
    assert petr is not None and (petr.last_cents, petr.reference_cents, petr.day_volume) == (3801, 3800, 600)
    assert (petr.high_cents, petr.low_cents, petr.trade_seq, petr.source) == (3805, 3800, 12, "trade")
    bar = minute_bar(store, "PETR4", at)
    assert (bar.open_cents, bar.high_cents, bar.low_cents, bar.close_cents) == (3805, 3805, 3801, 3801)
    assert (bar.volume, bar.trades, bar.notional_cents) == (600, 3, 3805 * 100 + 3803 * 200 + 3801 * 300)
    published = [parse_quote_event(r.value) for r in consume_all(kafka_topic, 2)]
    assert sorted((q.ticker, q.last_cents) for q in published) == [("PETR4", 3801), ("VALE3", 6090)]


@pytest.fixture
def trades_runtime(local_state: dict[str, str], redis_prefix: str,
                   kafka_topic: str) -> Iterator[tuple[System, str]]:
    run = uuid.uuid4().hex[:10]
    database = f"md_test_{run}"
    fn = Function(name=f"market-data-trades-{run}", code_dir="functions/market_data", handler="trades.handler",
                  timeout_s=30, concurrency=1, uses=("redis", "mongodb", "kafka"),
                  environment=(("MARKET_DATA_MODE", "simulated"), ("MARKET_DATA_DATABASE", database),
                               ("QUOTE_CACHE_PREFIX", redis_prefix), ("QUOTES_TOPIC", kafka_topic)))
    system = System(functions=(fn,), topics=(Topic(f"trades-test-{run}", partitions=2, key="ticker"),),
                    kafka_sources=(KafkaSource(f"trades-{run}", fn.name, f"trades-test-{run}", batch_size=100,
                                               batching_window_s=0.2, provisioned=False),))
    declare(system)
    rt = LocalRuntime(system, local_state, port=0, run_services=False, runtime_id=f"test-{run}")
    rt.start()
    try:
        yield system, database
    finally:
        rt.stop()
        undeclare(system)
        from pymongo import MongoClient

        client: Any = MongoClient(FERRETDB)
        client.drop_database(database)
        client.close()


def test_the_function_applies_engine_trades_from_kafka_and_skips_garbage(
        trades_runtime: tuple[System, str], redis_client: Any, redis_prefix: str) -> None:
    system, database = trades_runtime
    cache = QuoteCache(redis_client, redis_prefix)
    cache.put(reference("PETR4", 3800))
    at = OPEN + timedelta(minutes=20)
    producer = KafkaProducer(bootstrap_servers=KAFKA, acks="all")
    topic = system.topics[0].name
    records = [trade(1, 3810, 100, at).model_dump_json().encode(), b"not a trade",
               trade(2, 3820, 400, at + timedelta(seconds=2)).model_dump_json().encode()]
    for value in records + records:  # everything twice, as a producer retry would
        producer.send(topic, key=b"PETR4", value=value)
    producer.flush()
    producer.close()
    probe = Probe(uuid.uuid4().hex)

    def applied() -> bool:
        q = cache.latest("PETR4")
        return q is not None and q.trade_seq == 2

    probe.wait_for(applied, timeout=60)
    q = cache.latest("PETR4")
    assert q is not None and (q.last_cents, q.day_volume, q.high_cents) == (3820, 500, 3820)
    from pymongo import MongoClient

    client: Any = MongoClient(FERRETDB, tz_aware=True)
    try:
        bar = minute_bar(MongoQuoteStore(client[database]), "PETR4", at)
        assert (bar.open_cents, bar.close_cents, bar.volume, bar.trades) == (3810, 3820, 500, 2)
    finally:
        client.close()
