"""Monthly cost report of the synthesized stack, from the dated price table ``infra/prices.json``.

``python -m infra.cost`` synthesizes the stack (with a placeholder dependencies layer: its size costs
nothing) and prints one line per billable resource for a 24/7 demo with no orders and for 10,000 orders
a day; ``--template FILE`` prices an existing template instead.  It exits non-zero when
:func:`check_template` finds an avoidable charge: a NAT Gateway, ElastiCache Serverless, an EC2 type
outside the Free plan, or a Secrets Manager secret that AWS does not require (an SSM parameter would do).
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PRICES_PATH = Path(__file__).with_name("prices.json")
Template = Mapping[str, Any]


@dataclass(frozen=True)
class Line:
    resource: str
    kind: str
    detail: str
    demo: float  # USD per month, 24/7 with no orders
    busy: float  # USD per month at the usage model's orders per day


def load_prices(path: Path = PRICES_PATH) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text())
    return data


# --- schedules ------------------------------------------------------------------------------------

_DOW = {"SUN": 1, "MON": 2, "TUE": 3, "WED": 4, "THU": 5, "FRI": 6, "SAT": 7}
_RATE_UNITS = {"minute": 60, "minutes": 60, "hour": 3600, "hours": 3600, "day": 86400, "days": 86400}


def _field_count(field: str, size: int, low: int) -> int:
    """How many values a cron field selects (``*``, lists, ranges, steps, day names)."""
    total = 0
    for part in field.split(","):
        part = re.sub(r"[A-Z]{3}", lambda m: str(_DOW.get(m.group(0), 0)), part.upper())
        step = 1
        if "/" in part:
            part, step_s = part.split("/")
            step = int(step_s)
        if part in ("*", "?"):
            first, last = low, low + size - 1
        elif "-" in part:
            a, b = part.split("-")
            first, last = int(a), int(b)
        else:
            first = int(part)
            last = low + size - 1 if step > 1 else first  # "0/15": from 0 to the end, every 15
        total += math.ceil((last - first + 1) / step)
    return total


def invocations_per_month(expression: str, days_per_month: float) -> float:
    """Fires per month of an EventBridge Scheduler ``rate(...)`` or ``cron(...)`` expression."""
    rate = re.fullmatch(r"rate\((\d+) (\w+)\)", expression.strip())
    if rate:
        return days_per_month * 86400 / (int(rate.group(1)) * _RATE_UNITS[rate.group(2)])
    cron = re.fullmatch(r"cron\((.+)\)", expression.strip())
    if cron is None:
        return 1.0  # at(...): one-off
    minute, hour, dom, _month, dow, *_ = cron.group(1).split()
    per_day = _field_count(minute, 60, 0) * _field_count(hour, 24, 0)
    if dom == "?":
        days = _field_count(dow, 7, 1) * days_per_month / 7
    else:
        days = days_per_month if dom in ("*", "L") else float(_field_count(dom, 31, 1))
    return per_day * days


# --- pricing --------------------------------------------------------------------------------------


def _resources(template: Template, kind: str) -> Iterable[tuple[str, dict[str, Any]]]:
    for logical_id, res in template.get("Resources", {}).items():
        if res.get("Type") == kind:
            yield logical_id, res.get("Properties", {})


def _hourly(table: Mapping[str, float], key: str, what: str) -> float:
    if key not in table:
        raise KeyError(f"no price for {what} {key!r} in infra/prices.json")
    return table[key]


def estimate(
    template: Template, prices: Mapping[str, Any], orders_per_day: float | None = None
) -> list[Line]:
    p = prices["prices"]
    usage = prices["usage"]
    hours = prices["hours_per_month"]
    days = usage["days_per_month"]
    orders = (usage["orders_per_day"] if orders_per_day is None else orders_per_day) * days
    lines: list[Line] = []

    def fixed(rid: str, kind: str, detail: str, monthly: float) -> None:
        lines.append(Line(rid, kind, detail, monthly, monthly))

    for rid, props in _resources(template, "AWS::EC2::Instance"):
        itype = props.get("InstanceType", "?")
        fixed(rid, "EC2 instance", itype, _hourly(p["ec2_instance_hour"], itype, "EC2 type") * hours)
        for nic in props.get("NetworkInterfaces", []):
            if nic.get("AssociatePublicIpAddress") in (True, "true"):
                fixed(rid, "public IPv4", "instance address", p["public_ipv4_hour"] * hours)
        for bdm in props.get("BlockDeviceMappings", []):
            ebs = bdm.get("Ebs", {})
            vtype = ebs.get("VolumeType", "gp2")
            fixed(
                rid,
                "EBS root",
                f"{ebs.get('VolumeSize', 8)} GB {vtype}",
                float(ebs.get("VolumeSize", 8)) * p["ebs_gb_month"][vtype],
            )
    for rid, props in _resources(template, "AWS::EC2::Volume"):
        vtype = props.get("VolumeType", "gp2")
        fixed(
            rid,
            "EBS volume",
            f"{props.get('Size')} GB {vtype}",
            float(props["Size"]) * p["ebs_gb_month"][vtype],
        )
    for rid, _eip in _resources(template, "AWS::EC2::EIP"):
        fixed(rid, "public IPv4", "Elastic IP", p["public_ipv4_hour"] * hours)
    for rid, _props in _resources(template, "AWS::EC2::NatGateway"):
        fixed(rid, "NAT Gateway", "plus $0.045/GB processed", p["nat_gateway_hour"] * hours)
    for rid, props in _resources(template, "AWS::EC2::VPCEndpoint"):
        if props.get("VpcEndpointType") == "Interface":
            azs = max(1, len(props.get("SubnetIds", [])))
            fixed(rid, "interface endpoint", f"{azs} AZ", p["vpc_interface_endpoint_az_hour"] * hours * azs)
    for rid, props in _resources(template, "AWS::RDS::DBInstance"):
        cls = props.get("DBInstanceClass", "?")
        azs = 2 if props.get("MultiAZ") in (True, "true") else 1
        fixed(
            rid,
            "RDS instance",
            f"{cls} {props.get('Engine')} {props.get('EngineVersion')} x{azs}",
            _hourly(p["rds_instance_hour"], cls, "RDS class") * hours * azs,
        )
        stype = props.get("StorageType", "gp2")
        size = float(props.get("AllocatedStorage", 20))
        fixed(rid, "RDS storage", f"{size:g} GB {stype}", size * p["rds_storage_gb_month"][stype] * azs)
    for rid, props in _resources(template, "AWS::AmazonMQ::Broker"):
        itype = props.get("HostInstanceType", "?")
        nodes = 3 if props.get("DeploymentMode") == "CLUSTER_MULTI_AZ" else 1
        fixed(
            rid,
            "Amazon MQ broker",
            f"{props.get('EngineType')} {itype} x{nodes}",
            _hourly(p["mq_instance_hour"], itype, "broker type") * hours * nodes,
        )
    for rid, props in _resources(template, "AWS::ElastiCache::CacheCluster"):
        ntype = props.get("CacheNodeType", "?")
        fixed(
            rid,
            "ElastiCache node",
            ntype,
            _hourly(p["elasticache_node_hour"], ntype, "node type")
            * hours
            * int(props.get("NumCacheNodes", 1)),
        )
    for rid, _props in _resources(template, "AWS::ElastiCache::ServerlessCache"):
        fixed(rid, "ElastiCache Serverless", "minimum", p["elasticache_serverless_min_month"])
    for rid, _props in _resources(template, "AWS::SecretsManager::Secret"):
        fixed(rid, "secret", "Secrets Manager", p["secret_month"])
    alarms = [rid for rid, _ in _resources(template, "AWS::CloudWatch::Alarm")]
    if alarms:
        billable = max(0, len(alarms) - p["cloudwatch_alarms_free"])
        fixed(
            "CloudWatch alarms",
            "alarms",
            f"{len(alarms)} ({p['cloudwatch_alarms_free']} free)",
            billable * p["cloudwatch_alarm_month"],
        )
    for rid, props in _resources(template, "AWS::Lambda::EventSourceMapping"):
        pollers = props.get("ProvisionedPollerConfig", {}).get("MinimumPollers")
        if pollers:
            fixed(
                rid,
                "ESM provisioned pollers",
                f"{pollers} minimum",
                float(pollers) * p["esm_provisioned_poller_hour"] * hours,
            )

    # usage: Lambda, HTTP API, Scheduler, CloudWatch Logs
    functions = {rid: props for rid, props in _resources(template, "AWS::Lambda::Function")}
    memory_gb = {rid: float(props.get("MemorySize", 128)) / 1024 for rid, props in functions.items()}
    mean_gb = sum(memory_gb.values()) / len(memory_gb) if memory_gb else 0.0
    scheduled = 0.0
    scheduled_gbs = 0.0
    for _rid, props in _resources(template, "AWS::Scheduler::Schedule"):
        if props.get("State", "ENABLED") != "ENABLED":
            continue
        fires = invocations_per_month(props["ScheduleExpression"], days)
        target = props.get("Target", {}).get("Arn", {})
        target_id = str(target.get("Fn::GetAtt", [""])[0]) if isinstance(target, dict) else ""
        scheduled += fires
        scheduled_gbs += (
            fires * usage["scheduled_ms_per_invocation"] / 1000 * memory_gb.get(target_id, mean_gb)
        )

    def lambda_cost(invocations: float, gb_seconds: float) -> float:
        requests = max(0.0, invocations - p["lambda_free_requests"]) / 1e6 * p["lambda_request_million"]
        compute = max(0.0, gb_seconds - p["lambda_free_gb_seconds"]) * p["lambda_arm_gb_second"]
        return float(requests + compute)

    if functions:
        order_invocations = orders * usage["lambda_invocations_per_order"]
        order_gbs = order_invocations * usage["lambda_ms_per_invocation"] / 1000 * mean_gb
        lines.append(
            Line(
                "Lambda",
                "functions",
                f"{len(functions)} functions; {scheduled:,.0f} scheduled + "
                f"{order_invocations:,.0f} order invocations/month (free: 1M requests, 400k GB-s)",
                lambda_cost(scheduled, scheduled_gbs),
                lambda_cost(scheduled + order_invocations, scheduled_gbs + order_gbs),
            )
        )
        logs_demo = scheduled * usage["log_kb_per_invocation"] / 1e6
        requests = orders * usage["api_requests_per_order"]
        logs_busy = (
            logs_demo
            + (
                order_invocations * usage["log_kb_per_invocation"]
                + requests * usage["access_log_kb_per_request"]
            )
            / 1e6
        )
        lines.append(
            Line(
                "CloudWatch Logs",
                "ingestion",
                f"{logs_demo:.2f} / {logs_busy:.2f} GB (5 GB free)",
                max(0.0, logs_demo - p["logs_free_gb"]) * p["logs_ingest_gb"],
                max(0.0, logs_busy - p["logs_free_gb"]) * p["logs_ingest_gb"],
            )
        )
    if any(True for _ in _resources(template, "AWS::ApiGatewayV2::Api")):
        requests = orders * usage["api_requests_per_order"]
        lines.append(
            Line(
                "HTTP API",
                "requests",
                f"{requests:,.0f} requests/month",
                0.0,
                requests / 1e6 * p["http_api_request_million"],
            )
        )
    websockets = [props for _rid, props in _resources(template, "AWS::ApiGatewayV2::Api")
                  if props.get("ProtocolType") == "WEBSOCKET"]
    if websockets:
        minutes = (usage["websocket_clients"] * usage["websocket_hours_per_day"] * 60 * usage["days_per_month"])
        messages = minutes * usage["websocket_messages_per_client_minute"]
        pushes = usage["websocket_pusher_invocations_per_day"] * usage["days_per_month"]
        busy = (messages / 1e6 * p["websocket_message_million"]
                + minutes / 1e6 * p["websocket_connection_minute_million"]
                + pushes / 1e6 * p["lambda_request_million"])
        lines.append(
            Line(
                "WebSocket API",
                "streaming",
                f"{usage['websocket_clients']} clients {usage['websocket_hours_per_day']} h/day: {minutes:,.0f} "
                f"connection-minutes, {messages:,.0f} messages, {pushes:,.0f} pusher invocations/month",
                0.0,
                busy,
            )
        )
    distributions = [rid for rid, _ in _resources(template, "AWS::CloudFront::Distribution")]
    if distributions:
        loads = usage["web_page_loads_per_day"] * days
        requests = loads * usage["web_requests_per_page_load"]
        gb_out = loads * usage["web_kb_per_page_load"] / 1e6
        cdn = (max(0.0, requests - p["cloudfront_free_requests"]) / 1e4 * p["cloudfront_request_10k"]
               + max(0.0, gb_out - p["cloudfront_free_gb_out"]) * p["cloudfront_gb_out"])
        # every request a cache miss at worst: an origin GET each, and the site's files stored once
        origin = requests / 1e3 * p["s3_get_1k"] + usage["web_site_mb"] / 1e3 * p["s3_standard_gb_month"]
        lines.append(
            Line(
                "Web app",
                "S3 + CloudFront",
                f"{loads:,.0f} page loads/month: {requests:,.0f} requests, {gb_out:.1f} GB out (CloudFront "
                f"always free: 10M requests, 1 TB); S3 origin GETs at worst",
                0.0,
                cdn + origin,
            )
        )
    if scheduled:
        over = max(0.0, scheduled - p["scheduler_free_invocations"]) / 1e6 * p["scheduler_invocation_million"]
        lines.append(
            Line("EventBridge Scheduler", "invocations", f"{scheduled:,.0f}/month (14M free)", over, over)
        )
    return lines


# --- checks ---------------------------------------------------------------------------------------


def _refs(node: Any) -> set[str]:
    """Logical ids referenced anywhere in ``node`` (Ref, Fn::GetAtt, and inside Fn::Join strings)."""
    found: set[str] = set()
    if isinstance(node, dict):
        if isinstance(node.get("Ref"), str):
            found.add(node["Ref"])
        if isinstance(node.get("Fn::GetAtt"), list):
            found.add(node["Fn::GetAtt"][0])
        for value in node.values():
            found |= _refs(value)
    elif isinstance(node, list):
        for value in node:
            found |= _refs(value)
    return found


def justified_secrets(template: Template) -> dict[str, str]:
    """Secrets AWS requires, with the reason: event source mapping auth (Amazon MQ, Kafka), the Amazon MQ
    broker user's password, and the RDS master password (a generated password CloudFormation cannot put
    in a SecureString parameter)."""
    reasons: dict[str, str] = {}
    for _rid, props in _resources(template, "AWS::Lambda::EventSourceMapping"):
        for config in props.get("SourceAccessConfigurations", []):
            for ref in _refs(config.get("URI")):
                reasons.setdefault(ref, f"event source mapping {config.get('Type')}")
    for _rid, props in _resources(template, "AWS::AmazonMQ::Broker"):
        for ref in _refs(props.get("Users", [])):
            reasons.setdefault(ref, "Amazon MQ broker user")
    for _rid, props in _resources(template, "AWS::SecretsManager::SecretTargetAttachment"):
        if props.get("TargetType") == "AWS::RDS::DBInstance":
            for ref in _refs(props.get("SecretId")):
                reasons.setdefault(ref, "RDS master password")
    return reasons


def check_template(template: Template, prices: Mapping[str, Any]) -> list[str]:
    """Avoidable charges in ``template`` (empty when there is none)."""
    problems: list[str] = []
    free_types = set(prices["prices"]["ec2_free_plan_types"])
    for rid, _ in _resources(template, "AWS::EC2::NatGateway"):
        problems.append(f"{rid}: a NAT Gateway costs ≈$33/month idle; use the engine host as NAT instance")
    for rid, _ in _resources(template, "AWS::ElastiCache::ServerlessCache"):
        problems.append(f"{rid}: ElastiCache Serverless costs ≈$91/month at minimum; Redis runs on the host")
    for rid, props in _resources(template, "AWS::EC2::Instance"):
        if props.get("InstanceType") not in free_types:
            problems.append(f"{rid}: instance type {props.get('InstanceType')} is not on the Free plan")
    for rid, props in _resources(template, "AWS::EC2::LaunchTemplate"):
        itype = props.get("LaunchTemplateData", {}).get("InstanceType")
        if itype is not None and itype not in free_types:
            problems.append(f"{rid}: launch template type {itype} is not on the Free plan")
    justified = justified_secrets(template)
    for rid, _ in _resources(template, "AWS::SecretsManager::Secret"):
        if rid not in justified:
            problems.append(f"{rid}: a Secrets Manager secret AWS does not require; use an SSM parameter")
    return problems


# --- report ---------------------------------------------------------------------------------------


def render(lines: list[Line], prices: Mapping[str, Any]) -> str:
    usage = prices["usage"]
    width = max([len(line.resource) for line in lines] + [8])
    busy_header = f"{usage['orders_per_day']}/day"
    demo, busy = totals(lines)
    rows = [
        f"Monthly cost, {prices['region']}, prices of {prices['date']} (infra/prices.json)",
        f"{'resource':<{width}}  {'kind':<24} {'24/7 demo':>10} {busy_header:>11}  detail",
    ]
    for line in sorted(lines, key=lambda x: -x.busy):
        rows.append(
            f"{line.resource:<{width}}  {line.kind:<24} {line.demo:>10.2f} {line.busy:>11.2f}  {line.detail}"
        )
    rows.append(f"{'TOTAL':<{width}}  {'':<24} {demo:>10.2f} {busy:>11.2f}")
    return "\n".join(rows)


def totals(lines: list[Line]) -> tuple[float, float]:
    return sum(x.demo for x in lines), sum(x.busy for x in lines)


def synthesize_template() -> dict[str, Any]:
    """Synthesize the stack offline with a placeholder dependencies layer."""
    import os

    os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
    from aws_cdk import App

    from app import build
    from infra.stack import STACK_NAME

    with tempfile.TemporaryDirectory() as tmp:
        deps = Path(tmp) / "deps"
        (deps / "python").mkdir(parents=True)
        app = App(outdir=str(Path(tmp) / "cdk.out"))
        build(app, deps)
        app.synth()
        template: dict[str, Any] = json.loads(
            (Path(tmp) / "cdk.out" / f"{STACK_NAME}.template.json").read_text()
        )
        return template


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--template", type=Path, help="price this template instead of synthesizing")
    parser.add_argument("--orders-per-day", type=float, default=None)
    args = parser.parse_args(argv)
    prices = load_prices()
    template = json.loads(args.template.read_text()) if args.template else synthesize_template()
    lines = estimate(template, prices, args.orders_per_day)
    print(render(lines, prices))
    for rid, reason in sorted(justified_secrets(template).items()):
        print(f"secret {rid}: required ({reason})")
    problems = check_template(template, prices)
    for problem in problems:
        print(f"AVOIDABLE: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
