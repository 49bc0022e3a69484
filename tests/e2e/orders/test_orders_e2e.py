"""The orders service end to end, through the local HTTP API as real Cognito users, over the real MariaDB,
Redis, RabbitMQ and Kafka: placement with validation and idempotency, the engine commands it sends, cancel,
replace, and execution reports (duplicated and out of order) turned into state, fills and Kafka events."""

from __future__ import annotations

import time
import uuid
from collections import Counter
from datetime import UTC, datetime

import pytest
from mybroker.contracts.engine import ExecType, ExecutionReportMessage, OrderType, Side, TimeInForce
from mybroker.contracts.orders import OrderStatus
from mybroker.orders.domain import Order, rejection_band
from mybroker.wallet.reservations import buy_hold_cents

from tests.e2e.orders.conftest import EngineInput, OrderEvents, publish_raw, publish_reports, wait_for
from tests.fixtures.users import User, new_user

pytestmark = pytest.mark.stack


def limit_buy(ref: int, **kw: object) -> dict[str, object]:
    return {"ticker": "PETR4", "side": "BUY", "orderType": "LIMIT", "quantity": 100, "priceCents": ref, **kw}


def resting(ref: int) -> int:
    """The lowest buy price inside the rejection tunnel: far below anything the liquidity agents or earlier
    runs leave on the ask side, so a buy there rests instead of filling."""
    return rejection_band(ref, 10).lower


def cancel_and_wait(user: User, order_id: str) -> dict[str, object]:
    """Cancel (so a GTC order does not rest into later runs) and wait until the engine confirms."""
    assert user.call("DELETE", f"/orders/{order_id}").status == 202
    body: dict[str, object] = wait_for(lambda: (lambda b: b if b["status"] == "CANCELED" else None)(
        user.get(f"/orders/{order_id}").body))
    return body


# --- placement --------------------------------------------------------------------------------------------

def test_place_stores_sends_the_command_and_the_placed_event(funded: User, reference_cents: int,
                                                            engine_input: EngineInput,
                                                            order_events: OrderEvents) -> None:
    price = resting(reference_cents)  # never fills against what earlier runs left in the book
    r = funded.post("/orders", limit_buy(price, timeInForce="GTC"))
    assert r.status == 201, r.body
    order_id = r.body["orderId"]
    assert r.body["status"] == "PENDING_NEW" and r.body["priceCents"] == price
    commands = wait_for(lambda: engine_input.for_order(order_id))
    assert commands[0]["type"] == "NEW_ORDER" and commands[0]["client_order_id"] == order_id
    assert commands[0]["investor_id"] == funded.user_id and commands[0]["time_in_force"] == "GTC"
    # routed by instrument, with the command id as message id (the liquidity agents' orders share the exchange)
    (routing_key,) = [key for key, message_id, _ in engine_input.seen if message_id == f"{order_id}:new"]
    assert routing_key == "order.PETR4"
    events = wait_for(lambda: order_events.of(order_id))
    # the engine may already have accepted it (order.accepted, ":2"): order.placed comes first either way
    assert events[0].event_type.value == "order.placed" and {e.event_type.value for e in events} <= {
        "order.placed", "order.accepted"}
    assert events[0].event_id == f"{order_id}:1" and events[0].account_id == funded.user_id
    got = funded.get(f"/orders/{order_id}")
    assert got.status == 200 and got.body["fills"] == []
    cancel_and_wait(funded, order_id)


def test_market_order_gets_a_protection_price(funded: User, reference_cents: int, engine_input: EngineInput) -> None:
    r = funded.post("/orders", {"ticker": "PETR4", "side": "BUY", "orderType": "MARKET", "quantity": 100})
    assert r.status == 201, r.body
    assert r.body["priceCents"] is None
    protection = r.body["protectionPriceCents"]
    assert reference_cents < protection <= reference_cents * 110 // 100
    cmd = wait_for(lambda: engine_input.for_order(r.body["orderId"]))[0]
    assert cmd["protection_price_cents"] == protection and cmd["order_type"] == "MARKET"


