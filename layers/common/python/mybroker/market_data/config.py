"""Market-data wiring from the environment: one place that reads the env vars and builds the adapters.

=========================  ====================  ===============================================
variable                   default               meaning
=========================  ====================  ===============================================
QUOTE_PROVIDER             synthetic             ``synthetic`` or ``brapi``
QUOTE_TICKERS              the liquid set        comma-separated tickers the ingest polls
SYNTHETIC_SEED             42                    seed of the synthetic feed
MARKET_DATA_MODE           mirror                ``mirror`` or ``simulated``
MARKET_DATA_DATABASE       market_data           MongoDB database name
MARKET_DATA_COLLECTION_PREFIX  (empty)           prefix of the ``ticks``/``bars`` collections
QUOTE_CACHE_PREFIX         mb:md:                Redis key prefix of the hot cache
QUOTES_TOPIC               quotes                Kafka topic
INGEST_ALWAYS              false                 poll even when B3 is closed (demos)
BRAPI_BASE_URL             https://brapi.dev     brapi endpoint (tests point it at a local server)
BRAPI_TOKEN / BRAPI_TOKEN_PARAMETER / BRAPI_TOKEN_SECRET_ID   the token, or where to read it
BRAPI_BATCH_SIZE           10                    tickers per request
BRAPI_TIMEOUT_S            5                     per-request timeout
BRAPI_MONTHLY_QUOTA        15000                 requests per month before the provider stops
=========================  ====================  ===============================================

Plus the shared ``REDIS_URL``, ``KAFKA_BOOTSTRAP_SERVERS``, ``MONGODB_URI``/``MONGODB_URI_PARAMETER``.
"""

from __future__ import annotations

import os
from functools import cache
from typing import Any, cast

from mybroker.contracts.quotes import MarketDataMode
from mybroker.market_data.cache import DEFAULT_PREFIX, QuoteCache
from mybroker.market_data.domain import DEFAULT_TICKERS, parse_tickers
from mybroker.market_data.provider import QuoteProvider
from mybroker.market_data.storage import MongoQuoteStore
from mybroker.settings import settings


def env(name: str, default: str) -> str:
    return os.environ.get(name) or default


def tickers() -> tuple[str, ...]:
    return parse_tickers(os.environ.get("QUOTE_TICKERS"), DEFAULT_TICKERS)


def mode() -> MarketDataMode:
    value = env("MARKET_DATA_MODE", "mirror").lower()
    if value not in ("mirror", "simulated"):
        raise ValueError(f"MARKET_DATA_MODE must be mirror or simulated, not {value!r}")
    return cast(MarketDataMode, value)


def ingest_always() -> bool:
    return env("INGEST_ALWAYS", "false").lower() in ("1", "true", "yes")


@cache
def redis_client() -> Any:
    import redis

    return redis.Redis.from_url(settings().redis_url, socket_timeout=2.0, socket_connect_timeout=2.0)


@cache
def mongo_client() -> Any:
    from pymongo import MongoClient

    return MongoClient(settings().mongodb(), serverSelectionTimeoutMS=3000, tz_aware=True,
                       appname="market-data")


def store() -> MongoQuoteStore:
    return MongoQuoteStore(mongo_client()[env("MARKET_DATA_DATABASE", "market_data")],
                           prefix=os.environ.get("MARKET_DATA_COLLECTION_PREFIX", ""))


def quote_cache() -> QuoteCache:
    return QuoteCache(redis_client(), prefix=env("QUOTE_CACHE_PREFIX", DEFAULT_PREFIX))


def provider() -> QuoteProvider:
    name = env("QUOTE_PROVIDER", "synthetic").lower()
    if name == "synthetic":
        from mybroker.market_data.synthetic import SyntheticFeed

        return SyntheticFeed(seed=int(env("SYNTHETIC_SEED", "42")))
    if name == "brapi":
        from mybroker.market_data.brapi import BrapiProvider, MonthlyQuota, token_from_environment

        return BrapiProvider(
            base_url=env("BRAPI_BASE_URL", "https://brapi.dev"), token=token_from_environment,
            quota=MonthlyQuota(redis_client(), int(env("BRAPI_MONTHLY_QUOTA", "15000")),
                               prefix=env("QUOTE_CACHE_PREFIX", DEFAULT_PREFIX)),
            batch_size=int(env("BRAPI_BATCH_SIZE", "10")), timeout_s=float(env("BRAPI_TIMEOUT_S", "5")))
    raise ValueError(f"QUOTE_PROVIDER must be synthetic or brapi, not {name!r}")


def topic() -> str:
    return env("QUOTES_TOPIC", "quotes")
