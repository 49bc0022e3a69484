"""The composition root: one service per execution environment, created on first use and kept warm."""

from __future__ import annotations

import os
from functools import cache
from typing import Any

from mybroker.orders.service import OrdersService

_service: OrdersService | None = None


def env_flag(name: str, default: bool = False) -> bool:
    raw = os.environ.get(name)
    return default if raw is None else raw.strip().lower() in ("1", "true", "yes", "on")


@cache
def redis_client() -> Any:
    import redis

    from mybroker.settings import settings

    return redis.Redis.from_url(settings().redis_url, socket_timeout=2, socket_connect_timeout=2)


def service(*, rabbitmq: bool = True, kafka: bool = True, http: bool = True) -> OrdersService:
    """The service with the adapters this function has (``uses`` in infra/declarations.py)."""
    global _service
    if _service is not None:
        return _service
    from mybroker.clock import SystemClock
    from mybroker.db import engine
    from mybroker.market_data.cache import QuoteCache
    from mybroker.orders.clients import AssetsClient, QuoteReferencePrices, WalletClient
    from mybroker.orders.publisher import RabbitMqPublisher
    from mybroker.orders.repository import MySqlRepository
    from mybroker.outbox import KafkaEventPublisher, OutboxPublisher
    from mybroker.settings import settings

    s = settings()
    api_url = os.environ.get("API_URL", "")
    rabbit = RabbitMqPublisher(s.rabbitmq_url) if rabbitmq and s.rabbitmq_url else None
    producer = KafkaEventPublisher(s) if kafka else None
    clock = SystemClock(redis_client() if http else None)
    _service = OrdersService(
        repository=MySqlRepository(engine()),
        instruments=AssetsClient(api_url, ttl_s=float(os.environ.get("ORDERS_ASSETS_CACHE_S", "60"))),
        prices=QuoteReferencePrices(QuoteCache(redis_client())) if http else _NoPrices(),
        wallet=WalletClient(api_url),
        publisher=OutboxPublisher(rabbit, producer),
        clock=clock.now,
        allow_closed_market=env_flag("ORDERS_ALLOW_CLOSED_MARKET"),
        # the API answers once the command is with the engine; events follow right after (outbox behind them)
        background_events=http and env_flag("ORDERS_BACKGROUND_EVENTS", True),
    )
    return _service


class _NoPrices:
    def reference_cents(self, ticker: str) -> int | None:
        return None
