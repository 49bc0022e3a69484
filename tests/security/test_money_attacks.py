"""Attacks on money itself: a user releasing or shrinking their own hold (issue 17, finding 1), a replace the
exchange rejects shrinking the hold anyway (finding 2), and one user racing N withdrawals, buys or sells over
what they have. Each ends with the ledger reconciling (wallet = statement = postings) and nothing negative."""

from __future__ import annotations

import json
import uuid
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from typing import Any

import pytest
from mybroker.orders.domain import rejection_band
from mybroker.wallet.reservations import buy_hold_cents

from tests.e2e.orders.conftest import (  # noqa: F401
    OrderEvents,
    order_events,
    petr4_reference_cents,
    reference_cents,
    wait_for,
)
from tests.fixtures.users import Response, User, new_user
from tests.security.support import TALLY, assert_ledger_reconciles, attack, money

pytestmark = [pytest.mark.stack, pytest.mark.security]

RACERS = 20


def funded(prefix: str, cents: int) -> User:
    u = new_user(prefix)
    r = u.post("/wallet/deposits", {"amountCents": cents, "idempotencyKey": "seed"})
    assert r.status == 201, r.body
    return u


def buy(price: int, quantity: int = 100, **kw: Any) -> dict[str, Any]:
    return {"ticker": "PETR4", "side": "BUY", "orderType": "LIMIT", "quantity": quantity, "priceCents": price, **kw}


def final(u: User, order_id: str) -> dict[str, Any]:
    body: dict[str, Any] = wait_for(lambda: (lambda b: b if b["status"] in ("FILLED", "CANCELED", "REJECTED",
                                                                             "EXPIRED") else None)(
        u.get(f"/orders/{order_id}").body))
    return body


def cancel_all(u: User, order_ids: list[str]) -> None:
    for oid in order_ids:
        u.call("DELETE", f"/orders/{oid}")
    for oid in order_ids:
        final(u, oid)


def warm_up() -> None:
    """Start every execution environment a race goes through, with calls that move nothing (a user without
    money places and withdraws). Locally the emulator counts a cold start's init inside the function's timeout
    (Lambda gives init its own 10 s): a dozen interpreters starting at once on two cores take ~3 s each and
    time out the 3 s wallet-reservations, which is the local runtime's cold start, not the race under test."""
    broke, price = new_user("sec-broke"), rejection_band(petr4_reference_cents(), 10).lower
    calls: list[Callable[[], Response]] = [
        lambda: broke.post("/orders", buy(price)),  # orders-api -> wallet-reservations: 422, nothing held
        lambda: broke.post("/wallet/withdrawals", {"amountCents": 1, "idempotencyKey": uuid.uuid4().hex}),
        lambda: broke.get("/wallet")]
    with ThreadPoolExecutor(max_workers=RACERS) as pool:
        list(pool.map(lambda i: calls[i % len(calls)](), range(2 * RACERS)))


def race(n: int, call: Callable[[int], Response], group: str) -> list[Response]:
    """``n`` calls at once (a barrier of threads), each counted as an attack."""
    warm_up()
    with ThreadPoolExecutor(max_workers=n) as pool:
        answers = list(pool.map(call, range(n)))
    for r in answers:
        TALLY.record(group, "race", r.status)
    return answers


