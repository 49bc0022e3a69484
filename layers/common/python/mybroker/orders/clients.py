"""HTTP clients of the other services' routes, over one keep-alive connection per thread and origin: the assets
catalog (a public route: the caller's bearer token is passed through; rules cached in process), the wallet's
reservation steps and the orders read-back (IAM-authorized internal routes: signed with SigV4 as this function,
never with a user's token).

Timeouts follow the callees' declared ones (``infra/declarations.py``; ``tests/unit/orders/test_clients.py``
checks them): a write waits for its callee to finish or be stopped (caller outlives callee), so its outcome is
never abandoned mid-flight; a read may be abandoned earlier, which costs nothing.
"""

from __future__ import annotations

import http.client
import json
import os
import threading
import time
import urllib.error
from functools import cache
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

from mybroker.orders.domain import InstrumentRules, OrderError
from mybroker.orders.service import WalletRefused, WalletUnavailable

WALLET_RESERVATIONS_TIMEOUT_S = 3  # the wallet-reservations function's declared timeout
WALLET_TIMEOUT_S = WALLET_RESERVATIONS_TIMEOUT_S + 1.0  # outlives the callee: its answer, or its timeout, arrives
ORDERS_API_TIMEOUT_S = 20  # orders-api's declared timeout (the read-back callee of the reservation sweeper)
ORDERS_READ_BACK_TIMEOUT_S = ORDERS_API_TIMEOUT_S + 1.0
ASSETS_TIMEOUT_S = 3.0  # a read of the catalog (cached): abandoning it costs nothing
_local = threading.local()  # one keep-alive connection per thread and origin, reused across invocations


def _connection(scheme: str, netloc: str, timeout: float) -> http.client.HTTPConnection:
    conns: dict[tuple[str, str], http.client.HTTPConnection] = _local.__dict__.setdefault("conns", {})
    conn = conns.get((scheme, netloc))
    if conn is None:
        cls = http.client.HTTPSConnection if scheme == "https" else http.client.HTTPConnection
        conn = conns[(scheme, netloc)] = cls(netloc, timeout=timeout)
    conn.timeout = timeout  # each call its own: the assets read and the wallet write share the origin
    if conn.sock is not None:
        conn.sock.settimeout(timeout)
    return conn


def _drop(scheme: str, netloc: str) -> None:
    conn = _local.__dict__.get("conns", {}).pop((scheme, netloc), None)
    if conn is not None:
        conn.close()


class ServiceSigner:
    """SigV4 (service ``execute-api``) with this function's own credentials, from botocore's default chain: on
    AWS the function role's, locally the keys the runtime gives each function's environment. Created once per
    process; botocore refreshes refreshable credentials itself."""

    def __init__(self, region: str | None = None, credentials: Any = None) -> None:
        import botocore.session
        from botocore.auth import SigV4Auth

        session = botocore.session.get_session()
        credentials = credentials or session.get_credentials()
        if credentials is None:
            raise RuntimeError("no AWS credentials in this function's environment to sign service calls with")
        self.region = region or os.environ.get("AWS_REGION") or session.get_config_variable("region") \
            or "us-east-1"
        self._auth = SigV4Auth(credentials, "execute-api", self.region)

    def sign(self, method: str, url: str, body: bytes | None, headers: dict[str, str]) -> dict[str, str]:
        from botocore.awsrequest import AWSRequest

        request = AWSRequest(method=method, url=url, data=body or b"", headers=headers)
        self._auth.add_auth(request)
        return {k: str(v) for k, v in request.headers.items()}


@cache
def service_signer() -> ServiceSigner:
    return ServiceSigner()


