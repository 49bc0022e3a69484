"""``mybroker simulate-day``: a full B3 session on the local stack's simulated clock, through the API.

1. Sign up ``--users`` new users (confirmed at once on the local pool), deposit cash.
2. Preparation day (the current continuous session, or the next business day at 10:30): every other user buys
   shares, so that some hold shares to sell on the simulated day.
3. The simulated day is the preparation buys' settlement date (T+2 business days; only settled shares can be
   sold): the clock goes to its 07:55, then the 08:00 settlement run (wallet-settlement) is invoked for it, then
   09:30 (pre-open), 09:46 (opening call: limit orders around the reference), continuous trading in
   ``--steps`` clock steps (marketable and passive limit orders, some replaced or cancelled), the closing call
   (AT_THE_CLOSE and limit orders), 18:05 (closed).
4. Summary: trades and volume per instrument (the users' fills), P&L per user, settlement due, and the
   reconciliation: broker vs engine (:func:`mybroker_client.reconcile.compare`, the engine's view from the
   local Redis) during continuous trading and at the end, and each user's wallet against their fills.

Decisions come from ``random.Random(seed)`` over the quotes the API shows; the liquidity agents and the
Kafka/RabbitMQ timing are not seeded, so fills can differ between runs.
"""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from rich.console import Group
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from mybroker_client import render
from mybroker_client.auth import Auth, TokenStore
from mybroker_client.client import ApiError, Client
from mybroker_client.config import Target, local_target
from mybroker_client.models import Order, OrderStatus, PlaceOrder, ReplaceOrder, Side, TimeInForce
from mybroker_client.reconcile import Difference, check_ledger, compare, engine_view_from_redis, expected_from

if TYPE_CHECKING:
    from mybroker_client.cli import Ctx

SAO_PAULO = ZoneInfo("America/Sao_Paulo")
PASSWORD = "Sim-pass-12345"
DEPOSIT_CENTS = 50_000_000  # R$500k each
PREP_LOTS = 3  # round lots bought on the preparation day by share holders


@dataclass
class SimUser:
    name: str
    email: str
    client: Client
    deposits_cents: int = 0
    orders: list[str] = field(default_factory=list)


def _wall(d: date, h: int, m: int, s: int = 0) -> datetime:
    return datetime(d.year, d.month, d.day, h, m, s, tzinfo=SAO_PAULO)


