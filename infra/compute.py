"""Compute and API: one Lambda per declared function, the HTTP API routes (Cognito JWT for users, IAM for
the service-to-service routes, none for the docs), the EventBridge Scheduler schedules and the Amazon MQ /
Kafka event source mappings, all looped over ``SYSTEM`` so that a new declaration needs no change here.

Least privilege: a function reads only its own service's database user, broker users and the parameters
of what it declares in ``uses``; it may invoke (``execute-api:Invoke``) exactly the IAM routes that name it
in ``iam_callers``, and no route accepts a user's token in their place.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import jsii
from aws_cdk import Duration, Fn, RemovalPolicy, Stack
from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_apigatewayv2_authorizers as authorizers
from aws_cdk import aws_apigatewayv2_integrations as integrations
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_logs as logs
from aws_cdk import aws_scheduler as scheduler
from constructs import Construct

from infra.auth import Auth
from infra.data import Data, MysqlUser
from infra.declarations import IAM_CALLER_ROLES, Function, KafkaSource, RabbitMqSource, System
from infra.engine_host import HostEndpoints
from infra.messaging import KAFKA_CA_PARAMETER, Messaging, function_service
from infra.nag import acknowledge
from infra.network import Network

LAMBDA_PYTHON = "python3.12"
"""The Lambda runtime of every function; ``scripts/build_layers.py`` builds the dependencies for it."""
LAMBDA_RUNTIME = lambda_.Runtime.PYTHON_3_12
assert LAMBDA_RUNTIME.name == LAMBDA_PYTHON
LAMBDA_ARCHITECTURE = lambda_.Architecture.ARM_64
LOG_RETENTION = logs.RetentionDays.ONE_MONTH
METRICS_NAMESPACE = "MyBrokerB3"
FUNCTION_PREFIX = "mybroker-"
PRIVATE_RESOURCES = frozenset({"mysql", "redis", "rabbitmq", "kafka"})
REPO_ROOT = Path(__file__).resolve().parent.parent
_CODE_EXCLUDE = ["**/__pycache__", "*.pyc", "tests", ".pytest_cache", ".mypy_cache"]
_ESM_DEFAULT_WINDOW_S = 0.5  # what Lambda applies to Amazon MQ and Kafka mappings when none is given


def function_name(name: str) -> str:
    """The deployed Lambda name of a declared function."""
    return f"{FUNCTION_PREFIX}{name}"


def construct_id(name: str) -> str:
    return "".join(part.capitalize() for part in re.split(r"[^A-Za-z0-9]+", name) if part)


def batching_window_seconds(window_s: float) -> int | None:
    """CloudFormation takes whole seconds; the declared 0.5 s is Lambda's default, so it is left unset."""
    if window_s == _ESM_DEFAULT_WINDOW_S:
        return None
    if not float(window_s).is_integer():
        raise ValueError(f"batching window {window_s}s is neither 0.5 s (the default) nor whole seconds")
    return int(window_s)


@jsii.implements(apigwv2.IAccessLogSettings)
class _AccessLogs:
    """HTTP API access logs in the default (Common Log) format."""

    def __init__(self, destination: apigwv2.IAccessLogDestination) -> None:
        self._destination = destination

    @property
    def destination(self) -> apigwv2.IAccessLogDestination:
        return self._destination

    @property
    def format(self) -> None:
        return None


@dataclass(frozen=True)
class Wiring:
    """Where each shared resource is, as the functions' environment names them."""

    data: Data
    messaging: Messaging
    auth: Auth
    host: HostEndpoints


def mysql_user(fn: Function, data: Data) -> MysqlUser:
    """The schema's own user for its service's functions; its read-only user for another service's."""
    assert fn.database is not None
    return data.user(fn.database, readonly=function_service(fn) != fn.database)


