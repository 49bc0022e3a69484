"""streaming-pusher: Kafka ``orders``, ``quotes``, ``trades`` and ``market-data`` (one event source mapping
each, on demand) to the WebSocket connections subscribed to them, through the ``@connections`` API.

Per batch: route each record to its channel, read the channels' connections from the store in one round
trip, post each connection's events in order and connections concurrently with short timeouts; a gone
connection is removed. Then the wallet channel: for each account with wallet subscribers and order events in
the batch, the wallet view once the wallet has applied the newest of them (bounded), read through the
wallet's own store code (read-only). Never raises for a record or a client (an on-demand mapping would
retry the whole batch forever): unreadable records are logged, counted and skipped.
"""

from __future__ import annotations

import base64
import os
import time
from functools import cache
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from mybroker.contracts.orders import OrderEvent
from mybroker.contracts.streaming import PushedEvent, WalletCause, WalletChange
from mybroker.settings import settings
from mybroker.streaming.channels import private_key
from mybroker.streaming.fanout import Fanout, Gone, Routed, plan, route
from mybroker.streaming.redis_store import RedisStore

logger = Logger()
metrics = Metrics()
WALLET_WAIT_S = 2.0


@cache
def redis() -> Any:
    import redis as redis_lib

    return redis_lib.Redis.from_url(settings().redis_url, socket_timeout=1, socket_connect_timeout=1)


@cache
def store() -> RedisStore:
    return RedisStore(redis())


@cache
def management() -> Any:
    import boto3
    from botocore.config import Config

    config = Config(connect_timeout=1, read_timeout=2, retries={"max_attempts": 1, "mode": "standard"},
                    max_pool_connections=32, tcp_keepalive=True)
    return boto3.session.Session().client("apigatewaymanagementapi", endpoint_url=os.environ["WEBSOCKET_CALLBACK_URL"],
                                          region_name=os.environ.get("AWS_REGION", "us-east-1"), config=config)


def post(connection_id: str, payload: bytes) -> None:
    client = management()
    try:
        client.post_to_connection(ConnectionId=connection_id, Data=payload)
    except client.exceptions.GoneException:
        raise Gone(connection_id) from None


@cache
def fanout() -> Fanout:
    return Fanout(post, workers=int(os.environ.get("PUSHER_WORKERS", "16")))


@cache
def wallet_store() -> Any:
    from mybroker.db import engine
    from mybroker.wallet.mysql import MySqlStore

    return MySqlStore(engine())


def wallet_changes(causes: dict[str, OrderEvent]) -> dict[str, WalletChange]:
    """Each account's wallet once the wallet has applied its newest order event, or as it is when the batch's
    one wait (``WALLET_WAIT_S`` for all the accounts together, never per account) ran out. An account whose view
    cannot be read is left out."""
    from mybroker.wallet.service import BuyingPower
    from mybroker.wallet.views import WalletView

    store_ = wallet_store()
    deadline = time.monotonic() + WALLET_WAIT_S
    waiting, applied = dict(causes), set()
    while waiting:
        with store_.transaction() as tx:
            for account_id, cause in list(waiting.items()):
                if tx.event_seen(cause.event_id):
                    applied.add(account_id)
                    del waiting[account_id]
        if not waiting or time.monotonic() >= deadline:
            break
        time.sleep(0.02)
    projected_cash = BuyingPower.from_env(os.environ).projected_cash
    out: dict[str, WalletChange] = {}
    for account_id, cause in causes.items():
        try:
            view = WalletView.read(store_, account_id, projected_cash)
        except Exception:  # the wallet's store unreachable: the order events already went out
            logger.exception("wallet view failed", extra={"account_id": account_id})
            continue
        out[account_id] = WalletChange(
            account_id=account_id, applied=account_id in applied, wallet=view.model_dump(mode="json", by_alias=True),
            cause=WalletCause(event_id=cause.event_id, event_type=cause.event_type.value, order_id=cause.order_id))
    return out


def records_of(event: dict[str, Any]) -> list[tuple[str, bytes | None]]:
    out: list[tuple[str, bytes | None]] = []
    for records in (event.get("records") or {}).values():
        for record in records:
            value = record.get("value")
            out.append((str(record.get("topic", "")), base64.b64decode(value) if value is not None else None))
    return out


def _remove_gone(gone: set[str]) -> None:
    for connection_id in gone:
        store().remove_connection(connection_id)
    if gone:
        logger.info("gone connections removed", extra={"connections": sorted(gone)})


@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    routed: list[Routed] = []
    unreadable = 0
    for topic, value in records_of(event):
        try:
            routed.extend(route(topic, value))
        except ValueError as exc:
            unreadable += 1
            logger.warning("unreadable record skipped", extra={"topic": topic, "error": str(exc)})
    if unreadable:
        metrics.add_metric(name="StreamRecordUnreadable", unit=MetricUnit.Count, value=unreadable)
    newest_order: dict[str, OrderEvent] = {}
    for item in routed:
        if item.order_event is not None:
            newest_order[item.order_event.account_id] = item.order_event
    wallet_keys = {private_key("wallet", a): a for a in newest_order}
    subscribers = store().subscribers([r.key for r in routed] + list(wallet_keys))
    outcome = fanout().send(plan(routed, subscribers))
    posted, gone = outcome.posted, set(outcome.gone)
    wallet_pushes: dict[str, list[PushedEvent]] = {}
    watched = {account: newest_order[account] for key, account in wallet_keys.items() if key in subscribers}
    try:
        changes = wallet_changes(watched) if watched else {}
    except Exception:  # the wallet's store unreachable: the order events already went out
        logger.exception("wallet views failed", extra={"accounts": sorted(watched)})
        changes = {}
    for key, account in wallet_keys.items():
        change = changes.get(account)
        if change is None:
            continue
        for connection_id in subscribers[key] - gone:
            wallet_pushes.setdefault(connection_id, []).append(
                PushedEvent(channel="wallet", data=change.model_dump(mode="json")))
    if wallet_pushes:
        more = fanout().send(wallet_pushes)
        posted += more.posted
        gone |= more.gone
        outcome.failed.update(more.failed)
    _remove_gone(gone)
    if outcome.failed:
        logger.warning("posts failed", extra={"failed": dict(list(outcome.failed.items())[:20])})
    metrics.add_metric(name="StreamPosts", unit=MetricUnit.Count, value=posted)
    return {"records": len(routed) + unreadable, "posted": posted, "gone": len(gone), "failed": len(outcome.failed)}
