"""The exchange as a long-running service around the pure core.

Per batch of broker messages: translate each command, append it to the journal, apply it to the
engine; fsync the journal; publish the outputs (execution reports to RabbitMQ with publisher confirms,
market data to Kafka, the book to Redis); then acknowledge the batch. The engine's own inputs (clock
ticks, reference prices) are journaled the same way. A crash loses nothing that was acknowledged, and
on restart the journal replay re-publishes every output not known to be published: the deterministic
exec ids make that idempotent downstream.

Execution reports (and dead letters) are published without waiting message by message: the whole batch is
written, then the service waits once for the broker's publisher confirms of all of it (:class:`ConfirmedChannel`),
and only then acknowledges the batch's inputs. A nack or a lost connection stops the service before the ack;
the restart replays the journal and re-publishes.

Configurable for tests and for splitting instruments across processes: the input queue (env ``ENGINE_QUEUE``),
the output exchange (``ENGINE_OUTPUT_EXCHANGE``), the dead-letter exchange and routing key
(``ENGINE_DEAD_LETTER_EXCHANGE``, ``ENGINE_DEAD_LETTER_ROUTING_KEY``, default ``<queue>.dlq``), the Kafka
topics, the clock (``clock=`` any object with ``now_ns()``; ``auto_clock=False`` sends no clock ticks at all)
and the reference-price refresh from the quote cache (``reference_refresh=False``).
"""

from __future__ import annotations

import json
import logging
import os
import pickle
import signal
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mybroker.contracts.assets import TOPIC as ASSETS_TOPIC
from mybroker.contracts.assets import parse_asset_event
from mybroker.contracts.engine import DEAD_LETTER_EXCHANGE, parse_command, report_routing_key
from mybroker.contracts.exchange import (
    BOOK_KEY,
    MARKET_DATA_TOPIC,
    OPEN_ORDERS_KEY,
    TRADES_TOPIC,
    AuctionEvent,
    BookSnapshot,
    BookTopEvent,
    DepthEvent,
    PhaseEvent,
    PriceLevel,
    TradeEvent,
)
from pydantic import ValidationError

from engine_service import catalog
from engine_service.core import (
    AuctionInfo,
    ClockTick,
    DepthUpdate,
    Engine,
    ExecutionReport,
    Input,
    InstrumentConfig,
    Output,
    PhaseChange,
    Quote,
    SessionCalendar,
    SetReferencePrice,
    Trade,
    decode_input,
    encode_input,
)
from engine_service.translate import to_input, to_message

log = logging.getLogger("engine_service")

INPUT_EXCHANGE = "engine.input"
OUTPUT_EXCHANGE = "engine.output"
AGENT_PREFIX = "MM-"  # investor ids of the liquidity agents: their reports go to agent-report.<instrument>
TERMINAL = frozenset({"FILLED", "CANCELED", "REJECTED", "EXPIRED"})


@dataclass
class ServiceState:
    """Everything besides the engine that replay must rebuild: kept in snapshots."""

    order_ids: dict[str, int] = field(default_factory=dict)  # client order id -> engine order id
    seen_commands: OrderedDict[str, None] = field(default_factory=OrderedDict)
    max_seen: int = 500_000
    catalog_positions: dict[int, int] = field(default_factory=dict)  # assets partition -> next offset to read

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update({"catalog_positions": {}, **state})  # snapshots from before the catalog feed

    def remember(self, command_id: str) -> None:
        position = catalog.position_of(command_id)
        if position is not None:  # a catalog event: where the feed goes on from, not a broker command
            self.catalog_positions[position[0]] = position[1]
            return
        self.seen_commands[command_id] = None
        if len(self.seen_commands) > self.max_seen:
            self.seen_commands.popitem(last=False)

    def learn(self, outputs: list[Output]) -> None:
        for o in outputs:
            if isinstance(o, ExecutionReport):
                if o.exec_type == "NEW" or o.exec_type == "REPLACED":
                    self.order_ids[o.client_order_id] = o.order_id
                elif o.exec_type in TERMINAL and o.leaves_qty == 0:
                    self.order_ids.pop(o.client_order_id, None)


