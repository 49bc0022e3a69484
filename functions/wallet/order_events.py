"""wallet-order-events: ``OrderEvent``s from the Kafka ``orders`` topic (event source mapping
``wallet-order-events``) move reserved money and shares. One record, one transaction; a record that fails is
reported in ``batchItemFailures`` and retried from there, so the records before it are not redone (and would
be deduped by event id if they were)."""

from __future__ import annotations

from functools import cache
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.kafka_event import KafkaEventRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from mybroker.contracts.orders import parse_order_event
from mybroker.db import engine, retry_deadlocks
from mybroker.wallet.mysql import MySqlStore
from mybroker.wallet.service import Wallet

logger = Logger()
tracer = Tracer()
metrics = Metrics()
processor = BatchProcessor(event_type=EventType.Kafka)


@cache
def wallet() -> Wallet:
    return Wallet(MySqlStore(engine()))


@tracer.capture_method
def record_handler(record: KafkaEventRecord) -> str:
    event = parse_order_event(record.decoded_value)  # a malformed record fails (and ends in esm-failures)
    # one transaction per event, deduped by event id: a deadlock with a reservation is simply run again
    outcome = retry_deadlocks(lambda: wallet().apply_order_event(event))
    logger.info("order event", extra={"event_id": event.event_id, "event_type": event.event_type.value,
                                      "order_id": event.order_id, "outcome": outcome.value,
                                      "partition": record.partition, "offset": record.offset})
    metrics.add_metric(name=f"OrderEvent{outcome.value.title().replace('_', '')}", unit=MetricUnit.Count, value=1)
    return outcome.value


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