def test_fractional_market_and_iceberg(reference_cents: int, engine_input: EngineInput) -> None:
    user = new_user("orders-iceberg")  # its own account: the hold below is these two orders' only
    assert user.post("/wallet/deposits", {"amountCents": 50_000_000, "idempotencyKey": uuid.uuid4().hex}).status \
        == 201
    price = resting(reference_cents)
    frac = user.post("/orders", limit_buy(price, ticker="PETR4F", quantity=7))
    assert frac.status == 201 and frac.body["ticker"] == "PETR4F", frac.body
    ice = user.post("/orders", limit_buy(price, quantity=1000, displayQuantity=100))
    assert ice.status == 201 and ice.body["displayQuantity"] == 100, ice.body
    # the fractional order goes to the fractional book; the iceberg shows 100 but holds cash for all 1,000
    (f_cmd,) = [c for c in wait_for(lambda: engine_input.for_order(frac.body["orderId"])) if c["type"] == "NEW_ORDER"]
    assert (f_cmd["instrument"], f_cmd["quantity"], f_cmd["display_quantity"]) == ("PETR4F", 7, 0)
    (i_cmd,) = [c for c in wait_for(lambda: engine_input.for_order(ice.body["orderId"])) if c["type"] == "NEW_ORDER"]
    assert (i_cmd["instrument"], i_cmd["quantity"], i_cmd["display_quantity"]) == ("PETR4", 1000, 100)
    day = datetime.fromisoformat(str(ice.body["tradeDate"])).date()
    held = buy_hold_cents(7, price, day) + buy_hold_cents(1000, price, day)
    assert user.get("/wallet").body["reservedCents"] == held
    for order_id in (frac.body["orderId"], ice.body["orderId"]):
        cancel_and_wait(user, order_id)
    w = wait_for(lambda: (lambda b: b if b["reservedCents"] == 0 else None)(user.get("/wallet").body))
    assert w["availableCents"] == 50_000_000


def test_client_order_id_is_idempotent(funded: User, reference_cents: int, engine_input: EngineInput) -> None:
    body = limit_buy(reference_cents, clientOrderId=f"cl-{uuid.uuid4().hex[:12]}")
    first = funded.post("/orders", body)
    again = funded.post("/orders", body)
    assert (first.status, again.status) == (201, 200)
    assert again.body["orderId"] == first.body["orderId"]
    other = funded.post("/orders", {**body, "quantity": 200})
    assert other.status == 409 and other.body["code"] == "DUPLICATE_CLIENT_ORDER_ID"
    time.sleep(0.3)
    assert len([c for c in engine_input.for_order(first.body["orderId"]) if c["type"] == "NEW_ORDER"]) == 1
    listed = funded.get("/orders?limit=200").body["items"]
    assert sum(1 for o in listed if o["clientOrderId"] == body["clientOrderId"]) == 1


@pytest.mark.parametrize(("body", "code", "field"), [
    ({"quantity": 150}, "INVALID_LOT", "quantity"),
    ({"ticker": "PETR4F", "quantity": 100}, "INVALID_LOT", "quantity"),
    ({"priceCents": None}, "VALIDATION_ERROR", "priceCents"),
    ({"ticker": "ZZZZ3"}, "UNKNOWN_INSTRUMENT", "ticker"),
    ({"side": "HOLD"}, "VALIDATION_ERROR", "side"),
    ({"quantity": 0}, "VALIDATION_ERROR", "quantity"),
    ({"timeInForce": "GTD"}, "VALIDATION_ERROR", "expireDate"),
    ({"surprise": 1}, "VALIDATION_ERROR", "surprise"),
])
def test_validation_errors_are_422_with_the_field(funded: User, reference_cents: int, body: dict[str, object],
                                                   code: str, field: str) -> None:
    payload = {k: v for k, v in {**limit_buy(reference_cents), **body}.items() if v is not None}
    r = funded.post("/orders", payload)
    assert r.status == 422 and r.body["code"] == code, r.body
    assert field in (r.body.get("field") or r.body["message"])


def test_out_of_band_and_tick(funded: User, reference_cents: int) -> None:
    r = funded.post("/orders", limit_buy(reference_cents * 2))
    assert r.status == 422 and r.body["code"] == "PRICE_OUT_OF_BAND"


def test_failed_reservation_leaves_no_order(reference_cents: int, engine_input: EngineInput) -> None:
    broke = new_user("orders-broke")
    r = broke.post("/orders", limit_buy(reference_cents))
    assert r.status == 422 and r.body["code"] == "INSUFFICIENT_FUNDS", r.body
    sell = broke.post("/orders", limit_buy(reference_cents, side="SELL"))
    assert sell.status == 422 and sell.body["code"] == "INSUFFICIENT_POSITION", sell.body
    assert broke.get("/orders").body["total"] == 0
    time.sleep(0.3)
    assert not [c for c in engine_input.drain() if c[2].get("investor_id") == broke.user_id]


