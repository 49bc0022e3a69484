"""The typed SDK: one method per API route, pydantic models in and out, errors as :class:`ApiError`.

    from mybroker_client import Client
    c = Client.for_profile()            # the profile logged in with `mybroker login`
    c.deposit(100_000)
    o = c.place_order(PlaceOrder(ticker="PETR4", side=Side.BUY, quantity=100, order_type=OrderType.MARKET))
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable, Iterator, Mapping
from datetime import date, datetime
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from mybroker_client.auth import Auth, AuthError, TokenStore
from mybroker_client.config import Target, local_control_secret, local_target
from mybroker_client.models import (
    BookSnapshot,
    ErrorBody,
    History,
    Instrument,
    InstrumentCreate,
    InstrumentPage,
    InstrumentPatch,
    MarketStatus,
    Order,
    OrderPage,
    OrderStatus,
    PlaceOrder,
    Positions,
    Quote,
    QuotesPage,
    ReplaceOrder,
    Statement,
    StatementLine,
    Transfer,
    TransferResult,
    Wallet,
)

M = TypeVar("M", bound=BaseModel)


class ApiError(Exception):
    """The API refused (4xx) or failed (5xx); ``status`` 0 when it could not be reached."""

    def __init__(self, status: int, code: str, message: str, field: str | None = None) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.field = field

    @property
    def unavailable(self) -> bool:
        return self.status == 0 or self.status >= 500

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"status": self.status, "code": self.code, "message": self.message}
        if self.field:
            out["field"] = self.field
        return out


def _error(status: int, raw: bytes) -> ApiError:
    try:
        data = json.loads(raw or b"{}")
    except ValueError:
        data = {}
    if not isinstance(data, dict):
        data = {}
    if status == 401 and "code" not in data:
        return ApiError(401, "UNAUTHORIZED", str(data.get("message") or "Unauthorized"))
    if "code" not in data and isinstance(data.get("detail"), list):  # Powertools' request validation
        details = "; ".join(f"{'.'.join(str(x) for x in d.get('loc', [])[1:])}: {d.get('msg')}"
                            for d in data["detail"] if isinstance(d, dict))
        return ApiError(status, "VALIDATION_ERROR", details or "invalid request")
    body = ErrorBody.model_validate(data)
    code = body.code if "code" in data else ("INTERNAL_ERROR" if status >= 500 else "HTTP_ERROR")
    return ApiError(status, code, body.message or str(data.get("message") or f"HTTP {status}"), body.field)


def _query(params: Mapping[str, object | None]) -> str:
    kept = {k: (v.isoformat() if isinstance(v, date | datetime) else str(v)) for k, v in params.items()
            if v is not None}
    return ("?" + urllib.parse.urlencode(kept)) if kept else ""


class Client:
    """One user's view of the API. ``token`` is a callable so the token is refreshed when it expires."""

    def __init__(self, base_url: str, token: Callable[[bool], str] | None = None, timeout: float = 30.0) -> None:
        self.base_url = base_url.rstrip("/")
        self._token = token
        self.timeout = timeout

    @classmethod
    def for_profile(cls, profile: str = "default", timeout: float = 30.0) -> Client:
        store = TokenStore(profile)
        session = store.load()
        if session is None:
            raise AuthError(f"not logged in (profile {profile}): run `mybroker login`", "NOT_LOGGED_IN")
        auth = Auth(store, session.target)
        return cls(session.target.api_url, lambda force: auth.access_token(force), timeout)

    @classmethod
    def anonymous(cls, target: Target | None = None) -> Client:
        return cls((target or local_target()).api_url)

    # ---- transport ----------------------------------------------------------------------------------------------

    def request(self, method: str, path: str, body: object | None = None, headers: Mapping[str, str] | None = None,
                auth: bool = True, accept: str = "application/json") -> tuple[int, Any]:
        """Sends one request; returns (status, parsed JSON), or the raw bytes when ``accept`` is not JSON. A 401
        with a cached token retries once with a refreshed one; a GET that cannot reach the API (a runtime
        restarting) is retried twice."""
        unreachable = 0
        attempt = 0
        while True:
            hdrs = {"Accept": accept, **(headers or {})}
            data = None
            if body is not None:
                data = json.dumps(body).encode()
                hdrs["Content-Type"] = "application/json"
            if auth:
                if self._token is None:
                    raise AuthError("this client has no token: log in first", "NOT_LOGGED_IN")
                hdrs["Authorization"] = "Bearer " + self._token(attempt == 1)
            req = urllib.request.Request(self.base_url + path, data=data, method=method, headers=hdrs)
            try:
                with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                    raw = resp.read()
                    if accept != "application/json":
                        return resp.status, raw
                    return resp.status, json.loads(raw) if raw else None
            except urllib.error.HTTPError as exc:
                raw = exc.read()
                if exc.code == 401 and auth and attempt == 0:
                    attempt = 1
                    continue
                raise _error(exc.code, raw) from None
            except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
                if method == "GET" and unreachable < 2:
                    unreachable += 1
                    time.sleep(1.0 * unreachable)
                    continue
                reason = getattr(exc, "reason", exc)
                raise ApiError(0, "UNAVAILABLE", f"cannot reach {self.base_url}: {reason}") from None

    def _get(self, model: type[M], path: str, **params: object | None) -> M:
        return self._parse(model, self.request("GET", path + _query(params))[1])

    @staticmethod
    def _parse(model: type[M], data: Any) -> M:
        try:
            return model.model_validate(data)
        except ValidationError as exc:
            raise ApiError(502, "BAD_RESPONSE", f"unexpected answer for {model.__name__}: {exc}") from None

    @staticmethod
    def _ticker(ticker: str) -> str:
        return urllib.parse.quote(ticker.strip().upper(), safe="")

    # ---- assets -------------------------------------------------------------------------------------------------

    def list_assets(self, q: str | None = None, kind: str | None = None, status: str | None = None,
                    limit: int = 50, offset: int = 0) -> InstrumentPage:
        return self._get(InstrumentPage, "/assets", q=q, kind=kind, status=status, limit=limit, offset=offset)

    def get_asset(self, ticker: str) -> Instrument:
        return self._get(Instrument, f"/assets/{self._ticker(ticker)}")

    def create_asset(self, body: InstrumentCreate) -> Instrument:
        return self._parse(Instrument, self.request("POST", "/assets", body.body())[1])

    def update_asset(self, ticker: str, body: InstrumentPatch) -> Instrument:
        return self._parse(Instrument, self.request("PATCH", f"/assets/{self._ticker(ticker)}", body.body())[1])

    # ---- orders -------------------------------------------------------------------------------------------------

    def place_order(self, order: PlaceOrder) -> Order:
        return self._parse(Order, self.request("POST", "/orders", order.body())[1])

    def list_orders(self, status: OrderStatus | str | None = None, ticker: str | None = None,
                    trade_date: date | None = None, limit: int = 50, offset: int = 0) -> OrderPage:
        return self._get(OrderPage, "/orders", status=status, ticker=ticker, date=trade_date, limit=limit,
                         offset=offset)

    def iter_orders(self, status: OrderStatus | str | None = None, ticker: str | None = None,
                    trade_date: date | None = None) -> Iterator[Order]:
        offset = 0
        while True:
            page = self.list_orders(status, ticker, trade_date, limit=200, offset=offset)
            yield from page.items
            offset += len(page.items)
            if not page.items or offset >= page.total:
                return

    def get_order(self, order_id: str) -> Order:
        """The order with its fills."""
        return self._get(Order, f"/orders/{urllib.parse.quote(order_id, safe='')}")

    def cancel_order(self, order_id: str) -> Order:
        return self._parse(Order, self.request("DELETE", f"/orders/{urllib.parse.quote(order_id, safe='')}")[1])

    def replace_order(self, order_id: str, change: ReplaceOrder) -> Order:
        return self._parse(Order, self.request("PATCH", f"/orders/{urllib.parse.quote(order_id, safe='')}",
                                               change.body())[1])

    # ---- wallet -------------------------------------------------------------------------------------------------

    def wallet(self) -> Wallet:
        return self._get(Wallet, "/wallet")

    def deposit(self, amount_cents: int, idempotency_key: str | None = None) -> TransferResult:
        body = Transfer(amount_cents=amount_cents, idempotency_key=idempotency_key or f"cli-{uuid.uuid4().hex}")
        return self._parse(TransferResult, self.request("POST", "/wallet/deposits", body.body())[1])

    def withdraw(self, amount_cents: int, idempotency_key: str | None = None) -> TransferResult:
        body = Transfer(amount_cents=amount_cents, idempotency_key=idempotency_key or f"cli-{uuid.uuid4().hex}")
        return self._parse(TransferResult, self.request("POST", "/wallet/withdrawals", body.body())[1])

    def positions(self) -> Positions:
        return self._get(Positions, "/wallet/positions")

    def statement(self, start: date | None = None, end: date | None = None, asset: str | None = None,
                  limit: int = 50, cursor: int | None = None) -> Statement:
        return self._get(Statement, "/wallet/statement", **{"from": start, "to": end, "asset": asset,
                                                             "limit": limit, "cursor": cursor})

    # ---- after the trade: brokerage notes, income tax, year-end positions (wallet-reports) -------------------

    def note(self, trade_date: date) -> dict[str, Any]:
        """The brokerage note (nota de corretagem) of a trading day, as the API's JSON."""
        note: dict[str, Any] = self.request("GET", "/wallet/notes" + _query({"date": trade_date}))[1]
        return note

    def note_pdf(self, trade_date: date) -> bytes:
        pdf: bytes = self.request("GET", f"/wallet/notes/{trade_date.isoformat()}/pdf", accept="application/pdf")[1]
        return pdf

    def tax_month(self, month: str) -> dict[str, Any]:
        """The income-tax report of ``YYYY-MM``: gains per category, exemption, loss pools, IRRF, DARF."""
        report: dict[str, Any] = self.request("GET", f"/wallet/tax/{urllib.parse.quote(month, safe='')}")[1]
        return report

    def year_end(self, year: int) -> dict[str, Any]:
        """Custody on 31 December at average cost (the yearly declaration's 'bens e direitos')."""
        report: dict[str, Any] = self.request("GET", f"/wallet/tax/year-end/{int(year)}")[1]
        return report

    def iter_statement(self, start: date | None = None, end: date | None = None,
                       asset: str | None = None) -> Iterator[StatementLine]:
        cursor: int | None = None
        while True:
            page = self.statement(start, end, asset, 200, cursor)
            yield from page.items
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    # ---- market data --------------------------------------------------------------------------------------------

    def quotes(self, tickers: list[str]) -> QuotesPage:
        return self._get(QuotesPage, "/quotes", tickers=",".join(t.strip().upper() for t in tickers))

    def quote(self, ticker: str) -> Quote:
        return self._get(Quote, f"/quotes/{self._ticker(ticker)}")

    def history(self, ticker: str, interval: str = "1d", start: datetime | None = None,
                end: datetime | None = None, limit: int = 1000) -> History:
        return self._get(History, f"/quotes/{self._ticker(ticker)}/history", interval=interval, start=start,
                         end=end, limit=limit)

    def book(self, ticker: str) -> BookSnapshot:
        return self._get(BookSnapshot, f"/market/book/{self._ticker(ticker)}")

    def market_status(self, at: datetime | None = None) -> MarketStatus:
        return self._get(MarketStatus, "/market/status", at=at)

    # ---- docs ---------------------------------------------------------------------------------------------------

    def openapi(self, service: str) -> dict[str, Any]:
        """The service's OpenAPI document (no token needed): service in assets, orders, wallet, market-data."""
        spec: dict[str, Any] = self.request("GET", f"/docs/{service}?format=json", auth=False)[1]
        return spec

    # ---- the local runtime's control routes (not on AWS; they need the runtime's secret) ------------------------

    @staticmethod
    def _local_headers() -> dict[str, str]:
        return {"X-Local-Runtime-Secret": local_control_secret()}

    def local_clock(self, *, set_to: datetime | None = None, advance_s: float | None = None) -> datetime:
        body: dict[str, object] = {}
        if set_to is not None:
            body["set"] = set_to.isoformat()
        if advance_s is not None:
            body["advance_s"] = advance_s
        answer = self.request("POST", "/_local/clock", body, self._local_headers(), auth=False)[1] or {}
        return datetime.fromisoformat(str(answer["now"]))

    def local_now(self) -> datetime:
        health = self.request("GET", "/_local/health", headers=self._local_headers(), auth=False)[1]
        return datetime.fromisoformat(str(health["clock"]))

    def local_fire(self, schedule: str) -> None:
        self.request("POST", f"/_local/schedules/{schedule}/fire", {}, self._local_headers(), auth=False)
