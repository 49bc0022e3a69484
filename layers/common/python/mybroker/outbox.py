"""The transactional outbox, shared by the services that publish (orders, assets).

A message is stored in an ``outbox`` table in the same MySQL transaction as the change that decided it
(:func:`add_outbox`), published after the commit and marked sent once the broker confirmed it
(:func:`publish_and_mark`); a scheduled sweeper publishes whatever a crash or a broker outage left unsent
(:func:`sweep`). Delivery is at least once: a message keeps its id, and consumers dedupe by it.

Each service owns its ``outbox`` table (its own schema and migration, the columns of :func:`outbox_table`).
The broker adapters import their client library only when first used.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, Protocol

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from mybroker.settings import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class OutboxMessage:
    """One message to publish after the transaction that decided it commits."""

    destination: Literal["rabbitmq", "kafka"]
    target: str  # the RabbitMQ exchange or the Kafka topic
    key: str  # the routing key or the Kafka record key
    message_id: str  # the engine command id, or the event id
    body: bytes
    outbox_id: int = 0  # set once stored


class Sender(Protocol):
    """One broker: sends a message and returns once the broker confirmed it, or raises."""

    def send(self, m: OutboxMessage) -> None: ...


class Publisher(Protocol):
    def publish(self, messages: Sequence[OutboxMessage]) -> list[int]:
        """Publishes in order, stopping at the first failure; returns the outbox ids that were confirmed."""
        ...


class OutboxStore(Protocol):
    """The two outbox operations the publishing side needs from a service's repository."""

    def unsent(self, limit: int, older_than: datetime) -> list[OutboxMessage]: ...
    def mark_sent(self, outbox_ids: Sequence[int]) -> None: ...


# --- storage (MySQL, SQLAlchemy Core) ----------------------------------------------------------------------
def outbox_table(metadata: sa.MetaData) -> sa.Table:
    """The ``outbox`` table of one service's schema (created by that service's migration)."""
    return sa.Table(
        "outbox", metadata,
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
        sa.Column("destination", sa.String(10)),
        sa.Column("target", sa.String(64)),
        sa.Column("msg_key", sa.String(128)),
        sa.Column("message_id", sa.String(128)),
        sa.Column("body", sa.LargeBinary),
        sa.Column("created_at", sa.DateTime),
        sa.Column("sent_at", sa.DateTime),
    )


def _utc_naive(t: datetime) -> datetime:
    """MySQL DATETIME has no zone: store UTC."""
    return t.astimezone(UTC).replace(tzinfo=None)


def add_outbox(c: Connection, table: sa.Table, messages: Sequence[OutboxMessage]) -> list[OutboxMessage]:
    """Inserts ``messages`` on ``c``, inside the caller's transaction; returns them with their outbox ids."""
    now = _utc_naive(datetime.now(UTC))
    stored: list[OutboxMessage] = []
    insert = table.insert()  # parameters at execution: one compiled form, reused (memoized per table)
    for m in messages:
        res = c.execute(insert, {"destination": m.destination, "target": m.target, "msg_key": m.key,
                                 "message_id": m.message_id, "body": m.body, "created_at": now})
        pk = res.inserted_primary_key
        assert pk is not None
        stored.append(OutboxMessage(m.destination, m.target, m.key, m.message_id, m.body, int(pk[0])))
    return stored


def unsent(engine: Engine, table: sa.Table, limit: int, older_than: datetime) -> list[OutboxMessage]:
    """Unsent messages stored at or before ``older_than`` (wall clock, UTC), oldest first."""
    with engine.connect() as c:
        rows = c.execute(sa.select(table).where(table.c.sent_at.is_(None), table.c.created_at <= _utc_naive(older_than))
                         .order_by(table.c.id).limit(limit)).mappings().all()
    return [OutboxMessage(r["destination"], r["target"], r["msg_key"], r["message_id"], bytes(r["body"]),
                          int(r["id"])) for r in rows]


def mark_sent(engine: Engine, table: sa.Table, outbox_ids: Sequence[int]) -> None:
    """Marks messages sent; a message already marked keeps its first ``sent_at``."""
    if not outbox_ids:
        return
    with engine.begin() as c:
        c.execute(table.update().where(table.c.id.in_(list(outbox_ids)), table.c.sent_at.is_(None))
                  .values(sent_at=_utc_naive(datetime.now(UTC))))


# --- publishing --------------------------------------------------------------------------------------------
class KafkaEventPublisher:
    """Events to Kafka (acks=all, the connection of :func:`mybroker.kafka.producer`), keyed by the message key,
    with a ``message_id`` header. The producer is created lazily and rebuilt after a failure, so a warm execution
    environment reuses it. ``timeout_s`` bounds both the wait for metadata and the wait for the acknowledgement."""

    def __init__(self, s: Settings | None = None, timeout_s: float = 10) -> None:
        self.settings = s
        self.timeout_s = timeout_s
        self._producer: Any = None

    def _p(self) -> Any:
        if self._producer is None:
            from mybroker.kafka import producer

            timeout_ms = int(self.timeout_s * 1000)
            self._producer = producer(self.settings, linger_ms=0, request_timeout_ms=timeout_ms,
                                      max_block_ms=timeout_ms)
        return self._producer

    def send(self, m: OutboxMessage) -> None:
        try:
            self._p().send(m.target, key=m.key.encode(), value=m.body,
                           headers=[("message_id", m.message_id.encode())]).get(timeout=self.timeout_s)
        except Exception:
            self.close()
            raise

    def close(self) -> None:
        if self._producer is not None:
            with contextlib.suppress(Exception):
                self._producer.close(timeout=2)
        self._producer = None


class OutboxPublisher:
    """The :class:`Publisher`: in outbox order, stopping at the first failure (what is left stays unsent for the
    sweeper, and later messages do not overtake it). A destination without a sender is skipped (this function
    does not publish there; the sweeper does)."""

    def __init__(self, rabbit: Sender | None, kafka: Sender | None) -> None:
        self.rabbit = rabbit
        self.kafka = kafka

    def publish(self, messages: Sequence[OutboxMessage]) -> list[int]:
        sent: list[int] = []
        for m in messages:
            target = self.rabbit if m.destination == "rabbitmq" else self.kafka
            if target is None:
                continue
            try:
                target.send(m)
            except Exception:
                log.exception("publishing %s %s failed; left for the sweeper", m.destination, m.message_id)
                break
            sent.append(m.outbox_id)
        return sent


def publish_and_mark(store: OutboxStore, publisher: Publisher, messages: Sequence[OutboxMessage]) -> list[int]:
    """Right after the commit: publishes ``messages`` and marks what the broker confirmed as sent. Never raises:
    whatever is not published (or not marked) stays in the outbox for the sweeper. Returns the ids marked."""
    if not messages:
        return []
    try:
        sent = publisher.publish(messages)
    except Exception:
        log.exception("publishing the outbox failed; the sweeper will retry")
        return []
    if not sent:
        return []
    try:
        store.mark_sent(sent)
    except Exception:  # published but unmarked: the sweeper publishes it again, consumers dedupe
        log.exception("marking the outbox sent failed; the sweeper will publish it again")
        return []
    return sent


def sweep(store: OutboxStore, publisher: Publisher, older_than: datetime, limit: int = 500) -> int:
    """The sweeper: publishes unsent messages stored at or before ``older_than`` (old enough that the request
    that stored them is done with them), marks what was confirmed, and returns how many."""
    rows = store.unsent(limit, older_than)
    if not rows:
        return 0
    sent = publisher.publish(rows)
    if sent:
        store.mark_sent(sent)
    return len(sent)
