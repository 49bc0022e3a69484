"""assets-api: the instrument catalog over HTTP (camelCase JSON). Reads for every user; creating and changing
instruments for the ``admin`` group, each change published as an ``AssetEvent`` on the Kafka ``assets``
topic. Thin: parse, call the catalog, shape the answer."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from mybroker.assets.catalog import (
    CAMEL,
    Instrument,
    InstrumentCreate,
    InstrumentKind,
    InstrumentPatch,
    InstrumentStatus,
    InstrumentView,
)
from mybroker.assets.events import AssetEvents, KafkaAssetEvents, asset_event
from mybroker.assets.repository import Catalog, MySqlCatalog
from mybroker.contracts.assets import AssetEventType
from mybroker.db import engine
from mybroker.http import DomainError, NotFound, principal, require_admin, resolver
from mybroker.settings import settings
from pydantic import BaseModel, ValidationError

logger = Logger()
tracer = Tracer()
metrics = Metrics()
app = resolver("My Broker B3: assets", "/docs/assets")
_catalog: Catalog | None = None
_events: AssetEvents | None = None


def catalog() -> Catalog:
    global _catalog
    if _catalog is None:
        _catalog = MySqlCatalog(engine())
    return _catalog


def events() -> AssetEvents:
    global _events
    if _events is None:
        _events = KafkaAssetEvents(settings().kafka_bootstrap_servers, settings().kafka_security_protocol)
    return _events


class InstrumentPage(BaseModel):
    model_config = CAMEL
    items: list[InstrumentView]
    total: int
    limit: int
    offset: int


@app.get("/assets")
def list_instruments(
    q: Annotated[str | None, Query(max_length=40, description="part of a ticker or name")] = None,
    kind: Annotated[InstrumentKind | None, Query()] = None,
    status: Annotated[InstrumentStatus | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> InstrumentPage:
    principal(app)
    items, total = catalog().search(q.upper() if q else None, kind, status, limit, offset)
    return InstrumentPage(items=[InstrumentView.of(i) for i in items], total=total, limit=limit, offset=offset)


@app.get("/assets/<ticker>")
def get_instrument(ticker: str) -> InstrumentView:
    principal(app)
    found = catalog().get(ticker.upper().removesuffix("F") if len(ticker) > 5 else ticker.upper())
    if found is None:
        raise NotFound("UNKNOWN_INSTRUMENT", f"no instrument {ticker.upper()}")
    return InstrumentView.of(found)


def publish(kind: AssetEventType, instrument: Instrument, changed: tuple[str, ...], actor: str) -> None:
    """After the commit. No outbox yet: a failed publish is logged and counted, the change stands."""
    try:
        events().publish(asset_event(kind, instrument, changed, actor))
        metrics.add_metric(name="AssetEventsPublished", unit=MetricUnit.Count, value=1)
    except Exception:
        logger.exception("asset event not published", extra={"ticker": instrument.ticker, "type": kind.value})
        metrics.add_metric(name="AssetEventsLost", unit=MetricUnit.Count, value=1)


@app.post("/assets")
def create_instrument(body: InstrumentCreate) -> Response[InstrumentView]:
    admin = require_admin(app)
    instrument = Instrument.model_validate(body.model_dump(by_alias=False))
    clash = catalog().create(instrument)
    if clash is not None:
        raise DomainError("DUPLICATE_INSTRUMENT", f"an instrument with this {clash} already exists", 409)
    publish(AssetEventType.CREATED, instrument, (), admin.username)
    return Response(status_code=201, content_type=content_types.APPLICATION_JSON, body=InstrumentView.of(instrument))


@app.patch("/assets/<ticker>")
def update_instrument(ticker: str, body: InstrumentPatch) -> InstrumentView:
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
        catalog().update(updated)
        suspended = "status" in changed and updated.status is InstrumentStatus.SUSPENDED
        publish(AssetEventType.SUSPENDED if suspended else AssetEventType.UPDATED, updated, changed, admin.username)
    return InstrumentView.of(updated)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
