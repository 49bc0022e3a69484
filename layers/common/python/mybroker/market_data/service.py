"""One ingestion pass: fetch from the provider, then store ticks/bars, refresh the hot cache, publish.

Plain Python over the small interfaces (provider, store, cache, publisher); the ingest handler wires the
real adapters and turns the report into logs and metrics.

Failure policy: a provider failure (down, slow, over quota, garbage) never raises: it is reported and the
pass keeps whatever arrived. A bad record is reported and skipped. A failure of our own infrastructure
(MongoDB, Redis, Kafka) does raise, so the asynchronous invocation is retried; every step is idempotent
(tick keys, the bars' ``last_ts`` guard, the cache's timestamp guard, stable event ids), so a retry is safe.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from mybroker.contracts.exchange import TradeEvent
from mybroker.contracts.quotes import MarketDataMode, QuoteEvent, QuoteSource
from mybroker.market_data.cache import QuoteCache
from mybroker.market_data.domain import BadRecord, Tick, quote_event, should_ingest, tick_of, trade_quote
from mybroker.market_data.provider import FetchResult, QuoteProvider
from mybroker.market_data.publisher import QuotePublisher
from mybroker.market_data.storage import QuoteStore

log = logging.getLogger(__name__)


@dataclass
class IngestReport:
    now: datetime
    skipped: str | None = None  # why nothing was fetched (closed market)
    provider_error: str | None = None
    fetched: int = 0
    failed: dict[str, str] = field(default_factory=dict)
    bad_records: dict[str, str] = field(default_factory=dict)
    stale: int = 0
    held: int = 0  # simulated mode: quotes after the opening reference
    events: int = 0
    new_ticks: int = 0
    bar_updates: int = 0
    cached: int = 0
    published: int = 0
    cache_rebuilt: int | None = None
    requests: int = 0
    retries: int = 0
    duration_ms: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        d = dict(self.__dict__)
        d["now"] = self.now.isoformat()
        return d


def ingest_once(now: datetime, tickers: Sequence[str], provider: QuoteProvider, store: QuoteStore,
                cache: QuoteCache, publisher: QuotePublisher, mode: MarketDataMode = "mirror",
                always: bool = False) -> IngestReport:
    t0 = time.perf_counter()
    report = IngestReport(now=now)
    if cache.is_empty():
        report.cache_rebuilt = cache.rebuild(store, None)
    if not should_ingest(now, always):
        report.skipped = "market closed"
        report.duration_ms = (time.perf_counter() - t0) * 1000
        return report
    try:
        result = provider.fetch(tickers, now)
    except Exception as exc:  # the provider is outside our control: never let it stop the schedule
        log.warning("quote provider %s failed: %s", provider.name, exc)
        report.provider_error = f"{type(exc).__name__}: {exc}"
        result = FetchResult()
    report.fetched, report.failed = len(result.quotes), dict(result.failed)
    report.requests, report.retries = result.requests, result.retries
    source: QuoteSource = "brapi" if provider.name == "brapi" else "synthetic"
    previous = cache.latest_many(q.ticker for q in result.quotes)
    events: list[QuoteEvent] = []
    for q in result.quotes:
        try:
            event = quote_event(q, previous.get(q.ticker), source, mode)
        except (BadRecord, ValueError) as exc:  # pydantic's ValidationError is a ValueError
            report.bad_records[str(getattr(q, "ticker", "?"))] = str(exc).splitlines()[0]
            continue
        if event is None:
            if mode == "simulated":
                report.held += 1
            else:
                report.stale += 1
            continue
        events.append(event)
    report.events = len(events)
    if events:
        recorded = store.record_ticks([tick_of(e) for e in events])
        report.new_ticks, report.bar_updates = recorded.new_ticks, recorded.bar_updates
        report.cached = cache.put_many(events)
        report.published = publisher.publish(events)
    report.duration_ms = (time.perf_counter() - t0) * 1000
    return report


@dataclass
class TradesReport:
    trades: int = 0
    ignored: str | None = None  # why the batch changed nothing (mirror mode)
    applied: int = 0  # new trades (the rest were redelivered or stale)
    new_ticks: int = 0
    bar_updates: int = 0
    cached: int = 0
    published: int = 0
    duration_ms: float = 0.0


def apply_trades(trades: Sequence[TradeEvent], store: QuoteStore, cache: QuoteCache, publisher: QuotePublisher,
                 mode: MarketDataMode) -> TradesReport:
    """Simulated mode: the engine's trades set the last price, the day's high/low/volume and the bars.

    Per instrument, in sequence order: the new quote from the cached one (:func:`trade_quote`), the trades
    as ticks into the bars, then the quote into the cache and onto Kafka. Every step is idempotent (tick ids
    are trade ids, the quote's ``trade_seq``, stable event ids), so a redelivered batch changes nothing.
    In mirror mode the feed owns prices and trades are left alone."""
    t0 = time.perf_counter()
    report = TradesReport(trades=len(trades))
    if mode != "simulated":
        report.ignored = "mirror mode: the feed sets prices"
        return report
    per_instrument: dict[str, list[TradeEvent]] = defaultdict(list)
    for trade in trades:
        per_instrument[trade.instrument].append(trade)
    previous = cache.latest_many(per_instrument)
    quotes: list[QuoteEvent] = []
    ticks: list[Tick] = []
    for instrument, own in per_instrument.items():
        quote, new_ticks = trade_quote(previous.get(instrument), sorted(own, key=lambda t: t.seq))
        if quote is not None:
            quotes.append(quote)
            ticks.extend(new_ticks)
    report.applied = len(ticks)
    if ticks:
        recorded = store.record_ticks(ticks)
        report.new_ticks, report.bar_updates = recorded.new_ticks, recorded.bar_updates
        report.cached = cache.put_many(quotes)
        report.published = publisher.publish(quotes)
    report.duration_ms = (time.perf_counter() - t0) * 1000
    return report
