"""The assets catalog end to end: camelCase reads for every user; create and update (incl. suspension) for the
admin group only, each change stored with its ``AssetEvent`` in the outbox and published on the Kafka ``assets``
topic."""

from __future__ import annotations

import json
import random
import string
import time
import urllib.request
from collections.abc import Iterator

import pytest
from kafka import KafkaConsumer, TopicPartition
from mybroker.assets.catalog import isin_check_digit
from mybroker.contracts.assets import AssetEvent, AssetEventType, parse_asset_event

from local_runtime import services as svc
from tests.fixtures.users import User, new_user

pytestmark = pytest.mark.stack


@pytest.fixture(scope="module")
def admin() -> User:
    return new_user("admin", groups=("admin",))


@pytest.fixture(scope="module")
def trader() -> User:
    return new_user("trader")


@pytest.fixture
def events() -> Iterator[KafkaConsumer]:
    consumer = KafkaConsumer(bootstrap_servers=f"127.0.0.1:{svc.KAFKA_PORT}", group_id=None,
                             enable_auto_commit=False)
    parts = [TopicPartition("assets", p) for p in consumer.partitions_for_topic("assets") or {0}]
    consumer.assign(parts)
    consumer.seek_to_end(*parts)
    for p in parts:
        consumer.position(p)
    yield consumer
    consumer.close()


def received(consumer: KafkaConsumer, ticker: str, n: int, timeout: float = 15) -> list[AssetEvent]:
    """The first ``n`` distinct events of ``ticker`` (delivery is at least once: a repeat has the same id)."""
    out: list[AssetEvent] = []
    deadline = time.monotonic() + timeout
    while len(out) < n and time.monotonic() < deadline:
        for records in consumer.poll(timeout_ms=300).values():
            for r in records:
                if r.key == ticker.encode():
                    event = parse_asset_event(r.value)
                    if all(e.event_id != event.event_id for e in out):
                        out.append(event)
    return out


def new_instrument() -> dict[str, object]:
    issuer = "Z" + "".join(random.choices(string.ascii_uppercase, k=3))
    first11 = f"BR{issuer}ACNOR"
    return {"ticker": f"{issuer}3", "name": f"Test {issuer} ON", "isin": first11 + str(isin_check_digit(first11)),
            "kind": "SHARE_ON", "roundLot": 100, "tickSizeCents": 1}


def test_reads_are_camel_case(trader: User) -> None:
    r = trader.get("/assets/PETR4")
    assert r.status == 200 and r.body["roundLot"] == 100 and r.body["fractional"] == "PETR4F"
    assert "round_lot" not in r.body
    page = trader.get("/assets?limit=2")
    assert page.status == 200 and len(page.body["items"]) == 2 and "tickSizeCents" in page.body["items"][0]


def test_only_admins_change_the_catalog(trader: User) -> None:
    body = new_instrument()
    r = trader.post("/assets", body)
    assert r.status == 403 and r.body["code"] == "ADMIN_ONLY"
    r = trader.call("PATCH", "/assets/PETR4", {"status": "SUSPENDED"})
    assert r.status == 403 and r.body["code"] == "ADMIN_ONLY"
    assert trader.get("/assets/PETR4").body["status"] == "ACTIVE"


@pytest.fixture
def cleanup() -> Iterator[list[str]]:
    """Tickers a test created, deleted afterwards (there is no DELETE route: instruments are suspended)."""
    created: list[str] = []
    yield created
    from mybroker.assets.repository import instruments, outbox
    from mybroker.db import engine
    from sqlalchemy import delete

    with engine(svc.mysql_url("assets")).begin() as c:
        c.execute(delete(instruments).where(instruments.c.ticker.in_(created)))
        c.execute(delete(outbox).where(outbox.c.msg_key.in_(created)))


def outbox_rows(ticker: str) -> list[tuple[str, bool]]:
    """(event id, sent) of each outbox row of ``ticker``, in the order stored."""
    from mybroker.assets.repository import outbox
    from mybroker.db import engine
    from sqlalchemy import select

    with engine(svc.mysql_url("assets")).connect() as c:
        rows = c.execute(select(outbox.c.message_id, outbox.c.sent_at).where(outbox.c.msg_key == ticker)
                         .order_by(outbox.c.id)).all()
    return [(r.message_id, r.sent_at is not None) for r in rows]