def test_a_user_cannot_release_or_shrink_their_own_hold(reference_cents: int) -> None:  # noqa: F811
    u = funded("sec-hold", 1_000_000)
    placed = u.post("/orders", buy(rejection_band(reference_cents, 10).lower))  # rests
    assert placed.status == 201, placed.body
    oid = placed.body["orderId"]
    wait_for(lambda: u.get(f"/orders/{oid}").body["status"] == "NEW")
    before = money(u)
    held = before["cash"]["reservedCents"]
    assert held > 0
    auth = {"Authorization": f"Bearer {u.token}", "Content-Type": "application/json"}
    me = u.user_id
    for method, path, body in (
            ("DELETE", f"/internal/wallet/reservations/{oid}?accountId={me}", None),
            ("PUT", f"/internal/wallet/reservations/{oid}", {"accountId": me, "quantity": 100, "priceCents": 1,
                                                              "replaceSeq": 1}),
            ("POST", "/internal/wallet/reservations", {"accountId": me, "orderId": oid, "ticker": "PETR4",
                                                       "side": "SELL", "quantity": 100, "priceCents": 1}),
            # the public routes of old (finding 1) are gone
            ("DELETE", f"/wallet/reservations/{oid}", None),
            ("PUT", f"/wallet/reservations/{oid}", {"quantity": 100, "priceCents": 1}),
            ("POST", "/wallet/reservations", {"orderId": oid, "ticker": "PETR4", "side": "BUY", "quantity": 1,
                                              "priceCents": 1})):
        r = attack("money: own hold", method, path, headers=auth, body=json.dumps(body).encode() if body else None)
        assert r.status in (403, 404), (method, path, r.status, r.body)
    # an id that only starts with the order's is another id: it used to be cut to 36 characters and find it
    for method, body in (("GET", None), ("DELETE", None), ("PATCH", {"priceCents": 1})):
        r = attack("money: own hold", method, f"/orders/{oid}XYZ", headers=auth,
                   body=json.dumps(body).encode() if body else None)
        assert r.status == 404 and r.body["code"] == "ORDER_NOT_FOUND", (method, r.status, r.body)
    assert u.get(f"/orders/{oid}").body["status"] == "NEW"
    assert money(u) == before
    # the hold is not withdrawable: everything but the hold is, and not a cent more
    free = before["cash"]["availableCents"]
    over = u.post("/wallet/withdrawals", {"amountCents": free + 1, "idempotencyKey": uuid.uuid4().hex})
    assert over.status == 422 and over.body["code"] == "INSUFFICIENT_FUNDS", over.body
    ok = u.post("/wallet/withdrawals", {"amountCents": free, "idempotencyKey": uuid.uuid4().hex})
    assert ok.status == 201, ok.body
    assert money(u)["cash"]["reservedCents"] == held
    cancel_all(u, [oid])
    after = wait_for(lambda: (lambda m: m if m["cash"]["reservedCents"] == 0 else None)(money(u)))
    assert after["cash"]["availableCents"] == held  # the hold came back, and only it
    assert_ledger_reconciles(u)


def test_a_replace_the_exchange_rejects_keeps_the_hold(reference_cents: int,  # noqa: F811
                                                       order_events: OrderEvents) -> None:  # noqa: F811
    """An iceberg of 1,000 showing 500, replaced to 400: the engine refuses (the display would exceed the
    quantity), so the order still holds cash for 1,000 and none of it may be withdrawn."""
    u = funded("sec-replace", 10_000_000)
    placed = u.post("/orders", buy(rejection_band(reference_cents, 10).lower, 1000, displayQuantity=500))
    assert placed.status == 201, placed.body
    oid = placed.body["orderId"]
    wait_for(lambda: u.get(f"/orders/{oid}").body["status"] == "NEW")
    held = money(u)["cash"]["reservedCents"]
    r = attack("money: replace", "PATCH", f"/orders/{oid}",
               headers={"Authorization": f"Bearer {u.token}", "Content-Type": "application/json"},
               body=b'{"quantity": 400}')
    assert r.status in (202, 422), r.body
    if r.status == 202:  # sent: the engine's answer decides
        wait_for(lambda: [e for e in order_events.of(oid) if e.event_type.value == "order.replace_rejected"])
    order = u.get(f"/orders/{oid}").body
    assert (order["status"], order["quantity"]) == ("NEW", 1000), order
    m = money(u)
    assert m["cash"]["reservedCents"] == held, (held, m)
    over = u.post("/wallet/withdrawals", {"amountCents": m["cash"]["availableCents"] + 1,
                                          "idempotencyKey": uuid.uuid4().hex})
    assert over.status == 422 and over.body["code"] == "INSUFFICIENT_FUNDS", over.body
    cancel_all(u, [oid])
    wait_for(lambda: money(u)["cash"]["reservedCents"] == 0)
    assert_ledger_reconciles(u)


def test_racing_replaces_never_leave_the_hold_short(reference_cents: int) -> None:  # noqa: F811
    """Ten replaces of one resting buy at once, each to another price: the orders service stores one replace
    at a time (409 ORDER_CHANGED for the others), the wallet holds for one unanswered replace at a time (409
    REPLACE_PENDING), and once the engine has answered the hold is exactly what the order's terms need."""
    u = funded("sec-race-replace", 10_000_000)
    low = rejection_band(reference_cents, 10).lower
    placed = u.post("/orders", buy(low, 100))
    assert placed.status == 201, placed.body
    oid = placed.body["orderId"]
    wait_for(lambda: u.get(f"/orders/{oid}").body["status"] == "NEW")
    answers = race(10, lambda i: u.call("PATCH", f"/orders/{oid}", {"priceCents": low + 1 + i}), "money: replace")
    assert {r.status for r in answers} <= {202, 409}, [(r.status, r.body) for r in answers]
    assert any(r.status == 202 for r in answers)
    assert {r.body["code"] for r in answers if r.status == 409} <= {"ORDER_CHANGED", "REPLACE_PENDING"}

    def settled() -> dict[str, Any] | None:
        order = u.get(f"/orders/{oid}").body
        need = buy_hold_cents(order["quantity"], order["priceCents"], date.fromisoformat(order["tradeDate"]))
        return order if money(u)["cash"]["reservedCents"] == need else None

    order = wait_for(settled)
    assert order["status"] == "NEW" and order["priceCents"] > low, order
    cancel_all(u, [oid])
    wait_for(lambda: money(u)["cash"]["reservedCents"] == 0)
    assert_ledger_reconciles(u)


