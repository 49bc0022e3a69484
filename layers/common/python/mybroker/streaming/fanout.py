"""The pusher's plan: which Kafka record goes to which channel, and to which connections, in what order.

One ordered list of events per connection, sent by one worker at a time per connection (so a client sees a
channel's events in the source's order) and concurrently across connections (so no client waits for
another). A post that finds the connection gone removes it; any other failure is counted and dropped: a
live view must not hold the stream back (the client re-reads over HTTP after a reconnect).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from mybroker.contracts.exchange import MARKET_DATA_TOPIC, TRADES_TOPIC, TradeEvent, parse_market_data
from mybroker.contracts.orders import TOPIC as ORDERS_TOPIC
from mybroker.contracts.orders import OrderEvent, parse_order_event
from mybroker.contracts.quotes import parse_quote_event
from mybroker.contracts.streaming import Events, PushedEvent
from mybroker.streaming.channels import client_name, market_key, private_key

QUOTES_TOPIC = "quotes"
MAX_POST_BYTES = 128 * 1024  # @connections refuses larger payloads
TOPICS = (ORDERS_TOPIC, QUOTES_TOPIC, TRADES_TOPIC, MARKET_DATA_TOPIC)


class Gone(Exception):
    """The connection no longer exists (GoneException, HTTP 410)."""


@dataclass(frozen=True)
class Routed:
    key: str  # the stored channel key (orders:<account> for the private ones)
    data: dict[str, Any]
    order_event: OrderEvent | None = None  # orders topic: the parsed event (the wallet channel follows it)


def route(topic: str, value: bytes | None) -> list[Routed]:
    """The channel(s) a record of ``topic`` feeds; ``ValueError`` for a record that cannot be read."""
    if value is None:
        raise ValueError("a record without a value")
    try:
        if topic == ORDERS_TOPIC:
            order = parse_order_event(value)
            return [Routed(private_key("orders", order.account_id), order.model_dump(mode="json"), order)]
        if topic == QUOTES_TOPIC:
            quote = parse_quote_event(value)
            return [Routed(market_key("quotes", quote.ticker), quote.model_dump(mode="json"))]
        if topic == TRADES_TOPIC:
            trade = TradeEvent.model_validate_json(value)
            return [Routed(market_key("trades", trade.instrument), trade.model_dump(mode="json"))]
        if topic == MARKET_DATA_TOPIC:
            md = parse_market_data(value)
            return [Routed(market_key("book", md.instrument), md.model_dump(mode="json"))]
    except (ValidationError, ValueError, UnicodeDecodeError) as exc:
        raise ValueError(str(exc).splitlines()[0]) from None
    raise ValueError(f"not a streamed topic: {topic}")


def plan(routed: Sequence[Routed], subscribers: Mapping[str, set[str]]) -> dict[str, list[PushedEvent]]:
    """Each subscribed connection's events, in the records' order."""
    out: dict[str, list[PushedEvent]] = {}
    for item in routed:
        for connection_id in sorted(subscribers.get(item.key, ())):
            out.setdefault(connection_id, []).append(PushedEvent(channel=client_name(item.key), data=item.data))
    return out


def frames(events: Sequence[PushedEvent], now_ns: Callable[[], int] = time.time_ns) -> list[bytes]:
    """``events`` frames, as few as fit under the post limit, oldest first."""
    out: list[bytes] = []
    chunk: list[PushedEvent] = []
    size = 0
    for event in events:
        length = len(json.dumps(event.data)) + 64
        if chunk and size + length > MAX_POST_BYTES - 256:
            out.append(Events(events=chunk, sent_at_ns=now_ns()).to_json().encode())
            chunk, size = [], 0
        chunk.append(event)
        size += length
    if chunk:
        out.append(Events(events=chunk, sent_at_ns=now_ns()).to_json().encode())
    return out


@dataclass
class Outcome:
    posted: int = 0
    gone: set[str] = field(default_factory=set)
    failed: dict[str, str] = field(default_factory=dict)


Post = Callable[[str, bytes], None]  # raises Gone, or anything else for a failed post


class Fanout:
    """Posts each connection's frames through ``post``, ``workers`` connections at a time."""

    def __init__(self, post: Post, workers: int = 16) -> None:
        self.post = post
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="fanout")

    def _send(self, connection_id: str, payloads: Iterable[bytes]) -> tuple[str, int, str | None]:
        sent = 0
        for payload in payloads:
            try:
                self.post(connection_id, payload)
            except Gone:
                return connection_id, sent, "gone"
            except Exception as exc:
                return connection_id, sent, f"{type(exc).__name__}: {exc}"[:200]
            sent += 1
        return connection_id, sent, None

    def send(self, per_connection: Mapping[str, Sequence[PushedEvent]]) -> Outcome:
        outcome = Outcome()
        futures = [self.pool.submit(self._send, cid, frames(events)) for cid, events in per_connection.items()]
        for future in futures:
            connection_id, sent, error = future.result()
            outcome.posted += sent
            if error == "gone":
                outcome.gone.add(connection_id)
            elif error is not None:
                outcome.failed[connection_id] = error
        return outcome
