"""wallet-settlement: the EventBridge Scheduler job that settles trades at T+2 business days on the B3
calendar. "Today" is the scheduled event's ``time`` in Brasília, so tests drive the clock. Idempotent."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from mybroker.db import engine
from mybroker.wallet.floor_metric import reported
from mybroker.wallet.mysql import MySqlStore
from mybroker.wallet.service import Wallet

logger = Logger()
metrics = Metrics()
SAO_PAULO = ZoneInfo("America/Sao_Paulo")


@cache
def wallet() -> Wallet:
    return Wallet(MySqlStore(engine()))


def business_today(event: dict[str, Any]) -> datetime:
    raw = event.get("time")
    when = datetime.fromisoformat(str(raw).replace("Z", "+00:00")) if raw else datetime.now(UTC)
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(SAO_PAULO)


@logger.inject_lambda_context
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    today = business_today(event).date()
    with reported():  # a settlement the floor refuses fails the run (retried by the next) and alarms
        settled = wallet().settle_due(today)
    logger.info("settlement run", extra={"today": today.isoformat(), "settled": settled})
    metrics.add_metric(name="TradesSettled", unit=MetricUnit.Count, value=settled)
    return {"today": today.isoformat(), "settled": settled}