def function_environment(fn: Function, wiring: Wiring) -> dict[str, str]:
    """The environment variables the application's settings read, for ``fn.uses`` / ``fn.database``."""
    env: dict[str, str] = {
        "MYBROKER_STAGE": "aws",
        "POWERTOOLS_SERVICE_NAME": fn.name,
        "POWERTOOLS_METRICS_NAMESPACE": METRICS_NAMESPACE,
    }
    uses = set(fn.uses)
    service = function_service(fn)
    if "mysql" in uses or fn.database is not None:
        env["MYSQL_HOST"] = wiring.data.host
        env["MYSQL_PORT"] = str(wiring.data.port)
        if fn.database is not None:
            env["MYSQL_DATABASE"] = fn.database
            env["MYSQL_CREDENTIALS_PARAMETER"] = mysql_user(fn, wiring.data).parameter
    if "redis" in uses:
        env["REDIS_URL"] = wiring.host.redis_url
        env["REDIS_PASSWORD_PARAMETER"] = wiring.host.redis_password_parameter
        env["REDIS_CA_PARAMETER"] = wiring.host.redis_ca_parameter
    if "rabbitmq" in uses:
        env["RABBITMQ_HOST"] = wiring.messaging.broker_host
        env["RABBITMQ_PORT"] = str(wiring.messaging.broker_port)
        mq_user = wiring.messaging.rabbitmq_users[service]
        if mq_user.secret is not None:
            env["RABBITMQ_SECRET_ARN"] = mq_user.secret.secret_arn
        else:
            env["RABBITMQ_CREDENTIALS_PARAMETER"] = str(mq_user.parameter)
    if "kafka" in uses:
        env["KAFKA_BOOTSTRAP_SERVERS"] = wiring.host.kafka_bootstrap_servers
        env["KAFKA_SECURITY_PROTOCOL"] = "SASL_SSL"
        kafka_user = wiring.messaging.kafka_users[service]
        if kafka_user.secret is not None:
            env["KAFKA_SASL_SECRET_ARN"] = kafka_user.secret.secret_arn
        else:
            env["KAFKA_SASL_PARAMETER"] = str(kafka_user.parameter)
        # the broker's certificate is signed by the host's private CA: clients need it to verify TLS
        ca_secret = wiring.messaging.kafka_ca_secret
        if ca_secret is not None:
            env["KAFKA_CA_SECRET_ARN"] = ca_secret.secret_arn
        else:  # no Kafka event source mapping: a free SSM parameter
            env["KAFKA_CA_PARAMETER"] = KAFKA_CA_PARAMETER
    if "mongodb" in uses:
        env["MONGODB_URI_PARAMETER"] = wiring.data.mongodb_uri_parameter
    if "cognito" in uses:
        env["COGNITO_USER_POOL_ID"] = wiring.auth.user_pool.user_pool_id
        env["COGNITO_CLIENT_ID"] = wiring.auth.client.user_pool_client_id
    env.update(dict(fn.environment))
    return env


def _grant(fn: Function, handle: lambda_.Function, wiring: Wiring) -> None:
    """Least privilege: read only this service's users and the parameters of the resources it declares."""
    uses = set(fn.uses)
    service = function_service(fn)
    parameters: list[str] = []
    if fn.database is not None:
        parameters.append(wiring.data.user_parameter_arn(mysql_user(fn, wiring.data)))
    if "redis" in uses:
        parameters += [wiring.host.redis_password_parameter_arn, wiring.host.redis_ca_parameter_arn]
    if "rabbitmq" in uses:
        wiring.messaging.rabbitmq_users[service].grant_read(handle)
    if "kafka" in uses:
        wiring.messaging.kafka_users[service].grant_read(handle)
        if wiring.messaging.kafka_ca_secret is not None:
            wiring.messaging.kafka_ca_secret.grant_read(handle)
        else:
            parameters.append(wiring.messaging.kafka_ca_parameter_arn)
    if "mongodb" in uses:
        parameters.append(wiring.data.mongodb_uri_parameter_arn)
    if parameters:
        # SecureStrings under the AWS-managed aws/ssm key: its key policy already allows use through SSM.
        handle.add_to_role_policy(iam.PolicyStatement(actions=["ssm:GetParameter"], resources=parameters))


