"""The client's pure parts: money, config, the token cache, error mapping, reconciliation and exit codes."""

from __future__ import annotations

import json
import stat
from datetime import UTC, date, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from mybroker_client import cli, render
from mybroker_client.auth import Session, TokenStore
from mybroker_client.client import Client, _error
from mybroker_client.config import ConfigError, Target, deployed_target
from mybroker_client.models import Order, Positions, Side, Wallet
from mybroker_client.reconcile import check_ledger, compare, expected_from

NOW = datetime(2026, 11, 25, 14, 0, tzinfo=UTC)


def order(oid: str, status: str = "NEW", leaves: int = 100, side: str = "BUY", ticker: str = "PETR4",
          fills: list[tuple[int, int, int]] | None = None) -> Order:
    return Order.model_validate({
        "orderId": oid, "clientOrderId": oid, "ticker": ticker, "side": side, "orderType": "LIMIT",
        "timeInForce": "DAY", "quantity": 100, "priceCents": 3500, "selfTradePrevention": "CANCEL_AGGRESSOR",
        "status": status, "cumQuantity": 100 - leaves, "leavesQuantity": leaves, "avgPriceCents": 0,
        "tradeDate": "2026-11-25", "createdAt": NOW.isoformat(),
        "fills": [{"execId": i, "tradeId": i, "quantity": q, "priceCents": p, "feesCents": f,
                   "occurredAt": NOW.isoformat()} for i, (q, p, f) in enumerate(fills or [])]})


@pytest.mark.parametrize(("text", "cents"), [("35.75", 3575), ("35,75", 3575), ("R$ 1000", 100000), ("0.01", 1),
                                             ("1_000.5", 100050)])
def test_parse_cents(text: str, cents: int) -> None:
    assert render.parse_cents(text) == cents


@pytest.mark.parametrize("text", ["35.755", "-1", "0", "abc", "1.234,56"])
def test_parse_cents_refuses(text: str) -> None:
    with pytest.raises(ValueError):
        render.parse_cents(text)


def test_brl_formats_brazilian_style() -> None:
    assert render.brl(123456789) == "R$ 1.234.567,89"
    assert render.brl(-5) == "-R$ 0,05"
    assert render.price(3575) == "35.75"


def test_token_store_is_private(tmp_path: Path) -> None:
    store = TokenStore("alice", tmp_path / "home")
    store.save(Session(target=Target(api_url="http://x", user_pool_id="p", client_id="c"), username="a",
                       access_token="t", refresh_token="r", expires_at=1.0))
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600
    loaded = store.load()
    assert loaded is not None and loaded.refresh_token == "r"
    assert store.delete() and store.load() is None
    with pytest.raises(ValueError):
        TokenStore("../evil", tmp_path)


def test_deployed_target_from_cdk_outputs(tmp_path: Path) -> None:
    f = tmp_path / "outputs.json"
    f.write_text(json.dumps({"MyBrokerB3": {"ApiUrl": "https://abc.execute-api.sa-east-1.amazonaws.com/",
                                            "UserPoolId": "sa-east-1_XYZ", "UserPoolClientId": "cid",
                                            "EngineHostId": "i-1"}}))
    t = deployed_target(f)
    assert (t.api_url, t.region, t.client_id, t.local) == ("https://abc.execute-api.sa-east-1.amazonaws.com",
                                                           "sa-east-1", "cid", False)
    f.write_text("{}")
    with pytest.raises(ConfigError):
        deployed_target(f)


def test_error_mapping() -> None:
    e = _error(422, b'{"code": "INSUFFICIENT_FUNDS", "message": "no money", "field": "quantity"}')
    assert (e.status, e.code, e.message, e.field, e.unavailable) == (422, "INSUFFICIENT_FUNDS", "no money",
                                                                      "quantity", False)
    assert _error(401, b'{"message":"Unauthorized"}').code == "UNAUTHORIZED"
    assert _error(500, b'{"message":"Internal Server Error"}').unavailable
    assert _error(422, b'{"detail":[{"loc":["body","quantity"],"msg":"too big"}]}').code == "VALIDATION_ERROR"


