"""A bounded load through the HTTP API: a few fresh users placing, replacing, cancelling and crossing PETR4 orders,
reading their wallets and withdrawing small amounts, at a fixed rate (requests are dispatched on a clock, so a
request hung on a dead component does not slow the rest down).

Every answer is recorded with the instant its request started, so the fault runner can tell the ones made while
a component was down from those made after it recovered. Withdrawals carry idempotency keys: one whose answer was
unclear (a 5xx, a dropped connection) is retried with the same key once the system is back, so the client knows
exactly what it moved (the checker compares that with the ledger)."""

from __future__ import annotations

import json
import random
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import redis
from mybroker.contracts.exchange import BOOK_KEY
from mybroker.market_data.cache import QuoteCache
from mybroker.orders.domain import rejection_band

from tests.fixtures.users import Response, User, new_user

TICKER = "PETR4"
DEPOSIT_CENTS = 100_000_000  # R$ 1,000,000 each: the load never runs out of cash


@dataclass(frozen=True)
class Answer:
    started: float  # time.monotonic() when the request was sent
    ended: float  # and when its answer (or the failure) came
    what: str
    status: int  # 0: no HTTP answer (connection refused, reset, timed out)
    detail: str = ""  # a 5xx's code and message, to say what failed


@dataclass
class Withdrawal:
    user: User
    key: str
    amount_cents: int
    status: int = 0

    @property
    def settled(self) -> bool:
        """The answer says what happened: 201/200 it did, 422 (insufficient funds) it did not."""
        return self.status in (200, 201, 422)


def call(user: User, method: str, path: str, body: Any = None) -> Response:
    try:
        return user.call(method, path, body)
    except OSError as exc:  # the runtime itself unreachable or the answer cut: no HTTP status
        return Response(0, str(exc), {})


class Market:
    """The PETR4 book as the engine publishes it (Redis), refreshed in the background."""

    def __init__(self) -> None:
        self.redis = redis.Redis.from_url("redis://127.0.0.1:6379/0", socket_timeout=2)
        self.bid = self.ask = self.reference = 0
        self.refresh()

    def refresh(self) -> None:
        try:
            raw = self.redis.get(BOOK_KEY.format(instrument=TICKER))
            ref = QuoteCache(self.redis).reference_price_cents(TICKER)
        except redis.RedisError:
            return
        book = json.loads(raw) if raw else {}
        self.reference = ref or book.get("reference_price_cents") or self.reference
        bids, asks = book.get("bids") or [], book.get("asks") or []
        self.bid = bids[0]["price_cents"] if bids else self.reference - 1
        self.ask = asks[0]["price_cents"] if asks else self.reference + 1

    def floor(self) -> int:
        """The lowest buy the tunnel allows: it rests, far from every other order."""
        return rejection_band(self.reference, 10).lower


@dataclass
class Trader:
    user: User
    resting: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