class Compute(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id_: str,
        *,
        system: System,
        network: Network,
        wiring: Wiring,
        deps_layer_dir: Path,
        reserve_concurrency: bool = True,
    ) -> None:
        super().__init__(scope, construct_id_)
        self.system = system
        common = lambda_.LayerVersion(
            self,
            "CommonLayer",
            layer_version_name="mybroker-common",
            code=lambda_.Code.from_asset(str(REPO_ROOT / "layers" / "common"), exclude=_CODE_EXCLUDE),
            compatible_runtimes=[LAMBDA_RUNTIME],
            compatible_architectures=[LAMBDA_ARCHITECTURE],
            description="mybroker shared code (domain, contracts, adapters)",
        )
        if not (deps_layer_dir / "python").is_dir():
            raise FileNotFoundError(f"{deps_layer_dir}/python is missing: run scripts/build_layers.py first")
        deps = lambda_.LayerVersion(
            self,
            "DepsLayer",
            layer_version_name="mybroker-deps",
            code=lambda_.Code.from_asset(str(deps_layer_dir)),
            compatible_runtimes=[LAMBDA_RUNTIME],
            compatible_architectures=[LAMBDA_ARCHITECTURE],
            description="third-party dependencies, arm64 wheels",
        )

        self.functions: dict[str, lambda_.Function] = {}
        for fn in system.functions:
            self.functions[fn.name] = self._function(fn, network, wiring, [common, deps], reserve_concurrency)
        acknowledge(
            self,
            {
                "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
                "AWSLambdaBasicExecutionRole]": "The AWS-maintained minimum for writing the function's logs.",
                "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
                "AWSLambdaVPCAccessExecutionRole]": "The AWS-maintained minimum for a function in a VPC "
                "(its network interfaces).",
                "AwsSolutions-L1": f"Pinned to {LAMBDA_PYTHON}: the dependencies layer is built for it "
                "(scripts/build_layers.py) and the local runtime emulates it; upgrade both together.",
            },
        )

        self.api = self._api(system, wiring.auth)
        for fn in system.functions:
            if "api" in fn.uses:  # the API's own URL: set after the API exists, which needs the functions
                self.functions[fn.name].add_environment("API_URL", self.api.api_endpoint)
        for fn in system.functions:
            callable_routes = [r for r in system.routes if fn.name in r.iam_callers]
            if callable_routes and "api" not in fn.uses:
                raise ValueError(f"function {fn.name} is an IAM caller of a route but does not use api")
            if callers := system.iam_callers_of(fn.name):
                # the callee checks the caller's role itself: another principal allowed execute-api:Invoke by
                # its own policy (an admin, a CI role) is not one of the declared callers
                self.functions[fn.name].add_environment(IAM_CALLER_ROLES, Fn.join(",", [
                    self.functions[c].role.role_name for c in callers]))  # type: ignore[union-attr]
        self._schedules(system)
        for mq_source in system.rabbitmq_sources:
            self._rabbitmq_source(mq_source, wiring.messaging)
        for kafka_source in system.kafka_sources:
            self._kafka_source(kafka_source, network, wiring)

    # --- functions -------------------------------------------------------------------------------

    def _function(
        self,
        fn: Function,
        network: Network,
        wiring: Wiring,
        layers: list[lambda_.ILayerVersion],
        reserve_concurrency: bool,
    ) -> lambda_.Function:
        cid = construct_id(fn.name)
        outside = PRIVATE_RESOURCES & set(fn.uses)
        if not fn.in_vpc and outside:
            raise ValueError(f"function {fn.name} is outside the VPC but uses private {sorted(outside)}")
        if fn.database is not None and "mysql" not in fn.uses:
            raise ValueError(f"function {fn.name} owns database {fn.database} but does not use mysql")
        if "mysql" in fn.uses and fn.database is None:
            raise ValueError(f"function {fn.name} uses mysql but owns no database: it would have no user")
        log_group = logs.LogGroup(
            self,
            f"{cid}Logs",
            log_group_name=f"/aws/lambda/{function_name(fn.name)}",
            retention=LOG_RETENTION,
            removal_policy=RemovalPolicy.DESTROY,
        )
        vpc_args: dict[str, object] = {}
        if fn.in_vpc:
            vpc_args = {
                "vpc": network.vpc,
                "vpc_subnets": network.private_subnets,
                "security_groups": [network.functions_sg]
                + ([network.redis_clients_sg] if "redis" in fn.uses else []),
            }
        handle = lambda_.Function(
            self,
            cid,
            function_name=function_name(fn.name),
            description=f"{fn.name} ({fn.code_dir}/{fn.handler})",
            runtime=LAMBDA_RUNTIME,
            architecture=LAMBDA_ARCHITECTURE,
            code=lambda_.Code.from_asset(str(REPO_ROOT / fn.code_dir), exclude=_CODE_EXCLUDE),
            handler=fn.handler,
            memory_size=fn.memory_mb,
            timeout=Duration.seconds(fn.timeout_s),
            reserved_concurrent_executions=fn.concurrency if reserve_concurrency else None,
            layers=layers,
            environment=function_environment(fn, wiring),
            log_group=log_group,
            **vpc_args,  # type: ignore[arg-type]
        )
        _grant(fn, handle, wiring)
        return handle

    # --- HTTP API --------------------------------------------------------------------------------

    def _api(self, system: System, auth: Auth) -> apigwv2.HttpApi:
        api = apigwv2.HttpApi(self, "HttpApi", api_name="mybroker-b3", create_default_stage=False)
        access_logs = logs.LogGroup(
            self,
            "ApiAccessLogs",
            log_group_name="/mybroker/http-api/access",
            retention=LOG_RETENTION,
            removal_policy=RemovalPolicy.DESTROY,
        )
        self.stage = apigwv2.HttpStage(
            self,
            "DefaultStage",
            http_api=api,
            stage_name="$default",
            auto_deploy=True,
            throttle=apigwv2.ThrottleSettings(rate_limit=50, burst_limit=100),  # caps a runaway bill
            access_log_settings=_AccessLogs(apigwv2.LogGroupLogDestination(access_logs)),
        )
        authorizer = authorizers.HttpUserPoolAuthorizer(
            "CognitoAuthorizer", auth.user_pool, user_pool_clients=[auth.client]
        )
        stack = Stack.of(self)
        api_id = stack.resolve(stack.get_logical_id(api.node.default_child))  # type: ignore[arg-type]
        iam_authorizer = authorizers.HttpIamAuthorizer()  # SigV4: only principals granted Invoke get through
        route_authorizer: dict[str, apigwv2.IHttpRouteAuthorizer] = {
            "jwt": authorizer,
            "iam": iam_authorizer,
            "none": apigwv2.HttpNoneAuthorizer(),
        }
        integration_of: dict[str, integrations.HttpLambdaIntegration] = {}
        for route in system.routes:
            if route.function not in integration_of:
                integration_of[route.function] = integrations.HttpLambdaIntegration(
                    f"{construct_id(route.function)}Integration", self.functions[route.function]
                )
            created = api.add_routes(
                path=route.path,
                methods=[apigwv2.HttpMethod(route.method)],
                integration=integration_of[route.function],
                authorizer=route_authorizer[route.auth],
            )
            for caller in route.iam_callers:  # exactly this route (method and path), for each declared caller
                for r in created:
                    r.grant_invoke(self.functions[caller], http_methods=[apigwv2.HttpMethod(route.method)])
                wildcard = "/*/" + route.method + re.sub(r"\{[^}]+\}", "*", route.path)
                acknowledge(
                    self.functions[caller],
                    {
                        f"AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:execute-api:<AWS::Region>:"
                        f"<AWS::AccountId>:<{api_id}>{wildcard}]": "Invoke on this one declared route: the first "
                        "* is the API's only ($default) stage, any other stands for a path parameter.",
                    },
                )
            if route.auth == "none":
                for r in created:
                    acknowledge(
                        r,
                        {
                            "AwsSolutions-APIG4": "Declared public (authorized=False) in "
                            "infra/declarations.py: API documentation needs no login."
                        },
                    )
        return api

    # --- schedules -------------------------------------------------------------------------------

    def _schedules(self, system: System) -> None:
        for schedule in system.schedules:
            cid = construct_id(schedule.name)
            target = self.functions[schedule.function]
            role = iam.Role(
                self,
                f"{cid}ScheduleRole",
                assumed_by=iam.ServicePrincipal(
                    "scheduler.amazonaws.com",
                    conditions={"StringEquals": {"aws:SourceAccount": Stack.of(self).account}},
                ),
                description=f"EventBridge Scheduler invokes {schedule.function}",
            )
            role.add_to_policy(
                iam.PolicyStatement(actions=["lambda:InvokeFunction"], resources=[target.function_arn])
            )
            scheduler.CfnSchedule(
                self,
                f"{cid}Schedule",
                name=f"{FUNCTION_PREFIX}{schedule.name}",
                schedule_expression=schedule.expression,
                schedule_expression_timezone=schedule.timezone,
                flexible_time_window=scheduler.CfnSchedule.FlexibleTimeWindowProperty(mode="OFF"),
                state="ENABLED" if schedule.enabled else "DISABLED",
                target=scheduler.CfnSchedule.TargetProperty(
                    arn=target.function_arn,
                    role_arn=role.role_arn,
                    # a missed tick is superseded by the next one: no retries, no dead letters
                    retry_policy=scheduler.CfnSchedule.RetryPolicyProperty(
                        maximum_retry_attempts=0, maximum_event_age_in_seconds=60
                    ),
                ),
            )

    # --- event source mappings ---------------------------------------------------------------------

    def _rabbitmq_source(self, source: RabbitMqSource, messaging: Messaging) -> None:
        queue = self.system.queue(source.queue)
        handle = self.functions[source.function]
        user = messaging.rabbitmq_users[function_service(self.system.function(source.function))]
        assert user.secret is not None  # a mapped service's user is a secret: the mapping requires one
        user.secret.grant_read(handle)
        handle.add_to_role_policy(
            iam.PolicyStatement(actions=["mq:DescribeBroker"], resources=[messaging.broker.attr_arn])
        )
        handle.add_to_role_policy(
            iam.PolicyStatement(
                actions=[
                    "ec2:CreateNetworkInterface",
                    "ec2:DeleteNetworkInterface",
                    "ec2:DescribeNetworkInterfaces",
                    "ec2:DescribeSecurityGroups",
                    "ec2:DescribeSubnets",
                    "ec2:DescribeVpcs",
                ],
                resources=["*"],
            )
        )
        acknowledge(
            handle,
            {
                "AwsSolutions-IAM5[Resource::*]": "The Amazon MQ event source mapping creates its network "
                "interfaces in the broker's VPC; these EC2 actions support no resource-level permissions.",
            },
        )
        window = batching_window_seconds(source.batching_window_s)
        mapping = lambda_.CfnEventSourceMapping(
            self,
            f"{construct_id(source.name)}Mapping",
            function_name=handle.function_name,
            event_source_arn=messaging.broker.attr_arn,
            queues=[queue.name],
            batch_size=source.batch_size,
            maximum_batching_window_in_seconds=window,
            enabled=True,
            source_access_configurations=[
                lambda_.CfnEventSourceMapping.SourceAccessConfigurationProperty(
                    type="BASIC_AUTH", uri=user.secret.secret_arn
                ),
                lambda_.CfnEventSourceMapping.SourceAccessConfigurationProperty(
                    type="VIRTUAL_HOST", uri=queue.vhost
                ),
            ],
        )
        # the role's policy must exist before Lambda validates the mapping
        if handle.role is not None:
            mapping.node.add_dependency(handle.role)

    def _kafka_source(self, source: KafkaSource, network: Network, wiring: Wiring) -> None:
        handle = self.functions[source.function]
        window = batching_window_seconds(source.batching_window_s)
        user = wiring.messaging.kafka_users[function_service(self.system.function(source.function))]
        assert user.secret is not None  # a mapped service's user is a secret: the mapping requires one
        handle.add_event_source(
            sources.SelfManagedKafkaEventSource(
                bootstrap_servers=[wiring.host.kafka_bootstrap_servers],
                topic=source.topic,
                consumer_group_id=source.consumer_group_id,
                authentication_method=sources.AuthenticationMethod.SASL_SCRAM_512_AUTH,
                secret=user.secret,
                root_ca_certificate=wiring.messaging.kafka_ca_secret,
                starting_position=lambda_.StartingPosition(source.starting_position),
                batch_size=source.batch_size,
                max_batching_window=None if window is None else Duration.seconds(window),
                # retries, partial batch responses and a Kafka on-failure topic need provisioned pollers;
                # on demand, a failed batch is retried whole until it succeeds
                retry_attempts=source.maximum_retry_attempts if source.provisioned else None,
                report_batch_item_failures=source.provisioned,
                on_failure=None
                if source.on_failure_topic is None
                else sources.KafkaDlq(source.on_failure_topic),
                provisioned_poller_config=sources.ProvisionedPollerConfig(
                    minimum_pollers=1, maximum_pollers=1
                )
                if source.provisioned
                else None,
                vpc=network.vpc,
                vpc_subnets=network.private_subnets,
                security_group=network.functions_sg,
            )
        )
