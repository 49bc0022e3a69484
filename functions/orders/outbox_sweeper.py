"""orders-outbox-sweeper (every minute): publishes outbox messages that a crash or a broker outage left unsent
between an order's commit and its publish. Duplicates are harmless: the engine ignores a command id it has
journaled, and event consumers dedupe by event_id."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from mybroker.orders.wiring import service

logger = Logger()
metrics = Metrics()


@metrics.log_metrics
@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    sent = service(http=False).sweep()
    metrics.add_metric(name="OutboxSwept", unit=MetricUnit.Count, value=sent)
    if sent:
        logger.warning("published outbox messages left behind", extra={"sent": sent})
    return {"sent": sent}
