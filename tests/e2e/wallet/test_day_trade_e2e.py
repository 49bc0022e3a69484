"""A B3 day trade through the whole system: buy 100 PETR4 against the liquidity agents, sell those same
shares in the same session (they settle only at D+2), rebuy with the sale's proceeds (more than the settled
cash left), then settle at D+2: the statement, the ledger and the position net to the cent."""

from __future__ import annotations

import json
import time
import urllib.request
import uuid
from collections.abc import Callable
from datetime import date
from typing import Any

import redis
from mybroker.b3.calendar import settlement_date
from mybroker.db import engine
from mybroker.fees import b3_fees_cents
from mybroker.market_data.cache import QuoteCache
from mybroker.wallet.mysql import MySqlStore
from mybroker.wallet.service import Wallet

from local_runtime import services as svc
from local_runtime.credentials import control_headers
from tests.fixtures.users import API, User, new_user

DEPOSIT = 500_000  # R$5,000.00: enough for one buy of 100 PETR4, not for two


def until(probe: Callable[[], Any], ok: Callable[[Any], bool], timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if ok(value) or time.monotonic() > deadline:
            return value
        time.sleep(0.2)


def wallet(u: User) -> dict[str, Any]:
    r = u.get("/wallet")
    assert r.status == 200, r.body
    body: dict[str, Any] = r.body
    return body


def fok(u: User, side: str, price_cents: int) -> dict[str, Any]:
    """A fill-or-kill limit for 100 PETR4, followed to its final state; its fills (with their fees)."""
    r = u.post("/orders", {"ticker": "PETR4", "side": side, "orderType": "LIMIT", "timeInForce": "FOK",
                           "quantity": 100, "priceCents": price_cents})
    assert r.status in (200, 201, 202), r.body
    order_id = r.body["orderId"]
    final = until(lambda: u.get(f"/orders/{order_id}").body, lambda o: o["status"] in ("FILLED", "CANCELED",
                                                                                       "REJECTED"))
    assert final["status"] == "FILLED", final
    return final  # type: ignore[no-any-return]


def cash(order: dict[str, Any]) -> tuple[int, int]:
    """(value, fees) of an order's fills, each fee checked against B3's rate for its trade day."""
    day = date.fromisoformat(order["tradeDate"])
    fills = order["fills"]
    assert sum(f["quantity"] for f in fills) == 100
    for f in fills:
        assert f["feesCents"] == b3_fees_cents(f["quantity"] * f["priceCents"], day)
    return sum(f["quantity"] * f["priceCents"] for f in fills), sum(f["feesCents"] for f in fills)


def settle(on: date) -> None:
    body = json.dumps({"version": "0", "id": str(uuid.uuid4()), "detail-type": "Scheduled Event",
                       "source": "aws.scheduler", "time": f"{on.isoformat()}T11:00:00Z", "detail": {}}).encode()
    req = urllib.request.Request(f"{API}/_local/functions/wallet-settlement/invoke", data=body, method="POST",
                                 headers=control_headers())
    with urllib.request.urlopen(req, timeout=120) as r:
        r.read()


def test_buy_sell_the_same_shares_and_rebuy_with_the_proceeds() -> None:
    u = new_user("daytrade")
    assert u.post("/wallet/deposits", {"amountCents": DEPOSIT, "idempotencyKey": "seed"}).status == 201
    ref = QuoteCache(redis.Redis.from_url(f"redis://127.0.0.1:{svc.REDIS_PORT}/0")).reference_price_cents("PETR4")
    assert ref is not None
    up, down = ref * 104 // 100, ref * 96 // 100  # marketable against the agents' asks / bids, inside the tunnel

    buy = fok(u, "BUY", up)
    v1, f1 = cash(buy)
    until(lambda: wallet(u), lambda w: w["payableCents"] == v1 + f1)
    assert wallet(u)["availableCents"] == DEPOSIT - v1 - f1

    sell = fok(u, "SELL", down)  # the 100 bought above, unsettled: a day trade
    v2, f2 = cash(sell)
    w = until(lambda: wallet(u), lambda w: w["receivableCents"] == v2 - f2)
    assert w["receivableCents"] == v2 - f2 and w["buyingPowerCents"] == DEPOSIT - v1 - f1 + v2 - f2
    hold = 100 * up + b3_fees_cents(100 * up, date.fromisoformat(buy["tradeDate"]))
    assert w["availableCents"] < hold  # the rebuy needs the sale's proceeds

    rebuy = fok(u, "BUY", up)
    v3, f3 = cash(rebuy)
    w = until(lambda: wallet(u), lambda w: w["payableCents"] == v1 + f1 + v3 + f3 and w["reservedCents"] == 0)
    assert w["payableCents"] == v1 + f1 + v3 + f3 and w["reservedCents"] == 0, w
    # settled cash + what is still to arrive = what the three trades leave
    assert w["availableCents"] + w["receivableCents"] == DEPOSIT - v1 - f1 + v2 - f2 - v3 - f3

    days = {date.fromisoformat(o["tradeDate"]) for o in (buy, sell, rebuy)}
    assert len(days) == 1, days
    day = days.pop()
    # the buy and the sale are a day trade of 100 shares, the rebuy is swing
    trades = u.get(f"/wallet/trades?from={day}&to={day}").body
    legs = {(t["orderId"], t["side"]): t["dayTradeQuantity"] for t in trades["items"]}
    assert sum(legs.values()) == 200 and all(v == 0 for (o, _), v in legs.items() if o == rebuy["orderId"]), legs
    (petr4,) = trades["days"]
    assert (petr4["boughtQuantity"], petr4["soldQuantity"], petr4["dayTradeQuantity"]) == (200, 100, 100)
    assert petr4["dayTradeSellCents"] == v2 and petr4["dayTradeBuyCents"] == v1
    settle(settlement_date(day))
    w = until(lambda: wallet(u), lambda w: w["payableCents"] == 0)
    assert (w["availableCents"], w["reservedCents"], w["receivableCents"], w["payableCents"]) == (
        DEPOSIT - v1 - f1 + v2 - f2 - v3 - f3, 0, 0, 0)
    pos = next(p for p in u.get("/wallet/positions").body["items"] if p["ticker"] == "PETR4")
    assert (pos["availableQuantity"], pos["receivableQuantity"], pos["totalQuantity"]) == (100, 0, 100)
    lines = u.get("/wallet/statement?limit=200").body["items"]  # one line per posting
    assert len({x["entryId"] for x in lines if x["kind"] == "fill"}) == 3
    assert {x["ref"] for x in lines if x["kind"] == "fill"} == {buy["orderId"], sell["orderId"], rebuy["orderId"]}
    assert any(x["kind"] == "settlement" for x in lines)
    assert Wallet(MySqlStore(engine(svc.mysql_url("wallet")))).reconcile(u.user_id) == []
