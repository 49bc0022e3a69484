"""A store that is unreachable is a 503 with a code and a Retry-After, never a bare 500 (found by the fault
suite: while MariaDB was down, GET /wallet, withdrawals and cancels answered ``Internal Server Error``)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from mybroker.db import UNAVAILABLE
from mybroker.http import resolver
from sqlalchemy import create_engine, text


def http_api_event(path: str) -> dict[str, Any]:
    return {"version": "2.0", "routeKey": f"GET {path}", "rawPath": path, "rawQueryString": "", "headers": {},
            "requestContext": {"http": {"method": "GET", "path": path, "sourceIp": "127.0.0.1"},
                               "stage": "$default", "requestId": "r1"}, "isBase64Encoded": False}


@pytest.fixture(scope="module")
def app() -> Any:
    app = resolver("test", "/docs/test", unavailable=UNAVAILABLE)
    nowhere = create_engine("mysql+pymysql://u:p@127.0.0.1:1/none", connect_args={"connect_timeout": 2})

    @app.get("/balance")
    def balance() -> dict[str, int]:
        with nowhere.connect() as c:  # port 1: nothing listens, pymysql's connection is refused
            return {"cents": int(c.execute(text("select 1")).scalar_one())}

    @app.get("/bug")
    def bug() -> dict[str, int]:
        raise KeyError("a bug stays a bug")

    return app


def test_an_unreachable_database_is_a_503_with_a_code(app: Any) -> None:
    answer = app.resolve(http_api_event("/balance"), None)
    assert answer["statusCode"] == 503
    assert json.loads(answer["body"])["code"] == "SERVICE_UNAVAILABLE"
    assert answer["headers"]["Retry-After"] == "1"


def test_other_errors_are_not_passed_off_as_unavailability(app: Any) -> None:
    with pytest.raises(KeyError):
        app.resolve(http_api_event("/bug"), None)
