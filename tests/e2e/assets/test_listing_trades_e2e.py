"""A listing created through the assets API trades within the same session, and a halt stops it at once.

An admin lists a fresh ticker (tick R$0.02, so the engine is seen to take the catalog's tick); the engine
opens its books (round lot and fractional) without a restart. The listing's first quote stands in for the
external feed's (a new listing has no price until the market gives one): the engine takes it as the reference
and the liquidity agents start quoting both books. A fresh seller buys 100 shares from them, rests a sale of
those same shares inside the agents' spread, and a fresh buyer crosses it: the two users trade with each
other. The buyer also gets an odd lot from the agents' fractional ladder. Then the admin suspends the listing:
once the engine shows the book HALTED, a new order is refused, and a resting one can still be cancelled.
"""

from __future__ import annotations

import json
import random
import string
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
import redis
from mybroker.assets.catalog import isin_check_digit
from mybroker.contracts.exchange import BOOK_KEY
from mybroker.contracts.quotes import QuoteEvent
from mybroker.market_data.cache import QuoteCache

from local_runtime import services as svc
from tests.fixtures.users import User, new_user

pytestmark = pytest.mark.stack

TICK = 2
FINAL = ("FILLED", "CANCELED", "REJECTED", "EXPIRED")


def until(probe: Callable[[], Any], what: str, timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout:.0f} s")
        time.sleep(0.2)


def engine_book(r: redis.Redis, symbol: str) -> dict[str, Any]:
    raw = r.get(BOOK_KEY.format(instrument=symbol))
    book: dict[str, Any] = json.loads(raw) if raw else {}
    return book


def place(u: User, ticker: str, side: str, qty: int, price: int) -> str:
    r = u.post("/orders", {"ticker": ticker, "side": side, "orderType": "LIMIT", "timeInForce": "DAY",
                           "quantity": qty, "priceCents": price})
    assert r.status == 201, r.body
    return str(r.body["orderId"])


def order(u: User, order_id: str) -> dict[str, Any]:
    body: dict[str, Any] = u.get(f"/orders/{order_id}").body
    return body


def final(u: User, order_id: str) -> dict[str, Any]:
    body: dict[str, Any] = until(lambda: (lambda o: o if o["status"] in FINAL else None)(order(u, order_id)),
                                 f"order {order_id} final")
    return body


def held(u: User, ticker: str) -> int:
    """Shares of ``ticker`` the wallet counts as the user's (settled or to be received)."""
    items: list[dict[str, Any]] = u.get("/wallet/positions").body["items"]
    return sum(int(p["totalQuantity"]) for p in items if p["ticker"] == ticker)


def in_phase(r: redis.Redis, symbol: str, phase: str) -> Callable[[], bool]:
    return lambda: engine_book(r, symbol).get("phase") == phase


def funded(prefix: str) -> User:
    u = new_user(prefix)
    assert u.post("/wallet/deposits", {"amountCents": 2_000_000, "idempotencyKey": uuid.uuid4().hex}).status == 201
    return u


def new_listing() -> dict[str, object]:
    """A fresh ticker the catalog accepts (four letters and a share class: ``^[A-Z][A-Z0-9]{3}(3|4|...)$``)."""
    issuer = "L" + "".join(random.choices(string.ascii_uppercase, k=3))
    first11 = f"BR{issuer}ACNOR"
    return {"ticker": f"{issuer}3", "name": f"Listing {issuer} ON", "isin": first11 + str(isin_check_digit(first11)),
            "kind": "SHARE_ON", "roundLot": 100, "tickSizeCents": TICK}


