"""orders-api: place, list, read, cancel and replace orders. Thin: parse, call the orders service, shape the answer.
One internal route, ``GET /internal/orders/{orderId}``, answers services only (SigV4: the reservation sweeper).

A ``clientOrderId`` makes placing idempotent per account: Powertools' idempotency utility (Redis) answers a
retry from the first response, and the unique (account, clientOrderId) key with the stored request hash in
MySQL is the durable guard when the Redis record is gone.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig, idempotent_function
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
    IdempotencyPersistenceLayerError,
    IdempotencyValidationError,
)
from aws_lambda_powertools.utilities.typing import LambdaContext
from mybroker.contracts.orders import OrderStatus
from mybroker.contracts.requests import Identifier, IsoDate, PageLimit, PageOffset
from mybroker.db import UNAVAILABLE
from mybroker.http import error_response, principal, resolver, service_caller
from mybroker.orders.api import OrderPage, OrderView, PlaceOrderBody, ReplaceOrderBody
from mybroker.orders.domain import OrderError
from mybroker.orders.idempotency import ValidatingRedisPersistence
from mybroker.orders.wiring import service
from mybroker.settings import settings

logger = Logger()
metrics = Metrics()
app = resolver("My Broker B3: orders", "/docs/orders", unavailable=UNAVAILABLE)

persistence = ValidatingRedisPersistence(url=settings().redis_url)  # on AWS: TLS and AUTH (mybroker.settings)
idempotency = IdempotencyConfig(
    event_key_jmespath="[accountId, body.clientOrderId]",
    payload_validation_jmespath="body",
    expires_after_seconds=24 * 3600,
    response_hook=lambda response, _record: {**response, "created": False},
)


def _json(status: int, body: Any) -> Response[str]:
    return Response(status_code=status, content_type=content_types.APPLICATION_JSON, body=json.dumps(body))


@app.exception_handler(OrderError)  # type: ignore[untyped-decorator]
def _refused(exc: OrderError) -> Response[str]:
    if exc.field:
        return error_response(exc.status, exc.code, exc.message, [{"field": exc.field, "reason": exc.message}],
                              field=exc.field)
    return error_response(exc.status, exc.code, exc.message)


def _authorization() -> str:
    return str(app.current_event.headers.get("authorization") or "")


@idempotent_function(data_keyword_argument="request", persistence_store=persistence,  # type: ignore[untyped-decorator]
                     config=idempotency)
def _place_once(request: dict[str, Any]) -> dict[str, Any]:
    return _place_direct(request)


@app.post("/orders")
def place_order(body: Annotated[PlaceOrderBody, Body()]) -> Response[str]:
    account = principal(app).user_id
    request = {"accountId": account, "body": body.model_dump(mode="json", exclude_none=True),
               "authorization": _authorization()}
    if body.client_order_id is None:
        result = _place_direct(request)
    else:
        try:
            result = _place_once(request=request)
        except IdempotencyValidationError:
            raise OrderError("DUPLICATE_CLIENT_ORDER_ID", "this clientOrderId was used for a different order",
                             status=409, field="clientOrderId") from None
        except IdempotencyAlreadyInProgressError:
            raise OrderError("REQUEST_IN_PROGRESS", "a request with this clientOrderId is being processed",
                             status=409, field="clientOrderId") from None
        except IdempotencyPersistenceLayerError:
            logger.warning("idempotency store unavailable: relying on the MySQL guard")
            result = _place_direct(request)
    if result["created"]:
        metrics.add_metric(name="OrdersPlaced", unit=MetricUnit.Count, value=1)
    return _json(201 if result["created"] else 200, result["order"])


def _place_direct(request: dict[str, Any]) -> dict[str, Any]:
    body = PlaceOrderBody.model_validate(request["body"])
    order, created = service().place(request["accountId"], request["authorization"], body.to_domain())
    return {"order": OrderView.of(order).model_dump(mode="json"), "created": created}


@app.get("/orders")
def list_orders(
    status: Annotated[OrderStatus | None, Query()] = None,
    ticker: Annotated[str | None, Query(max_length=12, pattern=r"^[A-Za-z0-9]+$")] = None,
    trade_date: Annotated[IsoDate | None, Query(alias="date", description="trade date, YYYY-MM-DD")] = None,
    limit: Annotated[PageLimit, Query()] = 50,
    offset: Annotated[PageOffset, Query()] = 0,
) -> OrderPage:
    account = principal(app).user_id
    items, total = service().search(account, status, ticker, trade_date, limit, offset)
    return OrderPage(items=[OrderView.of(o) for o in items], total=total, limit=limit, offset=offset)


@app.get("/orders/<orderId>")
def get_order(orderId: Annotated[Identifier, Path()]) -> OrderView:
    account = principal(app).user_id
    svc = service()
    order = svc.get(account, orderId)
    return OrderView.of(order, svc.repository.fills(order.order_id))


@app.get("/internal/orders/<orderId>")
def read_back_order(orderId: Annotated[Identifier, Path()]) -> OrderView:
    """For a service (the wallet's reservation sweeper, SigV4): any account's order by id; 404 ORDER_NOT_FOUND
    means it was certainly never stored."""
    service_caller(app)
    return OrderView.of(service().read_back(orderId))


@app.delete("/orders/<orderId>")
def cancel_order(orderId: Annotated[Identifier, Path()]) -> Response[str]:
    order = service().cancel(principal(app).user_id, orderId)
    return _json(202, OrderView.of(order).model_dump(mode="json"))


@app.patch("/orders/<orderId>")
def replace_order(orderId: Annotated[Identifier, Path()], body: Annotated[ReplaceOrderBody, Body()]) -> Response[str]:
    order = service().replace(principal(app).user_id, _authorization(), orderId, body.quantity, body.price_cents)
    return _json(202, OrderView.of(order).model_dump(mode="json"))


@metrics.log_metrics
@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    idempotency.register_lambda_context(context)
    return app.resolve(event, context)
