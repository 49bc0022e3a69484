"""The environment each function gets locally: what the CDK stack injects on AWS, pointed at local services."""

from __future__ import annotations

from collections.abc import Mapping

from infra.declarations import IAM_CALLER_ROLES, Function, Service
from local_runtime import credentials
from local_runtime import services as svc

REGION = "us-east-1"
ACCOUNT = credentials.ACCOUNT


def aws_environment(principal: str = credentials.RUNTIME_PRINCIPAL) -> dict[str, str]:
    """The AWS settings of a principal: its own access key (derived from the install's secret), the
    region and the local AWS endpoint. A function's key is what it signs IAM-authorized routes with."""
    return {
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        **credentials.aws_key(principal).environment(),
        "AWS_ENDPOINT_URL": f"http://127.0.0.1:{svc.AWS_PORT}",
    }


def resource_environment(uses: tuple[str, ...], database: str | None, state: Mapping[str, str]) -> dict[str, str]:
    env: dict[str, str] = {"MYBROKER_STAGE": "local"}
    if database is not None:
        env["MYSQL_URL"] = svc.mysql_url(database)
    if "redis" in uses:
        env["REDIS_URL"] = f"redis://127.0.0.1:{svc.REDIS_PORT}/0"
    if "rabbitmq" in uses:
        env["RABBITMQ_URL"] = f"amqp://guest:guest@127.0.0.1:{svc.RABBITMQ_PORT}/%2F"
    if "kafka" in uses:
        env["KAFKA_BOOTSTRAP_SERVERS"] = f"127.0.0.1:{svc.KAFKA_PORT}"
        env["KAFKA_SECURITY_PROTOCOL"] = "PLAINTEXT"
    if "mongodb" in uses:
        env["MONGODB_URI"] = state.get("mongodb_uri", f"mongodb://127.0.0.1:{svc.FERRETDB_PORT}/")
    if "api" in uses:
        env["API_URL"] = state.get("api_url", "")
    if "cognito" in uses:
        env["COGNITO_USER_POOL_ID"] = state.get("user_pool_id", "")
        env["COGNITO_CLIENT_ID"] = state.get("client_id", "")
    return env


def function_environment(fn: Function, state: Mapping[str, str], iam_callers: tuple[str, ...] = ()
                         ) -> dict[str, str]:
    """``iam_callers``: the functions that may call ``fn``'s IAM routes (their roles, as the stack names them)."""
    return {
        **aws_environment(fn.name),
        **({IAM_CALLER_ROLES: ",".join(credentials.role_name(c) for c in iam_callers)} if iam_callers else {}),
        **resource_environment(fn.uses, fn.database, state),
        "POWERTOOLS_SERVICE_NAME": fn.name,
        "POWERTOOLS_METRICS_NAMESPACE": "MyBrokerB3",
        "POWERTOOLS_TRACE_DISABLED": "true",  # no X-Ray daemon locally
        "POWERTOOLS_DEV": "false",
        **dict(fn.environment),
    }


def service_environment(service: Service, state: Mapping[str, str]) -> dict[str, str]:
    return {**aws_environment(f"service:{service.name}"), **resource_environment(service.uses, None, state),
            **dict(service.environment)}
