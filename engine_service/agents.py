"""Liquidity agents: market makers that keep a ladder of quotes around each instrument's reference price,
through the same order path as users (commands on RabbitMQ ``engine.input``), so that a user alone on the
system still gets realistic fills and partial fills. They quote the round-lot book in round lots and the
fractional book (``<T>F``) in odd lots (1 to lot - 1 shares), and follow the engine's instrument list as the
catalog changes it (a new listing is quoted once it has a reference price; a halted book is not quoted).
Configurable per instrument; switched off with ``LIQUIDITY_AGENTS=off``.
"""

from __future__ import annotations

import json
import logging
import os
import random
import threading
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import Any

from mybroker.contracts.engine import (
    CancelOrderCommand,
    NewOrderCommand,
    OrderType,
    SelfTradePrevention,
    Side,
    TimeInForce,
    command_routing_key,
)

from engine_service.core import InstrumentConfig

log = logging.getLogger("engine_service.agents")
QUOTING_PHASES = frozenset({"OPENING_AUCTION", "CONTINUOUS", "CLOSING_CALL"})


@dataclass(frozen=True)
class AgentConfig:
    spread_bps: int = 20  # between the best bid and the best ask
    depth: int = 5  # price levels per side
    level_step_bps: int = 10  # distance between levels
    lots_min: int = 1  # size of each quote, in round lots
    lots_max: int = 5
    refresh_s: float = 5.0
    fractional: bool = True  # also quote the fractional book <T>F
    fractional_depth: int = 3  # price levels per side there (fewer: the odd-lot market is thinner)
    odd_min: int = 1  # size of each fractional quote, in shares (capped at the round lot - 1)
    odd_max: int = 99


