"""The asset catalog as the engine follows it: the Kafka ``assets`` topic (``mybroker.contracts.assets``),
turned into the core's :class:`~engine_service.core.CatalogUpdate` and journaled like any other input.

Where the engine is in the topic is part of its own state, not a consumer group's: each applied event is
journaled under the command id ``catalog:<partition>:<offset>``, so the snapshot + journal replay that rebuilds
the books also gives the next offset of every partition, and the feed seeks there on start. An event is thus
applied once, in the same place relative to the orders on every replay, and a restart neither loses nor
repeats a catalog change. With no position yet (a new journal) the topic is read from the beginning.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime
from typing import Any

from mybroker.assets.catalog import TICKER
from mybroker.contracts.assets import AssetEvent

from engine_service.core import CatalogUpdate

log = logging.getLogger("engine_service.catalog")

PREFIX = "catalog:"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def command_id(partition: int, offset: int) -> str:
    return f"{PREFIX}{partition}:{offset}"


def position_of(command_id: str) -> tuple[int, int] | None:
    """(partition, next offset) of a journaled catalog event's command id; None for any other command."""
    if not command_id.startswith(PREFIX):
        return None
    partition, _, offset = command_id[len(PREFIX):].partition(":")
    try:
        return int(partition), int(offset) + 1
    except ValueError:
        return None


def version_ns(at: datetime) -> int:
    """``occurred_at`` as integer nanoseconds since the epoch (exact: datetimes carry microseconds)."""
    aware = at if at.tzinfo is not None else at.replace(tzinfo=UTC)
    delta = aware - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 10**9 + delta.microseconds * 1000


def to_update(event: AssetEvent) -> CatalogUpdate | None:
    """The core input of an asset event (tunnels from percent to basis points); None if it names no B3 ticker
    or its key and its instrument disagree."""
    i = event.instrument
    if event.ticker != i.ticker or not TICKER.match(i.ticker):
        return None
    return CatalogUpdate(i.ticker, i.round_lot, i.tick_size_cents, i.rejection_tunnel_pct * 100,
                         i.auction_tunnel_pct * 100, i.status == "ACTIVE", version_ns(event.occurred_at))


class CatalogFeed:
    """Reads every partition of the topic (no consumer group: the positions come from the journal)."""

    def __init__(self, bootstrap: str, topic: str, positions: dict[int, int]) -> None:
        from kafka import KafkaConsumer, TopicPartition

        self.topic = topic
        self.consumer: Any = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False,
                                           auto_offset_reset="earliest", metrics_enabled=False)
        partitions = self.consumer.partitions_for_topic(topic)
        deadline = time.monotonic() + 30
        while not partitions and time.monotonic() < deadline:  # metadata not there yet on a fresh connection
            time.sleep(0.2)
            partitions = self.consumer.partitions_for_topic(topic)
        if not partitions:
            raise RuntimeError(f"the catalog topic {topic!r} does not exist")
        self.partitions = [TopicPartition(topic, p) for p in sorted(partitions)]
        self.consumer.assign(self.partitions)
        starts = self.consumer.beginning_offsets(self.partitions)
        for tp in self.partitions:
            if positions.get(tp.partition, 0) < starts[tp]:
                log.warning("catalog partition %d: offsets %d to %d expired before the engine read them (topic "
                            "retention): those changes are lost to it", tp.partition,
                            positions.get(tp.partition, 0), starts[tp] - 1)
            if tp.partition in positions:
                self.consumer.seek(tp, positions[tp.partition])
            else:
                self.consumer.seek_to_beginning(tp)

    def poll(self, timeout_ms: int = 0, max_records: int = 500) -> list[tuple[int, int, bytes]]:
        """(partition, offset, value) of the next records, in offset order within each partition."""
        batches = self.consumer.poll(timeout_ms=timeout_ms, max_records=max_records)
        records = [(tp.partition, r.offset, r.value) for tp, rs in batches.items() for r in rs]
        records.sort(key=lambda x: (x[0], x[1]))
        return records

    def caught_up(self) -> bool:
        """True once every partition's position has reached its end (as of this call)."""
        ends = self.consumer.end_offsets(self.partitions)
        return all(self.consumer.position(tp) >= ends[tp] for tp in self.partitions)

    def close(self) -> None:
        self.consumer.close()