def test_another_user_gets_404(funded: User, reference_cents: int) -> None:
    order_id = funded.post("/orders", limit_buy(reference_cents)).body["orderId"]
    stranger = new_user("orders-stranger")
    for method in ("GET", "DELETE"):
        r = stranger.call(method, f"/orders/{order_id}")
        assert r.status == 404 and r.body["code"] == "ORDER_NOT_FOUND"
    r = stranger.call("PATCH", f"/orders/{order_id}", {"quantity": 200})
    assert r.status == 404
    assert all(o["orderId"] != order_id for o in stranger.get("/orders").body["items"])


def test_list_filters_and_pages(funded: User, reference_cents: int) -> None:
    funded.post("/orders", limit_buy(resting(reference_cents), ticker="PETR4F", quantity=3))
    page = funded.get("/orders?ticker=PETR4F&limit=1")
    assert page.status == 200 and page.body["limit"] == 1 and len(page.body["items"]) == 1
    assert page.body["items"][0]["ticker"] == "PETR4F"
    today = page.body["items"][0]["tradeDate"]
    order_id = page.body["items"][0]["orderId"]
    dated = funded.get(f"/orders?date={today}&ticker=PETR4F&limit=200").body["items"]
    assert order_id in {o["orderId"] for o in dated}
    # a resting buy is PENDING_NEW until the engine's NEW arrives (quickly): one of the two lists has it
    open_ids = {o["orderId"] for s in ("PENDING_NEW", "NEW")
                for o in funded.get(f"/orders?status={s}&ticker=PETR4F&limit=200").body["items"]}
    assert order_id in open_ids
    assert order_id not in {o["orderId"] for o in funded.get("/orders?status=CANCELED&limit=200").body["items"]}
    assert funded.get("/orders?status=NOPE").status == 422


def test_docs_are_public() -> None:
    import urllib.request

    with urllib.request.urlopen("http://127.0.0.1:3000/docs/orders", timeout=10) as r:
        assert r.status == 200 and b"swagger" in r.read().lower()


# --- cancel and replace -----------------------------------------------------------------------------------

def test_cancel_sends_a_cancel_command(funded: User, reference_cents: int, engine_input: EngineInput) -> None:
    order_id = funded.post("/orders", limit_buy(resting(reference_cents))).body["orderId"]
    r = funded.call("DELETE", f"/orders/{order_id}")
    assert r.status == 202, r.body
    cmds = wait_for(lambda: [c for c in engine_input.for_order(order_id) if c["type"] == "CANCEL_ORDER"])
    assert cmds[0]["client_order_id"] == order_id and cmds[0]["instrument"] == "PETR4"


def test_replace_sends_a_new_client_order_id(funded: User, reference_cents: int,
                                              engine_input: EngineInput) -> None:
    low = resting(reference_cents)  # a buy at the reference would fill against whatever asks earlier runs left
    order_id = funded.post("/orders", limit_buy(low)).body["orderId"]
    r = funded.call("PATCH", f"/orders/{order_id}", {"quantity": 300, "priceCents": low + 1})
    assert r.status == 202, r.body
    cmd = wait_for(lambda: [c for c in engine_input.for_order(order_id) if c["type"] == "REPLACE_ORDER"])[0]
    assert cmd["orig_client_order_id"] == order_id and cmd["client_order_id"] == f"{order_id}~1"
    assert cmd["quantity"] == 300 and cmd["price_cents"] == low + 1
    # a second replace waits for the wallet to see the engine's answer to the first (409 REPLACE_PENDING)
    too_big = wait_for(lambda: (lambda r: None if r.body.get("code") == "REPLACE_PENDING" else r)(
        funded.call("PATCH", f"/orders/{order_id}", {"quantity": 100_000_000})))
    assert too_big.status == 422 and too_big.body["code"] == "INSUFFICIENT_FUNDS", too_big.body
    cancel = funded.call("DELETE", f"/orders/{order_id}")  # now addressed by the new client order id
    assert cancel.status == 202
    c = wait_for(lambda: [c for c in engine_input.for_order(order_id) if c["type"] == "CANCEL_ORDER"])[0]
    assert c["client_order_id"] == f"{order_id}~1"


# --- execution reports ------------------------------------------------------------------------------------

