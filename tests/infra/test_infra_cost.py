"""The cost report prices the synthesized template and rejects avoidable charges."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from synth_helpers import Synth

from infra.cost import (
    check_template,
    estimate,
    invocations_per_month,
    justified_secrets,
    load_prices,
    main,
    render,
    totals,
)

PRICES = load_prices()


def test_price_table_is_dated_and_sourced() -> None:
    assert PRICES["date"] and PRICES["region"] and PRICES["sources"]
    assert set(PRICES["approximate"]) <= set(PRICES["prices"])


def test_declared_stack_has_no_avoidable_charge(any_synth: Synth) -> None:
    assert check_template(any_synth.template, PRICES) == []


def test_report_totals(synth: Synth) -> None:
    lines = estimate(synth.template, PRICES)
    demo, busy = totals(lines)
    kinds = {line.kind for line in lines}
    assert {"EC2 instance", "RDS instance", "Amazon MQ broker", "public IPv4"} <= kinds
    pollers = sum(line.demo for line in lines if line.kind == "ESM provisioned pollers")
    assert 40 < demo - pollers < 80 and busy >= demo  # the base layout, plus one poller per Kafka mapping
    assert "TOTAL" in render(lines, PRICES)


def test_extended_stack_prices_provisioned_pollers_and_requires_its_secrets(extended: Synth) -> None:
    reasons = justified_secrets(extended.template)
    assert (
        sorted(set(reasons.values()))
        == [
            "Amazon MQ broker user",
            "RDS master password",
            "event source mapping BASIC_AUTH",
            "event source mapping SASL_SCRAM_512_AUTH",
            "event source mapping SERVER_ROOT_CA_CERTIFICATE",
        ]
        or "event source mapping SASL_SCRAM_512_AUTH" in reasons.values()
    )
    assert any(line.kind == "ESM provisioned pollers" for line in estimate(extended.template, PRICES))


def _with(template: dict[str, Any], logical_id: str, resource: dict[str, Any]) -> dict[str, Any]:
    changed = copy.deepcopy(template)
    changed["Resources"][logical_id] = resource
    return changed


@pytest.mark.parametrize(
    ("logical_id", "resource", "message"),
    [
        ("Nat", {"Type": "AWS::EC2::NatGateway", "Properties": {"SubnetId": "s"}}, "NAT Gateway"),
        (
            "Cache",
            {"Type": "AWS::ElastiCache::ServerlessCache", "Properties": {"Engine": "redis"}},
            "Serverless",
        ),
        ("Big", {"Type": "AWS::EC2::Instance", "Properties": {"InstanceType": "m5.large"}}, "Free plan"),
        ("Loose", {"Type": "AWS::SecretsManager::Secret", "Properties": {}}, "SSM parameter"),
    ],
    ids=["nat-gateway", "elasticache-serverless", "non-free-instance", "unneeded-secret"],
)
def test_avoidable_charges_fail(
    synth: Synth, logical_id: str, resource: dict[str, Any], message: str
) -> None:
    problems = check_template(_with(synth.template, logical_id, resource), PRICES)
    assert len(problems) == 1 and message in problems[0]


def test_nat_gateway_template_is_priced(synth: Synth) -> None:
    bad = _with(synth.template, "Nat", {"Type": "AWS::EC2::NatGateway", "Properties": {}})
    assert totals(estimate(bad, PRICES))[0] == pytest.approx(
        totals(estimate(synth.template, PRICES))[0] + 32.85
    )


def test_cli_fails_on_avoidable_charge(
    synth: Synth, tmp_path: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    good = tmp_path / "good.json"
    good.write_text(json.dumps(synth.template))
    assert main(["--template", str(good)]) == 0
    bad = tmp_path / "bad.json"
    bad.write_text(
        json.dumps(_with(synth.template, "Nat", {"Type": "AWS::EC2::NatGateway", "Properties": {}}))
    )
    assert main(["--template", str(bad)]) == 1
    assert "NAT Gateway" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("rate(1 minute)", 43804.8),
        ("rate(5 minutes)", 8760.96),
        ("cron(0 12 * * ? *)", 30.42),
        ("cron(* 10-18 ? * MON-FRI *)", 60 * 9 * 5 * 30.42 / 7),
        ("cron(0/15 * ? * SAT,SUN *)", 4 * 24 * 2 * 30.42 / 7),
    ],
)
def test_schedule_frequency(expression: str, expected: float) -> None:
    assert invocations_per_month(expression, 30.42) == pytest.approx(expected)


def test_the_websocket_api_is_priced_by_messages_and_connection_minutes(synth: Synth) -> None:
    (line,) = [line for line in estimate(synth.template, PRICES) if line.resource == "WebSocket API"]
    usage, p = PRICES["usage"], PRICES["prices"]
    minutes = usage["websocket_clients"] * usage["websocket_hours_per_day"] * 60 * usage["days_per_month"]
    assert line.demo == 0.0  # nobody connected: nothing to pay
    assert line.busy >= minutes * usage["websocket_messages_per_client_minute"] / 1e6 * p["websocket_message_million"]


def test_the_web_app_is_priced_within_cloudfronts_always_free_tier(synth: Synth) -> None:
    (line,) = [line for line in estimate(synth.template, PRICES) if line.resource == "Web app"]
    usage = PRICES["usage"]
    requests = usage["web_page_loads_per_day"] * usage["days_per_month"] * usage["web_requests_per_page_load"]
    assert requests < 10_000_000  # inside CloudFront's always-free requests: only the S3 origin's GETs remain
    assert line.demo == 0.0
    assert line.busy == pytest.approx(requests / 1000 * 0.0004 + 0.001 * 0.023)


def test_a_busier_web_app_pays_cloudfront_beyond_its_free_tier(synth: Synth) -> None:
    busier = {**PRICES, "usage": {**PRICES["usage"], "web_page_loads_per_day": 100_000}}
    (line,) = [line for line in estimate(synth.template, busier) if line.resource == "Web app"]
    requests = 100_000 * PRICES["usage"]["days_per_month"] * PRICES["usage"]["web_requests_per_page_load"]
    beyond = (requests - 10_000_000) / 10_000 * 0.01
    assert line.busy > beyond > 0


def test_the_default_budget_covers_the_reports_busier_month(synth: Synth) -> None:
    # the alarm mails at 100 % forecast: a default under the steady bill would page every month
    _, busy = totals(estimate(synth.template, PRICES))
    (budget,) = synth.resources("AWS::Budgets::Budget").values()
    assert busy <= budget["Properties"]["Budget"]["BudgetLimit"]["Amount"]