def test_compare_agrees_with_the_orders_service() -> None:
    from mybroker.orders import reconcile as broker

    ours = [order("a", leaves=100), order("b", leaves=50, status="PARTIALLY_FILLED"), order("c", leaves=100),
            order("d", status="PENDING_NEW"), order("e", status="FILLED", leaves=0)]
    engine = {"PETR4": {"a": 100, "b~1": 40, "e": 100, "MM-1": 500}}
    mine = {(d.kind, d.order_id) for d in compare(ours, engine)}
    assert mine == {("LEAVES_MISMATCH", "b"), ("MISSING_IN_ENGINE", "c"), ("UNKNOWN_TO_BROKER", "e")}
    # the same open orders through the service's own compare (duck-typed: it reads these attributes only)
    theirs_in = [SimpleNamespace(instrument=o.ticker, order_id=o.order_id, status=o.status,
                                 leaves_quantity=o.leaves_quantity,
                                 engine_client_order_id="b~1" if o.order_id == "b" else o.order_id)
                 for o in ours if o.status.open]
    agents_out = {i: {k: v for k, v in b.items() if not k.startswith("MM-")} for i, b in engine.items()}
    theirs = {(d.kind, d.order_id) for d in broker.compare(theirs_in, agents_out)}  # type: ignore[arg-type]
    assert theirs == mine


def test_ledger_check() -> None:
    orders = [order("a", status="FILLED", leaves=0, fills=[(100, 3500, 10)]),
              order("s", side="SELL", status="FILLED", leaves=0, fills=[(100, 3600, 11)])]
    exp = expected_from(1_000_000, orders, {date(2026, 11, 20)})
    assert exp.cash_cents == 1_000_000 - 350_010 + 359_989 and exp.unsettled_buys_cents == 350_010
    assert exp.shares == {"PETR4": 0}
    w = Wallet(account_id="x", available_cents=649_990, reserved_cents=0, receivable_cents=359_989,
               payable_cents=350_010)
    assert check_ledger("u", exp, w, Positions(items=[], market_value_cents=0), 0) == []
    bad = w.model_copy(update={"available_cents": 649_989})
    assert [d.kind for d in check_ledger("u", exp, bad, Positions(items=[], market_value_cents=0), 0)] == \
        ["LEDGER_MISMATCH"]


def test_exit_codes_without_a_stack(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("MYBROKER_HOME", str(tmp_path))
    assert cli.main(["frobnicate"]) == cli.USAGE
    assert cli.main(["buy", "PETR4", "ten"]) == cli.USAGE
    assert cli.main(["--json", "wallet"]) == cli.AUTH
    err = json.loads(capsys.readouterr().err.strip().splitlines()[-1])
    assert err["exitCode"] == cli.AUTH and err["error"]["code"] == "NOT_LOGGED_IN"
    # a profile pointing at a closed port: unavailable
    TokenStore("default", tmp_path).save(Session(
        target=Target(api_url="http://127.0.0.1:9", user_pool_id="p", client_id="c"), username="a",
        access_token="t", refresh_token="r", expires_at=4e9))
    assert cli.main(["wallet"]) == cli.UNAVAILABLE
    assert cli.main(["buy", "PETR4", "100", "--type", "stop-limit", "--price", "35"]) == cli.USAGE


def test_order_request_options() -> None:
    args: Any = cli.build_parser().parse_args(
        ["sell", "petr4", "300", "--price", "36.10", "--display", "100", "--min-qty", "100", "--expire",
         "2026-12-01", "--client-order-id", "k1"])
    body = cli._order_request(args, Side.SELL).body()
    assert body == {"ticker": "PETR4", "side": "SELL", "quantity": 300, "orderType": "LIMIT", "timeInForce": "GTD",
                    "priceCents": 3610, "displayQuantity": 100, "minQuantity": 100, "expireDate": "2026-12-01",
                    "clientOrderId": "k1"}
    args = cli.build_parser().parse_args(["buy", "PETR4", "100", "--type", "stop", "--stop", "37"])
    assert cli._order_request(args, Side.BUY).body()["orderType"] == "STOP"


def test_client_anonymous_has_no_token() -> None:
    c = Client("http://127.0.0.1:9/")
    assert c.base_url == "http://127.0.0.1:9"
