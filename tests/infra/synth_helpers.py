"""Synthesis helpers shared by the infra tests (imported by ``conftest.py`` and the test modules)."""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

from aws_cdk import App, Validations
from cdk_nag import AwsSolutionsChecks

from infra.declarations import (
    SYSTEM,
    Function,
    KafkaSource,
    RabbitMqSource,
    Route,
    Schedule,
    System,
)
from infra.stack import STACK_NAME, MyBrokerStack

REPO_ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Synth:
    system: System
    outdir: Path
    template: dict[str, Any]

    @property
    def template_path(self) -> Path:
        return self.outdir / f"{STACK_NAME}.template.json"

    def resources(self, kind: str) -> dict[str, dict[str, Any]]:
        return {k: v for k, v in self.template["Resources"].items() if v["Type"] == kind}

    def system_functions(self) -> dict[str, dict[str, Any]]:
        """The Lambda functions of the system: without CDK's deploy-time handlers (infra/web.py's BucketDeployment)."""
        return {k: v for k, v in self.resources("AWS::Lambda::Function").items()
                if not k.startswith(DEPLOY_TIME_HANDLERS)}


DEPLOY_TIME_HANDLERS = ("CustomCDKBucketDeployment",)


def synthesize_system(system: System, outdir: Path, deps_layer: Path) -> Synth:
    """Synthesize the stack for any declared system, with cdk-nag, as app.py does."""
    app = App(outdir=str(outdir))
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    MyBrokerStack(app, STACK_NAME, system=system, deps_layer_dir=deps_layer)
    app.synth()
    return Synth(system, outdir, json.loads((outdir / f"{STACK_NAME}.template.json").read_text()))


def extended_system() -> System:
    """SYSTEM plus one of each kind the real declarations do not have yet (ESMs, a public POST route,
    a function outside the VPC, a disabled schedule), to prove the stacks loop over declarations."""
    return dataclasses.replace(
        SYSTEM,
        functions=(
            *SYSTEM.functions,
            Function(
                name="orders-consumer",
                code_dir="functions/orders",
                handler="consumer.handler",
                memory_mb=512,
                timeout_s=30,
                concurrency=1,
                database="orders",
                uses=("mysql", "rabbitmq", "kafka"),
                environment=(("ORDERS_MODE", "strict"),),
            ),
            Function(
                name="wallet-stream",
                code_dir="functions/wallet",
                handler="stream.handler",
                database="wallet",
                uses=("mysql",),
            ),
            Function(name="public-echo", code_dir="functions/wallet", handler="echo.handler", in_vpc=False),
        ),
        routes=(
            *SYSTEM.routes,
            Route("POST", "/consumer-test", "orders-consumer"),
            Route("GET", "/echo/{proxy+}", "public-echo", authorized=False),
        ),
        schedules=(
            *SYSTEM.schedules,
            Schedule("wallet-close", "rate(5 minutes)", "wallet-stream", enabled=False),
        ),
        rabbitmq_sources=(
            RabbitMqSource("execution-reports", "orders-consumer", "broker.execution-reports", batch_size=10),
        ),
        kafka_sources=(
            KafkaSource(
                "wallet-trades",
                "wallet-stream",
                "trades",
                batch_size=50,
                batching_window_s=2,
                starting_position="LATEST",
                maximum_retry_attempts=2,
                on_failure_topic="esm-failures",
            ),
            KafkaSource("orders-quotes", "orders-consumer", "quotes", provisioned=False),
        ),
    )
