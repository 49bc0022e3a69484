"""The streaming domain: channel names and the isolation rule, the protocol's answers, the store's limits,
and the pusher's plan (routing, per-connection order, frame splitting, gone and failing connections)."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime

import pytest
from mybroker.contracts.engine import OrderType, Side, TimeInForce
from mybroker.contracts.exchange import DepthEvent, TradeEvent
from mybroker.contracts.orders import OrderEvent, OrderEventType, OrderStatus
from mybroker.contracts.streaming import MAX_CHANNELS_PER_CONNECTION, PushedEvent
from mybroker.streaming import protocol
from mybroker.streaming.channels import ChannelError, client_name, resolve
from mybroker.streaming.fanout import MAX_POST_BYTES, Fanout, Gone, Routed, frames, plan, route
from mybroker.streaming.store import Connection, MemoryStore, TooManyChannels
from mybroker.streaming.tokens import token_from

ALICE = Connection("conn-a=", "alice-sub", 0)
BOB = Connection("conn-b=", "bob-sub", 0)


def answer(body: str, conn: Connection, store: MemoryStore, books: dict[str, dict[str, object]] | None = None
           ) -> dict[str, object]:
    frame: dict[str, object] = json.loads(protocol.handle(body, conn, store, lambda t: (books or {}).get(t),
                                                          lambda: 7))
    return frame


def order_event(account: str, n: int = 1) -> OrderEvent:
    return OrderEvent(event_id=f"o1:{n}", event_type=OrderEventType.ACCEPTED, order_id="o1", account_id=account,
                      instrument="PETR4", side=Side.BUY, order_type=OrderType.LIMIT, time_in_force=TimeInForce.DAY,
                      quantity=100,
                      price_cents=3000, status=OrderStatus.NEW, cum_quantity=0, leaves_quantity=100,
                      avg_price_cents=0, trade_date="2026-11-26", occurred_at=datetime(2026, 11, 26, 14, tzinfo=UTC))


@pytest.mark.parametrize("name", ["orders", "wallet"])
def test_private_channels_are_always_the_callers_own(name: str) -> None:
    assert resolve(name, "alice-sub").key == f"{name}:alice-sub"
    assert resolve(name, "bob-sub").key == f"{name}:bob-sub"
    for other in (f"{name}:bob-sub", f"{name}:alice-sub", f"{name}:"):
        with pytest.raises(ChannelError) as refused:
            resolve(other, "alice-sub")
        assert refused.value.code == "FORBIDDEN_CHANNEL"
    assert client_name(f"{name}:alice-sub") == name


@pytest.mark.parametrize("name", ["quotes:petr4", "book:", "trades:PETR", "candles:PETR4", "quotes:PETR4:x", "",
                                  "x" * 80])
def test_malformed_channels_are_refused(name: str) -> None:
    with pytest.raises(ChannelError) as refused:
        resolve(name, "alice-sub")
    assert refused.value.code == "INVALID_CHANNEL"


def test_market_channels_are_shared() -> None:
    assert resolve("book:PETR4F", "alice-sub").key == resolve("book:PETR4F", "bob-sub").key == "book:PETR4F"


def test_subscribe_stores_the_callers_own_keys_and_answers_with_book_snapshots() -> None:
    store = MemoryStore()
    store.add_connection(ALICE)
    frame = answer(json.dumps({"action": "subscribe", "channels": ["orders", "book:VALE3", "wallet"], "id": "x"}),
                   ALICE, store, {"VALE3": {"seq": 5}})
    assert frame == {"type": "subscribed", "id": "x", "channels": ["orders", "book:VALE3", "wallet"],
                     "snapshots": {"book:VALE3": {"seq": 5}}}
    assert store.channels(ALICE.connection_id) == {"orders:alice-sub", "book:VALE3", "wallet:alice-sub"}
    assert store.subscribers(["orders:bob-sub", "wallet:bob-sub"]) == {}


def test_a_request_naming_another_users_channel_changes_nothing() -> None:
    store = MemoryStore()
    frame = answer(json.dumps({"action": "subscribe", "channels": ["quotes:PETR4", "orders:alice-sub"]}), BOB, store)
    assert frame["type"] == "error" and frame["code"] == "FORBIDDEN_CHANNEL"
    assert frame["channels"] == ["orders:alice-sub"]
    assert store.channels(BOB.connection_id) == set()


@pytest.mark.parametrize(("body", "code"), [
    ("not json", "INVALID_JSON"),
    ("[" * 20_000, "INVALID_JSON"),  # nested past the parser (RecursionError, not ValueError)
    ("[1]", "UNKNOWN_ACTION"),
    ('{"action": "dance"}', "UNKNOWN_ACTION"),
    ('{"action": "subscribe"}', "INVALID_CHANNEL"),
    ('{"action": "subscribe", "channels": []}', "INVALID_CHANNEL"),
    ('{"action": "subscribe", "channels": "orders"}', "INVALID_CHANNEL"),
    ('{"action": "subscribe", "channels": [3]}', "INVALID_CHANNEL"),
    (json.dumps({"action": "subscribe", "channels": [f"quotes:AB{i:02d}3" for i in range(51)]}), "TOO_MANY_CHANNELS"),
])
def test_bad_frames_get_a_machine_readable_error(body: str, code: str) -> None:
    frame = answer(body, ALICE, MemoryStore())
    assert frame["type"] == "error" and frame["code"] == code


def test_ping_and_unsubscribe() -> None:
    store = MemoryStore()
    assert answer('{"action": "ping", "id": "p"}', ALICE, store) == {"type": "pong", "id": "p", "server_time_ns": 7}
    answer('{"action": "subscribe", "channels": ["orders", "trades:PETR4"]}', ALICE, store)
    assert answer('{"action": "unsubscribe", "channels": ["orders"]}', ALICE, store)["channels"] == ["orders"]
    assert store.channels(ALICE.connection_id) == {"trades:PETR4"}


def test_a_connection_holds_at_most_the_limit_of_channels() -> None:
    store = MemoryStore()
    names = [f"trades:AB{i:02d}3" for i in range(MAX_CHANNELS_PER_CONNECTION)]
    store.subscribe("c", names, MAX_CHANNELS_PER_CONNECTION)
    store.subscribe("c", names[:3], MAX_CHANNELS_PER_CONNECTION)  # already there: no growth
    with pytest.raises(TooManyChannels):
        store.subscribe("c", ["trades:ZZZZ3"], MAX_CHANNELS_PER_CONNECTION)
    assert "trades:ZZZZ3" not in store.channels("c")


def test_removing_a_connection_clears_its_subscriptions() -> None:
    store = MemoryStore()
    store.add_connection(ALICE)
    store.subscribe(ALICE.connection_id, ["orders:alice-sub", "book:PETR4"], 50)
    store.remove_connection(ALICE.connection_id)
    store.remove_connection(ALICE.connection_id)
    assert store.subscribers(["orders:alice-sub", "book:PETR4"]) == {}
    assert store.connection(ALICE.connection_id) is None


def test_records_route_to_their_channels_and_unreadable_ones_are_refused() -> None:
    trade = TradeEvent(instrument="PETR4", seq=1, ts_ns=1, trade_id=9, price_cents=3000, quantity=100,
                       aggressor_side="BUY")
    depth = DepthEvent(instrument="VALE3", seq=2, ts_ns=1, side="SELL", price_cents=6000, quantity=0, order_count=0)
    assert [r.key for r in route("trades", trade.model_dump_json().encode())] == ["trades:PETR4"]
    assert [r.key for r in route("market-data", depth.model_dump_json().encode())] == ["book:VALE3"]
    routed = route("orders", order_event("alice-sub").to_json())
    assert routed[0].key == "orders:alice-sub" and routed[0].order_event is not None
    for topic, value in (("trades", b"{}"), ("orders", b"not json"), ("quotes", b'{"schema_version": 9}'),
                         ("trades", None), ("elsewhere", b"{}"), ("market-data", b"\xff")):
        with pytest.raises(ValueError):
            route(topic, value)


def test_plan_keeps_order_per_connection_and_never_crosses_accounts() -> None:
    items = [Routed("orders:alice-sub", {"n": 1}), Routed("trades:PETR4", {"n": 2}), Routed("orders:bob-sub", {"n": 3}),
             Routed("orders:alice-sub", {"n": 4})]
    subscribers = {"orders:alice-sub": {"a1", "a2"}, "orders:bob-sub": {"b1"}, "trades:PETR4": {"a1", "b1"}}
    out = plan(items, subscribers)
    assert [(e.channel, e.data["n"]) for e in out["a1"]] == [("orders", 1), ("trades:PETR4", 2), ("orders", 4)]
    assert [e.data["n"] for e in out["a2"]] == [1, 4]
    assert [e.data["n"] for e in out["b1"]] == [2, 3]


def test_frames_stay_under_the_post_limit_in_order() -> None:
    events = [PushedEvent(channel="book:PETR4", data={"seq": i, "pad": "x" * 1000}) for i in range(400)]
    out = frames(events, lambda: 1)
    assert len(out) > 1 and all(len(f) <= MAX_POST_BYTES for f in out)
    seqs = [e["data"]["seq"] for f in out for e in json.loads(f)["events"]]
    assert seqs == list(range(400))


def test_fanout_removes_gone_and_a_blocked_client_does_not_hold_the_others() -> None:
    release = threading.Event()
    delivered: list[str] = []
    others_done = threading.Event()

    def post(connection_id: str, payload: bytes) -> None:
        if connection_id == "slow":
            assert release.wait(30)  # held until every other client has its frame
            return
        if connection_id == "gone":
            raise Gone(connection_id)
        if connection_id == "broken":
            raise OSError("reset")
        delivered.append(connection_id)
        if len(delivered) == 20:
            others_done.set()

    fanout = Fanout(post, workers=4)
    per = {c: [PushedEvent(channel="trades:PETR4", data={"n": 1})] for c in ["slow", "gone", "broken"] +
           [f"c{i}" for i in range(20)]}
    result: dict[str, object] = {}
    worker = threading.Thread(target=lambda: result.update(outcome=fanout.send(per)))
    worker.start()
    assert others_done.wait(30), "the other clients waited for the blocked one"
    release.set()
    worker.join(30)
    outcome = result["outcome"]
    assert outcome.gone == {"gone"} and set(outcome.failed) == {"broken"}  # type: ignore[attr-defined]
    assert outcome.posted == 21  # type: ignore[attr-defined]


def test_the_token_comes_from_the_query_or_the_second_subprotocol() -> None:
    assert token_from({"token": "abc"}, {}, "mybroker.v1") == "abc"
    assert token_from(None, {"Sec-WebSocket-Protocol": "mybroker.v1, eyJ.x.y"}, "mybroker.v1") == "eyJ.x.y"
    assert token_from(None, {"sec-websocket-protocol": "other, eyJ.x.y"}, "mybroker.v1") is None
    assert token_from(None, {}, "mybroker.v1") is None
