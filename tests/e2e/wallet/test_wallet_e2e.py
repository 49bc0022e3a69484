"""The wallet end to end, as real users over the local HTTP API, with order events through Kafka and the
``wallet-order-events`` event source mapping, and settlement driven by the scheduled event's time. After
every scenario the whole ledger reconciles (every asset sums to zero, balances match postings, reserved
buckets match the reservations, nothing negative)."""

from __future__ import annotations

import base64
import json
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from typing import Any, TypeVar

import pytest
from kafka import KafkaProducer
from mybroker.b3.calendar import settlement_date
from mybroker.contracts.engine import OrderType, Side, TimeInForce
from mybroker.contracts.orders import Fill, OrderEvent, OrderEventType, OrderStatus
from mybroker.db import engine
from mybroker.fees import b3_fees_cents
from mybroker.wallet.mysql import MySqlStore
from mybroker.wallet.service import Wallet

from local_runtime import services as svc
from tests.e2e.orders.service_calls import Service
from tests.fixtures.kafka import consume_all
from tests.fixtures.users import API, User, new_user

pytestmark = pytest.mark.stack
T = TypeVar("T")
TRADE_DAY = "2026-11-19"  # a Thursday; Friday 20 (Consciência Negra) is closed, so T+2 is Tuesday 24


@pytest.fixture(scope="module")
def ledger() -> Wallet:
    return Wallet(MySqlStore(engine(svc.mysql_url("wallet"))))


@pytest.fixture(autouse=True)
def reconciled(ledger: Wallet) -> Iterator[None]:
    yield
    assert ledger.reconcile() == []


@pytest.fixture(scope="module")
def producer() -> Iterator[KafkaProducer]:
    p = KafkaProducer(bootstrap_servers=f"127.0.0.1:{svc.KAFKA_PORT}", acks="all")
    yield p
    p.close()


@pytest.fixture
def user() -> User:
    return new_user("wallet")


@pytest.fixture(scope="module")
def orders_api() -> Service:
    """The reservation steps are internal routes: called as the orders service (SigV4), for the order's account."""
    return Service("orders-api")


def funded(amount: int) -> User:
    u = new_user("wallet")
    assert u.post("/wallet/deposits", {"amountCents": amount, "idempotencyKey": "seed"}).status == 201
    return u


def wait_for(probe: Callable[[], T], ok: Callable[[T], bool], timeout: float = 20.0) -> T:
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if ok(value) or time.monotonic() > deadline:
            return value
        time.sleep(0.2)


