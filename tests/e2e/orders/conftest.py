"""Fixtures for the orders end-to-end tests: real users, a funded account, a temporary queue bound to
``engine.input``, a Kafka reader of ``orders``, and a publisher of execution reports to ``engine.output``."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pika
import pytest
from kafka import KafkaConsumer, TopicPartition
from mybroker.contracts.engine import ExecutionReportMessage, report_routing_key
from mybroker.contracts.orders import OrderEvent, parse_order_event

from tests.fixtures.users import User, new_user

RABBIT = "amqp://guest:guest@127.0.0.1:5672/%2F"
KAFKA = "127.0.0.1:9092"


def wait_for(check: Callable[[], Any], timeout: float = 20.0, every: float = 0.1) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        time.sleep(every)


def petr4_reference_cents() -> int:
    """The PETR4 reference price the orders service will use (the market-data Redis cache)."""
    import redis
    from mybroker.market_data.cache import QuoteCache

    ref = QuoteCache(redis.Redis.from_url("redis://127.0.0.1:6379/0")).reference_price_cents("PETR4")
    assert ref is not None, "the trading_session fixture ingests quotes: PETR4 must have one"
    return ref


@pytest.fixture(scope="module")
def reference_cents(trading_session: object) -> int:
    return petr4_reference_cents()


@pytest.fixture(scope="session")
def funded() -> User:
    u = new_user("orders")
    r = u.post("/wallet/deposits", {"amountCents": 50_000_000, "idempotencyKey": uuid.uuid4().hex})
    assert r.status in (200, 201), r.body
    return u


class EngineInput:
    """A temporary exclusive queue bound to ``engine.input``: a copy of every command the broker sends."""

    def __init__(self) -> None:
        self.conn = pika.BlockingConnection(pika.URLParameters(RABBIT))
        self.ch = self.conn.channel()
        self.queue = self.ch.queue_declare("", exclusive=True, auto_delete=True).method.queue
        self.ch.queue_bind(self.queue, "engine.input", "order.#")
        self.seen: list[tuple[str, str, dict[str, Any]]] = []

    def drain(self) -> list[tuple[str, str, dict[str, Any]]]:
        while True:
            method, props, body = self.ch.basic_get(self.queue, auto_ack=True)
            if method is None:
                return self.seen
            self.seen.append((method.routing_key, props.message_id, json.loads(body)))

    def for_order(self, order_id: str) -> list[dict[str, Any]]:
        return [b for _, _, b in self.drain() if b["client_order_id"].split("~")[0] == order_id
                or b.get("orig_client_order_id", "").split("~")[0] == order_id]


@pytest.fixture
def engine_input() -> Iterator[EngineInput]:
    e = EngineInput()
    yield e
    e.conn.close()


class OrderEvents:
    """Reads the ``orders`` topic from where it ended when the test started."""

    def __init__(self) -> None:
        self.consumer = KafkaConsumer(bootstrap_servers=KAFKA, group_id=None, enable_auto_commit=False)
        parts = [TopicPartition("orders", p) for p in self.consumer.partitions_for_topic("orders") or range(6)]
        self.consumer.assign(parts)
        for tp, off in self.consumer.end_offsets(parts).items():
            self.consumer.seek(tp, off)
        self.events: list[OrderEvent] = []

    def poll(self) -> list[OrderEvent]:
        for records in self.consumer.poll(timeout_ms=200).values():
            self.events.extend(parse_order_event(r.value) for r in records)
        return self.events

    def of(self, order_id: str) -> list[OrderEvent]:
        return [e for e in self.poll() if e.order_id == order_id]


@pytest.fixture
def order_events() -> Iterator[OrderEvents]:
    k = OrderEvents()
    yield k
    k.consumer.close()


def publish_reports(reports: list[ExecutionReportMessage]) -> None:
    conn = pika.BlockingConnection(pika.URLParameters(RABBIT))
    ch = conn.channel()
    ch.confirm_delivery()
    for r in reports:
        ch.basic_publish("engine.output", report_routing_key(r.instrument), r.model_dump_json().encode(),
                         pika.BasicProperties(content_type="application/json", delivery_mode=2,
                                              message_id=r.message_id))
    conn.close()


def publish_raw(body: bytes) -> None:
    conn = pika.BlockingConnection(pika.URLParameters(RABBIT))
    ch = conn.channel()
    ch.confirm_delivery()
    ch.basic_publish("engine.output", "execution-report.PETR4", body, pika.BasicProperties(delivery_mode=2))
    conn.close()