def ladder(reference: int, tick: int, lot: int, cfg: AgentConfig, rng: random.Random,
           max_qty: int = 0) -> list[tuple[str, int, int]]:
    """(side, price, quantity) quotes around ``reference``: integer cents, snapped to the tick, never crossed.
    Sizes are ``lots_min`` to ``lots_max`` round lots of ``lot``; for a fractional book (``max_qty``: the most
    shares it takes, the round lot - 1) they are odd lots of ``odd_min`` to ``odd_max`` shares, within 1 to
    ``max_qty``."""
    quotes: list[tuple[str, int, int]] = []
    half = max(tick, reference * cfg.spread_bps // 20_000)
    step = max(tick, reference * cfg.level_step_bps // 10_000)
    if max_qty:
        high = max(1, min(cfg.odd_max, max_qty))
        low = max(1, min(cfg.odd_min, high))

        def size() -> int:
            return rng.randint(low, high)
    else:
        def size() -> int:
            return rng.randint(cfg.lots_min, cfg.lots_max) * lot
    for i in range(cfg.depth):
        bid = (reference - half - i * step) // tick * tick
        ask = -(-(reference + half + i * step) // tick) * tick
        if bid > 0:
            quotes.append(("BUY", bid, size()))
        quotes.append(("SELL", ask, size()))
    return quotes


def books_of(instruments: Iterable[InstrumentConfig], config: AgentConfig,
             per_instrument: dict[str, AgentConfig]) -> list[tuple[str, int, int, int, AgentConfig]]:
    """(book symbol, tick, lot, max quantity, config) of every book the agents quote: each instrument's round-lot
    book and, unless its config says no (or its round lot is 1), its fractional book."""
    books = []
    for inst in instruments:
        cfg = per_instrument.get(inst.symbol, config)
        books.append((inst.symbol, inst.tick, inst.lot, 0, cfg))
        if cfg.fractional and inst.fractional and inst.lot > 1:
            odd = per_instrument.get(inst.symbol + "F") or replace(cfg, depth=cfg.fractional_depth)
            books.append((inst.symbol + "F", inst.tick, 1, inst.lot - 1, odd))
    return books


class LiquidityAgents:
    def __init__(self, amqp_url: str, redis_url: str | None,
                 instruments: Iterable[InstrumentConfig] | Callable[[], Iterable[InstrumentConfig]],
                 config: AgentConfig, per_instrument: dict[str, AgentConfig] | None = None, seed: int = 7) -> None:
        """``instruments``: a list, or a function giving the current one (the engine's, which the catalog
        changes), read before each round of quotes."""
        self.amqp_url = amqp_url
        self.redis_url = redis_url
        if callable(instruments):
            self._instruments: Callable[[], Iterable[InstrumentConfig]] = instruments
        else:
            fixed = list(instruments)
            self._instruments = lambda: fixed
        self.config = config
        self.per_instrument = per_instrument or {}
        self.rng = random.Random(seed)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="liquidity-agents", daemon=True)
        self.open: dict[str, list[str]] = {}  # instrument -> client order ids of the current ladder

    @classmethod
    def from_env(cls, amqp_url: str, redis_url: str | None,
                 instruments: Iterable[InstrumentConfig] | Callable[[], Iterable[InstrumentConfig]]) -> LiquidityAgents:
        """``LIQUIDITY_AGENT_CONFIG`` may hold JSON: ``{"default": {...}, "PETR4": {...}, "PETR4F": {...}}`` with
        AgentConfig fields (a fractional book takes its instrument's unless it has its own)."""
        raw = json.loads(os.environ.get("LIQUIDITY_AGENT_CONFIG", "{}") or "{}")
        default = AgentConfig(**raw.pop("default", {}))
        return cls(amqp_url, redis_url, instruments, default, {k: AgentConfig(**v) for k, v in raw.items()})

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._loop()
            except Exception as exc:  # the agents reconnect; the exchange does not depend on them
                log.warning("liquidity agents: %s; retrying", exc)
                self._stop.wait(2.0)

    def _loop(self) -> None:
        import pika
        import redis as redis_lib
        from mybroker.contracts.exchange import BOOK_KEY, OPEN_ORDERS_KEY
        from mybroker.market_data.cache import QuoteCache

        r = redis_lib.Redis.from_url(self.redis_url) if self.redis_url else None
        conn = pika.BlockingConnection(pika.URLParameters(self.amqp_url))
        channel = conn.channel()
        channel.confirm_delivery()
        try:
            while not self._stop.is_set():
                cache = QuoteCache(r) if r is not None else None
                for symbol, tick, lot, max_qty, cfg in books_of(self._instruments(), self.config,
                                                                self.per_instrument):
                    raw = r.get(BOOK_KEY.format(instrument=symbol)) if r is not None else None
                    book = json.loads(raw) if raw else {}
                    # the book's reference price: the feed's in mirror mode, the auctions' in simulated mode (a
                    # last trade can be days old after the clock jumps, far from where the market now is)
                    reference = book.get("reference_price_cents") or book.get("last_price_cents") or (
                        cache.reference_price_cents(symbol.removesuffix("F") if max_qty else symbol)
                        if cache is not None else None)
                    if not reference or book.get("phase") not in QUOTING_PHASES:
                        continue
                    keys = r.hkeys(OPEN_ORDERS_KEY.format(instrument=symbol)) if r is not None else []
                    names = [k.decode() if isinstance(k, bytes) else str(k) for k in keys]
                    resting = [k for k in names if k.startswith(f"MM-{symbol}-")]
                    self._requote(channel, symbol, tick, lot, max_qty, int(reference), cfg, resting)
                conn.process_data_events(time_limit=0)
                self._stop.wait(self.config.refresh_s)
        finally:
            if conn.is_open:
                conn.close()

    def _send(self, channel: Any, instrument: str, body: bytes, command_id: str) -> None:
        import pika

        channel.basic_publish("engine.input", command_routing_key(instrument), body,
                              pika.BasicProperties(content_type="application/json", delivery_mode=2,
                                                   message_id=command_id))

    def _requote(self, channel: Any, symbol: str, tick: int, lot: int, max_qty: int, reference: int,
                 cfg: AgentConfig, resting: list[str]) -> None:
        """Cancels the agent's resting quotes on ``symbol`` (as the engine's open-order view lists them, so
        nothing is orphaned across restarts) and places a fresh ladder (odd lots up to ``max_qty`` on a
        fractional book)."""
        investor = f"MM-{symbol}"
        for coid in sorted(set(resting) | set(self.open.pop(symbol, []))):
            cmd = CancelOrderCommand(command_id=str(uuid.uuid4()), instrument=symbol, client_order_id=coid)
            self._send(channel, symbol, cmd.model_dump_json().encode(), cmd.command_id)
        placed: list[str] = []
        for side, price, qty in ladder(reference, tick, lot, cfg, self.rng, max_qty):
            coid = f"{investor}-{uuid.uuid4().hex[:12]}"
            new = NewOrderCommand(command_id=str(uuid.uuid4()), instrument=symbol, client_order_id=coid,
                                  investor_id=investor, side=Side(side), order_type=OrderType.LIMIT,
                                  time_in_force=TimeInForce.DAY, quantity=qty, price_cents=price,
                                  self_trade_prevention=SelfTradePrevention.CANCEL_RESTING)
            self._send(channel, symbol, new.model_dump_json().encode(), new.command_id)
            placed.append(coid)
        self.open[symbol] = placed
