"""assets-api: the instrument catalog over HTTP. Thin: parse, call the catalog, shape the answer."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.utilities.typing import LambdaContext
from mybroker.assets.catalog import InstrumentKind, InstrumentStatus, InstrumentView
from mybroker.assets.repository import Catalog, MySqlCatalog
from mybroker.db import engine
from mybroker.http import NotFound, principal, resolver
from pydantic import BaseModel

logger = Logger()
app = resolver("My Broker B3: assets", "/docs/assets")
_catalog: Catalog | None = None


def catalog() -> Catalog:
    global _catalog
    if _catalog is None:
        _catalog = MySqlCatalog(engine())
    return _catalog


class InstrumentPage(BaseModel):
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


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