def test_racing_withdrawals_never_overdraw() -> None:
    u = funded("sec-race-withdraw", 1_000_000)
    answers = race(RACERS, lambda i: u.post("/wallet/withdrawals", {"amountCents": 600_000,
                                                                     "idempotencyKey": f"race-{i}"}),
                   "money: racing withdrawals")
    statuses = Counter(r.status for r in answers)
    assert statuses == {201: 1, 422: RACERS - 1}, [(r.status, r.body) for r in answers]
    assert all(r.body["code"] == "INSUFFICIENT_FUNDS" for r in answers if r.status == 422)
    assert money(u)["cash"]["availableCents"] == 400_000
    # the same withdrawal retried at once, 20 times: applied once
    again = race(RACERS, lambda i: u.post("/wallet/withdrawals", {"amountCents": 100_000,
                                                                   "idempotencyKey": "one-retried"}),
                 "money: racing withdrawals")
    assert {r.status for r in again} <= {200, 201, 409} and sum(r.status == 201 for r in again) == 1, \
        [(r.status, r.body) for r in again]
    assert money(u)["cash"]["availableCents"] == 300_000
    assert_ledger_reconciles(u)


def test_racing_buys_never_hold_more_than_the_cash(reference_cents: int) -> None:  # noqa: F811
    from datetime import date

    from mybroker.wallet.reservations import buy_hold_cents

    price = rejection_band(reference_cents, 10).lower
    hold = buy_hold_cents(100, price, date.today())
    cash = 3 * hold + hold // 2  # room for three holds, not four
    u = funded("sec-race-buy", cash)
    answers = race(RACERS, lambda i: u.post("/orders", buy(price)), "money: racing buys")
    placed = [r.body["orderId"] for r in answers if r.status == 201]
    refused = [r for r in answers if r.status != 201]
    assert all(r.status == 422 and r.body["code"] == "INSUFFICIENT_FUNDS" for r in refused), \
        [(r.status, r.body) for r in refused]
    m = money(u)
    assert len(placed) == 3 and m["cash"]["reservedCents"] <= cash, (len(placed), m)
    assert m["cash"]["availableCents"] + m["cash"]["reservedCents"] == cash and m["cash"]["availableCents"] >= 0
    cancel_all(u, placed)
    wait_for(lambda: money(u)["cash"]["reservedCents"] == 0)
    assert money(u)["cash"]["availableCents"] == cash
    assert_ledger_reconciles(u)


def test_racing_sells_never_sell_more_than_is_held(reference_cents: int) -> None:  # noqa: F811
    u = funded("sec-race-sell", 2_000_000)
    up = reference_cents * 104 // 100  # marketable against the liquidity agents' asks, inside the tunnel
    bought = u.post("/orders", buy(up, timeInForce="FOK"))
    assert bought.status == 201, bought.body
    assert final(u, bought.body["orderId"])["status"] == "FILLED"
    wait_for(lambda: money(u)["positions"].get("PETR4", (0, 0, 0))[2] == 100)  # receivable at D+2: a day trade
    high = rejection_band(reference_cents, 10).upper  # rests: far above any bid
    answers = race(RACERS, lambda i: u.post("/orders", {"ticker": "PETR4", "side": "SELL", "orderType": "LIMIT",
                                                        "quantity": 100, "priceCents": high}), "money: racing sells")
    placed = [r.body["orderId"] for r in answers if r.status == 201]
    refused = [r for r in answers if r.status != 201]
    assert len(placed) == 1, [(r.status, r.body) for r in answers]
    assert all(r.status == 422 and r.body["code"] in ("INSUFFICIENT_SHARES", "INSUFFICIENT_POSITION")
               for r in refused), {(r.status, str(r.body.get("code"))) for r in refused}
    positions = money(u)["positions"]["PETR4"]
    assert sum(positions) == 100 and all(q >= 0 for q in positions), positions
    cancel_all(u, placed)
    assert_ledger_reconciles(u)