def seeded_order(user: User, quantity: int = 300) -> Order:
    """An order stored as placing would store it, but whose command never went out: the running engine (if
    any) never hears of it, so the reports the test publishes are the only ones."""
    from mybroker.db import engine
    from mybroker.orders.repository import MySqlRepository

    from local_runtime import services as svc

    now = datetime.now(UTC)
    oid = str(uuid.uuid4())
    o = Order(order_id=oid, account_id=user.user_id, client_order_id=oid, instrument="PETR4", side=Side.BUY,
              order_type=OrderType.LIMIT, time_in_force=TimeInForce.DAY, quantity=quantity, price_cents=3500,
              trade_date=now.date(), created_at=now, updated_at=now, leaves_quantity=quantity,
              engine_client_order_id=oid, event_seq=1, request_hash="seeded")
    MySqlRepository(engine(svc.mysql_url("orders"))).insert(o, [])
    return o


BASE = int(time.time() * 1000) * 1000  # exec ids of this run: above anything the engine has published


def rep(o: Order, n: int, t: ExecType, cum: int = 0, last: int = 0, px: int = 0, coid: str = "",
        qty: int = 0) -> ExecutionReportMessage:
    q = qty or o.quantity
    return ExecutionReportMessage(
        exec_id=BASE + n, instrument=o.instrument, exec_type=t, engine_order_id=n, client_order_id=coid or o.order_id,
        investor_id=o.account_id, side=o.side, order_type=o.order_type, time_in_force=o.time_in_force,
        price_cents=o.price_cents, order_quantity=q, cum_quantity=cum, leaves_quantity=0 if t in (
            ExecType.CANCELED, ExecType.FILLED) else q - cum, avg_price_cents=px, last_price_cents=px,
        last_quantity=last, trade_id=BASE + n if last else 0, transact_time_ns=time.time_ns())


@pytest.fixture
def trader() -> User:
    return new_user("orders-reports")


def test_reports_in_order_out_of_order_and_duplicated(trader: User, order_events: OrderEvents) -> None:
    global BASE
    BASE += 1000
    o = seeded_order(trader)
    new = rep(o, 1, ExecType.NEW)
    p1 = rep(o, 2, ExecType.PARTIALLY_FILLED, 100, 100, 3500)
    p2 = rep(o, 3, ExecType.PARTIALLY_FILLED, 200, 100, 3490)
    filled = rep(o, 4, ExecType.FILLED, 300, 100, 3480)
    publish_reports([new, p2, new])  # duplicate, and p2 before p1
    wait_for(lambda: trader.get(f"/orders/{o.order_id}").body["cumQuantity"] == 200)
    publish_raw(b"{not json")  # skipped, never blocks the queue
    publish_reports([p1, filled, p1, p2])
    body = wait_for(lambda: (lambda b: b if b["status"] == "FILLED" and len(b["fills"]) == 3 else None)(
        trader.get(f"/orders/{o.order_id}").body))
    assert (body["cumQuantity"], body["leavesQuantity"], body["avgPriceCents"]) == (300, 0, 3490)
    assert [f["quantity"] for f in body["fills"]] == [100, 100, 100]
    assert all(f["feesCents"] >= 1 for f in body["fills"])
    events = wait_for(lambda: (lambda ev: ev if len(ev) >= 4 else None)(order_events.of(o.order_id)))
    time.sleep(1.0)
    events = order_events.of(o.order_id)
    ids = Counter(e.event_id for e in events)
    assert all(c == 1 for c in ids.values()), ids  # exactly once per event_id
    types = Counter(e.event_type.value for e in events)
    assert types == {"order.accepted": 1, "order.filled": 3}
    fills = sorted((e.fill.exec_id, e.fill.quantity) for e in events if e.fill is not None)
    assert fills == [(BASE + 2, 100), (BASE + 3, 100), (BASE + 4, 100)]
    assert sorted(ids) == sorted(f"{o.order_id}:{n}" for n in range(2, 6))
    assert trader.call("DELETE", f"/orders/{o.order_id}").body["code"] == "ORDER_NOT_CANCELABLE"
    assert trader.call("DELETE", f"/orders/{o.order_id}").status == 409


