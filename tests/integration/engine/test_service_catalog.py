"""The engine service follows the asset catalog on the real Kafka: a listing published on its (own) assets
topic gets a book while the service runs, a late or repeated event changes nothing, a suspension refuses
orders at once, and after a restart on the same journal the listing, its suspension and the feed's position
are all still there (nothing re-applied), then a re-activation reopens the book through an auction."""

from __future__ import annotations

import random
import string
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from mybroker.contracts.assets import AssetEvent, AssetEventType, InstrumentState

from engine_service import catalog
from tests.integration.engine.engine_helpers import KAFKA, Reports, Topology
from tests.integration.engine.test_service_commands import new, send

pytestmark = pytest.mark.stack


@pytest.fixture
def topics(topology: Topology) -> Iterator[tuple[str, str, str]]:
    """(assets, trades, market-data) topics of this test only."""
    from kafka import KafkaAdminClient
    from kafka.admin import NewTopic

    tag = topology.queue.rsplit(".", 1)[-1]
    names = (f"test-assets-{tag}", f"test-trades-{tag}", f"test-market-data-{tag}")
    admin = KafkaAdminClient(bootstrap_servers=KAFKA, request_timeout_ms=10000)
    admin.create_topics([NewTopic(names[0], 2, 1), NewTopic(names[1], 1, 1), NewTopic(names[2], 1, 1)])
    yield names
    admin.delete_topics(list(names))
    admin.close()


def event(ticker: str, at: datetime, status: str = "ACTIVE", tick: int = 5, kind: AssetEventType | None = None,
          event_id: str | None = None) -> AssetEvent:
    return AssetEvent(
        event_id=event_id or str(uuid.uuid4()), ticker=ticker, occurred_at=at,
        event_type=kind or (AssetEventType.SUSPENDED if status == "SUSPENDED" else AssetEventType.UPDATED),
        instrument=InstrumentState(ticker=ticker, name=f"Test {ticker}", isin="BRZZZZACNOR0", kind="SHARE_ON",
                                   round_lot=100, tick_size_cents=tick, status=status, rejection_tunnel_pct=10,
                                   auction_tunnel_pct=5))


def publish(topic: str, *events: AssetEvent) -> None:
    from kafka import KafkaProducer

    producer = KafkaProducer(bootstrap_servers=KAFKA, acks="all")
    for e in events:
        producer.send(topic, key=e.ticker.encode(), value=e.to_json())
    producer.flush(timeout=30)
    producer.close()


def until(probe: Callable[[], Any], timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.05)


def reports_of(reports: Reports, coid: str, n: int = 1, timeout: float = 20.0) -> list[tuple[str, str]]:
    """(exec type, reason) of the reports of ``coid``, once there are ``n`` of them (or the time is up)."""
    deadline = time.monotonic() + timeout
    while True:
        got = [(b["exec_type"], b["reason"]) for b in reports.bodies() if b["client_order_id"] == coid]
        if len(got) >= n or time.monotonic() > deadline:
            return got
        reports.connection.process_data_events(time_limit=0.05)


def test_listing_suspension_restart_and_reactivation(channel: Any, topology: Topology, reports: Reports,
                                                     topics: tuple[str, str, str],
                                                     start_service: Callable[..., Any]) -> None:
    assets, trades, market_data = topics
    ticker = "ZQ" + "".join(random.choices(string.ascii_uppercase, k=2)) + "3"
    t0 = datetime(2026, 11, 16, 13, 0, tzinfo=UTC)
    kw = {"kafka": KAFKA, "catalog_topic": assets, "trades_topic": trades, "market_data_topic": market_data}
    running = start_service(**kw)
    assert ticker not in running.service.engine.books
    publish(assets, event(ticker, t0, kind=AssetEventType.CREATED))
    engine = running.service.engine
    assert until(lambda: f"{ticker}F" in engine.books and engine.phase(ticker) == "CONTINUOUS")
    assert (engine.book(ticker).tick, engine.book(ticker).lot, engine.book(f"{ticker}F").max_qty) == (5, 100, 99)
    send(channel, topology, new("off-tick", "BUY", 100, 1001, instrument=ticker),
         new("rest", "SELL", 100, 1000, instrument=ticker, investor="a"),
         new("cross", "BUY", 100, 1000, instrument=ticker, investor="b"))
    assert reports_of(reports, "off-tick") == [("REJECTED", "INVALID_TICK")]
    assert reports_of(reports, "rest", 2) == [("NEW", ""), ("FILLED", "")]
    assert reports_of(reports, "cross", 2) == [("NEW", ""), ("FILLED", "")]
    # a late event (older than the one applied) and a redelivery change nothing; a newer suspension halts
    created_again = event(ticker, t0, tick=1, kind=AssetEventType.CREATED)
    publish(assets, event(ticker, t0 - timedelta(minutes=1), status="SUSPENDED"), created_again,
            event(ticker, t0 + timedelta(minutes=1), status="SUSPENDED"))
    assert until(lambda: running.service.engine.phase(ticker) == "HALTED")
    send(channel, topology, new("halted", "BUY", 100, 1000, instrument=ticker))
    assert reports_of(reports, "halted") == [("REJECTED", "INSTRUMENT_SUSPENDED")]
    positions = dict(running.service.state.catalog_positions)
    assert sum(positions.values()) == 4  # the four events, wherever their partition
    running.stop()
    # a restart on the same journal: the listing and its suspension come back, nothing is read twice
    again = start_service(**kw)
    assert until(lambda: again.service.feed is not None)
    assert again.service.state.catalog_positions == positions
    assert again.service.engine.phase(ticker) == "HALTED" and again.service.engine.book(ticker).tick == 5
    send(channel, topology, new("still-halted", "BUY", 100, 1000, instrument=ticker))
    assert reports_of(reports, "still-halted") == [("REJECTED", "INSTRUMENT_SUSPENDED")]
    publish(assets, event(ticker, t0 + timedelta(minutes=2)))
    assert until(lambda: again.service.engine.phase(ticker) == "VOLATILITY_AUCTION")  # B3 reopens by auction
    send(channel, topology, new("reopened", "BUY", 100, 995, instrument=ticker))
    assert reports_of(reports, "reopened") == [("NEW", "")]
    again.stop()
    lines = [cid for _, cid, _ in again.service.journal.replay(0) if cid.startswith(catalog.PREFIX)]
    assert len(lines) == 5 and len(set(lines)) == 5  # each event journaled once, across the restart