def _call(method: str, url: str, authorization: str | None, body: Any = None, *, timeout: float,
          signer: ServiceSigner | None = None) -> tuple[int, Any]:
    data = json.dumps(body).encode() if body is not None else None
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise urllib.error.URLError(f"unknown url type: {url!r}")
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    headers = {"Host": parts.netloc}
    if data is not None:
        headers["Content-Type"] = "application/json"
    if signer is not None:
        headers = signer.sign(method, url, data, headers)
    elif authorization:
        headers["Authorization"] = authorization
    for attempt in (1, 2):
        conn = _connection(parts.scheme, parts.netloc, timeout)
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
            status, body = _call("GET", f"{self.api_url}/assets/{ticker}", authorization, timeout=ASSETS_TIMEOUT_S)
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
    """The wallet's internal reservation routes (``/internal/wallet/reservations``), SigV4-signed as this
    function: reserve on place, widen on replace, release as compensation. The account is the order's."""

    def __init__(self, api_url: str, signer: ServiceSigner | None = None) -> None:
        self.api_url = api_url.rstrip("/")
        self._signer = signer

    @property
    def signer(self) -> ServiceSigner:
        if self._signer is None:
            self._signer = service_signer()
        return self._signer

    def _do(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        try:
            status, answer = _call(method, f"{self.api_url}{path}", None, body, timeout=WALLET_TIMEOUT_S,
                                   signer=self.signer)
        except (OSError, urllib.error.URLError) as exc:
            raise WalletUnavailable(f"the wallet did not answer: {exc}") from exc
        if status == 422:
            code = str((answer or {}).get("code") or "INSUFFICIENT_FUNDS") if isinstance(answer, dict) \
                else "INSUFFICIENT_FUNDS"
            message = str(answer.get("message", code)) if isinstance(answer, dict) else code
            raise WalletRefused(code, message, status=422)
        return status, answer

    @staticmethod
    def _path(order_id: str, account_id: str) -> str:
        return f"/internal/wallet/reservations/{quote(order_id, safe='')}?{urlencode({'accountId': account_id})}"

    def reserve(self, account_id: str, order_id: str, ticker: str, side: str, quantity: int,
                price_cents: int) -> None:
        status, _ = self._do("POST", "/internal/wallet/reservations",
                          {"accountId": account_id, "orderId": order_id, "ticker": ticker, "side": side,
                           "quantity": quantity, "priceCents": price_cents})
        # a retry of the same reservation answers 200; 409 means this order id holds a *different* one, which a
        # fresh order id never should: refuse the order rather than trade on a reservation that is not its own
        if status not in (200, 201):
            raise WalletUnavailable(f"the wallet answered {status} to the reservation")

    def adjust(self, account_id: str, order_id: str, quantity: int, price_cents: int, replace_seq: int) -> None:
        status, answer = self._do("PUT", f"/internal/wallet/reservations/{quote(order_id, safe='')}",
                                  {"accountId": account_id, "quantity": quantity, "priceCents": price_cents,
                                   "replaceSeq": replace_seq})
        if status == 409 and isinstance(answer, dict) and answer.get("code") in ("REPLACE_PENDING",
                                                                                 "RESERVATION_CLOSED"):
            # an earlier replace not answered yet, or the order ended meanwhile: the user may read and retry
            raise WalletRefused(str(answer["code"]), str(answer.get("message", answer["code"])), status=409)
        if status not in (200, 201, 204):
            raise WalletUnavailable(f"the wallet answered {status} to the adjustment")

    def release(self, account_id: str, order_id: str) -> None:
        status, _ = self._do("DELETE", self._path(order_id, account_id))
        if status not in (200, 204, 404):
            raise WalletUnavailable(f"the wallet answered {status} to the release")


class OrdersReadBack:
    """``GET /internal/orders/{orderId}``, SigV4-signed as the calling function (the reservation sweeper):
    True when the order is stored, False when orders answers 404 (certainly absent), and raises on anything
    else, which is not an answer."""

    def __init__(self, api_url: str, signer: ServiceSigner | None = None) -> None:
        self.api_url = api_url.rstrip("/")
        self._signer = signer

    def exists(self, order_id: str) -> bool:
        signer = self._signer or service_signer()
        status, body = _call("GET", f"{self.api_url}/internal/orders/{quote(order_id, safe='')}", None,
                             timeout=ORDERS_READ_BACK_TIMEOUT_S, signer=signer)
        if status == 200 and isinstance(body, dict) and body.get("orderId") == order_id:
            return True
        if status == 404 and isinstance(body, dict) and body.get("code") == "ORDER_NOT_FOUND":
            return False
        raise OrderError("ORDERS_UNAVAILABLE", f"the orders read-back answered {status}", status=503)


class QuoteReferencePrices:
    """The reference price for tunnels and market-order protection, from the market-data Redis cache."""

    def __init__(self, cache: Any) -> None:
        self.cache = cache

    def reference_cents(self, ticker: str) -> int | None:
        value = self.cache.reference_price_cents(ticker)
        return None if value is None else int(value)