def test_cancel_replace_reject_and_expire_reports(trader: User, order_events: OrderEvents) -> None:
    global BASE
    BASE += 2000
    a, b, c = seeded_order(trader), seeded_order(trader), seeded_order(trader)
    publish_reports([
        rep(a, 1, ExecType.NEW), rep(a, 2, ExecType.REPLACED, coid=f"{a.order_id}~1", qty=500),
        rep(b, 3, ExecType.REJECTED), rep(c, 4, ExecType.NEW), rep(c, 5, ExecType.CANCELED),
    ])
    wait_for(lambda: trader.get(f"/orders/{c.order_id}").body["status"] == "CANCELED")
    ga = trader.get(f"/orders/{a.order_id}").body
    assert (ga["status"], ga["quantity"], ga["leavesQuantity"]) == ("NEW", 500, 500)
    assert trader.get(f"/orders/{b.order_id}").body["status"] == "REJECTED"
    wait_for(lambda: len(order_events.of(c.order_id)) >= 2)
    time.sleep(0.5)
    assert [e.event_type.value for e in order_events.of(a.order_id)] == ["order.accepted", "order.replaced"]
    assert [e.event_type.value for e in order_events.of(b.order_id)] == ["order.rejected"]
    assert [e.event_type.value for e in order_events.of(c.order_id)] == ["order.accepted", "order.canceled"]
    assert order_events.of(c.order_id)[-1].status is OrderStatus.CANCELED


# --- the outbox sweeper -----------------------------------------------------------------------------------

def test_sweeper_publishes_what_a_crash_left_behind(trader: User, engine_input: EngineInput,
                                                     order_events: OrderEvents) -> None:
    import json
    import urllib.request

    import sqlalchemy as sa
    from mybroker.contracts.engine import NewOrderCommand
    from mybroker.db import engine
    from mybroker.orders.domain import Emitted
    from mybroker.orders.repository import MySqlRepository, outbox
    from mybroker.orders.service import command_message, event_message, order_event

    from local_runtime import services as svc

    db = engine(svc.mysql_url("orders"))
    o = seeded_order(trader)  # stored, then "crashed" before publishing:
    cmd = NewOrderCommand(command_id=f"{o.order_id}:new", instrument="PETR4", client_order_id=o.order_id,
                          investor_id=o.account_id, side=o.side, order_type=o.order_type,
                          time_in_force=o.time_in_force, quantity=o.quantity, price_cents=1)
    placed = event_message(order_event(o, Emitted("order.placed"), 1, o.created_at))
    with db.begin() as c:
        stored = MySqlRepository._add_outbox(c, [command_message(cmd), placed])
        c.execute(outbox.update().where(outbox.c.id.in_([m.outbox_id for m in stored]))
                  .values(created_at=sa.func.date_sub(sa.func.utc_timestamp(6), sa.text("INTERVAL 1 MINUTE"))))
    from local_runtime.credentials import control_headers

    req = urllib.request.Request("http://127.0.0.1:3000/_local/functions/orders-outbox-sweeper/invoke",
                                 data=b"{}", method="POST", headers=control_headers())
    with urllib.request.urlopen(req, timeout=60) as r:
        answer = json.loads(r.read())
    assert isinstance(answer["sent"], int), answer
    # once this run returns, the rows are marked sent: by it, or by the every-minute run if that one got there
    # first (a run that picked them up but had not marked them yet makes this one send and mark them too)
    with db.connect() as c:
        left = c.execute(sa.select(sa.func.count()).select_from(outbox).where(
            outbox.c.id.in_([m.outbox_id for m in stored]), outbox.c.sent_at.is_(None))).scalar_one()
    assert left == 0
    assert wait_for(lambda: engine_input.for_order(o.order_id))[0]["command_id"] == f"{o.order_id}:new"
    # the engine may accept the swept command (order.accepted, ":2") before the sweep's Kafka send lands
    assert wait_for(lambda: [e for e in order_events.of(o.order_id) if e.event_id == f"{o.order_id}:1"])
    with db.connect() as c:
        unsent = c.execute(sa.select(sa.func.count()).select_from(outbox).where(
            outbox.c.id.in_([m.outbox_id for m in stored]), outbox.c.sent_at.is_(None))).scalar_one()
    assert unsent == 0


# --- through the matching engine (engine_service) ---------------------------------------------------------

def test_through_the_engine_accept_then_cancel(funded: User, reference_cents: int,
                                               order_events: OrderEvents) -> None:
    r = funded.post("/orders", limit_buy(resting(reference_cents)))  # rests: far below the ask side
    assert r.status == 201, r.body
    order_id = r.body["orderId"]
    body = wait_for(lambda: (lambda b: b if b["status"] != "PENDING_NEW" else None)(
        funded.get(f"/orders/{order_id}").body), timeout=20)
    assert (body["status"], body["cumQuantity"], body["leavesQuantity"]) == ("NEW", 0, 100), body
    cancel_and_wait(funded, order_id)
    types = [e.event_type.value for e in wait_for(lambda: (lambda ev: ev if len(ev) >= 3 else None)(
        order_events.of(order_id)))]
    assert types == ["order.placed", "order.accepted", "order.canceled"]
