"""``FloorRefused``: every refusal by the ledger's floor that reaches a wallet function is one EMF record with
the fixed dimension ``service=wallet`` (the dimension the CloudWatch alarm in ``infra/observability.py`` names),
whatever the function; an ordinary outcome emits none."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from aws_lambda_powertools.utilities.data_classes import KafkaEvent
from mybroker.contracts.orders import OrderEvent, OrderEventType, OrderStatus
from mybroker.wallet import floor_metric
from mybroker.wallet.ledger import Bucket, FloorBreached
from mybroker.wallet.memory import MemoryStore
from mybroker.wallet.reservations import Side
from mybroker.wallet.service import Wallet

from functions.wallet import order_events as h
from tests.unit.wallet.test_wallet_domain import ACC, DAY, event


def emf_records(out: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.splitlines() if line.startswith("{") and '"_aws"' in line]


def floor_records(out: str) -> list[dict[str, Any]]:
    return [r for r in emf_records(out) if "FloorRefused" in r]


def kafka_record(ev: OrderEvent) -> Any:
    raw = {"topic": "orders", "partition": 0, "offset": 7, "timestamp": 0, "timestampType": "CREATE_TIME",
           "key": base64.b64encode(ACC.encode()).decode(), "value": base64.b64encode(ev.to_json()).decode(),
           "headers": []}
    return next(KafkaEvent({"eventSource": "SelfManagedKafka", "records": {"orders-0": [raw]}}).records)


@pytest.fixture
def wallet(monkeypatch: pytest.MonkeyPatch) -> Wallet:
    w = Wallet(MemoryStore())
    w.deposit(ACC, "d", 10_003)
    w.reserve(ACC, "o", "PETR4", Side.BUY, 10, 1000, DAY)  # holds 10,003
    monkeypatch.setattr(h, "wallet", lambda: w)
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "wallet-order-events")
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "MyBrokerB3")
    return w


def test_an_order_event_refused_by_the_floor_emits_floor_refused(
    wallet: Wallet, capsys: pytest.CaptureFixture[str]
) -> None:
    bogus = event(1, "o", OrderEventType.FILLED, qty=10, cum=100, leaves=0, fill=(100, 1000),
                  status=OrderStatus.FILLED)  # 100 shares on a 10-share order: 100,023 on a 10,003 hold
    before = wallet.store.balances(ACC)
    capsys.readouterr()
    assert h.apply(bogus, kafka_record(bogus)) == "FLOOR_REFUSED"
    (record,) = floor_records(capsys.readouterr().out)
    assert record["FloorRefused"] == [1.0] or record["FloorRefused"] == 1.0
    assert record["service"] == "wallet"  # not the function's name: one alarm covers every wallet function
    (directive,) = record["_aws"]["CloudWatchMetrics"]
    assert directive["Namespace"] == "MyBrokerB3" and directive["Dimensions"] == [["service"]]
    assert wallet.store.balances(ACC) == before  # nothing moved


def test_an_applied_order_event_emits_no_floor_refused(wallet: Wallet, capsys: pytest.CaptureFixture[str]) -> None:
    fill = event(1, "o", OrderEventType.FILLED, qty=10, cum=10, leaves=0, fill=(10, 1000), status=OrderStatus.FILLED)
    capsys.readouterr()
    assert h.apply(fill, kafka_record(fill)) == "APPLIED"
    assert floor_records(capsys.readouterr().out) == []


def test_a_refusal_escaping_a_function_is_reported_and_still_raised(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "wallet-settlement")
    capsys.readouterr()
    with pytest.raises(FloorBreached), floor_metric.reported():
        raise FloorBreached(ACC, Bucket.PAYABLE, "BRL", -1)
    (record,) = floor_records(capsys.readouterr().out)
    assert record["service"] == "wallet"
    with floor_metric.reported():
        pass
    assert floor_records(capsys.readouterr().out) == []
