"""HTTP clients of the other services' public routes (the caller's bearer token is passed through): the assets
catalog (instrument rules, cached in process) and the wallet (reservations)."""

from __future__ import annotations

import http.client
import json
import threading
import time
import urllib.error
from typing import Any
from urllib.parse import urlsplit

from mybroker.orders.domain import InstrumentRules, OrderError
from mybroker.orders.service import WalletRefused, WalletUnavailable

TIMEOUT_S = 8.0
_local = threading.local()  # one keep-alive connection per thread and origin, reused across invocations


def _connection(scheme: str, netloc: str) -> http.client.HTTPConnection:
    conns: dict[tuple[str, str], http.client.HTTPConnection] = _local.__dict__.setdefault("conns", {})
    conn = conns.get((scheme, netloc))
    if conn is None:
        cls = http.client.HTTPSConnection if scheme == "https" else http.client.HTTPConnection
        conn = conns[(scheme, netloc)] = cls(netloc, timeout=TIMEOUT_S)
    return conn


def _drop(scheme: str, netloc: str) -> None:
    conn = _local.__dict__.get("conns", {}).pop((scheme, netloc), None)
    if conn is not None:
        conn.close()


def _call(method: str, url: str, authorization: str, body: Any = None) -> tuple[int, Any]:
    data = json.dumps(body).encode() if body is not None else None
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise urllib.error.URLError(f"unknown url type: {url!r}")
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    headers = {"Authorization": authorization, "Host": parts.netloc}
    if data is not None:
        headers["Content-Type"] = "application/json"
    for attempt in (1, 2):
        conn = _connection(parts.scheme, parts.netloc)
        try:
            conn.request(method, target, body=data, headers=headers)
            r = conn.getresponse()
            status, raw = r.status, r.read()
        except (BrokenPipeError, ConnectionResetError):  # RemoteDisconnected is one too
            # a kept-alive connection the server closed while idle: once more on a fresh one (only then, so a
            # request that timed out is not sent twice; a repeated reservation is answered 200 anyway)
            _drop(parts.scheme, parts.netloc)
            if attempt == 2:
                raise
            continue
        except (OSError, http.client.HTTPException):
            _drop(parts.scheme, parts.netloc)
            raise
        if r.will_close:
            _drop(parts.scheme, parts.netloc)
        break
    try:
        parsed = json.loads(raw) if raw else None
    except ValueError:
        parsed = None
    return status, parsed


def _pick(d: dict[str, Any], *names: str, default: Any = None) -> Any:
    for n in names:
        if n in d and d[n] is not None:
            return d[n]
    return default


class AssetsClient:
    """``GET {API_URL}/assets/{ticker}``; answers cached for ``ttl_s`` (misses too, briefly)."""

    def __init__(self, api_url: str, ttl_s: float = 60.0) -> None:
        self.api_url = api_url.rstrip("/")
        self.ttl_s = ttl_s
        self._cache: dict[str, tuple[float, InstrumentRules | None]] = {}

    def rules(self, ticker: str, authorization: str) -> InstrumentRules | None:
        hit = self._cache.get(ticker)
        now = time.monotonic()
        if hit is not None and now - hit[0] < self.ttl_s:
            return hit[1]
        try:
            status, body = _call("GET", f"{self.api_url}/assets/{ticker}", authorization)
        except (OSError, urllib.error.URLError) as exc:
            raise OrderError("ASSETS_UNAVAILABLE", f"the assets service did not answer: {exc}", status=503) from exc
        if status == 404:
            self._cache[ticker] = (now - self.ttl_s + 5, None)  # a miss is remembered for 5 s only
            return None
        if status != 200 or not isinstance(body, dict):
            raise OrderError("ASSETS_UNAVAILABLE", f"the assets service answered {status}", status=503)
        rules = InstrumentRules(
            ticker=str(body.get("ticker", ticker)),
            round_lot=int(_pick(body, "roundLot", "round_lot", default=100)),
            tick_size_cents=int(_pick(body, "tickSizeCents", "tick_size_cents", default=1)),
            rejection_tunnel_pct=int(_pick(body, "rejectionTunnelPct", "rejection_tunnel_pct", default=10)),
            suspended=str(body.get("status", "ACTIVE")).upper() == "SUSPENDED",
        )
        self._cache[ticker] = (now, rules)
        return rules


class WalletClient:
    """The wallet's reservation routes: reserve on place, adjust on replace, release as compensation."""

    def __init__(self, api_url: str) -> None:
        self.api_url = api_url.rstrip("/")

    def _do(self, method: str, path: str, authorization: str, body: Any = None) -> int:
        try:
            status, answer = _call(method, f"{self.api_url}{path}", authorization, body)
        except (OSError, urllib.error.URLError) as exc:
            raise WalletUnavailable(f"the wallet did not answer: {exc}") from exc
        if status == 422:
            code = str((answer or {}).get("code") or "INSUFFICIENT_FUNDS") if isinstance(answer, dict) \
                else "INSUFFICIENT_FUNDS"
            message = str(answer.get("message", code)) if isinstance(answer, dict) else code
            raise WalletRefused(code, message, status=422)
        return status

    def reserve(self, authorization: str, order_id: str, ticker: str, side: str, quantity: int,
                price_cents: int) -> None:
        status = self._do("POST", "/wallet/reservations", authorization,
                          {"orderId": order_id, "ticker": ticker, "side": side, "quantity": quantity,
                           "priceCents": price_cents})
        # a retry of the same reservation answers 200; 409 means this order id holds a *different* one, which a
        # fresh order id never should: refuse the order rather than trade on a reservation that is not its own
        if status not in (200, 201):
            raise WalletUnavailable(f"the wallet answered {status} to the reservation")

    def adjust(self, authorization: str, order_id: str, quantity: int, price_cents: int) -> None:
        status = self._do("PUT", f"/wallet/reservations/{order_id}", authorization,
                          {"quantity": quantity, "priceCents": price_cents})
        if status not in (200, 201, 204):
            raise WalletUnavailable(f"the wallet answered {status} to the adjustment")

    def release(self, authorization: str, order_id: str) -> None:
        status = self._do("DELETE", f"/wallet/reservations/{order_id}", authorization)
        if status not in (200, 204, 404):
            raise WalletUnavailable(f"the wallet answered {status} to the release")


class QuoteReferencePrices:
    """The reference price for tunnels and market-order protection, from the market-data Redis cache."""

    def __init__(self, cache: Any) -> None:
        self.cache = cache

    def reference_cents(self, ticker: str) -> int | None:
        value = self.cache.reference_price_cents(ticker)
        return None if value is None else int(value)
