"""The synthesized template and ``infra.declarations.SYSTEM`` cannot drift apart.

Every declared function, route, schedule, event source mapping, queue and topic appears in the template
with the declared settings, and nothing undeclared appears.  :func:`drift` returns the differences; it
runs on the real declarations and on an extended system (with the kinds SYSTEM does not use yet), and a
deliberately edited declaration must make it report.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest
from synth_helpers import SYSTEM, Synth

from infra.compute import LAMBDA_PYTHON, batching_window_seconds, function_name
from infra.declarations import System
from infra.messaging import rabbitmq_definitions

_IGNORED = {"__pycache__", ".pytest_cache", ".mypy_cache", "tests"}


def _strings(node: Any) -> list[str]:
    """Every literal string inside a CloudFormation value (through Fn::Join and friends)."""
    if isinstance(node, str):
        return [node]
    if isinstance(node, dict):
        return [s for v in node.values() for s in _strings(v)]
    if isinstance(node, list):
        return [s for v in node for s in _strings(v)]
    return []


def _files(folder: Path) -> set[str]:
    return {
        str(p.relative_to(folder))
        for p in folder.rglob("*")
        if p.is_file() and not (_IGNORED & set(p.relative_to(folder).parts)) and p.suffix != ".pyc"
    }


def drift(s: Synth, system: System, repo_root: Path) -> list[str]:
    """Differences between template ``s`` and ``system`` (empty when they agree)."""
    problems: list[str] = []
    resources: dict[str, dict[str, Any]] = s.template["Resources"]
    lambdas = {r["Properties"]["FunctionName"]: (lid, r) for lid, r in s.system_functions().items()}
    logical_to_name = {lid: name for name, (lid, _) in lambdas.items()}

    # --- functions ---
    declared = {function_name(f.name): f for f in system.functions}
    for extra in sorted(set(lambdas) - set(declared)):
        problems.append(f"undeclared Lambda function {extra}")
    for name, fn in declared.items():
        if name not in lambdas:
            problems.append(f"function {fn.name} is not in the template")
            continue
        _lid, res = lambdas[name]
        props = res["Properties"]
        expected = {
            "Handler": fn.handler,
            "MemorySize": fn.memory_mb,
            "Timeout": fn.timeout_s,
            "ReservedConcurrentExecutions": fn.concurrency,
            "Runtime": LAMBDA_PYTHON,
            "Architectures": ["arm64"],
        }
        for key, value in expected.items():
            if props.get(key) != value:
                problems.append(f"function {fn.name}: {key} is {props.get(key)!r}, declared {value!r}")
        if ("VpcConfig" in props) != fn.in_vpc:
            problems.append(
                f"function {fn.name}: in_vpc={fn.in_vpc} but VpcConfig is {props.get('VpcConfig')}"
            )
        env = props.get("Environment", {}).get("Variables", {})
        if fn.database is not None and env.get("MYSQL_DATABASE") != fn.database:
            problems.append(f"function {fn.name}: MYSQL_DATABASE is {env.get('MYSQL_DATABASE')!r}")
        for key, value in fn.environment:
            if env.get(key) != value:
                problems.append(f"function {fn.name}: environment {key}={env.get(key)!r}, declared {value!r}")
        key = props.get("Code", {}).get("S3Key", "")
        asset = s.outdir / f"asset.{key.removesuffix('.zip')}"
        if not asset.is_dir():
            problems.append(f"function {fn.name}: code asset {key!r} is not a staged folder")
        elif _files(asset) != _files(repo_root / fn.code_dir):
            problems.append(f"function {fn.name}: code asset differs from {fn.code_dir}")

    def function_of(node: Any) -> str | None:
        """The declared name behind a Ref / Fn::GetAtt to a Lambda function."""
        if isinstance(node, dict):
            lid = node.get("Ref") or (node.get("Fn::GetAtt") or [None])[0]
            if lid in logical_to_name:
                return str(logical_to_name[lid]).removeprefix(function_name(""))
            if "Fn::Join" in node:  # a WebSocket integration's URI: arn:...:lambda:path/.../functions/<arn>/invocations
                return next((f for f in map(function_of, node["Fn::Join"][1]) if f is not None), None)
        return None

    # --- routes ---
    integrations = {
        lid: function_of(r["Properties"]["IntegrationUri"])
        for lid, r in resources.items()
        if r["Type"] == "AWS::ApiGatewayV2::Integration"
    }
    routes: dict[str, tuple[str | None, str]] = {}
    for r in resources.values():
        if r["Type"] != "AWS::ApiGatewayV2::Route":
            continue
        p = r["Properties"]
        target = next((integrations[ref] for ref in integrations if ref in json.dumps(p["Target"])), None)
        routes[p["RouteKey"]] = (target, p.get("AuthorizationType", "NONE"))
    kinds = {"jwt": "JWT", "iam": "AWS_IAM", "none": "NONE"}
    wanted = {f"{r.method} {r.path}": (r.function, kinds[r.auth]) for r in system.routes}
    for ws in system.websocket_apis:  # a WebSocket API authorizes at $connect only (the Lambda authorizer)
        wanted.update({r.route_key: (r.function, "CUSTOM" if r.route_key == "$connect" else "NONE") for r in ws.routes})
    for key in sorted(set(routes) | set(wanted)):
        if routes.get(key) != wanted.get(key):
            problems.append(f"route {key}: template {routes.get(key)}, declared {wanted.get(key)}")

    # --- schedules ---
    schedules = {
        r["Properties"]["Name"]: r["Properties"]
        for r in resources.values()
        if r["Type"] == "AWS::Scheduler::Schedule"
    }
    wanted_s = {function_name(s.name): s for s in system.schedules}
    for extra in sorted(set(schedules) - set(wanted_s)):
        problems.append(f"undeclared schedule {extra}")
    for name, sched in wanted_s.items():
        p = schedules.get(name)
        if p is None:
            problems.append(f"schedule {sched.name} is not in the template")
            continue
        got = (
            p["ScheduleExpression"],
            p.get("ScheduleExpressionTimezone", "UTC"),
            p["State"],
            function_of(p["Target"]["Arn"]),
        )
        want = (sched.expression, sched.timezone, "ENABLED" if sched.enabled else "DISABLED", sched.function)
        if got != want:
            problems.append(f"schedule {sched.name}: template {got}, declared {want}")

    # --- event source mappings ---
    mappings = [r["Properties"] for r in resources.values() if r["Type"] == "AWS::Lambda::EventSourceMapping"]
    mq = {(function_of(p["FunctionName"]), tuple(p["Queues"])): p for p in mappings if "Queues" in p}
    kafka = {(function_of(p["FunctionName"]), tuple(p["Topics"])): p for p in mappings if "Topics" in p}
    if len(mq) + len(kafka) != len(mappings):
        problems.append("an event source mapping is neither Amazon MQ nor Kafka")
    wanted_mq = {(m.function, (m.queue,)): m for m in system.rabbitmq_sources}
    for mkey in sorted(set(mq) - set(wanted_mq), key=str):
        problems.append(f"undeclared Amazon MQ mapping {mkey}")
    for mkey, m in wanted_mq.items():
        p = mq.get(mkey)
        if p is None:
            problems.append(f"rabbitmq source {m.name} is not in the template")
            continue
        vhosts = [c["URI"] for c in p["SourceAccessConfigurations"] if c["Type"] == "VIRTUAL_HOST"]
        got_mq = (
            p.get("BatchSize"),
            p.get("MaximumBatchingWindowInSeconds"),
            vhosts,
            [c["Type"] for c in p["SourceAccessConfigurations"]].count("BASIC_AUTH"),
        )
        want_mq = (
            m.batch_size,
            batching_window_seconds(m.batching_window_s),
            [system.queue(m.queue).vhost],
            1,
        )
        if got_mq != want_mq:
            problems.append(f"rabbitmq source {m.name}: template {got_mq}, declared {want_mq}")
    wanted_k = {(k.function, (k.topic,)): k for k in system.kafka_sources}
    for mkey in sorted(set(kafka) - set(wanted_k), key=str):
        problems.append(f"undeclared Kafka mapping {mkey}")
    for mkey, k in wanted_k.items():
        p = kafka.get(mkey)
        if p is None:
            problems.append(f"kafka source {k.name} is not in the template")
            continue
        destination = p.get("DestinationConfig", {}).get("OnFailure", {}).get("Destination")
        got_k = (
            p.get("BatchSize"),
            p.get("MaximumBatchingWindowInSeconds"),
            p.get("StartingPosition"),
            p.get("MaximumRetryAttempts"),
            destination,
            p.get("SelfManagedKafkaEventSourceConfig", {}).get("ConsumerGroupId"),
            "ProvisionedPollerConfig" in p,
        )
        want_k = (
            k.batch_size,
            batching_window_seconds(k.batching_window_s),
            k.starting_position,
            k.maximum_retry_attempts if k.provisioned else None,
            None if k.on_failure_topic is None else f"kafka://{k.on_failure_topic}",
            k.consumer_group_id,
            k.provisioned,
        )
        if got_k != want_k:
            problems.append(f"kafka source {k.name}: template {got_k}, declared {want_k}")

    # --- queues, topics and services: created by the engine host's user data ---
    hosts = [r for r in resources.values() if r["Type"] == "AWS::EC2::Instance"]
    user_data = "".join("".join(_strings(h["Properties"].get("UserData", {}))) for h in hosts)
    for t in system.topics:
        if f"--topic {t.name} --partitions {t.partitions} " not in user_data:
            problems.append(f"topic {t.name} ({t.partitions} partitions) is not created by the host")
    definitions = json.dumps(rabbitmq_definitions(system), indent=1)
    if definitions not in user_data:
        problems.append("the host does not load the declared RabbitMQ definitions")
    for svc in system.services:
        if (
            f"--entrypoint {svc.entrypoint[0]} mybroker-{svc.name} {' '.join(svc.entrypoint[1:])}"
            not in user_data
        ):
            problems.append(f"service {svc.name} is not started with its declared entrypoint")
    return problems


def test_declared_system_matches_template(synth: Synth, repo_root: Path) -> None:
    assert drift(synth, SYSTEM, repo_root) == []


def test_extended_system_matches_template(extended: Synth, repo_root: Path) -> None:
    assert extended.system.rabbitmq_sources and extended.system.kafka_sources
    assert drift(extended, extended.system, repo_root) == []


@pytest.mark.parametrize(
    "edit",
    [
        lambda s: dataclasses.replace(
            s, functions=(dataclasses.replace(s.functions[0], memory_mb=1024), *s.functions[1:])
        ),
        lambda s: dataclasses.replace(s, functions=s.functions[1:]),  # a function the template has extra
        lambda s: dataclasses.replace(
            s, routes=(*s.routes[:-1], dataclasses.replace(s.routes[-1], authorized=True))
        ),
        lambda s: dataclasses.replace(  # an internal route declared as a user's
            s, routes=tuple(dataclasses.replace(r, iam_callers=()) for r in s.routes)
        ),
        lambda s: dataclasses.replace(s, schedules=(dataclasses.replace(s.schedules[0], timezone="UTC"),)),
        lambda s: dataclasses.replace(
            s, rabbitmq_sources=(dataclasses.replace(s.rabbitmq_sources[0], batch_size=7),)
        ),
        lambda s: dataclasses.replace(
            s,
            kafka_sources=(
                dataclasses.replace(s.kafka_sources[0], on_failure_topic=None),
                *s.kafka_sources[1:],
            ),
        ),
        lambda s: dataclasses.replace(
            s, topics=(*s.topics, dataclasses.replace(s.topics[0], name="new-topic"))
        ),
    ],
    ids=["memory", "extra-function", "authorizer", "iam-route", "timezone", "mq-batch", "kafka-on-failure", "topic"],
)
def test_drift_is_detected(extended: Synth, repo_root: Path, edit: Any) -> None:
    assert drift(extended, edit(extended.system), repo_root) != []