class Sim:
    def __init__(self, ctx: Ctx) -> None:
        self.ctx = ctx
        a = ctx.args
        self.rng = random.Random(a.seed)
        self.target: Target = local_target(a.api_url) if not a.outputs_file else _refuse_remote()
        self.control = Client(self.target.api_url, timeout=120)
        self.tickers = [t.strip().upper() for t in a.tickers.split(",") if t.strip()]
        self.users: list[SimUser] = []
        self.differences: list[Difference] = []
        self.log: list[str] = []
        self.run_id = uuid.uuid4().hex[:8]

    # ---- helpers --------------------------------------------------------------------------------------------

    def note(self, text: str) -> None:
        self.log.append(text)

    def clock_to(self, t: datetime) -> datetime:
        now = self.control.local_now()
        if t > now:
            return self.control.local_clock(set_to=t)
        return now

    def references(self) -> dict[str, int]:
        page = self.users[0].client.quotes(self.tickers)
        return {q.ticker: q.reference_cents for q in page.quotes}

    def place(self, u: SimUser, order: PlaceOrder) -> Order | None:
        try:
            o = u.client.place_order(order)
        except ApiError as exc:
            if exc.unavailable:
                raise
            self.note(f"{u.name}: {order.side} {order.quantity} {order.ticker} refused: {exc.code}")
            return None
        u.orders.append(o.order_id)
        return o

    def settle(self, timeout_s: float = 20.0) -> None:
        """Waits until the engine answered every order and the wallet applied every fill."""
        deadline = time.monotonic() + timeout_s
        for u in self.users:
            for oid in u.orders:
                while time.monotonic() < deadline:
                    if u.client.get_order(oid).status is not OrderStatus.PENDING_NEW:
                        break
                    time.sleep(0.2)
        while time.monotonic() < deadline:
            if not self.ledger_differences(final=False):
                return
            time.sleep(0.5)

    def user_orders(self, u: SimUser) -> list[Order]:
        return [u.client.get_order(oid) for oid in u.orders]

    def ledger_differences(self, final: bool, settled: set[object] | None = None) -> list[Difference]:
        out: list[Difference] = []
        for u in self.users:
            orders = self.user_orders(u)
            exp = expected_from(u.deposits_cents, orders, settled if settled is not None else self.settled_dates)
            out.extend(check_ledger(u.name, exp, u.client.wallet(), u.client.positions(),
                                    sum(1 for o in orders if o.status.open)))
        return out

    settled_dates: set[object] = set()

    def engine_differences(self) -> list[Difference]:
        import redis

        view = engine_view_from_redis(redis.Redis.from_url("redis://127.0.0.1:6379/0"))
        return compare([o for u in self.users for o in self.user_orders(u)], view)

    # ---- the day --------------------------------------------------------------------------------------------

    def signup(self) -> None:
        a = self.ctx.args
        for i in range(a.users):
            email = f"sim-{a.seed}-{self.run_id}-{i}@sim.mybroker.local"
            store = TokenStore(f"sim-{self.run_id}-{i}")
            auth = Auth(store, self.target)
            auth.sign_up(email, PASSWORD)
            auth.login(email, PASSWORD)
            client = Client(self.target.api_url, auth.access_token)
            u = SimUser(f"user{i}", email, client)
            client.deposit(DEPOSIT_CENTS, f"sim-{self.run_id}-{i}")
            u.deposits_cents = DEPOSIT_CENTS
            self.users.append(u)

    def business_day_after(self, d: date, n: int) -> date:
        client = self.users[0].client
        while n > 0:
            d += timedelta(days=1)
            if client.market_status(at=_wall(d, 12, 0)).trading_day:
                n -= 1
        return d

    def prep_day(self) -> date:
        client = self.users[0].client
        now = self.control.local_now()
        st = client.market_status()
        if st.phase == "CONTINUOUS" and st.next_change_at - now > timedelta(minutes=30):
            day = now.astimezone(SAO_PAULO).date()
        else:
            day = now.astimezone(SAO_PAULO).date()
            if not (client.market_status(at=_wall(day, 12, 0)).trading_day and now < _wall(day, 10, 30)):
                day = self.business_day_after(day, 1)
            self.clock_to(_wall(day, 10, 30))
            self.control.local_fire("quote-ingestion")
            time.sleep(2)
        refs = self.references()
        for i, u in enumerate(self.users):
            if i % 2 == 0:
                for t in self.tickers:
                    if t in refs:
                        self.place(u, PlaceOrder(ticker=t, side=Side.BUY, quantity=100 * PREP_LOTS,
                                                 price_cents=refs[t] * 105 // 100))
        return day

    def auction_orders(self, refs: dict[str, int]) -> None:
        for u in self.users:
            for t, ref in refs.items():
                side = Side.SELL if self.has_shares(u, t) and self.rng.random() < 0.5 else Side.BUY
                offset = self.rng.randint(0, 5)
                price = ref + offset if side is Side.BUY else ref - offset
                self.place(u, PlaceOrder(ticker=t, side=side, quantity=100, price_cents=price))

    def has_shares(self, u: SimUser, ticker: str) -> bool:
        return any(p.ticker == ticker and p.available_quantity >= 100 for p in u.client.positions().items)

    def continuous_step(self, refs: dict[str, int]) -> None:
        for u in self.users:
            for _ in range(self.rng.randint(1, max(1, self.ctx.args.orders))):
                t = self.rng.choice(list(refs))
                ref = refs[t]
                sell = self.has_shares(u, t) and self.rng.random() < 0.5
                marketable = self.rng.random() < 0.6
                if marketable:  # crosses the agents' quotes; the fill is at the resting price
                    price = ref * 95 // 100 if sell else ref * 105 // 100
                else:  # rests on the book
                    price = ref + self.rng.randint(5, 20) if sell else ref - self.rng.randint(5, 20)
                o = self.place(u, PlaceOrder(ticker=t, side=Side.SELL if sell else Side.BUY, quantity=100,
                                             price_cents=price))
                if o is not None and not marketable and self.rng.random() < 0.5:
                    time.sleep(0.3)
                    try:
                        if self.rng.random() < 0.5:
                            u.client.cancel_order(o.order_id)
                        elif not sell:
                            u.client.replace_order(o.order_id, ReplaceOrder(price_cents=price - 1))
                    except ApiError as exc:
                        if exc.unavailable:
                            raise
                        self.note(f"{u.name}: cancel/replace {o.order_id} refused: {exc.code}")

    def closing_orders(self, refs: dict[str, int]) -> None:
        for u in self.users:
            t = self.rng.choice(list(refs))
            sell = self.has_shares(u, t)
            price = refs[t] * 98 // 100 if sell else refs[t] * 102 // 100
            self.place(u, PlaceOrder(ticker=t, side=Side.SELL if sell else Side.BUY, quantity=100,
                                     price_cents=price, time_in_force=TimeInForce.AT_THE_CLOSE))
            self.place(u, PlaceOrder(ticker=t, side=Side.BUY, quantity=100, price_cents=refs[t] * 99 // 100))

    def run(self, step: Callable[[str], None]) -> date:
        a = self.ctx.args
        step("signing up users")
        self.signup()
        step("preparation day: buying shares")
        prep = self.prep_day()
        self.settle()
        day = self.business_day_after(prep, 2)  # T+2: the prep buys settle that morning
        step(f"{day}: settlement (08:00)")
        self.clock_to(_wall(day, 7, 55))
        self.control.request("POST", "/_local/functions/wallet-settlement/invoke",
                             {"time": _wall(day, 8, 0).isoformat()}, self.control._local_headers(), auth=False)
        self.settled_dates = {prep}
        step(f"{day}: pre-open 09:30")
        self.clock_to(_wall(day, 9, 30))
        self.control.local_fire("quote-ingestion")
        step(f"{day}: opening call 09:46")
        self.clock_to(_wall(day, 9, 46))
        refs = self.references()
        self.auction_orders(refs)
        step(f"{day}: continuous trading 10:00")
        self.clock_to(_wall(day, 10, 0, 30))
        time.sleep(1.0)
        self.settle()
        start, end = _wall(day, 10, 5), _wall(day, 17, 50)
        for k in range(a.steps):
            at = start + (end - start) * k / max(1, a.steps - 1) if a.steps > 1 else start
            step(f"{day}: continuous {at:%H:%M}")
            self.clock_to(at)
            self.continuous_step(self.references())
        self.settle()
        self.differences.extend(self.engine_differences())
        step(f"{day}: closing call 17:56")
        self.clock_to(_wall(day, 17, 56))
        self.closing_orders(self.references())
        step(f"{day}: closed 18:05")
        self.clock_to(_wall(day, 18, 5))
        self.wait_terminal(20.0)
        self.settle()
        step("reconciling")
        self.differences.extend(self.engine_differences())
        self.differences.extend(self.ledger_differences(final=True))
        return day

    def wait_terminal(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if not any(o.status.open for u in self.users for o in self.user_orders(u)):
                return
            time.sleep(0.5)

    # ---- the summary ----------------------------------------------------------------------------------------

    def summary(self, day: date) -> dict[str, Any]:
        trades: dict[str, dict[tuple[int, int], int]] = {}
        users: list[dict[str, Any]] = []
        for u in self.users:
            orders = self.user_orders(u)
            fills = 0
            for o in orders:
                for f in o.fills or []:
                    if o.trade_date == day:
                        trades.setdefault(o.ticker, {})[(f.trade_id, f.quantity)] = f.quantity * f.price_cents
                        fills += 1
            w, pos = u.client.wallet(), u.client.positions()
            cash = w.available_cents + w.reserved_cents + w.receivable_cents
            value = sum(p.market_value_cents or 0 for p in pos.items)
            users.append({"user": u.name, "email": u.email, "orders": len(orders),
                          "filled": sum(1 for o in orders if o.cum_quantity), "fills": fills,
                          "depositsCents": u.deposits_cents, "cashCents": cash, "positionsValueCents": value,
                          "pnlCents": cash + value - u.deposits_cents,
                          "receivableCents": w.receivable_cents, "payableCents": w.payable_cents,
                          "positions": {p.ticker: p.total_quantity for p in pos.items}})
        instruments = [{"ticker": t, "trades": len(v), "shares": sum(q for (_, q) in v),
                        "volumeCents": sum(v.values())} for t, v in sorted(trades.items())]
        return {"day": day.isoformat(), "seed": self.ctx.args.seed, "instruments": instruments, "users": users,
                "reconciliation": {"clean": not self.differences,
                                   "differences": [d.__dict__ for d in self.differences]},
                "notes": self.log}


def _refuse_remote() -> Target:
    raise ValueError("simulate-day drives the local runtime's clock: it runs against the local stack only")


def _human(s: dict[str, Any]) -> Group:
    inst = render.table(f"Trades on {s['day']} (the simulated users' fills)", ["ticker", "trades", "shares", "volume"],
                        [[i["ticker"], str(i["trades"]), f"{i['shares']:,}", render.brl(i["volumeCents"])]
                         for i in s["instruments"]], right=["trades", "shares", "volume"])
    users = render.table("Users", ["user", "orders", "filled", "deposits", "cash", "positions", "P&L",
                                   "receivable", "payable"],
                         [[u["user"], str(u["orders"]), str(u["filled"]), render.brl(u["depositsCents"]),
                           render.brl(u["cashCents"]), render.brl(u["positionsValueCents"]), render.brl(u["pnlCents"]),
                           render.brl(u["receivableCents"]), render.brl(u["payableCents"])] for u in s["users"]],
                         right=["orders", "filled", "deposits", "cash", "positions", "P&L", "receivable", "payable"])
    rec = s["reconciliation"]
    verdict = "[green]reconciliation clean[/green] (broker vs engine, wallets vs fills)" if rec["clean"] else \
        "[red]reconciliation NOT clean[/red]:\n" + "\n".join(
            f"  {d['kind']} {d['instrument']} {d['order_id']} broker={d['broker']} engine/actual={d['engine']} "
            f"{d['detail']}" for d in rec["differences"])
    return Group(inst, users, verdict)


def run(ctx: Ctx) -> int:
    sim = Sim(ctx)
    if ctx.args.users < 1:
        raise ValueError("--users must be at least 1")
    total = 9 + ctx.args.steps
    with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                  TimeElapsedColumn(), console=render.console(stderr=True), disable=ctx.json) as progress:
        task = progress.add_task("simulated day", total=total)

        def step(text: str) -> None:
            progress.update(task, description=text, advance=1)

        day = sim.run(step)
        progress.update(task, completed=total, description="done")
    s = sim.summary(day)
    ctx.emit(s, lambda: _human(s))
    return 0 if s["reconciliation"]["clean"] else 5
