"""The assets outbox against the real MariaDB and Kafka: an instrument change and its event row commit together
(or not at all); with Kafka failing the row stays pending, and the sweeper's code path publishes it later, once,
with the same event id."""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from kafka import KafkaConsumer, TopicPartition
from mybroker.assets.catalog import Instrument, InstrumentKind, InstrumentStatus, isin_check_digit
from mybroker.assets.events import asset_event, event_message
from mybroker.assets.repository import DuplicateInstrument, MySqlCatalog, instruments, outbox
from mybroker.contracts.assets import TOPIC, AssetEvent, AssetEventType, parse_asset_event
from mybroker.outbox import KafkaEventPublisher, OutboxMessage, OutboxPublisher, publish_and_mark, sweep
from mybroker.settings import Settings

from local_runtime import services as svc

pytestmark = pytest.mark.stack
KAFKA = f"127.0.0.1:{svc.KAFKA_PORT}"
_issuers = (f"Y{''.join(t)}" for t in itertools.product("ABCDEFGHIJKLMNOPQRSTUVWXYZ", repeat=3))


def new_instrument() -> Instrument:
    issuer = next(_issuers)
    first11 = f"BR{issuer}ACNOR"
    return Instrument(ticker=f"{issuer}3", name=f"Outbox test {issuer}", isin=first11 + str(isin_check_digit(first11)),
                      kind=InstrumentKind.SHARE_ON)


def created(instrument: Instrument) -> AssetEvent:
    return asset_event(AssetEventType.CREATED, instrument, (), "outbox-test")


def outbox_rows(db: sa.Engine, ticker: str) -> list[dict[str, Any]]:
    with db.connect() as c:
        return [dict(r) for r in c.execute(sa.select(outbox).where(outbox.c.msg_key == ticker)
                                           .order_by(outbox.c.id)).mappings()]


class Recording:
    """The real Kafka sender, remembering what it tried and what the broker confirmed."""

    def __init__(self, inner: KafkaEventPublisher) -> None:
        self.inner = inner
        self.attempts = 0
        self.sent: list[str] = []

    def send(self, m: OutboxMessage) -> None:
        self.attempts += 1
        self.inner.send(m)
        self.sent.append(m.message_id)


def kafka_down() -> Recording:
    """The real Kafka client, pointed where no broker listens: every send fails as in an outage."""
    return Recording(KafkaEventPublisher(Settings(kafka_bootstrap_servers="127.0.0.1:1"), timeout_s=1))


@pytest.fixture
def catalog(assets_db: sa.Engine) -> MySqlCatalog:
    return MySqlCatalog(assets_db)


# --- one transaction -----------------------------------------------------------------------------------------

def test_a_create_and_its_event_row_commit_together(catalog: MySqlCatalog, assets_db: sa.Engine) -> None:
    instrument = new_instrument()
    event = created(instrument)
    stored = catalog.create(instrument, [event_message(event)])
    assert len(stored) == 1 and stored[0].outbox_id > 0 and stored[0].message_id == event.event_id
    assert catalog.get(instrument.ticker) == instrument
    [row] = outbox_rows(assets_db, instrument.ticker)
    assert (row["id"], row["destination"], row["target"], row["message_id"]) == (
        stored[0].outbox_id, "kafka", TOPIC, event.event_id)
    assert row["sent_at"] is None
    assert parse_asset_event(row["body"]) == event


def test_an_update_and_its_event_row_commit_together(catalog: MySqlCatalog, assets_db: sa.Engine) -> None:
    instrument = new_instrument()
    catalog.create(instrument, [event_message(created(instrument))])
    suspended = instrument.model_copy(update={"status": InstrumentStatus.SUSPENDED})
    event = asset_event(AssetEventType.SUSPENDED, suspended, ("status",), "outbox-test")
    catalog.update(suspended, [event_message(event)])
    assert catalog.get(instrument.ticker) == suspended
    rows = outbox_rows(assets_db, instrument.ticker)
    assert [parse_asset_event(r["body"]).event_type for r in rows] == [AssetEventType.CREATED,
                                                                        AssetEventType.SUSPENDED]
    assert rows[1]["message_id"] == event.event_id


def unstorable(event: AssetEvent) -> OutboxMessage:
    """An outbox row MariaDB refuses (message_id is VARCHAR(128), strict mode): the write fails after the
    instrument's statement ran, inside the same transaction."""
    return OutboxMessage("kafka", TOPIC, event.ticker, "x" * 129, event.to_json())


def test_an_outbox_row_that_fails_undoes_the_create(catalog: MySqlCatalog, assets_db: sa.Engine) -> None:
    instrument = new_instrument()
    with pytest.raises(sa.exc.DBAPIError):
        catalog.create(instrument, [unstorable(created(instrument))])
    assert catalog.get(instrument.ticker) is None
    assert outbox_rows(assets_db, instrument.ticker) == []


def test_an_outbox_row_that_fails_undoes_the_update(catalog: MySqlCatalog, assets_db: sa.Engine) -> None:
    instrument = new_instrument()
    catalog.create(instrument, [event_message(created(instrument))])
    renamed = instrument.model_copy(update={"name": "Renamed"})
    with pytest.raises(sa.exc.DBAPIError):
        catalog.update(renamed, [unstorable(asset_event(AssetEventType.UPDATED, renamed, ("name",)))])
    assert catalog.get(instrument.ticker) == instrument
    assert len(outbox_rows(assets_db, instrument.ticker)) == 1


