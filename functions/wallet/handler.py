"""wallet-api: balances, PIX deposits and withdrawals, positions and the statement, for the user of the token.
The reservations the orders service makes are not here: they are internal routes (``reservations.py``) no user
token reaches. Thin: parse, call :class:`mybroker.wallet.service.Wallet`."""

from __future__ import annotations

import os
from datetime import date, datetime, time, timedelta
from functools import cache
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from mybroker.contracts.requests import Cursor, IsoDate, PageLimit
from mybroker.db import UNAVAILABLE, engine, retry_deadlocks
from mybroker.http import error_response, principal, resolver
from mybroker.market_data.cache import DEFAULT_PREFIX, QuoteCache
from mybroker.settings import settings
from mybroker.wallet.daytrade import day_figures
from mybroker.wallet.floor_metric import floor_refused
from mybroker.wallet.ledger import FloorBreached
from mybroker.wallet.mysql import MySqlStore
from mybroker.wallet.reservations import base_ticker
from mybroker.wallet.service import BuyingPower, Wallet, WalletError
from mybroker.wallet.views import (
    PositionsView,
    StatementLineView,
    StatementView,
    TradesView,
    TradeView,
    TradingDayView,
    TransferRequest,
    TransferView,
    WalletView,
    positions_of,
)

logger = Logger()
metrics = Metrics()
app = resolver("My Broker B3: wallet", "/docs/wallet", unavailable=UNAVAILABLE,
               transaction=retry_deadlocks)  # each route is one idempotent transaction
SAO_PAULO = ZoneInfo("America/Sao_Paulo")


@app.exception_handler(WalletError)  # type: ignore[untyped-decorator]
def _refused(exc: WalletError) -> Response[str]:
    return error_response(exc.status, exc.code, exc.message)


@app.exception_handler(FloorBreached)  # type: ignore[untyped-decorator]
def _floor(exc: FloorBreached) -> Response[str]:
    """Past every check, the ledger's floor still refused a posting: nothing moved; alarmed."""
    logger.error("posting refused by the floor", extra={"error": str(exc)})
    floor_refused()
    return error_response(409, "FLOOR_REFUSED", "the operation would take a balance below zero: nothing moved")


@cache
def wallet() -> Wallet:
    return Wallet(MySqlStore(engine()), BuyingPower.from_env(os.environ))


@cache
def quotes() -> QuoteCache:
    import redis

    return QuoteCache(redis.Redis.from_url(settings().redis_url, socket_timeout=0.5, socket_connect_timeout=0.5),
                      os.environ.get("QUOTE_CACHE_PREFIX") or DEFAULT_PREFIX)


def me() -> str:
    return principal(app).user_id


def today() -> date:
    return datetime.now(SAO_PAULO).date()


def json(status: int, body: Any) -> Response[Any]:
    return Response(status_code=status, content_type=content_types.APPLICATION_JSON, body=body)


def wallet_view(account_id: str) -> WalletView:
    return WalletView.read(wallet().store, account_id, wallet().policy.projected_cash)


@app.get("/wallet")
def get_wallet() -> WalletView:
    return wallet_view(me())


def _transfer(kind: str, body: TransferRequest) -> Response[TransferView]:
    account_id = me()
    key = body.idempotency_key or app.current_event.headers.get("idempotency-key")
    if not key:
        raise WalletError("IDEMPOTENCY_KEY_REQUIRED", "send idempotencyKey in the body or an Idempotency-Key header",
                          422)
    if len(key) > 100:
        raise WalletError("VALIDATION_ERROR", "idempotencyKey: at most 100 characters", 422)
    w = wallet()
    transfer, created = w.deposit(account_id, key, body.amount_cents) if kind == "deposit" else \
        w.withdraw(account_id, key, body.amount_cents)
    if created:
        metrics.add_metric(name="Deposits" if kind == "deposit" else "Withdrawals", unit=MetricUnit.Count, value=1)
    return json(201 if created else 200, TransferView.of(transfer, wallet_view(account_id)))


@app.post("/wallet/deposits")
def deposit(body: TransferRequest) -> Response[TransferView]:
    return _transfer("deposit", body)


@app.post("/wallet/withdrawals")
def withdraw(body: TransferRequest) -> Response[TransferView]:
    return _transfer("withdrawal", body)


@app.get("/wallet/positions")
def get_positions() -> PositionsView:
    account_id = me()
    store = wallet().store
    items = positions_of(store.balances(account_id), store.costs(account_id))
    try:
        latest = quotes().latest_many([p.ticker for p in items])
    except Exception:  # the cache is an optimisation: positions still answer without prices
        logger.warning("quote cache unavailable", exc_info=True)
        latest = {}
    total = 0
    for p in items:
        q = latest.get(p.ticker)
        if q is not None:
            p.last_price_cents, p.quote_at = q.last_cents, q.ts
            p.market_value_cents = q.last_cents * p.total_quantity
            total += p.market_value_cents
    return PositionsView(items=items, market_value_cents=total)


@app.get("/wallet/statement")
def get_statement(
    start: Annotated[IsoDate | None, Query(alias="from", description="first day (Brasília), inclusive")] = None,
    end: Annotated[IsoDate | None, Query(alias="to", description="last day (Brasília), inclusive")] = None,
    asset: Annotated[str | None, Query(max_length=12, description="BRL or a ticker")] = None,
    limit: Annotated[PageLimit, Query()] = 50,
    cursor: Annotated[Cursor | None, Query(description="nextCursor of the previous page")] = None,
) -> StatementView:
    account_id = me()
    if asset is not None and asset.upper() != "BRL":
        try:
            asset = base_ticker(asset)
        except ValueError as exc:
            raise WalletError("VALIDATION_ERROR", f"asset: {exc}", 422) from exc
    lo = datetime.combine(start, time(), SAO_PAULO) if start else None
    hi = datetime.combine(end + timedelta(days=1), time(), SAO_PAULO) if end else None
    lines = wallet().store.statement(account_id, lo, hi, cursor, limit + 1, asset.upper() if asset else None)
    page = lines[:limit]
    return StatementView(items=[StatementLineView.of(x) for x in page],
                         next_cursor=page[-1].id if len(lines) > limit else None)


MAX_TRADES_DAYS = 366


@app.get("/wallet/trades")
def get_trades(
    start: Annotated[IsoDate, Query(alias="from", description="first trade date, inclusive")],
    end: Annotated[IsoDate, Query(alias="to", description="last trade date, inclusive (at most 366 days after from)")],
) -> TradesView:
    """Every fill of the user in the period, classified day trade or swing, and the per-day figures."""
    if end < start or (end - start).days >= MAX_TRADES_DAYS:
        raise WalletError("VALIDATION_ERROR", f"to must be from..from+{MAX_TRADES_DAYS - 1} days", 422)
    trades = wallet().trades(me(), start, end)
    return TradesView(items=[TradeView.of(t) for t in trades], days=[TradingDayView.of(d) for d in day_figures(trades)])


@logger.inject_lambda_context
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