def load_instruments() -> list[InstrumentConfig]:
    """What a new journal starts from: the catalog's seed (tunnels from percent to bps). Every change since
    (listings, edits, suspensions) comes from the ``assets`` topic, read from its beginning (``catalog.py``)."""
    from mybroker.assets.seed import SEED

    return [InstrumentConfig(i.ticker, 0, i.round_lot, i.tick_size_cents, i.rejection_tunnel_pct * 100,
                             i.auction_tunnel_pct * 100) for i in SEED]


def b3_calendar() -> SessionCalendar:
    from mybroker.b3.calendar import holidays

    year = datetime.now(UTC).year
    days = [d for y in range(year - 1, year + 3) for d in holidays(y)]
    return SessionCalendar(days)


class ConfirmedChannel:
    """Publishes on a pika channel in confirm mode without waiting per message; :meth:`wait` blocks until
    the broker has confirmed everything published so far (one round trip per batch instead of per message).

    Uses the asynchronous channel under pika's ``BlockingChannel`` (``channel._impl``): the blocking
    adapter's own ``basic_publish`` waits for each confirm, which caps the service at a few hundred
    messages a second.
    """

    def __init__(self, connection: Any, channel: Any, timeout_s: float = 30.0, per_message: bool = False) -> None:
        self.connection = connection
        self.per_message = per_message  # wait for each confirm (the old behaviour; for the benchmark)
        self.impl = channel._impl
        self.timeout_s = timeout_s
        self.next_tag = 0  # delivery tag of the last message published
        self.outstanding: set[int] = set()
        self.nacked = 0
        ready: list[bool] = []
        self.impl.confirm_delivery(ack_nack_callback=self._on_confirm, callback=lambda _frame: ready.append(True))
        deadline = time.monotonic() + timeout_s
        while not ready:
            if time.monotonic() > deadline:
                raise TimeoutError("the broker did not enable publisher confirms")
            connection.process_data_events(time_limit=0.05)

    def _on_confirm(self, frame: Any) -> None:
        method = frame.method
        tag: int = method.delivery_tag
        if method.NAME.endswith("Nack"):
            self.nacked += 1
        if method.multiple:
            self.outstanding = {t for t in self.outstanding if t > tag}
        else:
            self.outstanding.discard(tag)

    def publish(self, exchange: str, routing_key: str, body: bytes, properties: Any) -> None:
        self.impl.basic_publish(exchange, routing_key, body, properties)
        self.next_tag += 1
        self.outstanding.add(self.next_tag)
        if self.per_message:
            self.wait()

    def wait(self) -> None:
        """Returns when every message published so far is confirmed; raises on a nack or a timeout (the
        caller must then not acknowledge its inputs)."""
        deadline = time.monotonic() + self.timeout_s
        while self.outstanding:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{len(self.outstanding)} publisher confirms missing")
            self.connection.process_data_events(time_limit=0.01)
        if self.nacked:
            raise RuntimeError(f"the broker refused {self.nacked} published messages")


