"""The Redis hot cache of latest quotes: what orders, wallet and the engine read for current prices.

Key layout (``prefix`` defaults to ``mb:md:``; tests use their own):

- ``mb:md:quote:<TICKER>``: STRING, the latest :class:`~mybroker.contracts.quotes.QuoteEvent` as compact JSON
  (prices in integer cents). One GET (or one MGET for many tickers) per read.
- ``mb:md:quotes``: ZSET, member = ticker, score = the quote's ``ts`` in epoch milliseconds: the list of
  tickers with a quote, their freshness, and the guard that keeps an older quote from overwriting a newer one.

Writes go through one Lua script (compare the score, SET, ZADD) so they are atomic and monotonic.
No expiry: a quote stays until a newer one replaces it (stale after hours is still the reference price).

Readers::

    cache = QuoteCache(redis.Redis.from_url(settings().redis_url))
    cache.last_price_cents("PETR4")       # -> 3812 or None
    cache.reference_price_cents("PETR4")  # tunnel reference: last (mirror) or opening reference (simulated)
    cache.latest("PETR4")                 # -> QuoteEvent | None
    cache.latest_many(["PETR4", "VALE3"]) # -> {"PETR4": QuoteEvent, ...} (missing tickers left out)
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Protocol

from pydantic import ValidationError

from mybroker.contracts.quotes import QuoteEvent, UnsupportedSchemaVersion, parse_quote_event

DEFAULT_PREFIX = "mb:md:"

_PUT = """
local cur = redis.call('ZSCORE', KEYS[2], ARGV[1])
if cur and tonumber(cur) > tonumber(ARGV[2]) then return 0 end
redis.call('SET', KEYS[1], ARGV[3])
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1])
return 1
"""


class LatestQuotes(Protocol):
    """The read side other services depend on."""

    def latest(self, ticker: str) -> QuoteEvent | None: ...
    def latest_many(self, tickers: Iterable[str]) -> dict[str, QuoteEvent]: ...


class QuoteCache:
    def __init__(self, redis: Any, prefix: str = DEFAULT_PREFIX) -> None:
        self.redis = redis
        self.prefix = prefix
        self.index_key = f"{prefix}quotes"
        self._put = redis.register_script(_PUT)

    def key(self, ticker: str) -> str:
        return f"{self.prefix}quote:{ticker}"

    # --- read ---------------------------------------------------------------------------------------
    @staticmethod
    def _decode(raw: bytes | str | None) -> QuoteEvent | None:
        if raw is None:
            return None
        try:
            return parse_quote_event(raw)
        except (ValidationError, UnsupportedSchemaVersion, ValueError):
            return None  # an unreadable entry is a miss; the next ingest overwrites it

    def latest(self, ticker: str) -> QuoteEvent | None:
        return self._decode(self.redis.get(self.key(ticker)))

    def latest_many(self, tickers: Iterable[str]) -> dict[str, QuoteEvent]:
        names = list(dict.fromkeys(tickers))
        if not names:
            return {}
        out: dict[str, QuoteEvent] = {}
        for name, raw in zip(names, self.redis.mget([self.key(t) for t in names]), strict=True):
            q = self._decode(raw)
            if q is not None:
                out[name] = q
        return out

    def last_price_cents(self, ticker: str) -> int | None:
        q = self.latest(ticker)
        return None if q is None else q.last_cents

    def reference_price_cents(self, ticker: str) -> int | None:
        q = self.latest(ticker)
        return None if q is None else q.reference_cents

    def tickers(self) -> list[str]:
        members = self.redis.zrange(self.index_key, 0, -1)
        return sorted(m.decode() if isinstance(m, bytes) else str(m) for m in members)

    def is_empty(self) -> bool:
        return int(self.redis.zcard(self.index_key)) == 0

    # --- write --------------------------------------------------------------------------------------
    def put(self, event: QuoteEvent) -> bool:
        """Store ``event`` unless a newer quote for the ticker is already there; True when written."""
        return self.put_many([event]) == 1

    def put_many(self, events: Sequence[QuoteEvent]) -> int:
        pipe = self.redis.pipeline(transaction=False)
        for e in events:
            self._put(keys=[self.key(e.ticker), self.index_key],
                      args=[e.ticker, int(e.ts.timestamp() * 1000), e.model_dump_json()], client=pipe)
        return sum(int(r) for r in pipe.execute()) if events else 0

    def rebuild(self, store: Any, tickers: Iterable[str] | None = None) -> int:
        """Refill from the history store (``store.latest_quotes``): used when Redis comes back empty."""
        quotes: list[QuoteEvent] = store.latest_quotes(tickers)
        return self.put_many(quotes)

    def clear(self) -> None:
        """Delete every key under the prefix (tests, demos)."""
        keys = list(self.redis.scan_iter(match=f"{self.prefix}*", count=500))
        if keys:
            self.redis.delete(*keys)
