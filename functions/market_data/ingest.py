"""market-data-ingest: fired every minute of the session by the ``quote-ingestion`` schedule.

Thin: take "now" from the scheduled event, run one ingestion pass, turn its report into logs and metrics.
Provider trouble never raises (the schedule must not stop); our own infrastructure failing does, so the
asynchronous invocation is retried (every step is idempotent).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from mybroker.market_data import config
from mybroker.market_data.cache import QuoteCache
from mybroker.market_data.provider import QuoteProvider
from mybroker.market_data.publisher import KafkaQuotePublisher, QuotePublisher
from mybroker.market_data.service import IngestReport, ingest_once
from mybroker.market_data.storage import MongoQuoteStore

logger = Logger()
metrics = Metrics(namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "MyBrokerB3"))


@dataclass(frozen=True)
class Deps:
    provider: QuoteProvider
    store: MongoQuoteStore
    cache: QuoteCache
    publisher: QuotePublisher


@cache
def deps() -> Deps:
    """Built once per execution environment and kept warm (connections, the feed's caches)."""
    kafka = KafkaQuotePublisher.connect(config.topic())
    return Deps(config.provider(), config.store(), config.quote_cache(), kafka)


def event_time(event: dict[str, Any]) -> datetime:
    """The scheduled event's ``time`` (the local runtime's clock drives it); wall time if absent/bad."""
    text = event.get("time") if isinstance(event, dict) else None
    if isinstance(text, str):
        try:
            parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
        except ValueError:
            logger.warning("scheduled event with an unreadable time", extra={"time": text})
    return datetime.now(UTC)


def emit(report: IngestReport) -> None:
    metrics.add_metric("QuotesFetched", MetricUnit.Count, report.fetched)
    metrics.add_metric("QuotesPublished", MetricUnit.Count, report.published)
    failures = len(report.failed) + (1 if report.provider_error else 0)
    metrics.add_metric("ProviderFailures", MetricUnit.Count, failures)
    metrics.add_metric("BadRecords", MetricUnit.Count, len(report.bad_records))
    metrics.add_metric("ProviderRetries", MetricUnit.Count, report.retries)
    metrics.add_metric("IngestDuration", MetricUnit.Milliseconds, report.duration_ms)
    if report.cache_rebuilt is not None:
        metrics.add_metric("CacheRebuilt", MetricUnit.Count, report.cache_rebuilt)
    if report.provider_error or report.failed:
        logger.warning("quote provider trouble", extra={"provider_error": report.provider_error,
                                                        "failed": report.failed})
    if report.bad_records:
        logger.warning("bad quote records skipped", extra={"bad_records": report.bad_records})
    logger.info("ingestion pass", extra={"report": report.as_dict()})


@metrics.log_metrics
@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    d = deps()
    report = ingest_once(event_time(event), config.tickers(), d.provider, d.store, d.cache, d.publisher,
                         mode=config.mode(), always=config.ingest_always())
    emit(report)
    return report.as_dict()
