"""wallet-order-events: ``OrderEvent``s from the Kafka ``orders`` topic (event source mapping
``wallet-order-events``, on demand) move reserved money and shares.

One record, one transaction, in partition order. A record that can never be read (not an order event) is
parked on ``esm-failures`` with the reason and skipped. Anything else that fails (MySQL down, a deadlock that
outlived its retries) raises: the mapping retries the whole batch until it succeeds, and the records already
applied are deduped by event id, so no money moves twice and a later event never overtakes an earlier one.
"""

from __future__ import annotations

import os
from functools import cache
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes import KafkaEvent, event_source
from aws_lambda_powertools.utilities.data_classes.kafka_event import KafkaEventRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from mybroker.contracts.orders import OrderEvent, parse_order_event
from mybroker.db import engine, retry_deadlocks
from mybroker.dead_letter import DeadLetters
from mybroker.wallet.floor_metric import floor_refused
from mybroker.wallet.mysql import MySqlStore
from mybroker.wallet.service import EventOutcome, Wallet
from pydantic import ValidationError

logger = Logger()
metrics = Metrics()


@cache
def wallet() -> Wallet:
    return Wallet(MySqlStore(engine()))


@cache
def dead_letters() -> DeadLetters:
    return DeadLetters(os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "wallet-order-events"))


def read(record: KafkaEventRecord) -> OrderEvent | None:
    """The record's event, or None once it is parked as unreadable."""
    try:
        return parse_order_event(record.decoded_value)
    except (ValidationError, ValueError, TypeError) as exc:  # not JSON, not UTF-8, no value, not an event
        reason = str(exc).splitlines()[0]
        dead_letters().park(record.raw_event, reason)
        logger.warning("unreadable order event parked on esm-failures",
                       extra={"partition": record.partition, "offset": record.offset, "error": reason})
        metrics.add_metric(name="OrderEventUnreadable", unit=MetricUnit.Count, value=1)
        return None


def apply(event: OrderEvent, record: KafkaEventRecord) -> str:
    # one transaction per event, deduped by event id: a deadlock with a reservation is simply run again
    outcome = retry_deadlocks(lambda: wallet().apply_order_event(event))
    logger.info("order event", extra={"event_id": event.event_id, "event_type": event.event_type.value,
                                      "order_id": event.order_id, "outcome": outcome.value,
                                      "partition": record.partition, "offset": record.offset})
    metrics.add_metric(name=f"OrderEvent{outcome.value.title().replace('_', '')}", unit=MetricUnit.Count, value=1)
    if outcome is EventOutcome.FLOOR_REFUSED:
        floor_refused()  # alarmed: an order's fill or release would have gone below zero
    return outcome.value


@logger.inject_lambda_context
@metrics.log_metrics
@event_source(data_class=KafkaEvent)
def handler(event: KafkaEvent, context: LambdaContext) -> dict[str, Any]:
    outcomes: dict[str, int] = {}
    for record in event.records:
        parsed = read(record)
        outcome = "UNREADABLE" if parsed is None else apply(parsed, record)
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    return {"outcomes": outcomes}
