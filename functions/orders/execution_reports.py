"""orders-execution-reports: the engine's execution reports (RabbitMQ ``broker.execution-reports`` through the
Amazon MQ event source mapping) applied to orders, each once, with the resulting order events in the outbox.

A function error makes the mapping redeliver the whole batch, so: every report is applied idempotently
(dedupe on (instrument, exec_id) in the same transaction as the change), a malformed message is logged and
skipped, and only transient errors (the database or a broker unreachable) raise.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes.rabbit_mq_event import RabbitMQEvent
from aws_lambda_powertools.utilities.typing import LambdaContext
from mybroker.contracts.engine import ExecutionReportMessage
from mybroker.orders.wiring import service
from pydantic import ValidationError

logger = Logger()
metrics = Metrics()


def parse(event: dict[str, Any]) -> tuple[list[ExecutionReportMessage], int]:
    """The reports in the batch, and how many messages were not reports (skipped)."""
    reports: list[ExecutionReportMessage] = []
    malformed = 0
    for queue, messages in RabbitMQEvent(event).rmq_messages_by_queue.items():
        for m in messages:
            try:
                reports.append(ExecutionReportMessage.model_validate_json(m.decoded_data))
            except (ValidationError, ValueError, TypeError) as exc:
                malformed += 1
                logger.error("skipping a malformed execution report", extra={
                    "queue": queue, "message_id": m.basic_properties.message_id, "error": str(exc)[:500]})
    return reports, malformed


@metrics.log_metrics
@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    reports, malformed = parse(event)
    result = service(rabbitmq=False, http=False).handle_reports(reports)
    result.malformed = malformed
    metrics.add_metric(name="ExecutionReportsApplied", unit=MetricUnit.Count, value=result.applied)
    metrics.add_metric(name="ExecutionReportsDuplicate", unit=MetricUnit.Count, value=result.duplicates)
    logger.info("execution reports", extra={"applied": result.applied, "duplicates": result.duplicates,
                                            "malformed": malformed})
    return {"applied": result.applied, "duplicates": result.duplicates, "malformed": malformed}
