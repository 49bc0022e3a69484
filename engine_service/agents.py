"""Liquidity agents: market makers that keep a ladder of quotes around each instrument's reference price,
through the same order path as users (commands on RabbitMQ ``engine.input``), so that a user alone on the
system still gets realistic fills and partial fills. Configurable per instrument; switched off with
``LIQUIDITY_AGENTS=off``.
"""

from __future__ import annotations

import json
import logging
import os
import random
import threading
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
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


def ladder(reference: int, tick: int, lot: int, cfg: AgentConfig, rng: random.Random) -> list[tuple[str, int, int]]:
    """(side, price, quantity) quotes around ``reference``: integer cents, snapped to the tick, never crossed."""
    quotes: list[tuple[str, int, int]] = []
    half = max(tick, reference * cfg.spread_bps // 20_000)
    step = max(tick, reference * cfg.level_step_bps // 10_000)
    for i in range(cfg.depth):
        bid = (reference - half - i * step) // tick * tick
        ask = -(-(reference + half + i * step) // tick) * tick
        if bid > 0:
            quotes.append(("BUY", bid, rng.randint(cfg.lots_min, cfg.lots_max) * lot))
        quotes.append(("SELL", ask, rng.randint(cfg.lots_min, cfg.lots_max) * lot))
    return quotes


class LiquidityAgents:
    def __init__(self, amqp_url: str, redis_url: str | None, instruments: Iterable[InstrumentConfig],
                 config: AgentConfig, per_instrument: dict[str, AgentConfig] | None = None, seed: int = 7) -> None:
        self.amqp_url = amqp_url
        self.redis_url = redis_url
        self.instruments = [i for i in instruments]
        self.config = config
        self.per_instrument = per_instrument or {}
        self.rng = random.Random(seed)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="liquidity-agents", daemon=True)
        self.open: dict[str, list[str]] = {}  # instrument -> client order ids of the current ladder

    @classmethod
    def from_env(cls, amqp_url: str, redis_url: str | None, instruments: Iterable[InstrumentConfig]) -> LiquidityAgents:
        """``LIQUIDITY_AGENT_CONFIG`` may hold JSON: ``{"default": {...}, "PETR4": {...}}`` with AgentConfig fields."""
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
                for inst in self.instruments:
                    cfg = self.per_instrument.get(inst.symbol, self.config)
                    raw = r.get(BOOK_KEY.format(instrument=inst.symbol)) if r is not None else None
                    book = json.loads(raw) if raw else {}
                    # the book's reference price: the feed's in mirror mode, the auctions' in simulated mode (a
                    # last trade can be days old after the clock jumps, far from where the market now is)
                    reference = book.get("reference_price_cents") or book.get("last_price_cents") or (
                        cache.reference_price_cents(inst.symbol) if cache is not None else None)
                    if not reference or book.get("phase") not in QUOTING_PHASES:
                        continue
                    keys = r.hkeys(OPEN_ORDERS_KEY.format(instrument=inst.symbol)) if r is not None else []
                    names = [k.decode() if isinstance(k, bytes) else str(k) for k in keys]
                    resting = [k for k in names if k.startswith(f"MM-{inst.symbol}-")]
                    self._requote(channel, inst, int(reference), cfg, resting)
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

    def _requote(self, channel: Any, inst: InstrumentConfig, reference: int, cfg: AgentConfig,
                 resting: list[str]) -> None:
        """Cancels the agent's resting quotes (as the engine's open-order view lists them, so nothing is
        orphaned across restarts) and places a fresh ladder."""
        investor = f"MM-{inst.symbol}"
        for coid in sorted(set(resting) | set(self.open.pop(inst.symbol, []))):
            cmd = CancelOrderCommand(command_id=str(uuid.uuid4()), instrument=inst.symbol, client_order_id=coid)
            self._send(channel, inst.symbol, cmd.model_dump_json().encode(), cmd.command_id)
        placed: list[str] = []
        for side, price, qty in ladder(reference, inst.tick, inst.lot, cfg, self.rng):
            coid = f"{investor}-{uuid.uuid4().hex[:12]}"
            new = NewOrderCommand(command_id=str(uuid.uuid4()), instrument=inst.symbol, client_order_id=coid,
                                  investor_id=investor, side=Side(side), order_type=OrderType.LIMIT,
                                  time_in_force=TimeInForce.DAY, quantity=qty, price_cents=price,
                                  self_trade_prevention=SelfTradePrevention.CANCEL_RESTING)
            self._send(channel, inst.symbol, new.model_dump_json().encode(), new.command_id)
            placed.append(coid)
        self.open[inst.symbol] = placed
