"""Malformed and duplicate messages on the two channels money moves through.

- RabbitMQ ``broker.execution-reports`` (bound to ``engine.output``, consumed by ``orders-execution-reports``):
  garbage, schema-invalid reports, and a real report of the engine replayed. The function logs and skips what
  it cannot read (it never reaches the queue's dead-letter queue: the message is acknowledged), applies a report
  once per (instrument, exec_id), and the queue keeps flowing.
- Kafka ``orders`` (consumed by ``wallet-order-events``): garbage and non-events are parked on ``esm-failures``
  with the source's topic, partition and offset; a real ``order.filled`` replayed three times moves money once.

Each case ends with a later valid action going through the same consumer (a cancel), which proves the poison
did not stop it, and with the fresh user's money exactly as before the poison."""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pika
import pytest
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from mybroker.orders.domain import rejection_band

from infra.declarations import SYSTEM
from local_runtime.paths import LOGS
from tests.e2e.orders.conftest import RABBIT, reference_cents, wait_for  # noqa: F401  (fixture re-exported)
from tests.fixtures.kafka import KAFKA
from tests.fixtures.users import User, new_user
from tests.security.support import TALLY, assert_ledger_reconciles, money

pytestmark = [pytest.mark.stack, pytest.mark.security]

REPORTS = SYSTEM.rabbitmq_sources[0]
REPORTS_QUEUE = SYSTEM.queue(REPORTS.queue)
WALLET_SOURCE = next(k for k in SYSTEM.kafka_sources if k.function == "wallet-order-events")


class TopicReader:
    """Raw records of one topic from where it ended when the reader was made."""

    def __init__(self, topic: str) -> None:
        self.consumer = KafkaConsumer(bootstrap_servers=KAFKA, group_id=None, enable_auto_commit=False)
        parts = [TopicPartition(topic, p) for p in self.consumer.partitions_for_topic(topic) or ()]
        self.consumer.assign(parts)
        for tp, offset in self.consumer.end_offsets(parts).items():
            self.consumer.seek(tp, offset)
        self.records: list[Any] = []

    def poll(self) -> list[Any]:
        for batch in self.consumer.poll(timeout_ms=200).values():
            self.records.extend(batch)
        return self.records

    def close(self) -> None:
        self.consumer.close()


@pytest.fixture
def esm_failures() -> Iterator[TopicReader]:
    reader = TopicReader("esm-failures")
    yield reader
    reader.close()


@pytest.fixture
def orders_topic() -> Iterator[TopicReader]:
    reader = TopicReader("orders")
    yield reader
    reader.close()


class ReportTap:
    """A temporary queue bound like the mapping's, to see the engine's real reports (a copy)."""

    def __init__(self) -> None:
        self.conn = pika.BlockingConnection(pika.URLParameters(RABBIT))
        self.ch = self.conn.channel()
        self.queue = self.ch.queue_declare("", exclusive=True, auto_delete=True).method.queue
        for key in REPORTS_QUEUE.routing_keys:
            self.ch.queue_bind(self.queue, REPORTS_QUEUE.exchange, key)
        self.seen: list[tuple[Any, bytes]] = []

    def of(self, order_id: str) -> list[tuple[Any, bytes]]:
        while True:
            method, props, body = self.ch.basic_get(self.queue, auto_ack=True)
            if method is None:
                break
            self.seen.append((props, body))
        return [(p, b) for p, b in self.seen if order_id in b.decode("utf-8", "replace")]

    def publish(self, body: bytes, routing_key: str = "execution-report.PETR4", message_id: str | None = None,
                content_type: str | None = "application/json") -> None:
        self.ch.confirm_delivery()
        self.ch.basic_publish(REPORTS_QUEUE.exchange, routing_key, body,
                              pika.BasicProperties(content_type=content_type, delivery_mode=2, message_id=message_id))
        TALLY.record("messages: rabbitmq", routing_key, 0)

    def dlq_depth(self) -> int:
        return int(self.ch.queue_declare(REPORTS_QUEUE.dead_letter_queue, passive=True).method.message_count)

    def close(self) -> None:
        self.conn.close()


@pytest.fixture
def tap() -> Iterator[ReportTap]:
    t = ReportTap()
    yield t
    t.close()


def resting_buy(u: User, ref: int) -> dict[str, Any]:
    placed = u.post("/orders", {"ticker": "PETR4", "side": "BUY", "orderType": "LIMIT", "quantity": 100,
                                "priceCents": rejection_band(ref, 10).lower})
    assert placed.status == 201, placed.body
    oid = placed.body["orderId"]
    body: dict[str, Any] = wait_for(lambda: (lambda b: b if b["status"] == "NEW" else None)(
        u.get(f"/orders/{oid}").body))
    return body


def cancel(u: User, order_id: str) -> None:
    assert u.call("DELETE", f"/orders/{order_id}").status == 202
    wait_for(lambda: u.get(f"/orders/{order_id}").body["status"] == "CANCELED")


def log_mentions(path: Path, marker: str) -> bool:
    return path.exists() and marker in path.read_text(errors="replace")


