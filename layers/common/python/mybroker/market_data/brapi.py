"""brapi.dev REST quotes: ``GET {base}/api/quote/T1,T2,...`` with a Bearer token.

- Several tickers per request (``batch_size``); what the answer leaves out is reported per ticker.
- Retries with exponential backoff on timeouts, connection errors, 5xx and unreadable bodies; HTTP 429
  waits for ``Retry-After`` (seconds or an HTTP date) when that fits the time budget, else gives up.
- Other 4xx (bad token, unknown tickers) are not retried.
- Every HTTP request counts against the free plan's monthly quota (15,000) in Redis
  (:class:`MonthlyQuota`); over quota, no request is sent.
- The whole fetch has a deadline (``budget_s``) well inside the Lambda timeout.

The token comes from ``BRAPI_TOKEN`` (local runs), the SSM parameter ``BRAPI_TOKEN_PARAMETER`` or the
Secrets Manager secret ``BRAPI_TOKEN_SECRET_ID`` (plain string, or JSON with a ``token`` key).
"""

from __future__ import annotations

import email.utils
import json
import os
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from mybroker.market_data.domain import ProviderQuote, to_cents
from mybroker.market_data.provider import FetchResult

FREE_PLAN_MONTHLY_REQUESTS = 15_000
DEFAULT_BASE_URL = "https://brapi.dev"


class MonthlyQuota:
    """Counts requests per calendar month (UTC) in Redis: ``<prefix>brapi:requests:<YYYY-MM>``."""

    def __init__(self, redis: Any, limit: int = FREE_PLAN_MONTHLY_REQUESTS, prefix: str = "mb:md:") -> None:
        self.redis = redis
        self.limit = limit
        self.prefix = prefix

    def key(self, now: datetime) -> str:
        return f"{self.prefix}brapi:requests:{now.astimezone(UTC):%Y-%m}"

    def acquire(self, now: datetime) -> bool:
        """Take one request from this month's allowance; False (and nothing taken) when it is used up."""
        key = self.key(now)
        pipe = self.redis.pipeline()
        pipe.incr(key)
        pipe.expire(key, 40 * 86400)
        used = int(pipe.execute()[0])
        if used > self.limit:
            self.redis.decr(key)
            return False
        return True

    def used(self, now: datetime) -> int:
        return int(self.redis.get(self.key(now)) or 0)


def token_from_environment() -> str | None:
    if os.environ.get("BRAPI_TOKEN"):
        return os.environ["BRAPI_TOKEN"]
    from mybroker.aws import client

    if os.environ.get("BRAPI_TOKEN_PARAMETER"):
        found = client("ssm").get_parameter(Name=os.environ["BRAPI_TOKEN_PARAMETER"], WithDecryption=True)
        return str(found["Parameter"]["Value"])
    if os.environ.get("BRAPI_TOKEN_SECRET_ID"):
        text = str(client("secretsmanager").get_secret_value(SecretId=os.environ["BRAPI_TOKEN_SECRET_ID"])[
            "SecretString"])
        try:
            parsed = json.loads(text)
        except ValueError:
            return text
        return str(parsed["token"]) if isinstance(parsed, dict) and "token" in parsed else text
    return None


@dataclass
class _Attempt:
    status: int | None
    body: Any = None
    retry_after_s: float | None = None
    error: str | None = None


def _retry_after(value: str | None, now: float) -> float | None:
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - now)


def _timestamp(value: Any, default: datetime) -> datetime:
    if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
        return datetime.fromtimestamp(float(value), UTC)
    if isinstance(value, str) and value:
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return default
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return default


def parse_result(item: Any, now: datetime) -> ProviderQuote:
    """One element of brapi's ``results[]``; raises ValueError when it has no usable price."""
    if not isinstance(item, dict):
        raise ValueError("result is not an object")
    symbol = str(item.get("symbol") or "").upper()
    last = to_cents(item.get("regularMarketPrice"))
    if not symbol or last is None:
        raise ValueError(f"{symbol or '?'}: no regularMarketPrice")
    volume = item.get("regularMarketVolume")
    usable = isinstance(volume, int | float) and not isinstance(volume, bool) and volume >= 0
    day_volume = int(volume) if usable and volume is not None else None
    return ProviderQuote(ticker=symbol, ts=_timestamp(item.get("regularMarketTime"), now), last_cents=last,
                         open_cents=to_cents(item.get("regularMarketOpen")),
                         high_cents=to_cents(item.get("regularMarketDayHigh")),
                         low_cents=to_cents(item.get("regularMarketDayLow")),
                         prev_close_cents=to_cents(item.get("regularMarketPreviousClose")),
                         day_volume=day_volume)


