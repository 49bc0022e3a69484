"""market-data-trades: the engine's ``TradeEvent``s from the Kafka ``trades`` topic (event source mapping
``market-data-trades``). In simulated mode they set each instrument's last price, day high/low/volume and
bars, and the new quotes go to the cache and the ``quotes`` topic; in mirror mode they are left alone.

The mapping runs on demand (no provisioned poller): a function error makes it retry the whole batch until it
succeeds, so a record that can never be read is reported (log line, ``BadTrades`` metric) and skipped here,
and only our own infrastructure failing raises. Applying a batch twice changes nothing.
"""

from __future__ import annotations

import os
from dataclasses import asdict
from functools import cache
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes import KafkaEvent, event_source
from aws_lambda_powertools.utilities.typing import LambdaContext
from mybroker.contracts.exchange import TradeEvent
from mybroker.market_data import config
from mybroker.market_data.cache import QuoteCache
from mybroker.market_data.publisher import KafkaQuotePublisher
from mybroker.market_data.service import apply_trades
from mybroker.market_data.storage import MongoQuoteStore
from pydantic import ValidationError

logger = Logger()
metrics = Metrics(namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "MyBrokerB3"))


@cache
def store() -> MongoQuoteStore:
    return config.store()  # one per execution environment: its schema check runs once


@cache
def quote_cache() -> QuoteCache:
    return config.quote_cache()


@cache
def publisher() -> KafkaQuotePublisher:
    return KafkaQuotePublisher.connect(config.topic())


def read_trades(event: KafkaEvent) -> list[TradeEvent]:
    trades: list[TradeEvent] = []
    bad = 0
    for record in event.records:
        try:
            trades.append(TradeEvent.model_validate_json(record.decoded_value))
        except (ValidationError, ValueError) as exc:
            bad += 1
            logger.warning("unreadable trade skipped", extra={
                "partition": record.partition, "offset": record.offset, "error": str(exc).splitlines()[0]})
    if bad:
        metrics.add_metric("BadTrades", MetricUnit.Count, bad)
    return trades


@metrics.log_metrics
@logger.inject_lambda_context
@event_source(data_class=KafkaEvent)
def handler(event: KafkaEvent, context: LambdaContext) -> dict[str, Any]:
    trades = read_trades(event)
    mode = config.mode()
    if mode != "simulated":  # the feed owns prices: no store, cache or producer is touched
        return {"trades": len(trades), "ignored": "mirror mode: the feed sets prices"}
    report = apply_trades(trades, store(), quote_cache(), publisher(), mode)
    metrics.add_metric("TradesApplied", MetricUnit.Count, report.applied)
    logger.info("trades applied", extra={"report": asdict(report)})
    return asdict(report)