def test_create_update_suspend_publish_events(admin: User, trader: User, events: KafkaConsumer,
                                              cleanup: list[str]) -> None:
    body = new_instrument()
    ticker = str(body["ticker"])
    cleanup.append(ticker)
    created = admin.post("/assets", body)
    assert created.status == 201, created.body
    assert created.body["ticker"] == ticker and created.body["status"] == "ACTIVE"
    assert admin.post("/assets", body).status == 409
    assert trader.get(f"/assets/{ticker}").body["name"] == body["name"]
    renamed = admin.call("PATCH", f"/assets/{ticker.lower()}", {"name": "Renamed ON", "rejectionTunnelPct": 8})
    assert renamed.status == 200 and renamed.body["name"] == "Renamed ON" and renamed.body["rejectionTunnelPct"] == 8
    suspended = admin.call("PATCH", f"/assets/{ticker}", {"status": "SUSPENDED"})
    assert suspended.status == 200 and suspended.body["status"] == "SUSPENDED"
    got = received(events, ticker, 3)
    assert [e.event_type for e in got] == [AssetEventType.CREATED, AssetEventType.UPDATED, AssetEventType.SUSPENDED]
    assert set(got[1].changed) == {"name", "rejection_tunnel_pct"}
    assert got[2].instrument.status == "SUSPENDED" and got[2].ticker == ticker
    assert trader.get(f"/assets?status=SUSPENDED&q={ticker}").body["total"] == 1
    # each change stored its event in the outbox (the refused duplicate none), and the request marked it sent
    assert outbox_rows(ticker) == [(e.event_id, True) for e in got]


def test_the_outbox_sweeper_publishes_what_a_crash_left_unsent(admin: User, events: KafkaConsumer) -> None:
    from mybroker.assets.repository import outbox
    from mybroker.db import engine
    from sqlalchemy import func, text

    body = new_instrument()
    ticker = str(body["ticker"])
    assert admin.post("/assets", body).status == 201
    (first,) = received(events, ticker, 1)
    # as if the function had crashed between its commit and its publish: the row unsent, older than a minute
    db = engine(svc.mysql_url("assets"))
    with db.begin() as c:
        c.execute(outbox.update().where(outbox.c.msg_key == ticker).values(
            sent_at=None, created_at=func.date_sub(func.utc_timestamp(6), text("INTERVAL 1 MINUTE"))))
    assert outbox_rows(ticker) == [(first.event_id, False)]
    from local_runtime.credentials import control_headers

    req = urllib.request.Request("http://127.0.0.1:3000/_local/functions/assets-outbox-sweeper/invoke",
                                 data=b"{}", method="POST", headers=control_headers())
    with urllib.request.urlopen(req, timeout=60) as r:
        answer = json.loads(r.read())
    assert isinstance(answer.get("sent"), int), answer
    # marked sent once this run returns (by it, or by the every-minute run that got there first), and published
    # again with the same event id, which consumers dedupe
    assert outbox_rows(ticker) == [(first.event_id, True)]
    (again,) = received(events, ticker, 1)
    assert again.event_id == first.event_id


@pytest.mark.parametrize("patch", [{"status": "GONE"}, {"roundLot": 0}, {"ticker": "VALE3"}, {"isin": "BR123"},
                                   {"auctionTunnelPct": 101}])
def test_bad_patches_are_422(admin: User, patch: dict[str, object]) -> None:
    r = admin.call("PATCH", "/assets/PETR4", patch)
    assert r.status == 422, r.body


def test_bad_creates_are_422_and_unknown_patches_404(admin: User) -> None:
    assert admin.post("/assets", {**new_instrument(), "ticker": "PETR"}).status == 422
    assert admin.post("/assets", {**new_instrument(), "isin": "BRPETRACNPR0"}).status == 422
    assert admin.call("PATCH", "/assets/ZZZZ3", {"name": "x"}).status == 404
