"""assets-api: the instrument catalog over HTTP (camelCase JSON). Reads for every user; creating and changing
instruments for the ``admin`` group, each change stored with its ``AssetEvent`` in one transaction (the outbox)
and published to the Kafka ``assets`` topic after the commit; what fails to publish is left for
assets-outbox-sweeper. Thin: parse, call the catalog, shape the answer."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from mybroker.assets.catalog import (
    Instrument,
    InstrumentCreate,
    InstrumentKind,
    InstrumentPatch,
    InstrumentStatus,
    InstrumentView,
)
from mybroker.assets.events import asset_event, event_message
from mybroker.assets.repository import DuplicateInstrument
from mybroker.assets.wiring import catalog, publisher
from mybroker.contracts.api import Camel
from mybroker.contracts.assets import AssetEventType
from mybroker.contracts.requests import PageLimit, PageOffset, TickerText
from mybroker.db import UNAVAILABLE
from mybroker.http import DomainError, NotFound, principal, require_admin, resolver
from mybroker.outbox import OutboxMessage, publish_and_mark
from pydantic import ValidationError

logger = Logger()
metrics = Metrics()
app = resolver("My Broker B3: assets", "/docs/assets", unavailable=UNAVAILABLE)
PUBLISH_TIMEOUT_S = 2.0  # per send, well inside the function's timeout: the answer never waits on a Kafka outage


class InstrumentPage(Camel):
    items: list[InstrumentView]
    total: int
    limit: int
    offset: int


@app.get("/assets")
def list_instruments(
    q: Annotated[str | None, Query(max_length=40, description="part of a ticker or name")] = None,
    kind: Annotated[InstrumentKind | None, Query()] = None,
    status: Annotated[InstrumentStatus | None, Query()] = None,
    limit: Annotated[PageLimit, Query()] = 50,
    offset: Annotated[PageOffset, Query()] = 0,
) -> InstrumentPage:
    principal(app)
    items, total = catalog().search(q.upper() if q else None, kind, status, limit, offset)
    return InstrumentPage(items=[InstrumentView.of(i) for i in items], total=total, limit=limit, offset=offset)


@app.get("/assets/<ticker>")
def get_instrument(ticker: Annotated[TickerText, Path()]) -> InstrumentView:
    principal(app)
    found = catalog().get(ticker.upper().removesuffix("F") if len(ticker) > 5 else ticker.upper())
    if found is None:
        raise NotFound("UNKNOWN_INSTRUMENT", f"no instrument {ticker.upper()}")
    return InstrumentView.of(found)


def publish(stored: list[OutboxMessage]) -> None:
    """After the commit: publish and mark sent. A failure is logged and counted; the rows stay in the outbox for
    assets-outbox-sweeper, and the answer is the same."""
    sent = publish_and_mark(catalog(), publisher(PUBLISH_TIMEOUT_S), stored)
    metrics.add_metric(name="AssetEventsPublished", unit=MetricUnit.Count, value=len(sent))
    if len(sent) < len(stored):
        logger.warning("asset events left for the sweeper",
                       extra={"events": [m.message_id for m in stored if m.outbox_id not in sent]})
        metrics.add_metric(name="AssetEventsDeferred", unit=MetricUnit.Count, value=len(stored) - len(sent))


@app.post("/assets")
def create_instrument(body: InstrumentCreate) -> Response[InstrumentView]:
    admin = require_admin(app)
    instrument = Instrument.model_validate(body.model_dump(by_alias=False))
    event = asset_event(AssetEventType.CREATED, instrument, (), admin.username)
    try:
        stored = catalog().create(instrument, [event_message(event)])
    except DuplicateInstrument as dup:
        raise DomainError("DUPLICATE_INSTRUMENT", f"an instrument with this {dup.field} already exists",
                          409) from None
    publish(stored)
    return Response(status_code=201, content_type=content_types.APPLICATION_JSON, body=InstrumentView.of(instrument))


@app.patch("/assets/<ticker>")
def update_instrument(ticker: Annotated[TickerText, Path()], body: InstrumentPatch) -> InstrumentView:
    admin = require_admin(app)
    current = catalog().get(ticker.upper())
    if current is None:
        raise NotFound("UNKNOWN_INSTRUMENT", f"no instrument {ticker.upper()}")
    try:
        updated, changed = body.apply(current)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise DomainError("VALIDATION_ERROR", f"{'.'.join(str(p) for p in first['loc'])}: {first['msg']}",
                          422) from exc
    if changed:
        suspended = "status" in changed and updated.status is InstrumentStatus.SUSPENDED
        event = asset_event(AssetEventType.SUSPENDED if suspended else AssetEventType.UPDATED, updated, changed,
                            admin.username)
        publish(catalog().update(updated, [event_message(event)]))
    return InstrumentView.of(updated)


@logger.inject_lambda_context
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