class Publisher:
    """Where outputs go. Execution reports: RabbitMQ, confirmed; market data: Kafka; book: Redis.

    :meth:`publish` only sends; the caller confirms with ``out.wait()`` before acknowledging inputs."""

    def __init__(self, out: ConfirmedChannel | None, producer: Any, redis: Any, output_exchange: str = OUTPUT_EXCHANGE,
                 trades_topic: str = TRADES_TOPIC, market_data_topic: str = MARKET_DATA_TOPIC) -> None:
        self.out = out
        self.producer = producer
        self.redis = redis
        self.output_exchange = output_exchange
        self.trades_topic = trades_topic
        self.market_data_topic = market_data_topic

    def publish(self, outputs: list[Output], engine: Engine) -> None:
        import pika

        touched: set[str] = set()
        pipe = self.redis.pipeline(transaction=False) if self.redis is not None else None
        for o in outputs:
            if isinstance(o, ExecutionReport):
                body = report_json(o)
                agent = o.investor_id.startswith(AGENT_PREFIX)
                key = f"agent-report.{o.instrument}" if agent else report_routing_key(o.instrument)
                if self.out is not None:
                    self.out.publish(self.output_exchange, key, body, pika.BasicProperties(
                        content_type="application/json", delivery_mode=2,
                        message_id=f"{o.instrument}:{o.exec_id}", type="ExecutionReport"))
                if pipe is not None:
                    open_key = OPEN_ORDERS_KEY.format(instrument=o.instrument)
                    if o.exec_type == "REPLACED" and o.orig_client_order_id:
                        pipe.hdel(open_key, o.orig_client_order_id)
                    if o.leaves_qty > 0 and o.exec_type not in TERMINAL:
                        pipe.hset(open_key, o.client_order_id, o.leaves_qty)
                    else:
                        pipe.hdel(open_key, o.client_order_id)
                continue
            event: TradeEvent | BookTopEvent | DepthEvent | PhaseEvent | AuctionEvent
            topic = self.market_data_topic
            if isinstance(o, Trade):
                event = TradeEvent(instrument=o.instrument, seq=o.seq, ts_ns=o.ts, trade_id=o.trade_id,
                                   price_cents=o.price, quantity=o.qty, aggressor_side=o.aggressor_side)
                topic = self.trades_topic
            elif isinstance(o, Quote):
                event = BookTopEvent(instrument=o.instrument, seq=o.seq, ts_ns=o.ts, bid_cents=o.bid_price,
                                     bid_quantity=o.bid_qty, ask_cents=o.ask_price, ask_quantity=o.ask_qty)
            elif isinstance(o, DepthUpdate):
                event = DepthEvent(instrument=o.instrument, seq=o.seq, ts_ns=o.ts, side=o.side,
                                   price_cents=o.price, quantity=o.qty, order_count=o.order_count)
            elif isinstance(o, PhaseChange):
                event = PhaseEvent(instrument=o.instrument, seq=o.seq, ts_ns=o.ts, phase=o.phase,
                                   auction_end_ns=o.auction_end_ns)
            elif isinstance(o, AuctionInfo):
                event = AuctionEvent(instrument=o.instrument, seq=o.seq, ts_ns=o.ts,
                                     indicative_price_cents=o.indicative_price, indicative_quantity=o.indicative_qty,
                                     imbalance_side=o.imbalance_side, imbalance_quantity=o.imbalance_qty)
            else:
                continue
            touched.add(event.instrument)
            if self.producer is not None:
                self.producer.send(topic, key=event.instrument.encode(), value=event.model_dump_json().encode())
        if pipe is not None:
            for instrument in touched:
                if instrument in engine.books:
                    pipe.set(BOOK_KEY.format(instrument=instrument), book_snapshot(engine, instrument))
            pipe.execute()
        if self.producer is not None and touched:
            self.producer.flush(timeout=30)


def report_json(r: ExecutionReport) -> bytes:
    """The wire body of a report: ``to_message(r).model_dump_json()`` (validated), bytes."""
    return to_message(r).model_dump_json().encode()


def book_snapshot(engine: Engine, instrument: str, levels: int = 10) -> str:
    """The book as the market-data API serves it: displayed quantities only (an iceberg's hidden part is not
    published, as on B3)."""
    book = engine.book(instrument)
    bids, asks = book.displayed_levels(levels)

    def agg(side: list[tuple[int, int, int]]) -> list[PriceLevel]:
        return [PriceLevel(price_cents=p, quantity=q, orders=n) for p, q, n in side]

    return BookSnapshot(instrument=instrument, seq=book.seq, phase=book.phase,
                        reference_price_cents=book.reference_price, last_price_cents=book.last_price,
                        bids=agg(bids), asks=agg(asks)).model_dump_json()


