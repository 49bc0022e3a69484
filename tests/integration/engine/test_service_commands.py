"""The engine service against the real RabbitMQ (and Kafka and Redis): commands in, execution reports out."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from mybroker.contracts.engine import (
    CancelOrderCommand,
    NewOrderCommand,
    OrderType,
    ReplaceOrderCommand,
    Side,
    TimeInForce,
)

from tests.integration.engine.engine_helpers import (
    AMQP_URL,
    KAFKA,
    NIGHT_NS,
    REDIS_URL,
    FixedClock,
    Reports,
    Topology,
    publish,
)

pytestmark = pytest.mark.stack


def new(coid: str, side: str, qty: int, price: int, instrument: str = "ZZTA3", investor: str = "inv1",
        **kw: Any) -> NewOrderCommand:
    return NewOrderCommand(command_id=f"cmd-{coid}-{uuid.uuid4().hex[:6]}", instrument=instrument,
                           client_order_id=coid, investor_id=investor, side=Side(side),
                           order_type=OrderType(kw.pop("order_type", "LIMIT")),
                           time_in_force=TimeInForce(kw.pop("tif", "DAY")), quantity=qty, price_cents=price, **kw)


def send(channel: Any, topology: Topology, *commands: Any) -> None:
    for c in commands:
        publish(channel, topology.queue, c.model_dump_json().encode(), c.command_id)


def test_commands_give_execution_reports(channel: Any, topology: Topology, reports: Reports,
                                         start_service: Callable[..., Any]) -> None:
    running = start_service()
    send(channel, topology,
         new("b1", "BUY", 200, 3000, investor="inv1"),
         new("s1", "SELL", 100, 3000, investor="inv2"),  # fills half of b1
         ReplaceOrderCommand(command_id="r1", instrument="ZZTA3", orig_client_order_id="b1",
                             client_order_id="b1~1", quantity=300, price_cents=2999),
         CancelOrderCommand(command_id="x1", instrument="ZZTA3", client_order_id="b1~1"))
    got = reports.wait_for(6)
    reports.drain(0.2)
    running.stop()
    seen = [(b["client_order_id"], b["exec_type"]) for b in got]
    assert seen == [("b1", "NEW"), ("s1", "NEW"), ("s1", "FILLED"), ("b1", "PARTIALLY_FILLED"),
                    ("b1~1", "REPLACED"), ("b1~1", "CANCELED")]
    fill = next(b for b in got if b["exec_type"] == "PARTIALLY_FILLED")
    assert (fill["last_price_cents"], fill["last_quantity"], fill["leaves_quantity"]) == (3000, 100, 100)
    assert {k for k, _ in reports.received} == {"execution-report.ZZTA3"}
    assert len({(b["instrument"], b["exec_id"]) for b in got}) == len(got)


def test_invalid_orders_are_rejected_with_reasons(channel: Any, topology: Topology, reports: Reports,
                                                  start_service: Callable[..., Any]) -> None:
    clock = FixedClock()
    running = start_service(clock=clock)
    send(channel, topology,
         new("u1", "BUY", 100, 3000, instrument="NOPE3"),
         new("l1", "BUY", 150, 3000),  # not a round lot
         new("t1", "BUY", 100, 2001, instrument="ZZTB4"),  # tick 5
         new("p1", "BUY", 100, 9000),  # outside the rejection tunnel
         CancelOrderCommand(command_id="x-unknown", instrument="ZZTA3", client_order_id="never-sent"))
    got = reports.wait_for(5)
    clock.t = NIGHT_NS
    time.sleep(0.1)  # the next loop turn applies the tick before the command below
    send(channel, topology, new("c1", "BUY", 100, 3000))
    got = reports.wait_for(6)
    running.stop()
    reasons = {b["client_order_id"]: (b["exec_type"], b["reason"]) for b in got}
    assert reasons == {
        "u1": ("REJECTED", "UNKNOWN_INSTRUMENT"), "l1": ("REJECTED", "INVALID_LOT"),
        "t1": ("REJECTED", "INVALID_TICK"), "p1": ("REJECTED", "PRICE_OUT_OF_BAND"),
        "never-sent": ("REJECTED", "UNKNOWN_ORDER"), "c1": ("REJECTED", "MARKET_CLOSED"),
    }


def test_garbage_is_dead_lettered_and_the_engine_keeps_going(channel: Any, topology: Topology, reports: Reports,
                                                             start_service: Callable[..., Any]) -> None:
    running = start_service()
    garbage = [b"\xff\xfe not json", b"{}", b'{"type":"NEW_ORDER","command_id":"g"}', b"[1,2,3]",
               json.dumps({"type": "NEW_ORDER", "schema_version": 2}).encode(), b"",
               new("neg", "BUY", 100, 3000).model_dump_json().replace('"quantity":100', '"quantity":-5').encode()]
    for i, body in enumerate(garbage):
        publish(channel, topology.queue, body, f"garbage-{i}")
    send(channel, topology, new("ok1", "BUY", 100, 3000))
    got = reports.wait_for(1)
    assert [(b["client_order_id"], b["exec_type"]) for b in got] == [("ok1", "NEW")]
    dead: list[tuple[bytes, dict[str, Any]]] = []
    deadline = time.monotonic() + 10
    while len(dead) < len(garbage) and time.monotonic() < deadline:
        method, props, body = channel.basic_get(topology.dlq, auto_ack=True)
        if method is None:
            time.sleep(0.05)
            continue
        dead.append((body, props.headers))
    assert running.thread.is_alive()
    running.stop()
    assert sorted(b for b, _ in dead) == sorted(garbage)
    assert all(h["x-error"].startswith("unparseable command") for _, h in dead)
    assert sorted(h["x-original-message-id"] for _, h in dead) == sorted(f"garbage-{i}" for i in range(len(garbage)))


def test_a_redelivered_command_is_applied_once(channel: Any, topology: Topology, reports: Reports,
                                               start_service: Callable[..., Any]) -> None:
    running = start_service()
    order = new("d1", "BUY", 100, 3000)
    send(channel, topology, order, order)
    reports.wait_for(1)
    running.stop()
    # and across a restart: the journal remembers the command id
    running = start_service()
    send(channel, topology, order, new("d2", "BUY", 100, 3000))
    got = reports.wait_for(2)
    reports.drain(0.3)
    running.stop()
    assert [(b["client_order_id"], b["exec_type"]) for b in reports.bodies()] == [("d1", "NEW"), ("d2", "NEW")]
    assert got[0]["engine_order_id"] != got[1]["engine_order_id"]


def test_market_data_goes_to_kafka_and_the_book_to_redis(channel: Any, topology: Topology, reports: Reports,
                                                         start_service: Callable[..., Any]) -> None:
    import redis as redis_lib
    from kafka import KafkaAdminClient, KafkaConsumer
    from kafka.admin import NewTopic

    tag = topology.queue.rsplit(".", 1)[-1]
    trades_topic, md_topic = f"test-trades-{tag}", f"test-market-data-{tag}"
    admin = KafkaAdminClient(bootstrap_servers=KAFKA, request_timeout_ms=10000)
    admin.create_topics([NewTopic(trades_topic, 1, 1), NewTopic(md_topic, 1, 1)])
    r = redis_lib.Redis.from_url(REDIS_URL, decode_responses=True)
    try:
        running = start_service(kafka=KAFKA, redis_url=REDIS_URL, trades_topic=trades_topic,
                                market_data_topic=md_topic)
        send(channel, topology, new("kb", "BUY", 200, 3000, investor="a"), new("ks", "SELL", 100, 3000, investor="b"))
        reports.wait_for(3)
        running.stop()
        consumer = KafkaConsumer(trades_topic, md_topic, bootstrap_servers=KAFKA, auto_offset_reset="earliest",
                                 consumer_timeout_ms=3000)
        events = [(m.topic, json.loads(m.value)) for m in consumer]
        consumer.close()
        trades = [e for t, e in events if t == trades_topic]
        assert [(e["price_cents"], e["quantity"], e["aggressor_side"]) for e in trades] == [(3000, 100, "SELL")]
        assert {e["type"] for t, e in events if t == md_topic} >= {"L1", "L2", "PHASE"}
        book = json.loads(r.get("engine:book:ZZTA3") or "{}")
        assert book["bids"] == [{"price_cents": 3000, "quantity": 100, "orders": 1}]
        assert book["last_price_cents"] == 3000
        assert {k: int(v) for k, v in r.hgetall("engine:open-orders:ZZTA3").items()} == {"kb": 100}
    finally:
        r.delete("engine:book:ZZTA3", "engine:book:ZZTA3F", "engine:book:ZZTB4", "engine:book:ZZTB4F",
                 "engine:open-orders:ZZTA3")
        r.close()
        admin.delete_topics([trades_topic, md_topic])
        admin.close()


def test_reports_survive_a_reconnecting_consumer(channel: Any, topology: Topology,
                                                 start_service: Callable[..., Any]) -> None:
    """Reports are persistent: a durable queue bound before the service publishes gets all of them."""
    durable = f"{topology.queue}.reports"
    channel.queue_declare(durable, durable=True)
    channel.queue_bind(durable, topology.output_exchange, routing_key="execution-report.#")
    try:
        running = start_service()
        send(channel, topology, *(new(f"n{i}", "BUY", 100, 2990 + i) for i in range(5)))
        deadline = time.monotonic() + 10
        while channel.queue_declare(durable, passive=True).method.message_count < 5 and time.monotonic() < deadline:
            time.sleep(0.05)
        running.stop()
        assert channel.queue_declare(durable, passive=True).method.message_count == 5
    finally:
        channel.queue_delete(durable)
    assert AMQP_URL