class Load:
    def __init__(self, users: int = 4, rate_per_s: float = 8.0, seed: int | None = None) -> None:
        self.rate = rate_per_s
        self.random = random.Random(seed)
        self.market = Market()
        self.traders = [Trader(new_user("faults")) for _ in range(users)]
        self.answers: list[Answer] = []
        self.withdrawals: list[Withdrawal] = []
        self.deposits: dict[str, int] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._pool = ThreadPoolExecutor(max_workers=32, thread_name_prefix="load")
        for t in self.traders:
            self.deposit(t.user, DEPOSIT_CENTS)

    @property
    def users(self) -> list[User]:
        return [t.user for t in self.traders]

    def deposit(self, user: User, cents: int) -> None:
        key = uuid.uuid4().hex
        deadline = time.monotonic() + 60
        while True:
            r = call(user, "POST", "/wallet/deposits", {"amountCents": cents, "idempotencyKey": key})
            if r.status in (200, 201):
                self.deposits[user.user_id] = self.deposits.get(user.user_id, 0) + cents
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"deposit for {user.email} never answered: {r.status} {r.body}")
            time.sleep(1)

    # --- the actions -------------------------------------------------------------------------------------
    def _record(self, started: float, what: str, r: Response) -> Response:
        detail = ""
        if r.status >= 500 or r.status == 0:
            body = r.body if isinstance(r.body, dict) else {"message": str(r.body)}
            detail = f"{body.get('code', '')} {str(body.get('message', ''))[:160]}"
        with self._lock:
            self.answers.append(Answer(started, time.monotonic(), what, r.status, detail))
        return r

    def _place(self, t: Trader, body: dict[str, Any], rests: bool) -> None:
        started = time.monotonic()
        r = self._record(started, "place", call(t.user, "POST", "/orders", {"ticker": TICKER, "orderType": "LIMIT",
                                                                             "quantity": 100, **body}))
        if rests and r.status == 201 and isinstance(r.body, dict):
            with t.lock:
                t.resting.append(r.body["orderId"])

    def _take_resting(self, t: Trader) -> str | None:
        with t.lock:
            return t.resting.pop(self.random.randrange(len(t.resting))) if t.resting else None

    def _action(self) -> Callable[[], object]:
        t = self.random.choice(self.traders)
        m = self.market
        roll = self.random.random()
        if roll < 0.25:  # a buy that rests at the tunnel's floor
            return lambda: self._place(t, {"side": "BUY", "priceCents": m.floor() + self.random.randrange(5)}, True)
        if roll < 0.40:  # cancel one of them
            oid = self._take_resting(t)
            if oid is not None:
                return lambda: self._record(time.monotonic(), "cancel", call(t.user, "DELETE", f"/orders/{oid}"))
        if roll < 0.45:  # replace one of them one tick up (the hold widens first)
            oid = self._take_resting(t)
            if oid is not None:
                def replace() -> None:
                    self._record(time.monotonic(), "replace", call(t.user, "PATCH", f"/orders/{oid}",
                                                                   {"priceCents": m.floor() + 6}))
                    with t.lock:
                        t.resting.append(oid)
                return replace
        if roll < 0.60:  # a marketable buy against the liquidity agents
            return lambda: self._place(t, {"side": "BUY", "priceCents": m.ask}, False)
        if roll < 0.72:  # sell what was bought (422 when the shares are not there yet)
            return lambda: self._place(t, {"side": "SELL", "priceCents": m.bid}, False)
        if roll < 0.82:  # two of the users cross: one rests a sell inside the spread, another buys it
            other = self.random.choice([x for x in self.traders if x is not t] or [t])
            price = m.ask if m.ask - m.bid <= 1 else (m.bid + m.ask) // 2

            def cross() -> None:
                self._place(t, {"side": "SELL", "priceCents": price}, False)
                self._place(other, {"side": "BUY", "priceCents": price}, False)
            return cross
        if roll < 0.95:
            path = self.random.choice(["/wallet", "/wallet/positions", "/orders?limit=20"])
            return lambda: self._record(time.monotonic(), f"GET {path.split('?')[0]}", call(t.user, "GET", path))
        w = Withdrawal(t.user, uuid.uuid4().hex, self.random.randrange(100, 5_000))
        with self._lock:
            self.withdrawals.append(w)
        return lambda: self._withdraw(w)

    def _withdraw(self, w: Withdrawal) -> None:
        r = self._record(time.monotonic(), "withdraw", call(w.user, "POST", "/wallet/withdrawals",
                                                             {"amountCents": w.amount_cents,
                                                              "idempotencyKey": w.key}))
        w.status = r.status

    # --- running -----------------------------------------------------------------------------------------
    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="load-dispatch", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        next_at = time.monotonic()
        refreshed = 0.0
        while not self._stop.is_set():
            now = time.monotonic()
            if now - refreshed > 1.0:
                self.market.refresh()
                refreshed = now
            if now >= next_at:
                self._pool.submit(self._action())
                next_at += 1.0 / self.rate
            else:
                self._stop.wait(min(next_at - now, 0.05))

    def stop(self) -> None:
        """Stops dispatching and waits for the requests in flight."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self._pool.shutdown(wait=True)
        self._pool = ThreadPoolExecutor(max_workers=32, thread_name_prefix="load")

    def resolve_withdrawals(self, timeout_s: float = 60) -> None:
        """Every withdrawal whose answer was unclear, again with its key, until the answer says what happened."""
        deadline = time.monotonic() + timeout_s
        for w in self.withdrawals:
            while not w.settled and time.monotonic() < deadline:
                w.status = call(w.user, "POST", "/wallet/withdrawals",
                                {"amountCents": w.amount_cents, "idempotencyKey": w.key}).status
                if not w.settled:
                    time.sleep(1)
            if not w.settled:
                raise AssertionError(f"withdrawal {w.key} still unclear: {w.status}")

    def transfers(self) -> dict[str, int]:
        """Per account: deposits - withdrawals as the client knows them (after ``resolve_withdrawals``)."""
        out = dict(self.deposits)
        for w in self.withdrawals:
            if w.status in (200, 201):
                out[w.user.user_id] = out.get(w.user.user_id, 0) - w.amount_cents
        return out

    def answers_between(self, start: float, end: float) -> list[Answer]:
        """The answers to requests sent in [start, end)."""
        with self._lock:
            return [a for a in self.answers if start <= a.started < end]
