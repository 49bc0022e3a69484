"""The whole system as one CloudFormation stack, composed of one construct per concern."""

from __future__ import annotations

from pathlib import Path

from aws_cdk import CfnOutput, Stack
from constructs import Construct

from infra.auth import Auth
from infra.compute import Compute, Wiring
from infra.data import DEFAULT_MONGODB_URI_PARAMETER, Data
from infra.declarations import SYSTEM, Service, System
from infra.engine_host import REDIS_PASSWORD_PARAMETER, REDIS_PORT, EngineHost
from infra.messaging import HOST_CA_PARAMETER, Messaging, function_service
from infra.network import Network
from infra.observability import Observability
from infra.streaming import Streaming
from infra.web import Web

STACK_NAME = "MyBrokerB3"
REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DEPS_LAYER = REPO_ROOT / "layers" / "deps"
DEFAULT_WEB_DIST = REPO_ROOT / "web" / "dist"  # npm run build in web/ (scripts/up builds it)
ENGINE_JOURNAL_DIR = "/var/lib/mybroker/journal"


def service_environment(service: Service, messaging: Messaging, region: str) -> dict[str, str]:
    """A long-running service on the host: Kafka (loopback PLAINTEXT) and Redis (loopback, still TLS and AUTH)
    are local, RabbitMQ is Amazon MQ as the service's own user. Parameter names only: no secret in the env."""
    env = {"MYBROKER_STAGE": "aws", "AWS_REGION": region, "ENGINE_JOURNAL_DIR": ENGINE_JOURNAL_DIR}
    uses = set(service.uses)
    if "rabbitmq" in uses:
        user = messaging.rabbitmq_users[service.name]
        env["RABBITMQ_HOST"] = messaging.broker_host
        env["RABBITMQ_PORT"] = str(messaging.broker_port)
        if user.secret is not None:
            env["RABBITMQ_SECRET_ARN"] = user.secret.secret_arn
        else:
            env["RABBITMQ_CREDENTIALS_PARAMETER"] = str(user.parameter)
    if "kafka" in uses:
        env["KAFKA_BOOTSTRAP_SERVERS"] = "127.0.0.1:9092"
        env["KAFKA_SECURITY_PROTOCOL"] = "PLAINTEXT"
    if "redis" in uses:
        env["REDIS_URL"] = f"rediss://127.0.0.1:{REDIS_PORT}/0"
        env["REDIS_PASSWORD_PARAMETER"] = REDIS_PASSWORD_PARAMETER
        env["REDIS_CA_PARAMETER"] = HOST_CA_PARAMETER
    env.update(dict(service.environment))
    return env


class MyBrokerStack(Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str = STACK_NAME,
        *,
        system: System = SYSTEM,
        deps_layer_dir: Path = DEFAULT_DEPS_LAYER,
        mongodb_uri_parameter: str = DEFAULT_MONGODB_URI_PARAMETER,
        reserve_concurrency: bool = True,
        monthly_budget_usd: float = 80.0,
        alarm_email: str | None = None,
        web_dist_dir: Path = DEFAULT_WEB_DIST,
        self_sign_up: bool = True,
        **kwargs: object,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)  # type: ignore[arg-type]
        system.validate()
        self.system = system
        self.network = Network(self, "Network")
        self.auth = Auth(self, "Auth", self_sign_up=self_sign_up)
        self.data = Data(
            self,
            "Data",
            network=self.network,
            mongodb_uri_parameter=mongodb_uri_parameter,
            databases=system.databases,
            # a schema another service's function reads gets a read-only user too
            read_only=frozenset(
                f.database for f in system.functions if f.database and function_service(f) != f.database
            ),
        )
        self.messaging = Messaging(self, "Messaging", network=self.network, system=system)
        self.host = EngineHost(
            self,
            "EngineHost",
            network=self.network,
            messaging=self.messaging,
            data=self.data,
            system=system,
            service_environment={
                s.name: service_environment(s, self.messaging, self.region) for s in system.services
            },
        )
        self.network.route_through(self.host.instance)
        self.compute = Compute(
            self,
            "Compute",
            system=system,
            network=self.network,
            wiring=Wiring(data=self.data, messaging=self.messaging, auth=self.auth, host=self.host.endpoints),
            deps_layer_dir=deps_layer_dir,
            reserve_concurrency=reserve_concurrency,
        )
        self.observability = Observability(
            self,
            "Observability",
            system=system,
            functions=self.compute.functions,
            broker_name=self.messaging.broker.broker_name,
            monthly_budget_usd=monthly_budget_usd,
            alarm_email=alarm_email,
        )
        CfnOutput(self, "ApiUrl", value=self.compute.stage.url, description="HTTP API base URL")
        # the WebSocket streaming API (infra/streaming.py, docs/streaming.md) on the functions Compute made
        self.streaming = [Streaming(self, f"Streaming{i or ''}", api=api, functions=self.compute.functions)
                          for i, api in enumerate(system.websocket_apis)]
        for s in self.streaming[:1]:
            CfnOutput(self, "WebSocketUrl", value=s.stage.url, description="WebSocket streaming API URL")
        # the web app (infra/web.py, docs/web.md): S3 + CloudFront, its config.json written at deploy
        self.web = Web(self, "Web", dist_dir=web_dist_dir, api=self.compute.api, api_url=self.compute.stage.url,
                       websocket_url=self.streaming[0].stage.url if self.streaming else "",
                       client_id=self.auth.client.user_pool_client_id)
        CfnOutput(self, "WebUrl", value=self.web.url, description="the web app (CloudFront)")
        CfnOutput(self, "UserPoolId", value=self.auth.user_pool.user_pool_id)
        CfnOutput(self, "UserPoolClientId", value=self.auth.client.user_pool_client_id)
        CfnOutput(
            self, "EngineHostId", value=self.host.instance.instance_id, description="aws ssm start-session"
        )
