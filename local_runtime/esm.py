"""Lambda event source mappings, locally, with AWS's semantics (``../shared/reference/aws.md``).

Amazon MQ (RabbitMQ): batches of up to ``batch_size`` messages or ``batching_window_s``, one invocation at
a time per mapping, acknowledged only after the function succeeded; on a function error the whole batch is
requeued and redelivered; poison messages are dead-lettered by the broker (quorum queue delivery limit).

Self-managed Kafka: records in order per partition, offsets committed only after success. In provisioned
mode, ``batchItemFailures`` honoured (processing resumes at the first failed offset of each partition), retries
bounded by ``maximum_retry_attempts``, then the failed records go to the on-failure topic with the error. On
demand (``provisioned=False``), a function error retries the whole batch until it succeeds.
"""

from __future__ import annotations

import base64
import json
import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from infra.declarations import KafkaSource, RabbitMqSource
from local_runtime.environment import ACCOUNT, REGION
from local_runtime.lambdas import InvokeResult

log = logging.getLogger("local_runtime.esm")

Invoke = Callable[[str, dict[str, Any]], InvokeResult]


def _rmq_header(value: Any) -> Any:
    if isinstance(value, str):
        return {"bytes": list(value.encode())}
    if isinstance(value, bytes):
        return {"bytes": list(value)}
    if isinstance(value, dict):
        return {k: _rmq_header(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_rmq_header(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def rabbitmq_message(properties: Any, body: bytes, redelivered: bool) -> dict[str, Any]:
    ts = None
    if properties.timestamp is not None:
        ts = datetime.fromtimestamp(properties.timestamp, UTC).strftime("%b %-d, %Y, %-I:%M:%S %p")
    return {
        "basicProperties": {
            "contentType": properties.content_type,
            "contentEncoding": properties.content_encoding,
            "headers": _rmq_header(properties.headers) if properties.headers else None,
            "deliveryMode": properties.delivery_mode,
            "priority": properties.priority,
            "correlationId": properties.correlation_id,
            "replyTo": properties.reply_to,
            "expiration": properties.expiration,
            "messageId": properties.message_id,
            "timestamp": ts,
            "type": properties.type,
            "userId": properties.user_id,
            "appId": properties.app_id,
            "clusterId": properties.cluster_id,
            "bodySize": len(body),
        },
        "redelivered": redelivered,
        "data": base64.b64encode(body).decode(),
    }


def rabbitmq_event(queue: str, vhost: str, messages: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "eventSource": "aws:rmq",
        "eventSourceArn": f"arn:aws:mq:{REGION}:{ACCOUNT}:broker:local:b-local",
        "rmqMessagesByQueue": {f"{queue}::{vhost}": messages},
    }


class RabbitMqPoller:
    """One mapping: one consumer, one invocation at a time."""

    def __init__(self, source: RabbitMqSource, vhost: str, url: str, invoke: Invoke,
                 failure_backoff_s: float = 0.5) -> None:
        self.source = source
        self.vhost = vhost
        self.url = url
        self.invoke = invoke
        self.failure_backoff_s = failure_backoff_s
        self.stopped = threading.Event()
        self.batches = 0
        self.failures = 0

    def run(self) -> None:
        import pika.exceptions

        while not self.stopped.is_set():
            try:
                self._consume()
            except (pika.exceptions.AMQPError, OSError) as exc:
                log.warning("rabbitmq mapping %s: %s; reconnecting", self.source.name, exc)
                self.stopped.wait(1.0)

    def _consume(self) -> None:
        import pika

        conn = pika.BlockingConnection(pika.URLParameters(self.url))
        try:
            ch = conn.channel()
            ch.basic_qos(prefetch_count=self.source.batch_size)
            buffer: list[tuple[Any, Any, bytes]] = []
            first_at = 0.0

            def on_message(_ch: Any, method: Any, props: Any, body: bytes) -> None:
                nonlocal first_at
                if not buffer:
                    first_at = time.monotonic()
                buffer.append((method, props, body))

            ch.basic_consume(self.source.queue, on_message, auto_ack=False)
            while not self.stopped.is_set():
                conn.process_data_events(time_limit=0.02 if buffer else 0.25)
                if not buffer:
                    continue
                full = len(buffer) >= self.source.batch_size
                if full or time.monotonic() - first_at >= self.source.batching_window_s:
                    self._deliver(ch, buffer)
                    buffer = []
        finally:
            if conn.is_open:
                conn.close()  # anything unacknowledged goes back to the queue

    def _deliver(self, ch: Any, buffer: list[tuple[Any, Any, bytes]]) -> None:
        event = rabbitmq_event(self.source.queue, self.vhost,
                               [rabbitmq_message(p, b, bool(m.redelivered)) for m, p, b in buffer])
        result = self.invoke(self.source.function, event)
        last_tag = buffer[-1][0].delivery_tag
        self.batches += 1
        if result.function_error is None:
            ch.basic_ack(delivery_tag=last_tag, multiple=True)
        else:
            self.failures += 1
            log.warning("rabbitmq mapping %s: %s failed (%s); the batch of %d is redelivered",
                        self.source.name, self.source.function, result.function_error, len(buffer))
            ch.basic_nack(delivery_tag=last_tag, multiple=True, requeue=True)
            self.stopped.wait(self.failure_backoff_s)

    def stop(self) -> None:
        self.stopped.set()


def kafka_record(rec: Any) -> dict[str, Any]:
    return {
        "topic": rec.topic,
        "partition": rec.partition,
        "offset": rec.offset,
        "timestamp": rec.timestamp,
        "timestampType": "LOG_APPEND_TIME" if rec.timestamp_type == 1 else "CREATE_TIME",
        "key": base64.b64encode(rec.key).decode() if rec.key is not None else None,
        "value": base64.b64encode(rec.value or b"").decode(),
        "headers": [{k: list(v or b"")} for k, v in (rec.headers or [])],
    }


def kafka_event(bootstrap: str, records: dict[Any, list[Any]]) -> dict[str, Any]:
    return {
        "eventSource": "SelfManagedKafka",
        "bootstrapServers": bootstrap,
        "records": {f"{tp.topic}-{tp.partition}": [kafka_record(r) for r in recs]
                    for tp, recs in records.items() if recs},
    }


def failed_offsets(result: InvokeResult) -> dict[str, int] | None:
    """First failed offset per ``topic-partition`` from a partial batch response; None = the whole batch
    failed (a function error, or a response that names records that are not in the batch)."""
    if result.function_error is not None:
        return None
    try:
        body = result.json()
    except ValueError:
        return {}
    if not isinstance(body, dict) or not body.get("batchItemFailures"):
        return {}
    out: dict[str, int] = {}
    for item in body["batchItemFailures"]:
        ident = item.get("itemIdentifier") if isinstance(item, dict) else None
        if not isinstance(ident, dict) or "partition" not in ident or "offset" not in ident:
            return None
        part, offset = str(ident["partition"]), int(ident["offset"])
        out[part] = min(offset, out.get(part, offset))
    return out


class KafkaPoller:
    """One mapping: one consumer group, one invocation at a time, in order per partition."""

    def __init__(self, source: KafkaSource, bootstrap: str, invoke: Invoke) -> None:
        self.source = source
        self.bootstrap = bootstrap
        self.invoke = invoke
        self.stopped = threading.Event()
        self.batches = 0
        self.sent_to_failure_topic = 0
        self._consumer: Any = None
        self._producer: Any = None

    def run(self) -> None:
        from kafka.errors import KafkaError

        while not self.stopped.is_set():
            try:
                self._consume()
            except KafkaError as exc:
                log.warning("kafka mapping %s: %s; reconnecting", self.source.name, exc)
                self._close()
                self.stopped.wait(1.0)

    def _close(self) -> None:
        if self._consumer is not None:
            self._consumer.close(autocommit=False)
            self._consumer = None
        if self._producer is not None:
            self._producer.close()
            self._producer = None

    def _consume(self) -> None:
        from kafka import KafkaConsumer

        self._consumer = KafkaConsumer(
            bootstrap_servers=self.bootstrap,
            metrics_enabled=False,
            group_id=self.source.consumer_group_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest" if self.source.starting_position == "TRIM_HORIZON" else "latest",
            max_poll_records=self.source.batch_size,
            fetch_max_wait_ms=int(self.source.batching_window_s * 1000),
        )
        self._consumer.subscribe([self.source.topic])
        try:
            while not self.stopped.is_set():
                batch = self._consumer.poll(timeout_ms=int(self.source.batching_window_s * 1000) or 100,
                                            max_records=self.source.batch_size)
                if batch:
                    self._process({tp: list(recs) for tp, recs in batch.items()})
        finally:
            self._close()

    def _process(self, pending: dict[Any, list[Any]]) -> None:
        from kafka.structs import OffsetAndMetadata

        attempts = 0
        while pending and not self.stopped.is_set():
            result = self.invoke(self.source.function, kafka_event(self.bootstrap, pending))
            self.batches += 1
            if self.source.provisioned:
                failed = failed_offsets(result)
            else:  # on demand: a response body is not read; only a function error fails (all of) the batch
                failed = None if result.function_error is not None else {}
            commits: dict[Any, Any] = {}
            retry: dict[Any, list[Any]] = {}
            for tp, recs in pending.items():
                key = f"{tp.topic}-{tp.partition}"
                first_bad = recs[0].offset if failed is None else failed.get(key)
                done = [r for r in recs if first_bad is None or r.offset < first_bad]
                rest = [r for r in recs if first_bad is not None and r.offset >= first_bad]
                if done:
                    commits[tp] = OffsetAndMetadata(done[-1].offset + 1, "", -1)
                if rest:
                    retry[tp] = rest
            if commits:
                self._consumer.commit(commits)
            if not retry:
                return
            attempts += 1
            if self.source.provisioned and attempts > self.source.maximum_retry_attempts:
                error = result.function_error or "ReportedInBatchItemFailures"
                detail = result.payload.decode("utf-8", "replace")[:2000]
                for tp, recs in retry.items():
                    # a function error fails the whole batch; a partial response only the first failed
                    # record of each partition, and the records after it are retried
                    victims = recs if failed is None else recs[:1]
                    for rec in victims:
                        self._to_failure_topic(rec, error, detail)
                    self._consumer.commit({tp: OffsetAndMetadata(victims[-1].offset + 1, "", -1)})
                    retry[tp] = recs[len(victims):]
                retry = {tp: recs for tp, recs in retry.items() if recs}
                attempts = 0
            pending = retry
            if pending:  # on demand this goes on until the function succeeds (or the mapping stops)
                self.stopped.wait(min(0.2 * attempts, 1.0 if self.source.provisioned else 5.0))

    def _to_failure_topic(self, rec: Any, error: str, detail: str) -> None:
        self.sent_to_failure_topic += 1
        log.warning("kafka mapping %s: record %s-%d@%d failed after %d retries (%s)", self.source.name,
                    rec.topic, rec.partition, rec.offset, self.source.maximum_retry_attempts, error)
        if self.source.on_failure_topic is None:
            return
        from kafka import KafkaProducer

        if self._producer is None:
            self._producer = KafkaProducer(bootstrap_servers=self.bootstrap, acks="all")
        headers = [
            ("esm", self.source.name.encode()),
            ("source-topic", rec.topic.encode()),
            ("source-partition", str(rec.partition).encode()),
            ("source-offset", str(rec.offset).encode()),
            ("error-type", error.encode()),
            ("error", detail.encode()),
        ]
        body = json.dumps({
            "requestContext": {"functionName": self.source.function, "condition": "RetriesExhausted",
                               "approximateInvokeCount": self.source.maximum_retry_attempts + 1},
            "responseContext": {"functionError": error, "payload": detail},
            "record": kafka_record(rec),
        }).encode()
        self._producer.send(self.source.on_failure_topic, key=rec.key, value=body, headers=headers).get(timeout=10)

    def stop(self) -> None:
        self.stopped.set()