class EngineService:
    def __init__(self, journal_dir: Path, amqp_url: str, queue: str, kafka_bootstrap: str | None,
                 redis_url: str | None, snapshot_every: int = 20_000, *, output_exchange: str = OUTPUT_EXCHANGE,
                 dead_letter_exchange: str = DEAD_LETTER_EXCHANGE, dead_letter_routing_key: str | None = None,
                 trades_topic: str = TRADES_TOPIC, market_data_topic: str = MARKET_DATA_TOPIC,
                 instruments: list[InstrumentConfig] | None = None, calendar: SessionCalendar | None = None,
                 clock: Any = None, auto_clock: bool = True, reference_refresh: bool = True,
                 prefetch: int = 1000, confirm_per_message: bool = False, catalog_topic: str | None = None,
                 catalog_poll_s: float = 0.2) -> None:
        from engine_service.journal import Journal, Snapshots

        self.amqp_url = amqp_url
        self.queue = queue
        self.output_exchange = output_exchange
        self.dead_letter_exchange = dead_letter_exchange
        self.dead_letter_routing_key = dead_letter_routing_key or f"{queue}.dlq"
        self.trades_topic = trades_topic
        self.market_data_topic = market_data_topic
        self.kafka_bootstrap = kafka_bootstrap
        self.redis_url = redis_url
        self.snapshot_every = snapshot_every
        self.auto_clock = auto_clock
        self.reference_refresh = reference_refresh
        self.prefetch = prefetch
        self.confirm_per_message = confirm_per_message
        self.catalog_topic = catalog_topic  # None: no catalog feed (tests that list their own instruments)
        self.catalog_poll_s = catalog_poll_s
        self.feed: catalog.CatalogFeed | None = None
        self._instruments = instruments
        self._calendar = calendar
        self.journal = Journal(journal_dir)
        self.snapshots = Snapshots(journal_dir / "snapshots")
        self.watermark_path = journal_dir / "published.json"
        self.stopping = False
        self.engine, self.state, self.unpublished = self._recover()
        if self.snapshots.latest() is None:
            # a new journal starts with the instruments and holidays it was made with: replayed later from
            # today's seed and calendar (a code change, a new year's holidays), the same lines could give other
            # reports under the exec ids the broker already holds
            self.snapshot()
        self.last_snapshot_line = self.journal.next_line
        self.last_tick_ns = self.engine.now
        self.mirror = os.environ.get("MARKET_DATA_MODE", "mirror").lower() == "mirror"
        self.reference_prices: dict[str, int] = {}
        self.redis: Any = None
        self.clock: Any = clock
        self.out: ConfirmedChannel | None = None

    # ------------------------------------------------------------------ recovery

    def _recover(self) -> tuple[Engine, ServiceState, list[Output]]:
        latest = self.snapshots.latest()
        if latest is None:
            instruments = self._instruments if self._instruments is not None else load_instruments()
            calendar = self._calendar if self._calendar is not None else b3_calendar()
            engine, state, start = Engine(instruments, calendar), ServiceState(), 0
        else:
            start, blob = latest
            saved = pickle.loads(blob)
            engine, state = Engine.restore(saved["engine"]), saved["state"]
        watermark = self._watermark()
        unpublished: list[Output] = []
        replayed = 0
        for _, command_id, encoded in self.journal.replay(start):
            outputs = engine.process(decode_input(json.dumps(encoded)))
            state.learn(outputs)
            if command_id:
                state.remember(command_id)
            unpublished.extend(o for o in outputs if o[1] > watermark.get(o[2], 0))
            replayed += 1
        log.info("recovered: snapshot at line %d, %d journal lines replayed, %d outputs to re-publish",
                 start, replayed, len(unpublished))
        return engine, state, unpublished

    def _watermark(self) -> dict[str, int]:
        try:
            loaded: dict[str, int] = json.loads(self.watermark_path.read_text())
            return loaded
        except (OSError, ValueError):
            return {}

    def _save_watermark(self) -> None:
        marks = {sym: book.seq for sym, book in self.engine.books.items()}
        tmp = self.watermark_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(marks))
        tmp.replace(self.watermark_path)

    def snapshot(self) -> None:
        self.journal.sync()
        blob = pickle.dumps({"engine": self.engine.snapshot(), "state": self.state},
                            protocol=pickle.HIGHEST_PROTOCOL)
        self.snapshots.save(self.journal.next_line, blob)
        self.last_snapshot_line = self.journal.next_line

    # ------------------------------------------------------------------ inputs

    def apply(self, command_id: str, core_input: Input) -> list[Output]:
        self.journal.append(command_id, encode_input(core_input))
        outputs = self.engine.process(core_input)
        self.state.learn(outputs)
        if command_id:
            self.state.remember(command_id)
        return outputs

    def internal_inputs(self) -> list[Output]:
        """Clock ticks (the shared, possibly simulated clock) and reference prices from the quote cache."""
        outputs: list[Output] = []
        if not self.auto_clock:
            return outputs
        now_ns = self.clock.now_ns() if self.clock is not None else time.time_ns()
        if now_ns - self.last_tick_ns >= 1_000_000_000 or now_ns < self.last_tick_ns:
            self.last_tick_ns = now_ns
            outputs += self.apply("", ClockTick(now_ns))
        return outputs

    def refresh_reference_prices(self) -> list[Output]:
        if self.redis is None or not self.reference_refresh:
            return []
        from mybroker.market_data.cache import QuoteCache

        outputs: list[Output] = []
        cache = QuoteCache(self.redis)
        for cfg in self.engine.instruments:
            try:
                price = cache.reference_price_cents(cfg.symbol)
            except Exception:  # a cache hiccup must not stop the exchange
                return outputs
            if price and price != self.reference_prices.get(cfg.symbol):
                book = self.engine.book(cfg.symbol)
                price = max(book.tick, (price + book.tick // 2) // book.tick * book.tick)  # the nearest tick
                if self.mirror or book.reference_price == 0 or book.phase != "CONTINUOUS":
                    # mirror mode: the external feed sets the reference (the broker's tunnels and
                    # protection prices use the same cache); simulated mode: the feed gives only the
                    # reference while the market is closed or in a call, and trades move it after
                    outputs += self.apply("", SetReferencePrice(cfg.symbol, price))
                self.reference_prices[cfg.symbol] = price
        return outputs

    def catalog_inputs(self, timeout_ms: int = 0) -> list[Output]:
        """Applies the catalog events that arrived (journaled as ``catalog:<partition>:<offset>``)."""
        if self.feed is None:
            return []
        try:
            records = self.feed.poll(timeout_ms)
        except Exception as exc:  # a Kafka hiccup must not stop the exchange: the next poll goes on from here
            log.warning("catalog feed: %s", exc)
            return []
        outputs: list[Output] = []
        for partition, offset, value in records:
            try:
                update = catalog.to_update(parse_asset_event(value))
            except (ValidationError, ValueError) as exc:
                log.warning("skipping unreadable asset event %d:%d: %s", partition, offset, exc)
                continue
            if update is None:
                log.warning("skipping asset event %d:%d: not a B3 ticker", partition, offset)
                continue
            outputs += self.apply(catalog.command_id(partition, offset), update)
            log.info("catalog: %s lot %d tick %d %s (version %d)", update.instrument, update.lot, update.tick,
                     "active" if update.active else "suspended", update.version)
        return outputs

    def _catch_up(self, publisher: Publisher, timeout_s: float = 30.0) -> None:
        """Before any order: the catalog changes made while the engine was down (or all of them, from the
        beginning of the topic, on a new journal)."""
        if self.feed is None:
            return
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            outputs = self.catalog_inputs(timeout_ms=200)
            self.journal.sync()
            if outputs:
                publisher.publish(outputs, self.engine)
            try:
                if self.feed.caught_up():
                    break
            except Exception as exc:
                log.warning("catalog feed: %s", exc)
        else:
            log.warning("the catalog feed did not catch up in %.0f s; going on (it keeps reading)", timeout_s)
        log.info("catalog caught up: positions %s, %d instruments", self.state.catalog_positions,
                 len(self.engine.instruments))

    # ------------------------------------------------------------------ the loop

    def run(self) -> None:
        import pika
        import redis as redis_lib
        from mybroker.clock import SystemClock

        self.redis = redis_lib.Redis.from_url(self.redis_url) if self.redis_url else None
        if self.clock is None:
            self.clock = SystemClock(self.redis)
        producer = None
        if self.kafka_bootstrap:
            from kafka import KafkaProducer

            producer = KafkaProducer(bootstrap_servers=self.kafka_bootstrap, acks="all", linger_ms=5,
                                     metrics_enabled=False)
        conn = pika.BlockingConnection(pika.URLParameters(self.amqp_url))
        channel = conn.channel()
        channel.exchange_declare(self.output_exchange, exchange_type="topic", durable=True)
        channel.basic_qos(prefetch_count=self.prefetch)
        self.out = out = ConfirmedChannel(conn, channel, per_message=self.confirm_per_message)
        publisher = Publisher(out, producer, self.redis, self.output_exchange, self.trades_topic,
                              self.market_data_topic)
        if self.unpublished:
            publisher.publish(self.unpublished, self.engine)
            out.wait()
            self.unpublished = []
        if self.catalog_topic and self.kafka_bootstrap:
            self.feed = catalog.CatalogFeed(self.kafka_bootstrap, self.catalog_topic, self.state.catalog_positions)
            self._catch_up(publisher)
            out.wait()
        self._save_watermark()
        deliveries: list[tuple[Any, Any, bytes]] = []
        channel.basic_consume(self.queue, lambda _c, m, p, b: deliveries.append((m, p, b)), auto_ack=False)
        last_reference = 0.0
        last_catalog = time.monotonic()
        last_watermark = time.monotonic()
        log.info("engine consuming %s; %d instruments", self.queue, len(self.engine.books))
        while not self.stopping:
            if not deliveries:
                conn.process_data_events(time_limit=0.05)
            conn.process_data_events(time_limit=0)
            outputs = self.internal_inputs()
            if self.feed is not None and time.monotonic() - last_catalog > self.catalog_poll_s:
                outputs += self.catalog_inputs()  # journaled before the orders of this batch: replayed so
                last_catalog = time.monotonic()
            if time.monotonic() - last_reference > 2.0:
                outputs += self.refresh_reference_prices()
                last_reference = time.monotonic()
            batch, deliveries = deliveries, []
            for method, props, body in batch:
                outputs += self._handle(method, props, body)
            self.journal.sync()  # durable before anything is published or acknowledged
            if outputs:
                publisher.publish(outputs, self.engine)
            out.wait()  # reports and dead letters confirmed before the inputs are acknowledged
            if batch:
                channel.basic_ack(delivery_tag=batch[-1][0].delivery_tag, multiple=True)
            if time.monotonic() - last_watermark > 1.0:
                self._save_watermark()
                last_watermark = time.monotonic()
            if self.journal.next_line - self.last_snapshot_line >= self.snapshot_every:
                self.snapshot()
        self.journal.sync()
        self._save_watermark()
        self.snapshot()
        conn.close()
        if producer is not None:
            producer.close()
        if self.feed is not None:
            self.feed.close()
            self.feed = None

    def _handle(self, method: Any, props: Any, body: bytes) -> list[Output]:
        try:
            command = parse_command(body)
        except (ValidationError, ValueError) as exc:
            self._dead_letter(props, body, f"unparseable command: {exc}")
            return []
        if command.command_id in self.state.seen_commands:
            return []  # a redelivery of a command already journaled
        try:
            core_input = to_input(command, self.state.order_ids)
        except Exception as exc:  # a command the core cannot even take: dead-letter it with the reason
            self._dead_letter(props, body, f"untranslatable command: {exc}")
            return []
        return self.apply(command.command_id, core_input)

    def _dead_letter(self, props: Any, body: bytes, error: str) -> None:
        import pika

        log.warning("dead-lettering a message: %s", error)
        assert self.out is not None
        self.out.publish(self.dead_letter_exchange, self.dead_letter_routing_key, body, pika.BasicProperties(
            delivery_mode=2, headers={"x-error": error[:1000], "x-original-message-id": props.message_id or ""}))


def main() -> None:
    from mybroker.settings import settings

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    for chatty in ("kafka", "pika"):
        logging.getLogger(chatty).setLevel(logging.WARNING)
    s = settings()
    journal_dir = Path(os.environ.get("ENGINE_JOURNAL_DIR", "var/engine"))
    service = EngineService(
        journal_dir, s.amqp_url(), os.environ.get("ENGINE_QUEUE", "engine.orders"), s.kafka_bootstrap_servers,
        s.redis_url, output_exchange=os.environ.get("ENGINE_OUTPUT_EXCHANGE", OUTPUT_EXCHANGE),
        dead_letter_exchange=os.environ.get("ENGINE_DEAD_LETTER_EXCHANGE", DEAD_LETTER_EXCHANGE),
        dead_letter_routing_key=os.environ.get("ENGINE_DEAD_LETTER_ROUTING_KEY") or None,
        catalog_topic=os.environ.get("ENGINE_CATALOG_TOPIC", ASSETS_TOPIC) or None)
    agents = None
    if os.environ.get("LIQUIDITY_AGENTS", "on") == "on":
        from engine_service.agents import LiquidityAgents

        # the engine's current list: the catalog feed adds listings and changes lots and ticks
        agents = LiquidityAgents.from_env(s.amqp_url(), s.redis_url, lambda: service.engine.instruments)
        agents.start()

    def stop(*_: Any) -> None:
        service.stopping = True
        if agents is not None:
            agents.stop()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    service.run()