def oid(prefix: str) -> str:
    """Order ids are unique in the system (event ids are ``<order id>:<n>``): a fresh one per run."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def wallet(u: User) -> dict[str, Any]:
    r = u.get("/wallet")
    assert r.status == 200, r.body
    body: dict[str, Any] = r.body
    return body


def position(u: User, ticker: str) -> dict[str, Any] | None:
    items: list[dict[str, Any]] = u.get("/wallet/positions").body["items"]
    return next((p for p in items if p["ticker"] == ticker), None)


def order_event(u: User, order_id: str, n: int, kind: OrderEventType, *, side: Side = Side.BUY, qty: int = 100,
                price: int = 1000, cum: int = 0, leaves: int = 100, fill: tuple[int, int] | None = None,
                instrument: str = "PETR4", trade_date: str = TRADE_DAY) -> OrderEvent:
    f = None
    if fill is not None:
        f = Fill(exec_id=n, trade_id=n, quantity=fill[0], price_cents=fill[1],
                 fees_cents=b3_fees_cents(fill[0] * fill[1], date.fromisoformat(trade_date)))
    status = {OrderEventType.CANCELED: OrderStatus.CANCELED, OrderEventType.EXPIRED: OrderStatus.EXPIRED,
              OrderEventType.REJECTED: OrderStatus.REJECTED}.get(
        kind, OrderStatus.FILLED if leaves == 0 else OrderStatus.PARTIALLY_FILLED)
    return OrderEvent(event_id=f"{order_id}:{n}", event_type=kind, order_id=order_id, account_id=u.user_id,
                      instrument=instrument, side=side, order_type=OrderType.LIMIT, time_in_force=TimeInForce.DAY,
                      quantity=qty, price_cents=price, status=status, cum_quantity=cum, leaves_quantity=leaves,
                      avg_price_cents=price, fill=f, trade_date=trade_date, occurred_at=datetime.now(UTC))


def produce(producer: KafkaProducer, events: list[OrderEvent]) -> None:
    for e in events:
        producer.send("orders", key=e.account_id.encode(), value=e.to_json())
    producer.flush()


def settle(on: str) -> dict[str, Any]:
    """Invoke wallet-settlement with a scheduled event whose time is 08:00 in Brasília on ``on``."""
    body = json.dumps({"version": "0", "id": str(uuid.uuid4()), "detail-type": "Scheduled Event",
                       "source": "aws.scheduler", "time": f"{on}T11:00:00Z", "detail": {}}).encode()
    from local_runtime.credentials import control_headers

    req = urllib.request.Request(f"{API}/_local/functions/wallet-settlement/invoke", data=body, method="POST",
                                 headers=control_headers())
    with urllib.request.urlopen(req, timeout=120) as r:
        result: dict[str, Any] = json.loads(r.read())
    return result


# --- cash ---------------------------------------------------------------------------------------------
def test_deposits_and_withdrawals_are_idempotent(user: User) -> None:
    first = user.post("/wallet/deposits", {"amountCents": 50_000, "idempotencyKey": "dep-1"})
    assert first.status == 201 and first.body["wallet"]["availableCents"] == 50_000
    again = user.post("/wallet/deposits", {"amountCents": 50_000, "idempotencyKey": "dep-1"})
    assert again.status == 200 and again.body["entryId"] == first.body["entryId"]
    assert user.post("/wallet/deposits", {"amountCents": 1, "idempotencyKey": "dep-1"}).status == 409
    by_header = user.call("POST", "/wallet/withdrawals", {"amountCents": 20_000})
    assert by_header.status == 422 and by_header.body["code"] == "IDEMPOTENCY_KEY_REQUIRED"
    w = user.post("/wallet/withdrawals", {"amountCents": 20_000, "idempotencyKey": "wd-1"})
    assert w.status == 201 and w.body["wallet"]["availableCents"] == 30_000
    too_much = user.post("/wallet/withdrawals", {"amountCents": 30_001, "idempotencyKey": "wd-2"})
    assert too_much.status == 422 and too_much.body["code"] == "INSUFFICIENT_FUNDS"
    assert "R$300,00" in too_much.body["message"]
    assert wallet(user)["availableCents"] == 30_000


@pytest.mark.parametrize("body", [{"amountCents": 0, "idempotencyKey": "x"}, {"amountCents": "ten"},
                                  {"amountCents": 10.5, "idempotencyKey": "x"}, {"idempotencyKey": "x"},
                                  {"amountCents": 10**15, "idempotencyKey": "x"},
                                  {"amountCents": "100", "idempotencyKey": "x"},
                                  {"amountCents": True, "idempotencyKey": "x"},
                                  {"amountCents": 100.0, "idempotencyKey": "x"}])
def test_bad_transfers_are_422_with_the_field(user: User, body: Any) -> None:
    r = user.post("/wallet/deposits", body)
    assert r.status == 422 and r.body["code"] == "VALIDATION_ERROR", r.body
    assert r.body["errors"] and r.body["errors"][0]["field"] == "amountCents", r.body
    assert wallet(user)["availableCents"] == 0


@pytest.mark.parametrize(("raw", "status", "code"), [
    (b"[]", 422, "BODY_NOT_OBJECT"),
    (b'[{"amountCents": 100, "idempotencyKey": "x"}]', 422, "BODY_NOT_OBJECT"),
    (b'{"amountCents": 1' + b"0" * 5000 + b', "idempotencyKey": "x"}', 400, "NUMBER_TOO_LONG"),
    (b"[" * 5_000 + b"]" * 5_000, 400, "JSON_TOO_DEEP"),
    (b"[" * 50_000 + b"]" * 50_000, 413, "PAYLOAD_TOO_LARGE"),
    (b'{"amountCents": 100, "amountCents": 1, "idempotencyKey": "x"}', 400, "DUPLICATE_KEY"),
    (b'{"amountCents": NaN, "idempotencyKey": "x"}', 400, "MALFORMED_JSON"),
    (b'{"amountCents": 100,', 400, "MALFORMED_JSON"),
])
def test_malformed_bodies_are_refused_before_validation(user: User, raw: bytes, status: int, code: str) -> None:
    req = urllib.request.Request(f"{API}/wallet/deposits", data=raw, method="POST", headers={
        "Authorization": f"Bearer {user.token}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            got, body = r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        got, body = e.code, json.loads(e.read())
    assert (got, body["code"]) == (status, code), body
    assert wallet(user)["availableCents"] == 0


def test_unauthenticated_calls_are_refused_and_the_docs_are_public(user: User) -> None:
    assert user.call("GET", "/wallet", token="not-a-token").status == 401
    with urllib.request.urlopen(f"{API}/docs/wallet", timeout=30) as r:
        assert r.status == 200 and b"swagger" in r.read().lower()


# --- reservations --------------------------------------------------------------------------------------
def test_reservation_idempotency_conflict_and_insufficient_funds(orders_api: Service) -> None:
    u = funded(100_000)
    acc = u.user_id

    def reserve(body: dict[str, Any]) -> Any:
        return orders_api.call("POST", "/internal/wallet/reservations", {"accountId": acc, **body})

    def widen(order_id: str, quantity: int, price: int, seq: int = 1) -> Any:
        return orders_api.call("PUT", f"/internal/wallet/reservations/{order_id}",
                               {"accountId": acc, "quantity": quantity, "priceCents": price, "replaceSeq": seq})

    def release(order_id: str) -> Any:
        return orders_api.call("DELETE", f"/internal/wallet/reservations/{order_id}?accountId={acc}")

    body = {"orderId": "ord-1", "ticker": "PETR4", "side": "BUY", "quantity": 50, "priceCents": 1000}
    created = reserve(body)
    assert created.status == 201, created.body
    assert created.body == {"orderId": "ord-1", "side": "BUY", "ticker": "PETR4", "instrument": "PETR4",
                            "quantity": 50, "priceCents": 1000, "reservedCents": 50_000 + 12,
                            "reservedQuantity": 0, "filledQuantity": 0, "status": "ACTIVE"}
    again = reserve(body)
    assert again.status == 200 and again.body == created.body
    conflict = reserve({**body, "quantity": 51})
    assert conflict.status == 409 and conflict.body["code"] == "DUPLICATE_RESERVATION"
    short = reserve({**body, "orderId": "ord-2", "quantity": 60})
    assert short.status == 422 and short.body["code"] == "INSUFFICIENT_FUNDS"
    assert "available R$499,88" in short.body["message"]
    no_shares = reserve({**body, "orderId": "ord-3", "side": "SELL"})
    assert no_shares.status == 422 and no_shares.body["code"] == "INSUFFICIENT_POSITION"
    assert wallet(u)["reservedCents"] == 50_012 and wallet(u)["availableCents"] == 100_000 - 50_012
    # a replace about to be sent widens the hold; what it cannot cover is refused; it never narrows it
    more = widen("ord-1", 90, 1000)
    assert more.status == 200 and more.body["reservedCents"] == 90_000 + 21
    assert widen("ord-1", 200, 1000).status == 422
    less = widen("ord-1", 10, 990)
    assert less.status == 200 and less.body["reservedCents"] == 90_000 + 21
    # a second replace before the engine answered the first: one at a time
    second = widen("ord-1", 10, 990, seq=2)
    assert second.status == 409 and second.body["code"] == "REPLACE_PENDING", second.body
    assert wallet(u)["availableCents"] == 100_000 - 90_021
    # DELETE releases what is left, and again changes nothing; an unknown order is 404
    released = release("ord-1")
    assert released.status == 200 and released.body["status"] == "RELEASED"
    assert release("ord-1").status == 200
    missing = release("never")
    assert missing.status == 404 and missing.body["code"] == "UNKNOWN_RESERVATION"
    assert wallet(u) | {"accountId": ""} == {"accountId": "", "currency": "BRL", "availableCents": 100_000,
                                              "reservedCents": 0, "receivableCents": 0, "payableCents": 0,
                                              "irrfDueCents": 0, "buyingPowerCents": 100_000, "projected": []}


@pytest.mark.parametrize("body", [
    {"orderId": "o", "ticker": "PETR", "side": "BUY", "quantity": 1, "priceCents": 1},
    {"orderId": "o", "ticker": "PETR4", "side": "HOLD", "quantity": 1, "priceCents": 1},
    {"orderId": "o", "ticker": "PETR4", "side": "BUY", "quantity": -1, "priceCents": 1},
    {"orderId": "o" * 65, "ticker": "PETR4", "side": "BUY", "quantity": 1, "priceCents": 1},
    {"orderId": "o", "ticker": "PETR4", "side": "BUY", "quantity": 1},
    {"ticker": "PETR4", "side": "BUY", "quantity": 1, "priceCents": 1, "accountId": None},
])
def test_bad_reservations_are_422(user: User, orders_api: Service, body: dict[str, Any]) -> None:
    payload = {k: v for k, v in {"accountId": user.user_id, "orderId": "o", **body}.items() if v is not None}
    r = orders_api.call("POST", "/internal/wallet/reservations", payload)
    assert r.status == 422, r.body


def test_users_cannot_touch_reservations(orders_api: Service) -> None:
    alice, bob = funded(10_000), new_user("wallet")
    r = orders_api.call("POST", "/internal/wallet/reservations", {
        "accountId": alice.user_id, "orderId": "alice-1", "ticker": "VALE3", "side": "BUY", "quantity": 1,
        "priceCents": 5_000})
    assert r.status == 201
    for u in (alice, bob):  # neither the holder's own token nor another user's moves the hold
        assert u.call("DELETE", f"/internal/wallet/reservations/alice-1?accountId={alice.user_id}").status == 403
        assert u.call("PUT", "/internal/wallet/reservations/alice-1",
                      {"accountId": alice.user_id, "quantity": 1, "priceCents": 1, "replaceSeq": 1}).status == 403
        assert u.post("/internal/wallet/reservations", {"accountId": alice.user_id, "orderId": "x",
                                                        "ticker": "VALE3", "side": "BUY", "quantity": 1,
                                                        "priceCents": 1}).status == 403
        assert u.call("DELETE", "/wallet/reservations/alice-1").status in (403, 404)  # the old route is gone
    assert wallet(bob)["availableCents"] == 0 and wallet(bob)["accountId"] == bob.user_id
    assert bob.get("/wallet/statement").body["items"] == []
    assert wallet(alice)["reservedCents"] == 5_002


def test_statement_pages_and_filters_by_date() -> None:
    u = funded(1_000)
    for i in range(3):
        u.post("/wallet/deposits", {"amountCents": 100 + i, "idempotencyKey": f"s-{i}"})
    page1 = u.get("/wallet/statement?limit=2&asset=BRL")
    assert page1.status == 200 and len(page1.body["items"]) == 2
    assert [x["amount"] for x in page1.body["items"]] == [102, 101]
    page2 = u.get(f"/wallet/statement?limit=2&cursor={page1.body['nextCursor']}")
    assert [x["amount"] for x in page2.body["items"]] == [100, 1_000] and page2.body["nextCursor"] is None
    line = page1.body["items"][0]
    assert line["kind"] == "deposit" and line["bucket"] == "available" and line["asset"] == "BRL"
    assert u.get("/wallet/statement?from=2000-01-01&to=2000-01-31").body["items"] == []
    assert u.get("/wallet/statement?from=not-a-date").status == 422
    assert u.get("/wallet/statement?limit=0").status == 422


# --- order events through Kafka ---------------------------------------------------------------------------
def test_order_events_fill_release_and_settle(producer: KafkaProducer, orders_api: Service) -> None:
    b1, s1 = oid("b"), oid("s")
    u = funded(300_000)
    assert orders_api.reserve(u.user_id, b1, "PETR4F", "BUY", 100, 1000).status == 201
    fee = b3_fees_cents
    day = date.fromisoformat(TRADE_DAY)
    partial = order_event(u, b1, 1, OrderEventType.FILLED, cum=40, leaves=60, fill=(40, 990),
                          instrument="PETR4F")
    final = order_event(u, b1, 2, OrderEventType.FILLED, cum=100, leaves=0, fill=(60, 1000))
    ghost = order_event(u, oid("never-reserved"), 1, OrderEventType.FILLED, cum=100, leaves=0, fill=(100, 1))
    # the final fill first, then everything again (a redelivered batch), plus an unknown order
    produce(producer, [final, partial, ghost, partial, final])
    produce(producer, [final, partial, ghost])
    spent = 40 * 990 + fee(39_600, day) + 60_000 + fee(60_000, day)
    w = wait_for(lambda: wallet(u), lambda w: w["payableCents"] == spent and w["reservedCents"] == 0)
    assert w["payableCents"] == spent and w["reservedCents"] == 0, w
    assert w["availableCents"] == 300_000 - spent
    pos = position(u, "PETR4")
    assert pos is not None and pos["receivableQuantity"] == 100 and pos["availableQuantity"] == 0
    assert pos["averagePriceCents"] == round(spent / 100) and pos["costCents"] == spent
    time.sleep(1.0)  # the duplicates have had time to arrive: still counted once
    assert wallet(u) == w

    # T+2 on the B3 calendar: Monday 23 is only T+1 (Friday 20 is a holiday); Tuesday 24 settles
    assert settlement_date(day) == date(2026, 11, 24)
    settle("2026-11-23")
    assert wallet(u)["payableCents"] == spent
    settle("2026-11-24")
    w = wallet(u)
    assert w["payableCents"] == 0 and w["availableCents"] == 300_000 - spent
    pos = position(u, "PETR4")
    assert pos is not None and pos["availableQuantity"] == 100 and pos["receivableQuantity"] == 0
    settle("2026-11-24")  # idempotent
    assert wallet(u) == w

    # sell 30 of them (fractional ticker, same holding); the sale is receivable until T+2
    sell = orders_api.reserve(u.user_id, s1, "PETR4F", "SELL", 30, 1200)
    assert sell.status == 201 and sell.body["reservedQuantity"] == 30
    produce(producer, [order_event(u, s1, 1, OrderEventType.FILLED, side=Side.SELL, qty=30, price=1200,
                                   cum=30, leaves=0, fill=(30, 1200), instrument="PETR4F")])
    proceeds = 36_000 - fee(36_000, day)
    w = wait_for(lambda: wallet(u), lambda w: w["receivableCents"] == proceeds)
    assert w["receivableCents"] == proceeds
    pos = position(u, "PETR4")
    assert pos is not None and pos["totalQuantity"] == 70 and pos["averagePriceCents"] == round(spent / 100)
    settle("2026-11-24")
    assert wallet(u)["availableCents"] == 300_000 - spent + proceeds
    kinds = {x["kind"] for x in u.get("/wallet/statement?limit=200").body["items"]}
    assert {"deposit", "reserve", "fill", "settlement"} <= kinds


def test_cancel_releases_and_a_late_fill_is_still_applied(producer: KafkaProducer, orders_api: Service) -> None:
    c1 = oid("c")
    u = funded(100_000)
    assert orders_api.reserve(u.user_id, c1, "ITUB4", "BUY", 100, 500).status == 201
    day = date.fromisoformat(TRADE_DAY)
    cancel = order_event(u, c1, 3, OrderEventType.CANCELED, price=500, cum=20, leaves=0)
    late = order_event(u, c1, 2, OrderEventType.FILLED, price=500, cum=20, leaves=80, fill=(20, 500))
    produce(producer, [cancel])
    held = 10_000 + b3_fees_cents(10_000, day)  # what the 20 filled shares can still cost
    w = wait_for(lambda: wallet(u), lambda w: w["reservedCents"] == held)
    assert w["reservedCents"] == held and w["availableCents"] == 100_000 - held
    produce(producer, [late, cancel])
    w = wait_for(lambda: wallet(u), lambda w: w["reservedCents"] == 0)
    assert w["reservedCents"] == 0 and w["payableCents"] == held and w["availableCents"] == 100_000 - held


def test_positions_show_market_value_from_the_quote_cache(producer: KafkaProducer, orders_api: Service) -> None:
    import redis
    from mybroker.contracts.quotes import QuoteEvent
    from mybroker.market_data.cache import QuoteCache

    cache = QuoteCache(redis.Redis.from_url(f"redis://127.0.0.1:{svc.REDIS_PORT}/0"))
    if cache.latest("WEGE3") is None:  # an old quote: any real one replaces it
        cache.put(QuoteEvent(event_id="wallet-test", ticker="WEGE3", ts=datetime(2000, 1, 3, tzinfo=UTC),
                             trading_date=date(2000, 1, 3), last_cents=4_000, reference_cents=4_000,
                             source="synthetic"))
    m1 = oid("m")
    u = funded(100_000)
    assert orders_api.reserve(u.user_id, m1, "WEGE3", "BUY", 10, 5_000).status == 201
    produce(producer, [order_event(u, m1, 1, OrderEventType.FILLED, qty=10, price=5_000, cum=10, leaves=0,
                                   fill=(10, 5_000), instrument="WEGE3")])
    pos = wait_for(lambda: position(u, "WEGE3"), lambda p: p is not None)
    assert pos is not None
    last = cache.last_price_cents("WEGE3")
    assert last is not None and pos["lastPriceCents"] is not None
    assert pos["marketValueCents"] == pos["lastPriceCents"] * 10
    assert u.get("/wallet/positions").body["marketValueCents"] >= pos["marketValueCents"]


def test_a_poison_record_is_parked_and_the_rest_counts_once(producer: KafkaProducer, orders_api: Service) -> None:
    """The function parks the unreadable record on esm-failures (with where it came from and why) and goes
    on: the good records before and after it are applied, once."""
    p1, p2 = oid("p"), oid("p")
    u = funded(100_000)
    for order in (p1, p2):
        assert orders_api.reserve(u.user_id, order, "BBAS3", "BUY", 10, 2_000).status == 201
    before = order_event(u, p1, 1, OrderEventType.FILLED, qty=10, price=2_000, cum=10, leaves=0,
                         fill=(10, 2_000))
    after = order_event(u, p2, 1, OrderEventType.FILLED, qty=10, price=2_000, cum=10, leaves=0,
                        fill=(10, 2_000))
    producer.send("orders", key=u.user_id.encode(), value=before.to_json())
    poison = json.dumps({"event_type": "order.filled", "not": "an event", "probe": p1}).encode()
    producer.send("orders", key=u.user_id.encode(), value=poison)
    producer.send("orders", key=u.user_id.encode(), value=after.to_json())
    producer.flush()
    each = 20_000 + b3_fees_cents(20_000, date.fromisoformat(TRADE_DAY))
    w = wait_for(lambda: wallet(u), lambda w: w["payableCents"] == 2 * each, timeout=30)
    assert w["payableCents"] == 2 * each and w["reservedCents"] == 0
    assert w["availableCents"] == 100_000 - 2 * each
    parked = [r for r in consume_all("esm-failures")
              if base64.b64decode(json.loads(r.value)["record"]["value"]) == poison]
    assert len(parked) == 1
    headers = dict(parked[0].headers)
    assert headers["error-type"] == b"UnreadableRecord" and headers["source-topic"] == b"orders"
    assert parked[0].key == u.user_id.encode()
