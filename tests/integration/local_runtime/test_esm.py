"""Event source mappings against the real RabbitMQ and Kafka: delivery, batching, redelivery, partial
batch failures, dead-lettering, and no loss or double acknowledgement across a runtime crash."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pika
import pytest
from aws_lambda_powertools.utilities.data_classes.rabbit_mq_event import RabbitMQEvent
from aws_lambda_powertools.utilities.parser.models import KafkaSelfManagedEventModel
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition

from infra.declarations import System
from local_runtime.lambdas import free_port
from local_runtime.paths import LOGS, ROOT
from local_runtime.runtime import LocalRuntime, kill_stray_emulators
from tests.fixtures.harness import Probe, declare, new_run_id, probe_system, undeclare

pytestmark = pytest.mark.stack
BOOTSTRAP = "127.0.0.1:9092"


@pytest.fixture
def run_id() -> Iterator[str]:
    rid = new_run_id()
    yield rid
    Probe(rid).cleanup()


def start(system: System, state: dict[str, str], run_id: str) -> LocalRuntime:
    declare(system)
    rt = LocalRuntime(system, state, port=0, run_services=False, runtime_id=f"test-{run_id}")
    rt.start()
    return rt


def publish(system: System, bodies: list[dict[str, Any]]) -> None:
    q = system.queues[0]
    conn = pika.BlockingConnection(pika.URLParameters("amqp://guest:guest@127.0.0.1:5672/%2F"))
    ch = conn.channel()
    ch.confirm_delivery()
    for b in bodies:
        ch.basic_publish(q.exchange, f"probe.{b['id']}", json.dumps(b).encode(),
                         pika.BasicProperties(content_type="application/json", delivery_mode=2,
                                              headers={"source": "test"}, message_id=str(b["id"])))
    conn.close()


def queue_depth(name: str) -> int:
    conn = pika.BlockingConnection(pika.URLParameters("amqp://guest:guest@127.0.0.1:5672/%2F"))
    try:
        return int(conn.channel().queue_declare(name, passive=True).method.message_count)
    finally:
        conn.close()


def produce(system: System, bodies: list[dict[str, Any]]) -> None:
    producer = KafkaProducer(bootstrap_servers=BOOTSTRAP, acks="all")
    for b in bodies:
        producer.send(system.topics[0].name, key=str(b["id"] % 2).encode(), value=json.dumps(b).encode(),
                      headers=[("h", b"v")])
    producer.flush()
    producer.close()


def committed_lag(system: System) -> int:
    source = system.kafka_sources[0]
    consumer = KafkaConsumer(bootstrap_servers=BOOTSTRAP, group_id=None)
    admin = KafkaAdminClient(bootstrap_servers=BOOTSTRAP)
    try:
        parts = [TopicPartition(source.topic, p) for p in range(system.topics[0].partitions)]
        ends = consumer.end_offsets(parts)
        offsets = admin.list_group_offsets(source.consumer_group_id).get(source.consumer_group_id, {})
        return sum(ends[tp] - (offsets[tp].offset if tp in offsets else 0) for tp in parts)
    finally:
        consumer.close()
        admin.close()


# --- RabbitMQ (Amazon MQ) -------------------------------------------------------------------------------


def test_rabbitmq_batches_are_delivered_as_aws_rmq_events(local_state: dict[str, str], run_id: str) -> None:
    system = probe_system(run_id, rmq_batch=10, rmq_window_s=0.5)
    declare(system)
    publish(system, [{"id": i} for i in range(25)])  # queued before the mapping starts: full batches
    rt = start(system, local_state, run_id)
    probe = Probe(run_id)
    try:
        probe.wait_for(lambda: len(probe.items("received")) >= 25)
        batches = probe.items("batches")
        sizes = [len(next(iter(b["rmqMessagesByQueue"].values()))) for b in batches]
        assert sum(sizes) == 25 and max(sizes) == 10
        event = RabbitMQEvent(batches[0])
        assert event.event_source == "aws:rmq"
        (key, messages), = event.rmq_messages_by_queue.items()
        assert key == f"{system.queues[0].name}::/"
        assert messages[0].json_data == {"id": 0} and messages[0].redelivered is False
        props = messages[0].basic_properties
        assert props.content_type == "application/json" and props.delivery_mode == 2
        assert props.message_id == "0" and props.body_size == len(b'{"id": 0}')
        assert props.headers == {"source": {"bytes": list(b"test")}}
        probe.wait_for(lambda: queue_depth(system.queues[0].name) == 0)
    finally:
        rt.stop()
        undeclare(system)


def test_rabbitmq_function_error_redelivers_the_whole_batch(local_state: dict[str, str], run_id: str) -> None:
    system = probe_system(run_id, rmq_batch=5, rmq_window_s=0.3)
    declare(system)
    publish(system, [{"id": 0}, {"id": 1, "fail_times": 1}, {"id": 2}])
    rt = start(system, local_state, run_id)
    probe = Probe(run_id)
    try:
        probe.wait_for(lambda: len(probe.items("received")) >= 6)
        received = probe.items("received")
        assert [r["id"] for r in received[:3]] == [0, 1, 2]
        assert [r["id"] for r in received[3:6]] == [0, 1, 2]  # the same batch again, all of it
        assert all(r["redelivered"] for r in received[3:6])
        probe.wait_for(lambda: queue_depth(system.queues[0].name) == 0)
        assert len(probe.items("received")) == 6  # acknowledged once it succeeded: no third delivery
    finally:
        rt.stop()
        undeclare(system)


def test_rabbitmq_poison_message_is_dead_lettered_after_the_delivery_limit(local_state: dict[str, str],
                                                                           run_id: str) -> None:
    system = probe_system(run_id, rmq_batch=1, rmq_window_s=0.1, delivery_limit=2)
    declare(system)
    publish(system, [{"id": 0, "poison": True}, {"id": 1}])
    rt = start(system, local_state, run_id)
    probe = Probe(run_id)
    dlq = system.queues[0].dead_letter_queue
    try:
        probe.wait_for(lambda: queue_depth(dlq) == 1, timeout=30)
        probe.wait_for(lambda: any(r["id"] == 1 for r in probe.items("received")))
        attempts = Counter(r["id"] for r in probe.items("received"))
        assert attempts[0] == 3  # the first delivery plus the delivery limit
        conn = pika.BlockingConnection(pika.URLParameters("amqp://guest:guest@127.0.0.1:5672/%2F"))
        _method, props, body = conn.channel().basic_get(dlq, auto_ack=True)
        conn.close()
        assert json.loads(body) == {"id": 0, "poison": True}
        assert props.headers["x-death"][0]["reason"] == "delivery_limit"
    finally:
        rt.stop()
        undeclare(system)


def spawn_runtime(run_id: str, port: int, options: dict[str, Any]) -> subprocess.Popen[bytes]:
    log = (LOGS / f"test-runtime-{run_id}.log").open("ab")
    return subprocess.Popen([sys.executable, "-m", "tests.fixtures.serve_probe", run_id, str(port),
                             json.dumps(options)], cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True, env={**os.environ, "PYTHONPATH": str(ROOT)})


def crash(proc: subprocess.Popen[bytes], run_id: str) -> None:
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    kill_stray_emulators(f"test-{run_id}")  # as if the whole host died: the function environments too


def test_rabbitmq_nothing_lost_or_acknowledged_twice_across_a_runtime_crash(local_state: dict[str, str],
                                                                            run_id: str) -> None:
    options: dict[str, Any] = {"rmq_batch": 5, "rmq_window_s": 0.1, "sleep_s": 0.25}
    system = probe_system(run_id, **options)
    declare(system)
    publish(system, [{"id": i} for i in range(60)])
    probe = Probe(run_id)
    first = spawn_runtime(run_id, free_port(), options)
    try:
        probe.wait_for(lambda: len(probe.items("received")) >= 15)
        crash(first, run_id)
        second = spawn_runtime(run_id, free_port(), options)
        try:
            probe.wait_for(lambda: {r["id"] for r in probe.items("received")} >= set(range(60)), timeout=60)
            probe.wait_for(lambda: queue_depth(system.queues[0].name) == 0)
        finally:
            second.terminate()
            second.wait(timeout=30)
        seen: set[int] = set()
        for r in probe.items("received"):
            # a message seen again was never acknowledged (an acknowledged one is gone from the queue), and the
            # broker marks every such second delivery as a redelivery
            if r["id"] in seen:
                assert r["redelivered"], f"message {r['id']} was delivered twice without a redelivery flag"
            seen.add(r["id"])
        assert any(r["redelivered"] for r in probe.items("received"))  # the crash did cut a batch in flight
    finally:
        if first.poll() is None:
            crash(first, run_id)
        undeclare(system)


# --- Kafka (self-managed) ---------------------------------------------------------------------------------


def test_kafka_records_arrive_in_order_per_partition_as_self_managed_kafka_events(
        local_state: dict[str, str], run_id: str) -> None:
    system = probe_system(run_id, kafka_batch=10)
    declare(system)
    produce(system, [{"id": i} for i in range(30)])
    rt = start(system, local_state, run_id)
    probe = Probe(run_id)
    try:
        probe.wait_for(lambda: len(probe.items("received")) >= 30)
        for batch in probe.items("batches"):
            model = KafkaSelfManagedEventModel.model_validate(batch)
            assert model.eventSource == "SelfManagedKafka"
            assert sum(len(v) for v in model.records.values()) <= 10
        first = next(iter(KafkaSelfManagedEventModel.model_validate(probe.items("batches")[0]).records.values()))[0]
        assert first.headers == [{"h": b"v"}] and first.key in (b"0", b"1")
        by_partition: dict[str, list[int]] = {}
        for r in probe.items("received"):
            by_partition.setdefault(r["partition"], []).append(r["offset"])
        assert all(offsets == sorted(offsets) for offsets in by_partition.values())
        assert len({r["id"] for r in probe.items("received")}) == 30
        probe.wait_for(lambda: committed_lag(system) == 0)
    finally:
        rt.stop()
        undeclare(system)


def test_kafka_partial_batch_failure_resumes_at_the_failed_record(local_state: dict[str, str],
                                                                   run_id: str) -> None:
    system = probe_system(run_id, kafka_batch=50)
    declare(system)
    # key = id % 2 puts even ids on one partition and odd ids on the other
    produce(system, [{"id": i, "fail_times": 1 if i == 4 else 0} for i in range(10)])
    rt = start(system, local_state, run_id)
    probe = Probe(run_id)
    try:
        probe.wait_for(lambda: committed_lag(system) == 0)
        counts = Counter(r["id"] for r in probe.items("received"))
        assert counts[0] == counts[2] == 1  # before the failure on its partition: processed once
        assert counts[4] == 2 and counts[6] == 2 and counts[8] == 2  # the failure and what follows: again
        assert all(counts[i] == 1 for i in (1, 3, 5, 7, 9))  # the other partition is not held back
    finally:
        rt.stop()
        undeclare(system)


def test_kafka_poison_record_goes_to_the_on_failure_topic_after_bounded_retries(
        local_state: dict[str, str], run_id: str) -> None:
    system = probe_system(run_id, kafka_batch=50, kafka_retries=2)
    declare(system)
    produce(system, [{"id": 0}, {"id": 2, "poison": True}, {"id": 4}])
    rt = start(system, local_state, run_id)
    probe = Probe(run_id)
    try:
        probe.wait_for(lambda: committed_lag(system) == 0, timeout=30)
        counts = Counter(r["id"] for r in probe.items("received"))
        assert counts[2] == 3  # the first attempt and two retries
        assert counts[4] >= 1
        consumer = KafkaConsumer(system.topics[1].name, bootstrap_servers=BOOTSTRAP, auto_offset_reset="earliest",
                                 consumer_timeout_ms=5000)
        failed = list(consumer)
        consumer.close()
        assert len(failed) == 1
        headers = dict(failed[0].headers)
        assert headers["error-type"] == b"ReportedInBatchItemFailures"
        assert headers["source-topic"] == system.topics[0].name.encode()
        assert json.loads(failed[0].value)["record"]["offset"] == int(headers["source-offset"])
    finally:
        rt.stop()
        undeclare(system)


def test_kafka_on_demand_retries_the_whole_batch_until_it_succeeds(local_state: dict[str, str],
                                                                    run_id: str) -> None:
    system = probe_system(run_id, kafka_batch=50, kafka_retries=2, kafka_provisioned=False)
    declare(system)
    # one function error more than the provisioned retry limit: on demand there is no limit and no topic
    produce(system, [{"id": 0}, {"id": 2, "raise_times": 3}, {"id": 4}])
    rt = start(system, local_state, run_id)
    probe = Probe(run_id)
    try:
        probe.wait_for(lambda: committed_lag(system) == 0, timeout=60)
        counts = Counter(r["id"] for r in probe.items("received"))
        assert counts[0] == counts[2] == counts[4] == 4  # the whole batch, until it succeeded
        produce(system, [{"id": 6, "fail_times": 1}])  # a partial batch response means nothing on demand
        probe.wait_for(lambda: committed_lag(system) == 0 and 6 in {r["id"] for r in probe.items("received")})
        assert Counter(r["id"] for r in probe.items("received"))[6] == 1
        assert rt.kafka_pollers[0].sent_to_failure_topic == 0
    finally:
        rt.stop()
        undeclare(system)


def test_kafka_nothing_lost_across_a_runtime_crash(local_state: dict[str, str], run_id: str) -> None:
    options: dict[str, Any] = {"kafka_batch": 5, "sleep_s": 0.25}
    system = probe_system(run_id, **options)
    declare(system)
    produce(system, [{"id": i} for i in range(60)])
    probe = Probe(run_id)
    first = spawn_runtime(run_id, free_port(), options)
    try:
        probe.wait_for(lambda: len(probe.items("received")) >= 15)
        crash(first, run_id)
        second = spawn_runtime(run_id, free_port(), options)
        try:
            probe.wait_for(lambda: {r["id"] for r in probe.items("received")} >= set(range(60)), timeout=60)
            probe.wait_for(lambda: committed_lag(system) == 0)
        finally:
            second.terminate()
            second.wait(timeout=30)
        # at-least-once: anything seen twice was past the last committed offset when the runtime died,
        # so at most one batch per partition is repeated
        repeats = [i for i, n in Counter(r["id"] for r in probe.items("received")).items() if n > 1]
        assert len(repeats) <= 2 * options["kafka_batch"]
    finally:
        if first.poll() is None:
            crash(first, run_id)
        undeclare(system)