def test_a_duplicate_stores_no_event(catalog: MySqlCatalog, assets_db: sa.Engine) -> None:
    instrument = new_instrument()
    catalog.create(instrument, [event_message(created(instrument))])
    with pytest.raises(DuplicateInstrument) as same_ticker:
        catalog.create(instrument, [event_message(created(instrument))])
    assert same_ticker.value.field == "ticker"
    other = new_instrument().model_copy(update={"isin": instrument.isin})
    with pytest.raises(DuplicateInstrument) as same_isin:  # found by the unique key, inside the transaction
        catalog.create(other, [event_message(created(other))])
    assert same_isin.value.field == "isin"
    assert len(outbox_rows(assets_db, instrument.ticker)) == 1 and outbox_rows(assets_db, other.ticker) == []
    with assets_db.connect() as c:
        assert c.execute(sa.select(sa.func.count()).select_from(instruments)
                         .where(instruments.c.ticker == other.ticker)).scalar_one() == 0


# --- Kafka failing, then the sweeper -------------------------------------------------------------------------

@pytest.fixture
def assets_topic() -> Iterator[KafkaConsumer]:
    consumer = KafkaConsumer(bootstrap_servers=KAFKA, group_id=None, enable_auto_commit=False)
    yield consumer
    consumer.close()


def end_offsets(consumer: KafkaConsumer) -> dict[TopicPartition, int]:
    parts = [TopicPartition(TOPIC, p) for p in sorted(consumer.partitions_for_topic(TOPIC) or {0})]
    return {tp: int(o) for tp, o in consumer.end_offsets(parts).items()}


def records_between(consumer: KafkaConsumer, start: dict[TopicPartition, int],
                    end: dict[TopicPartition, int]) -> list[Any]:
    """Every record of the topic from ``start`` up to (not including) ``end``: read until each partition's
    position reaches ``end``, which the broker acknowledged before ``end`` was taken."""
    consumer.assign(list(end))
    for tp in end:
        consumer.seek(tp, start.get(tp, 0))
    out: list[Any] = []
    while any(consumer.position(tp) < end[tp] for tp in end):
        for tp, records in consumer.poll(timeout_ms=500).items():
            out.extend(r for r in records if r.offset < end[tp])
    return out


def pending_ids(db: sa.Engine, ids: Sequence[int]) -> list[int]:
    with db.connect() as c:
        return list(c.execute(sa.select(outbox.c.id).where(outbox.c.id.in_(list(ids)), outbox.c.sent_at.is_(None))
                              .order_by(outbox.c.id)).scalars())


def test_kafka_failing_leaves_the_event_to_the_sweeper_which_publishes_it_once(
        catalog: MySqlCatalog, assets_db: sa.Engine, assets_topic: KafkaConsumer) -> None:
    instrument = new_instrument()
    event = created(instrument)
    stored = catalog.create(instrument, [event_message(event)])
    ids = [m.outbox_id for m in stored]

    # after the commit, Kafka fails: nothing is marked, the change stands, the row waits
    down = kafka_down()
    assert publish_and_mark(catalog, OutboxPublisher(None, down), stored) == []
    assert down.attempts == 1
    assert catalog.get(instrument.ticker) == instrument
    assert pending_ids(assets_db, ids) == ids
    # the sweeper only takes rows older than its cut-off, and with Kafka still down it leaves them
    assert sweep(catalog, OutboxPublisher(None, down), datetime.now(UTC) - timedelta(hours=1)) == 0
    assert down.attempts == 1
    assert sweep(catalog, OutboxPublisher(None, down), datetime.now(UTC)) == 0
    assert down.attempts == 2 and down.sent == [] and pending_ids(assets_db, ids) == ids
    down.inner.close()

    # Kafka is back: the sweeper's code path publishes the row, marks it sent, and never sends it again
    before = end_offsets(assets_topic)
    kafka = Recording(KafkaEventPublisher(Settings(kafka_bootstrap_servers=KAFKA)))
    try:
        assert sweep(catalog, OutboxPublisher(None, kafka), datetime.now(UTC)) == 1
        assert kafka.sent == [event.event_id]
        assert pending_ids(assets_db, ids) == []
        [row] = outbox_rows(assets_db, instrument.ticker)
        first_sent_at = row["sent_at"]
        assert first_sent_at is not None
        assert sweep(catalog, OutboxPublisher(None, kafka), datetime.now(UTC)) == 0
        catalog.mark_sent(ids)  # a late mark (a request that published after a sweep) changes nothing
        assert kafka.sent == [event.event_id]
        assert outbox_rows(assets_db, instrument.ticker)[0]["sent_at"] == first_sent_at
    finally:
        kafka.inner.close()

    # on the topic: exactly that event, keyed by ticker, with its id in a header
    after = end_offsets(assets_topic)
    ours = [r for r in records_between(assets_topic, before, after) if r.key == instrument.ticker.encode()]
    assert len(ours) == 1
    assert parse_asset_event(ours[0].value) == event
    assert dict(ours[0].headers)["message_id"] == event.event_id.encode()


def test_a_request_that_publishes_marks_its_rows_sent(catalog: MySqlCatalog, assets_db: sa.Engine) -> None:
    instrument = new_instrument()
    stored = catalog.create(instrument, [event_message(created(instrument))])
    kafka = Recording(KafkaEventPublisher(Settings(kafka_bootstrap_servers=KAFKA)))
    try:
        assert publish_and_mark(catalog, OutboxPublisher(None, kafka), stored) == [stored[0].outbox_id]
    finally:
        kafka.inner.close()
    assert kafka.sent == [stored[0].message_id]
    assert pending_ids(assets_db, [stored[0].outbox_id]) == []
    assert stored[0].outbox_id not in [m.outbox_id for m in catalog.unsent(500, datetime.now(UTC))]
