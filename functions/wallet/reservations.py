"""wallet-reservations: the saga's reservation steps, on IAM-authorized internal routes that only the orders
function calls, signed with SigV4 (``/internal/wallet/reservations``). No user token is accepted: every event
without an IAM identity gets 403 FORBIDDEN before anything is read. The holder of a reservation is the order;
the account is the order's, given by the trusted caller. Thin: parse, call :class:`mybroker.wallet.service.Wallet`.
"""

from __future__ import annotations

import os
from datetime import date, datetime
from functools import cache
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from mybroker.contracts.requests import strict_int
from mybroker.db import UNAVAILABLE, engine, retry_deadlocks
from mybroker.http import error_response, refuse_unless_service, resolver, service_caller
from mybroker.wallet.floor_metric import floor_refused
from mybroker.wallet.ledger import FloorBreached
from mybroker.wallet.mysql import MySqlStore
from mybroker.wallet.service import BuyingPower, Wallet, WalletError
from mybroker.wallet.views import OrderId, ReplaceRequest, ReservationRequest, ReservationView
from pydantic import Field, StringConstraints

logger = Logger()
metrics = Metrics()
app = resolver("My Broker B3: wallet reservations (internal)", "/docs/wallet-reservations", internal=True,
               unavailable=UNAVAILABLE,
               transaction=retry_deadlocks)  # each route is one idempotent transaction
SAO_PAULO = ZoneInfo("America/Sao_Paulo")
AccountId = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:@-]+$")]


@app.exception_handler(WalletError)  # type: ignore[untyped-decorator]
def _refused(exc: WalletError) -> Response[str]:
    return error_response(exc.status, exc.code, exc.message)


@app.exception_handler(FloorBreached)  # type: ignore[untyped-decorator]
def _floor(exc: FloorBreached) -> Response[str]:
    """Past every check, the ledger's floor still refused a posting: nothing moved; alarmed."""
    logger.error("posting refused by the floor", extra={"error": str(exc)})
    floor_refused()
    return error_response(409, "FLOOR_REFUSED", "the operation would take a balance below zero: nothing moved")


class InternalReservationRequest(ReservationRequest):
    account_id: AccountId = Field(description="the order's account")


class InternalReplaceRequest(ReplaceRequest):
    account_id: AccountId = Field(description="the order's account")
    replace_seq: Annotated[int, strict_int(1, 1_000_000, "which replace of the order this is (n of the engine's "
                                                          "<orderId>~n): one at a time, 409 REPLACE_PENDING")]


@cache
def wallet() -> Wallet:
    return Wallet(MySqlStore(engine()), BuyingPower.from_env(os.environ))


def today() -> date:
    return datetime.now(SAO_PAULO).date()


@app.post("/internal/wallet/reservations")
def reserve(body: InternalReservationRequest) -> Response[ReservationView]:
    service_caller(app)
    r, created = wallet().reserve(body.account_id, body.order_id, body.ticker, body.side, body.quantity,
                                  body.price_cents, today())
    if created:
        metrics.add_metric(name="Reservations", unit=MetricUnit.Count, value=1)
    return Response(status_code=201 if created else 200, content_type=content_types.APPLICATION_JSON,
                    body=ReservationView.of(r))


@app.put("/internal/wallet/reservations/<orderId>")
def widen_reservation(orderId: Annotated[OrderId, Path()], body: InternalReplaceRequest) -> ReservationView:
    """A replace about to be sent: the hold widens to cover it (never narrows here; the engine's answer does)."""
    service_caller(app)
    return ReservationView.of(wallet().replace(body.account_id, orderId, body.quantity, body.price_cents,
                                                   body.replace_seq))


@app.delete("/internal/wallet/reservations/<orderId>")
def release_reservation(orderId: Annotated[OrderId, Path()],
                        accountId: Annotated[AccountId, Query(description="the order's account")]) -> ReservationView:
    """The compensation of a place whose order is certainly not stored."""
    service_caller(app)
    return ReservationView.of(wallet().release(accountId, orderId))


@logger.inject_lambda_context
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    refused = refuse_unless_service(event)  # no IAM identity: 403 before anything is parsed or read
    if refused is not None:
        return refused
    return app.resolve(event, context)
