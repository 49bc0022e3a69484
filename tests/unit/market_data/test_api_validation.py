"""market-data-api paths that need no data: auth, validation, session status, Swagger."""

from __future__ import annotations

import pytest

from functions.market_data import handler
from tests.unit.market_data.helpers import call


def test_every_data_route_needs_a_caller() -> None:
    for path, query in (("/quotes", {"tickers": "PETR4"}), ("/quotes/PETR4", None),
                        ("/quotes/PETR4/history", None), ("/market/status", None)):
        status, body = call(handler.handler, path, query, user=None)
        assert status == 401 and body["code"] == "UNAUTHENTICATED", path


@pytest.mark.parametrize(("path", "query", "field"), [
    ("/quotes/PETROBRAS", None, "ticker"),
    ("/quotes/pe%27tr", None, "ticker"),
    ("/quotes/PETR4/history", {"interval": "2m"}, "interval"),
    ("/quotes/PETR4/history", {"start": "yesterday"}, "start"),
    ("/quotes/PETR4/history", {"limit": "0"}, "limit"),
    ("/quotes/PETR4/history", {"start": "2025-11-18T00:00:00Z", "end": "2025-11-17T00:00:00Z"}, "start"),
    ("/quotes", {"tickers": "PETR4,DROP TABLE"}, "tickers"),
    ("/quotes", {"tickers": ",".join(f"ABCD{i}" for i in range(1, 10)) + "," + ",".join(
        f"WXYZ{i}" for i in range(10, 60))}, "tickers"),
    ("/quotes", {}, "tickers"),
])
def test_bad_input_is_422_with_the_field(path: str, query: dict[str, str] | None, field: str) -> None:
    status, body = call(handler.handler, path, query)
    assert status == 422, body
    assert body["code"] == "VALIDATION_ERROR" and any(e["field"] == field for e in body["errors"]), body


def test_market_status() -> None:
    status, body = call(handler.handler, "/market/status", {"at": "2025-11-17T17:56:00-03:00"})
    assert status == 200, body
    assert body["phase"] == "CLOSING_CALL" and body["tradingDay"] and body["variant"] == "us-standard"
    assert body["nextPhase"] == "CLOSED" and body["nextChangeAt"].startswith("2025-11-17T18:00:00")
    assert [w["phase"] for w in body["windows"]][:3] == ["PRE_OPEN", "OPENING_AUCTION", "CONTINUOUS"]
    status, body = call(handler.handler, "/market/status", {"at": "2025-11-20T12:00:00"})
    assert body["phase"] == "CLOSED" and not body["tradingDay"] and body["windows"] == []
    # the web app's D+n labels: B3's calendar ahead, Christmas Eve, Christmas and New Year's Eve skipped (the
    # browser test saw "D+4" for a D+2 settlement when it counted Monday to Friday)
    status, body = call(handler.handler, "/market/status", {"at": "2026-12-23T15:00:00-03:00"})
    assert body["nextTradingDays"] == ["2026-12-28", "2026-12-29", "2026-12-30", "2027-01-04", "2027-01-05"]
    status, body = call(handler.handler, "/market/status")
    assert status == 200 and body["phase"] in {"CLOSED", "PRE_OPEN", "OPENING_AUCTION", "CONTINUOUS", "CLOSING_CALL",
                                               "AFTER_MARKET", "POST_CLOSE"}


def test_swagger_is_public() -> None:
    status, body = call(handler.handler, "/docs/market-data", user=None)
    assert status == 200 and "swagger" in str(body).lower()