def test_a_new_listing_trades_in_the_same_session_and_a_halt_stops_it_at_once() -> None:
    r = redis.Redis.from_url(f"redis://127.0.0.1:{svc.REDIS_PORT}/0")
    admin = new_user("lister", groups=("admin",))
    seller, buyer = funded("listing-seller"), funded("listing-buyer")
    listing = new_listing()
    ticker = str(listing["ticker"])
    created = admin.post("/assets", listing)
    assert created.status == 201, created.body

    # the engine opens both books during the session: no restart, no UNKNOWN_INSTRUMENT
    for symbol in (ticker, f"{ticker}F"):
        until(in_phase(r, symbol, "CONTINUOUS"), f"the engine's {symbol} book")

    # the listing's first quote (our own price, on the tick): the reference of the engine and the agents
    reference = random.randrange(1_000, 5_000, TICK)
    now = datetime.now(UTC)
    QuoteCache(r).put(QuoteEvent(event_id=f"listing-{uuid.uuid4().hex}", ticker=ticker, ts=now,
                                 trading_date=now.date(), last_cents=reference, reference_cents=reference,
                                 source="synthetic"))
    book = until(lambda: (lambda b: b if b.get("reference_price_cents") == reference and b.get("bids")
                          and b.get("asks") else None)(engine_book(r, ticker)), "the agents quote the listing")
    odd = until(lambda: (lambda b: b if b.get("bids") and b.get("asks") else None)(engine_book(r, f"{ticker}F")),
                "the agents quote its fractional book")
    assert all(level["price_cents"] % TICK == 0 for level in book["bids"] + book["asks"])
    assert all(level["quantity"] % 100 == 0 for level in book["bids"] + book["asks"])
    assert all(1 <= level["quantity"] <= 99 * level["orders"] for level in odd["bids"] + odd["asks"])
    best_bid, best_ask = book["bids"][0]["price_cents"], book["asks"][0]["price_cents"]
    assert best_bid < reference < best_ask  # room inside the agents' spread for the users' own trade

    # off the catalog's tick: refused before it reaches the book
    off = seller.post("/orders", {"ticker": ticker, "side": "BUY", "orderType": "LIMIT", "quantity": 100,
                                  "priceCents": reference + 1})
    assert off.status == 422 and off.body["code"] == "INVALID_TICK", off.body

    # the seller gets 100 shares from the agents, then rests their sale inside the spread
    bought = final(seller, place(seller, ticker, "BUY", 100, best_ask))
    assert bought["status"] == "FILLED", bought
    # the order reads FILLED once orders applied the report; the wallet applies the fill from the order event a
    # moment later, and only then are the (unsettled, day-trade) shares there to sell
    until(lambda: held(seller, ticker) == 100, "the wallet shows the 100 shares bought")
    resting = place(seller, ticker, "SELL", 100, reference)
    until(lambda: order(seller, resting)["status"] == "NEW", "the seller's sale rests")
    # the buyer crosses it: a fill between the two users, at the resting price
    crossing = final(buyer, place(buyer, ticker, "BUY", 100, reference))
    assert crossing["status"] == "FILLED", crossing
    assert [(f["quantity"], f["priceCents"]) for f in crossing["fills"]] == [(100, reference)]
    sold = final(seller, resting)
    assert sold["status"] == "FILLED" and [(f["quantity"], f["priceCents"]) for f in sold["fills"]] == [
        (100, reference)]
    # and an odd lot from the agents' fractional ladder
    odd_ask = engine_book(r, f"{ticker}F")["asks"][0]["price_cents"]
    odd_lot = final(buyer, place(buyer, f"{ticker}F", "BUY", 1, odd_ask))
    assert odd_lot["status"] == "FILLED", odd_lot

    # a resting buy of the buyer's, below the agents' bids, stays through the halt
    waiting = place(buyer, ticker, "BUY", 100, best_bid - 10 * TICK)
    until(lambda: order(buyer, waiting)["status"] == "NEW", "the buyer's bid rests")

    # the admin halts the listing: once the engine has it HALTED, a new order is refused
    halted = admin.call("PATCH", f"/assets/{ticker}", {"status": "SUSPENDED"})
    assert halted.status == 200 and halted.body["status"] == "SUSPENDED", halted.body
    for symbol in (ticker, f"{ticker}F"):
        until(in_phase(r, symbol, "HALTED"), f"the engine halts {symbol}")
    late = buyer.post("/orders", {"ticker": ticker, "side": "BUY", "orderType": "LIMIT", "quantity": 100,
                                  "priceCents": reference})
    if late.status == 201:  # the broker's 60 s catalog cache still said ACTIVE: the exchange refuses it
        refused = final(buyer, str(late.body["orderId"]))
        assert (refused["status"], refused["reason"], refused["fills"]) == ("REJECTED", "INSTRUMENT_SUSPENDED", [])
    else:  # the broker already knew
        assert late.status == 422 and late.body["code"] == "INSTRUMENT_SUSPENDED", late.body
    # the resting order stayed on the halted book, and its owner can still cancel it
    assert buyer.call("DELETE", f"/orders/{waiting}").status == 202
    canceled = final(buyer, waiting)
    assert canceled["status"] == "CANCELED" and canceled["fills"] == []
    until(lambda: buyer.get("/wallet").body["reservedCents"] == 0, "the buyer's holds released")