def test_bad_and_replayed_execution_reports_change_nothing(reference_cents: int, tap: ReportTap,  # noqa: F811
                                                           orders_topic: TopicReader) -> None:
    u = new_user("sec-rmq")
    assert u.post("/wallet/deposits", {"amountCents": 1_000_000, "idempotencyKey": "seed"}).status == 201
    order = resting_buy(u, reference_cents)
    oid = order["orderId"]
    (new_props, new_report), *_ = wait_for(lambda: tap.of(oid))  # the engine's own NEW report
    events_before = wait_for(lambda: [r for r in orders_topic.poll() if oid.encode() in r.value])
    before, dlq_before = money(u), tap.dlq_depth()
    markers = [f"sec-poison-{uuid.uuid4().hex[:8]}" for _ in range(5)]
    report = json.loads(new_report)
    poison = [
        b"\x00\xff not json at all",
        b'{"exec_id": "one", "instrument": "PETR4"}',  # schema-invalid: wrong types, fields missing
        json.dumps({**report, "cum_quantity": -100, "exec_id": "x"}).encode(),
        json.dumps([report]).encode(),  # an array of reports is not a report
        b"[" * 10_000 + b"]" * 10_000,
    ]
    for marker, body in zip(markers, poison, strict=True):
        tap.publish(body, message_id=marker)
    for _ in range(3):  # the engine's NEW report, replayed as it was
        tap.publish(new_report, message_id=new_props.message_id)
    # a later valid action through the same queue: the cancel's report is consumed after the poison
    cancel(u, oid)
    wait_for(lambda: money(u)["cash"]["reservedCents"] == 0)
    after = money(u)
    assert after["cash"]["availableCents"] == before["cash"]["availableCents"] + before["cash"]["reservedCents"]
    order_now = u.get(f"/orders/{oid}").body
    assert (order_now["cumQuantity"], order_now["fills"]) == (0, []), order_now
    time.sleep(0.5)  # let the replays' (absent) events surface if there were any
    events = [json.loads(r.value)["event_type"] for r in orders_topic.poll() if oid.encode() in r.value]
    assert events.count("order.accepted") <= 1 and events.count("order.canceled") == 1, events
    assert not [e for e in events if e == "order.filled"] and len(events_before) >= 1, events
    # the unreadable ones were logged with their message id and acknowledged, not dead-lettered
    log = LOGS / "lambda" / f"{REPORTS.function}.log"
    wait_for(lambda: all(log_mentions(log, m) for m in markers))
    assert tap.dlq_depth() == dlq_before
    assert_ledger_reconciles(u)


def test_bad_and_replayed_order_events_move_money_once(reference_cents: int,  # noqa: F811
                                                       orders_topic: TopicReader, esm_failures: TopicReader) -> None:
    u = new_user("sec-kafka")
    assert u.post("/wallet/deposits", {"amountCents": 2_000_000, "idempotencyKey": "seed"}).status == 201
    up = reference_cents * 104 // 100  # marketable against the liquidity agents' asks
    placed = u.post("/orders", {"ticker": "PETR4", "side": "BUY", "orderType": "LIMIT", "timeInForce": "FOK",
                                "quantity": 100, "priceCents": up})
    assert placed.status == 201, placed.body
    oid = placed.body["orderId"]
    wait_for(lambda: u.get(f"/orders/{oid}").body["status"] == "FILLED")
    filled = wait_for(lambda: [r for r in orders_topic.poll() if oid.encode() in r.value
                               and json.loads(r.value)["event_type"] == "order.filled"])
    wait_for(lambda: money(u)["positions"].get("PETR4", (0, 0, 0))[2] == 100)
    wait_for(lambda: money(u)["cash"]["reservedCents"] == 0)
    before = money(u)
    key = u.user_id.encode()  # the topic's key: the same partition as the user's real events, so in order
    marker = uuid.uuid4().hex
    producer = KafkaProducer(bootstrap_servers=KAFKA, linger_ms=0)
    poison = [
        f"not json {marker}".encode(),
        json.dumps({"marker": marker, "event_type": "order.filled"}).encode(),  # JSON, not an order event
        json.dumps({**json.loads(filled[0].value), "event_type": f"order.{marker}"}).encode(),
        b"\xff\xfe" + marker.encode(),
    ]
    try:
        for body in poison:
            producer.send(WALLET_SOURCE.topic, key=key, value=body).get(timeout=10)
            TALLY.record("messages: kafka", "poison", 0)
        for record in filled * 3:  # every fill of the order, replayed three times
            producer.send(WALLET_SOURCE.topic, key=record.key, value=record.value,
                          headers=list(record.headers or [])).get(timeout=10)
            TALLY.record("messages: kafka", "replay", 0)
    finally:
        producer.close()
    # a later valid action through the same consumer and partition: a resting buy's hold, released on cancel
    order = resting_buy(u, reference_cents)
    cancel(u, order["orderId"])
    wait_for(lambda: money(u)["cash"]["reservedCents"] == 0)
    assert money(u) == before  # the replayed fills moved nothing, the poison moved nothing
    # and the wallet did read the replays: each one deduped by its event id
    log = LOGS / "lambda" / f"{WALLET_SOURCE.function}.log"
    ids = [json.loads(r.value)["event_id"] for r in filled]
    wait_for(lambda: all(sum(1 for line in log.read_text(errors="replace").splitlines()
                             if i in line and '"outcome":"DUPLICATE"' in line) >= 3 for i in ids))

    def parked() -> list[Any]:
        found = []
        for r in esm_failures.poll():
            headers = dict(r.headers or [])
            value = json.loads(r.value)
            raw = base64.b64decode(value["record"]["value"] or "")
            if headers.get("source-topic") == WALLET_SOURCE.topic.encode() and marker.encode() in raw:
                found.append(r)
        return found if len(found) >= len(poison) else []

    parked_records = wait_for(parked)
    assert len(parked_records) == len(poison)
    assert all(dict(r.headers)["esm-function"] == WALLET_SOURCE.function.encode() for r in parked_records)
    assert_ledger_reconciles(u)
