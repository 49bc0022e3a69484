"""Every route the SDK calls exists in the services' OpenAPI specs with its method, and every field the SDK
sends or reads is in the schemas (specs fetched from the running API)."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel

from mybroker_client import models
from mybroker_client.client import Client

pytestmark = pytest.mark.stack

# (service, method, path, request model or None, response schema name, response model)
ROUTES: list[tuple[str, str, str, type[BaseModel] | None, str | None, type[BaseModel] | None]] = [
    ("assets", "get", "/assets", None, "InstrumentPage", models.InstrumentPage),
    ("assets", "post", "/assets", models.InstrumentCreate, "InstrumentView", models.Instrument),
    ("assets", "get", "/assets/{ticker}", None, "InstrumentView", models.Instrument),
    ("assets", "patch", "/assets/{ticker}", models.InstrumentPatch, "InstrumentView", models.Instrument),
    ("orders", "post", "/orders", models.PlaceOrder, "OrderView", models.Order),
    ("orders", "get", "/orders", None, "OrderPage", models.OrderPage),
    ("orders", "get", "/orders/{orderId}", None, "OrderView", models.Order),
    ("orders", "delete", "/orders/{orderId}", None, "OrderView", models.Order),
    ("orders", "patch", "/orders/{orderId}", models.ReplaceOrder, "OrderView", models.Order),
    ("wallet", "get", "/wallet", None, "WalletView", models.Wallet),
    ("wallet", "post", "/wallet/deposits", models.Transfer, "TransferView", models.TransferResult),
    ("wallet", "post", "/wallet/withdrawals", models.Transfer, "TransferView", models.TransferResult),
    ("wallet", "get", "/wallet/positions", None, "PositionsView", models.Positions),
    ("wallet", "get", "/wallet/statement", None, "StatementView", models.Statement),
    ("market-data", "get", "/quotes", None, "QuotesPage", models.QuotesPage),
    ("market-data", "get", "/quotes/{ticker}", None, "QuoteView", models.Quote),
    ("market-data", "get", "/quotes/{ticker}/history", None, "History", models.History),
    ("market-data", "get", "/market/status", None, "MarketStatus", models.MarketStatus),
    ("market-data", "get", "/market/book/{ticker}", None, "BookView", models.BookSnapshot),
]
NESTED = {models.Order: {"fills": "FillView"}, models.OrderPage: {"items": "OrderView"},
          models.Positions: {"items": "PositionView"}, models.Statement: {"items": "StatementLineView"},
          models.TransferResult: {"wallet": "WalletView"}, models.InstrumentPage: {"items": "InstrumentView"},
          models.QuotesPage: {"quotes": "QuoteView"}, models.History: {"bars": "BarView"},
          models.MarketStatus: {"windows": "WindowView"}, models.BookSnapshot: {"bids": "PriceLevelView"}}
SUB: dict[str, type[BaseModel]] = {"FillView": models.Fill, "OrderView": models.Order, "PositionView": models.Position,
       "StatementLineView": models.StatementLine, "WalletView": models.Wallet, "InstrumentView": models.Instrument,
       "QuoteView": models.Quote, "BarView": models.Bar, "WindowView": models.SessionWindow,
       "PriceLevelView": models.PriceLevel}
QUERY = {"/orders": {"status", "ticker", "date", "limit", "offset"},
         "/wallet/statement": {"from", "to", "asset", "limit", "cursor"},
         "/assets": {"q", "kind", "status", "limit", "offset"}, "/quotes": {"tickers"},
         "/quotes/{ticker}/history": {"interval", "start", "end", "limit"}, "/market/status": {"at"}}


@pytest.fixture(scope="module")
def specs() -> dict[str, dict[str, Any]]:
    c = Client("http://127.0.0.1:3000")
    return {s: c.openapi(s) for s in ("assets", "orders", "wallet", "market-data")}


def _wire_names(model: type[BaseModel]) -> set[str]:
    return {f.alias or name for name, f in model.model_fields.items()}


@pytest.mark.parametrize(("service", "method", "path", "request_model", "schema", "response_model"), ROUTES,
                         ids=[f"{m.upper()} {p}" for _, m, p, *_ in ROUTES])
def test_route_and_fields(specs: dict[str, dict[str, Any]], service: str, method: str, path: str,
                          request_model: type[BaseModel] | None, schema: str | None,
                          response_model: type[BaseModel] | None) -> None:
    spec = specs[service]
    assert path in spec["paths"] and method in spec["paths"][path], f"{method.upper()} {path} not in {service}"
    schemas = spec["components"]["schemas"]
    op = spec["paths"][path][method]
    if request_model is not None:
        ref = op["requestBody"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
        missing = _wire_names(request_model) - set(schemas[ref]["properties"])
        assert not missing, f"{request_model.__name__} sends fields {ref} lacks: {missing}"
    if path in QUERY and method == "get":
        names = {p["name"] for p in op.get("parameters", []) if p["in"] == "query"}
        assert QUERY[path] <= names, f"query parameters missing: {QUERY[path] - names}"
    if schema is not None and response_model is not None:
        props = set(schemas[schema]["properties"])
        missing = _wire_names(response_model) - props
        assert not missing, f"{response_model.__name__} reads fields {schema} lacks: {missing}"
        for sub in NESTED.get(response_model, {}).values():
            assert not _wire_names(SUB[sub]) - set(schemas[sub]["properties"]), sub
