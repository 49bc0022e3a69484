"""streaming-connections: the WebSocket API's ``$connect``, ``$disconnect``, ``subscribe``, ``unsubscribe``,
``ping`` and ``$default`` routes. The account is the authorizer's (the token's ``sub``); the answer to a
client frame is the route's response. Thin: the protocol is ``mybroker.streaming.protocol``."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext
from mybroker.contracts.exchange import BOOK_KEY
from mybroker.contracts.streaming import PROTOCOL, ErrorFrame
from mybroker.settings import settings
from mybroker.streaming import protocol
from mybroker.streaming.redis_store import RedisStore
from mybroker.streaming.store import Connection

logger = Logger()


@cache
def redis() -> Any:
    import redis as redis_lib

    return redis_lib.Redis.from_url(settings().redis_url, socket_timeout=1, socket_connect_timeout=1)


@cache
def store() -> RedisStore:
    return RedisStore(redis())


def book(ticker: str) -> dict[str, Any] | None:
    raw = redis().get(BOOK_KEY.format(instrument=ticker))
    value = json.loads(raw) if raw else None
    return value if isinstance(value, dict) else None


def _offers_protocol(headers: dict[str, str] | None) -> bool:
    offered = next((v for k, v in (headers or {}).items() if k.lower() == "sec-websocket-protocol"), "")
    return PROTOCOL in [p.strip() for p in offered.split(",")]


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    rc = event["requestContext"]
    route, connection_id = rc["routeKey"], rc["connectionId"]
    account = str((rc.get("authorizer") or {}).get("accountId") or "")
    if route == "$disconnect":
        store().remove_connection(connection_id)
        return {"statusCode": 200}
    if not account:  # every route runs behind the $connect authorizer; this is a misconfiguration
        logger.error("no authorizer context", extra={"route": route})
        return {"statusCode": 403}
    connection = Connection(connection_id, account, int(rc.get("connectedAt") or rc.get("requestTimeEpoch") or 0))
    if route == "$connect":
        store().add_connection(connection)
        logger.info("connected", extra={"connection_id": connection_id, "account_id": account})
        headers = {"Sec-WebSocket-Protocol": PROTOCOL} if _offers_protocol(event.get("headers")) else {}
        return {"statusCode": 200, "headers": headers}
    try:
        body = protocol.handle(event.get("body"), connection, store(), book)
    except Exception:  # the client gets a machine-readable answer, never a dropped frame
        logger.exception("client frame failed", extra={"route": route})
        body = ErrorFrame(code="INTERNAL_ERROR", message="try again").to_json()
    return {"statusCode": 200, "body": body}
