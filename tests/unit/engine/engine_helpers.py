"""Shared helpers for the engine tests."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from mybroker.b3.session import SAO_PAULO

from engine_service.core import ClockTick, Engine, ExecutionReport, InstrumentConfig, NewOrder, Output, Trade

MONDAY = date(2026, 11, 16)  # New York on standard time: continuous 10:00-17:55
SUMMER_MONDAY = date(2026, 7, 13)  # New York on daylight time: continuous 10:00-16:55


def ns(hour: int, minute: int = 0, second: int = 0, day: date = MONDAY) -> int:
    local = datetime(day.year, day.month, day.day, hour, minute, second, tzinfo=SAO_PAULO)
    return int(local.timestamp()) * 10**9


def make_engine(
    reference_price: int = 1000, at: int | None = None, **cfg: Any
) -> Engine:
    engine = Engine([InstrumentConfig("PETR4", reference_price=reference_price, **cfg)])
    engine.process(ClockTick(ns(10, 30) if at is None else at))
    return engine


def order(
    side: str,
    qty: int,
    price: int = 0,
    cid: str = "c",
    investor: str = "I1",
    symbol: str = "PETR4",
    **kw: Any,
) -> NewOrder:
    return NewOrder(symbol, cid, investor, side, qty, price, **kw)


def reports(outputs: list[Output]) -> list[ExecutionReport]:
    return [o for o in outputs if isinstance(o, ExecutionReport)]


def trades(outputs: list[Output]) -> list[Trade]:
    return [o for o in outputs if isinstance(o, Trade)]


def of_kind(outputs: list[Output], kind: str) -> list[Any]:
    return [o for o in outputs if o[0] == kind]


def new_id(outputs: list[Output]) -> int:
    """The order id given by the NEW report of these outputs."""
    for r in reports(outputs):
        if r.exec_type == "NEW":
            return r.order_id
    raise AssertionError(f"no NEW report in {outputs}")


def last_report(outputs: list[Output], order_id: int) -> ExecutionReport:
    return [r for r in reports(outputs) if r.order_id == order_id][-1]


TIFS = ["DAY", "DAY", "IOC", "FOK", "GTC", "GTD", "AT_THE_CLOSE", "GOOD_FOR_AUCTION"]


def random_session(seed: int, n: int, day: date = MONDAY) -> list[Any]:
    """A seeded mix of every input type across two trading days (auctions, expiry, halts...)."""
    import random

    from engine_service.core import CancelOrder, Halt, ReplaceOrder, Resume, SetReferencePrice

    rng = random.Random(seed)
    start = ns(9, 40, day=day)
    end = ns(18, 30, day=day) + 86400 * 10**9
    step = (end - start) // n
    now = start
    msgs: list[Any] = [SetReferencePrice("PETR4", 1000), SetReferencePrice("VALE3", 5000), ClockTick(now)]
    for i in range(n):
        now += rng.randint(0, 2 * step)
        r = rng.random()
        symbol = rng.choice(["PETR4", "PETR4", "VALE3", "PETR4F", "VALE3F", "NOPE3"])
        ref = 5000 if symbol.startswith("VALE") else 1000
        lot = 1 if symbol.endswith("F") else 100
        if r < 0.05:
            msgs.append(ClockTick(now))
        elif r < 0.6:
            kind = rng.random()
            kw: dict[str, Any] = {
                "tif": rng.choice(TIFS),
                "stp": rng.choice(["NONE", "CANCEL_AGGRESSOR", "CANCEL_RESTING", "CANCEL_BOTH"]),
            }
            if kw["tif"] == "GTD":
                kw["expire_date"] = 20261117
            price = ref + rng.randint(-8, 8) * (ref // 200)
            if kind < 0.1:
                kw["order_type"] = "MARKET"
                price = 0
            elif kind < 0.15:
                kw["order_type"] = "STOP_LIMIT"
                kw["stop_price"] = price
            elif kind < 0.2:
                kw["order_type"] = "STOP"
                kw["stop_price"] = price
                price = 0
            elif kind < 0.25:
                kw["order_type"] = "MARKET_WITH_LEFTOVER_AS_LIMIT"
            elif kind < 0.3:
                kw["display_qty"] = lot
            elif kind < 0.35:
                kw["min_qty"] = lot
            qty = rng.randint(1, 5) * lot if lot > 1 else rng.randint(1, 120)
            msgs.append(NewOrder(symbol, f"c{i}", f"inv{rng.randint(1, 6)}", rng.choice(["BUY", "SELL"]),
                                 qty, price, **kw))
        elif r < 0.85:
            msgs.append(CancelOrder(symbol, rng.randint(1, i + 1), f"x{i}"))
        elif r < 0.98:
            msgs.append(ReplaceOrder(symbol, rng.randint(1, i + 1), f"r{i}", rng.randint(1, 6) * lot,
                                     ref + rng.randint(-8, 8) * (ref // 200)))
        elif r < 0.99:
            msgs.append(Halt(symbol))
        else:
            msgs.append(Resume(symbol))
    msgs.append(ClockTick(end))
    return msgs


def two_instrument_engine() -> Engine:
    return Engine([InstrumentConfig("PETR4"), InstrumentConfig("VALE3", tick=5)])
