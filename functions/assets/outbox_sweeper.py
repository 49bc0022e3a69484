"""assets-outbox-sweeper (every minute): publishes the asset events that a crash or a Kafka outage left unsent
between an instrument's commit and its publish. Duplicates are harmless: an event keeps its event_id, and
consumers dedupe by it (or keep the newest per ticker)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from mybroker.assets.wiring import catalog, publisher
from mybroker.outbox import sweep

logger = Logger()
metrics = Metrics()
MIN_AGE = timedelta(seconds=5)  # younger rows may still be in their request's hands


@metrics.log_metrics
@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    sent = sweep(catalog(), publisher(), datetime.now(UTC) - MIN_AGE)
    metrics.add_metric(name="OutboxSwept", unit=MetricUnit.Count, value=sent)
    if sent:
        logger.warning("published asset events left behind", extra={"sent": sent})
    return {"sent": sent}
