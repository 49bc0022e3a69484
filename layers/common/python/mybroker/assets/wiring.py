"""The composition root of the assets functions: the catalog and the outbox publisher, created on first use
and kept warm for the execution environment."""

from __future__ import annotations

from functools import cache

from mybroker.assets.repository import MySqlCatalog
from mybroker.outbox import KafkaEventPublisher, OutboxPublisher


@cache
def catalog() -> MySqlCatalog:
    from mybroker.db import engine

    return MySqlCatalog(engine())


@cache
def publisher(timeout_s: float = 10) -> OutboxPublisher:
    """Asset events to Kafka; ``timeout_s`` bounds each send (the API keeps it short, the sweeper need not)."""
    return OutboxPublisher(None, KafkaEventPublisher(timeout_s=timeout_s))
