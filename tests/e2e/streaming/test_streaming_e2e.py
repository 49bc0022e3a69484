"""The streaming API end to end, in a trading session: a real order's fill (engine → execution report →
orders → Kafka → pusher) reaches its owner's socket on ``orders``, with the wallet view after the wallet
applied it on ``wallet``; another user's socket never sees either."""

from __future__ import annotations

import uuid

import pytest

from tests.fixtures.users import new_user
from tests.integration.streaming.support import Socket

pytestmark = pytest.mark.stack


def test_a_fill_reaches_its_owner_only_with_the_wallet_after_it() -> None:
    alice, bob = new_user("ws-e2e-a"), new_user("ws-e2e-b")
    for u in (alice, bob):
        assert u.post("/wallet/deposits", {"amountCents": 20_000_000, "idempotencyKey": uuid.uuid4().hex}).status \
            in (200, 201)
    a, b = Socket(alice.token), Socket(bob.token)
    try:
        assert a.subscribe("orders", "wallet")["type"] == "subscribed"
        assert b.subscribe("orders", "wallet")["type"] == "subscribed"
        placed = alice.post("/orders", {"ticker": "PETR4", "side": "BUY", "orderType": "MARKET", "quantity": 100})
        assert placed.status == 201, placed.body
        order_id = placed.body["orderId"]
        fill = a.event("orders", lambda d: d["order_id"] == order_id and d["event_type"] == "order.filled", 60)
        assert fill["account_id"] == alice.user_id and fill["fill"]["quantity"] > 0
        change = a.event("wallet", lambda d: d["cause"]["order_id"] == order_id and
                         d["cause"]["event_type"] == "order.filled", 60)
        assert change["account_id"] == alice.user_id and change["applied"] is True
        view = alice.get("/wallet").body  # the same view GET /wallet answers, with the buy now payable at T+2
        assert set(change["wallet"]) == set(view) and change["wallet"]["accountId"] == alice.user_id
        assert change["wallet"]["payableCents"] > 0
        # bob's own order: once its events reach him, alice's (earlier) ones would have too, had they been his
        mine = bob.post("/orders", {"ticker": "PETR4", "side": "BUY", "orderType": "MARKET", "quantity": 100})
        assert mine.status == 201, mine.body
        b.event("orders", lambda d: d["order_id"] == mine.body["orderId"], 60)
        b.event("wallet", lambda d: d["cause"]["order_id"] == mine.body["orderId"], 60)
        assert all(d["account_id"] == bob.user_id for d in b.pushed("orders") + b.pushed("wallet"))
        assert order_id not in {d["order_id"] for d in b.pushed("orders")}
        assert all(d["account_id"] == alice.user_id for d in a.pushed("orders") + a.pushed("wallet"))
    finally:
        a.close()
        b.close()