class BrapiProvider:
    name = "brapi"

    def __init__(self, base_url: str = DEFAULT_BASE_URL, token: str | Callable[[], str | None] | None = None,
                 quota: MonthlyQuota | None = None, batch_size: int = 10, timeout_s: float = 5.0,
                 max_attempts: int = 3, backoff_s: float = 0.5, budget_s: float = 30.0,
                 sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.base_url = base_url.rstrip("/")
        self._token = token
        self.quota = quota
        self.batch_size = max(1, batch_size)
        self.timeout_s = timeout_s
        self.max_attempts = max(1, max_attempts)
        self.backoff_s = backoff_s
        self.budget_s = budget_s
        self.sleep = sleep
        self.clock = clock

    def token(self) -> str | None:
        if callable(self._token):
            self._token = self._token()
        return self._token

    def _get(self, tickers: Sequence[str]) -> _Attempt:
        url = f"{self.base_url}/api/quote/{urllib.parse.quote(','.join(tickers), safe=',')}"
        headers = {"Accept": "application/json", "User-Agent": "mybroker-b3/1.0"}
        token = self.token()
        if token:
            headers["Authorization"] = f"Bearer {token}"
        req = urllib.request.Request(url, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=self.timeout_s) as resp:
                raw = resp.read()
                status = int(resp.status)
        except urllib.error.HTTPError as exc:
            raw = exc.read() if exc.fp is not None else b""
            ra = _retry_after(exc.headers.get("Retry-After") if exc.headers else None, time.time())
            try:
                body = json.loads(raw) if raw else None
            except ValueError:
                body = None
            message = body.get("message") if isinstance(body, dict) else None
            return _Attempt(exc.code, body, ra, f"HTTP {exc.code}: {message or exc.reason}")
        except TimeoutError as exc:
            return _Attempt(None, error=f"timeout: {exc}")
        except (urllib.error.URLError, OSError) as exc:
            return _Attempt(None, error=f"connection: {getattr(exc, 'reason', exc)}")
        try:
            return _Attempt(status, json.loads(raw))
        except ValueError:
            return _Attempt(None, error="unreadable body (not JSON)")

    def _fetch_batch(self, tickers: Sequence[str], now: datetime, deadline: float, out: FetchResult) -> None:
        last_error = "no attempt"
        for attempt in range(self.max_attempts):
            if self.quota is not None and not self.quota.acquire(now):
                last_error = "monthly request quota exhausted"
                break
            out.requests += 1
            got = self._get(tickers)
            if got.status == 200 and isinstance(got.body, dict):
                self._collect(tickers, got.body, now, out)
                return
            last_error = got.error or f"HTTP {got.status}: unexpected body"
            if got.status is not None and 400 <= got.status < 500 and got.status != 429:
                break  # bad token, unknown tickers: asking again will not help
            wait = self.backoff_s * (2 ** attempt)
            if got.status == 429:
                wait = got.retry_after_s if got.retry_after_s is not None else max(wait, 1.0)
            if attempt + 1 >= self.max_attempts or self.clock() + wait + self.timeout_s > deadline:
                break
            out.retries += 1
            self.sleep(wait)
        for t in tickers:
            out.failed[t] = last_error

    def _collect(self, tickers: Sequence[str], body: dict[str, Any], now: datetime, out: FetchResult) -> None:
        wanted = set(tickers)
        seen: set[str] = set()
        results = body.get("results")
        for item in results if isinstance(results, list) else []:
            try:
                q = parse_result(item, now)
            except (ValueError, TypeError) as exc:
                symbol = str(item.get("symbol", "?")).upper() if isinstance(item, dict) else "?"
                if symbol in wanted:
                    out.failed[symbol] = f"bad record: {exc}"
                    seen.add(symbol)
                continue
            if q.ticker in wanted and q.ticker not in seen:
                out.quotes.append(q)
                seen.add(q.ticker)
        for t in tickers:
            if t not in seen:
                out.failed.setdefault(t, "missing from the response")

    def fetch(self, tickers: Sequence[str], now: datetime) -> FetchResult:
        out = FetchResult()
        deadline = self.clock() + self.budget_s
        for i in range(0, len(tickers), self.batch_size):
            batch = list(tickers[i:i + self.batch_size])
            if self.clock() >= deadline:
                for t in batch:
                    out.failed[t] = "time budget exhausted"
                continue
            self._fetch_batch(batch, now, deadline, out)
        return out
