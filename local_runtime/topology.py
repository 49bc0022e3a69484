"""Declares the system's RabbitMQ exchanges and queues and its Kafka topics, from the declarations.

Idempotent: re-declaring what exists is a no-op. Queues are quorum queues (durable, replicated on Amazon
MQ clusters, and with ``x-delivery-limit`` for poison messages), each with a dead-letter queue.
"""

from __future__ import annotations

import contextlib
from typing import Any

from mybroker.contracts.engine import DEAD_LETTER_EXCHANGE

from infra.declarations import Queue, Topic


def declare_queues(channel: Any, queues: tuple[Queue, ...]) -> None:
    channel.exchange_declare(DEAD_LETTER_EXCHANGE, exchange_type="direct", durable=True)
    for q in queues:
        channel.exchange_declare(q.exchange, exchange_type=q.exchange_type, durable=True)
        channel.queue_declare(q.dead_letter_queue, durable=True, arguments={"x-queue-type": "quorum"})
        channel.queue_bind(q.dead_letter_queue, DEAD_LETTER_EXCHANGE, routing_key=q.dead_letter_queue)
        channel.queue_declare(q.name, durable=True, arguments={
            "x-queue-type": "quorum",
            "x-delivery-limit": q.delivery_limit,
            "x-dead-letter-exchange": DEAD_LETTER_EXCHANGE,
            "x-dead-letter-routing-key": q.dead_letter_queue,
        })
        for key in q.routing_keys:
            channel.queue_bind(q.name, q.exchange, routing_key=key)


def create_topics(bootstrap: str, topics: tuple[Topic, ...]) -> None:
    from kafka import KafkaAdminClient
    from kafka.admin import NewTopic
    from kafka.errors import TopicAlreadyExistsError

    admin = KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=10000)
    try:
        existing = set(admin.list_topics())
        new = [NewTopic(t.name, num_partitions=t.partitions, replication_factor=1,
                        topic_configs={"retention.ms": str(t.retention_hours * 3600 * 1000)})
               for t in topics if t.name not in existing]
        if new:
            with contextlib.suppress(TopicAlreadyExistsError):
                admin.create_topics(new)
    finally:
        admin.close()
