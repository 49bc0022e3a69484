"""The reports function's routes in-process: the PDF leaves as binary (base64 in the Lambda answer), a missing
note is 404 with its code, and the OpenAPI document describes the PDF answer."""

from __future__ import annotations

import base64
from typing import Any, cast

import pytest
from aws_lambda_powertools.utilities.typing import LambdaContext
from mybroker.wallet.notes import BrokerageNote, note_of
from mybroker.wallet.reservations import Side

from functions.wallet import reports as h
from tests.unit.wallet.test_brokerage_note import TUE, day


def event(path: str) -> dict[str, Any]:
    return {"version": "2.0", "routeKey": "GET /wallet/notes/{tradeDate}/pdf", "rawPath": path, "rawQueryString": "",
            "headers": {}, "isBase64Encoded": False,
            "requestContext": {"http": {"method": "GET", "path": path}, "stage": "$default"}}


def resolve(ev: dict[str, Any]) -> dict[str, Any]:
    return h.app.resolve(ev, cast(LambdaContext, None))


class OneNote:
    def __init__(self, note: BrokerageNote | None) -> None:
        self.n = note

    def note(self, account_id: str, trade_date: object) -> BrokerageNote | None:
        return self.n


@pytest.fixture
def caller(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(h, "me", lambda: "acc")


def test_the_note_pdf_is_binary(caller: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(h, "reports", lambda: OneNote(note_of("acc", TUE, day((Side.BUY, "PETR4", 100, 3840)), 1)))
    out = resolve(event("/wallet/notes/2026-11-24/pdf"))
    assert out["statusCode"] == 200 and out["isBase64Encoded"] is True
    assert base64.b64decode(out["body"]).startswith(b"%PDF-")


def test_no_trades_no_note(caller: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(h, "reports", lambda: OneNote(None))
    out = resolve(event("/wallet/notes/2026-11-24/pdf"))
    assert out["statusCode"] == 404 and '"NOTE_NOT_FOUND"' in out["body"]
    assert resolve(event("/wallet/notes/1999-12-31/pdf"))["statusCode"] == 422


def test_the_openapi_document_describes_the_pdf() -> None:
    assert "application/pdf" in h.app.get_openapi_json_schema()
