"""Messaging: the Amazon MQ RabbitMQ broker, the broker topology derived from ``SYSTEM.queues``, one broker
user per service on RabbitMQ and on Kafka, and the secrets the Lambda event source mappings require (Amazon
MQ BASIC_AUTH, Kafka SASL/SCRAM and the Kafka root CA).  Kafka itself runs on the engine host
(``infra/engine_host.py``), which also creates the per-service users on both brokers at boot.

Where each service user's credentials live: a service one of whose functions has an event source mapping on
that broker gets a generated Secrets Manager secret (the mapping accepts nothing else, $0.40/month); every
other service gets a free SSM SecureString parameter the host generates.  A function reads only its own
service's credentials; the broker's admin user (the only one CloudFormation can create) is read by the host
alone, to load the topology and create the service users.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

from aws_cdk import Fn, RemovalPolicy, Stack
from aws_cdk import aws_amazonmq as amazonmq
from aws_cdk import aws_iam as iam
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from infra.declarations import Function, System
from infra.nag import acknowledge
from infra.network import Network

RABBITMQ_ENGINE_VERSION = "3.13"  # the newest RabbitMQ on mq.t3.micro
RABBITMQ_INSTANCE_TYPE = "mq.t3.micro"
AMQPS_PORT = 5671
BROKER_USER = "mybroker"  # Amazon MQ's admin user: the host only (topology, service users)
RABBITMQ_USER_PARAMETER = "/mybroker/rabbitmq/{service}"  # SecureString {"username", "password"}
KAFKA_USER_PARAMETER = "/mybroker/kafka/{service}"  # SecureString {"username", "password"}
# The engine host's private CA (String, PEM), written by the host at boot: it signs the Kafka and the Redis
# server certificates.  Kafka clients read it here unless a Kafka mapping needs it in Secrets Manager too.
HOST_CA_PARAMETER = "/mybroker/host-root-ca"
KAFKA_CA_PARAMETER = HOST_CA_PARAMETER
# What each service's RabbitMQ user may do on its vhost (configure, write, read regexes; RabbitMQ's
# default exchange is amq.default).  A service missing here makes synthesis fail rather than get ".*".
RABBITMQ_PERMISSIONS: dict[str, tuple[str, str, str]] = {
    # publishes commands to engine.input; its event source mapping consumes broker.execution-reports (the
    # mapping may redeclare its queue passively, hence configure on that queue alone)
    "orders": (r"^broker\.execution-reports$", r"^engine\.input$", r"^broker\.execution-reports$"),
    # consumes engine.orders, declares and publishes to engine.output, parks poison commands on
    # dead-letter; its liquidity agents place orders through engine.input
    "engine": (
        r"^(engine\.output|dead-letter)$",
        r"^(engine\.output|engine\.input|dead-letter|amq\.default)$",
        r"^engine\.orders$",
    ),
}
# What each service's Kafka user may write (its outbox, its dead letters).  What its event source mappings
# read (the topic, as the mapping's consumer group) and write (an on-failure topic) is added from
# ``SYSTEM.kafka_sources``.  A Kafka-using service missing here makes synthesis fail.
KAFKA_PRODUCES: dict[str, tuple[str, ...]] = {
    "assets": ("assets",),
    "orders": ("orders",),
    "wallet": ("esm-failures",),
    "market_data": ("quotes", "esm-failures"),
    "streaming": (),  # its mappings read orders, quotes, trades and market-data; it writes nothing
}
# Amazon MQ forbids , : = in passwords; keep shell and JSON metacharacters out as well.
_EXCLUDED = ",:=%@/\\\"'`$&*(){}[]<>|;!?#~^ "

_ROTATION_REASON = (
    "These credentials are read by Lambda event source mappings and the engine host; rotation needs a "
    "rotation function with network access, not worth it for a demo broker without real money."
)


def rabbitmq_definitions(system: System) -> dict[str, Any]:
    """RabbitMQ definitions (``POST /api/definitions``) for the declared queues.

    Each queue is a quorum queue with ``x-delivery-limit``; after that many deliveries the broker
    dead-letters the message through the default exchange into ``<queue>.dlq`` (Amazon MQ event source
    mappings have no redelivery policy of their own).
    """
    vhosts = sorted({q.vhost for q in system.queues})
    exchanges: dict[tuple[str, str], str] = {}
    queues: list[dict[str, Any]] = []
    bindings: list[dict[str, Any]] = []
    for q in system.queues:
        exchanges[(q.vhost, q.exchange)] = q.exchange_type
        queues.append(
            {
                "name": q.name,
                "vhost": q.vhost,
                "durable": True,
                "auto_delete": False,
                "arguments": {
                    "x-queue-type": "quorum",
                    "x-delivery-limit": q.delivery_limit,
                    "x-dead-letter-exchange": "",
                    "x-dead-letter-routing-key": q.dead_letter_queue,
                },
            }
        )
        queues.append(
            {
                "name": q.dead_letter_queue,
                "vhost": q.vhost,
                "durable": True,
                "auto_delete": False,
                "arguments": {"x-queue-type": "quorum"},
            }
        )
        bindings.extend(
            {
                "source": q.exchange,
                "vhost": q.vhost,
                "destination": q.name,
                "destination_type": "queue",
                "routing_key": key,
                "arguments": {},
            }
            for key in q.routing_keys
        )
    return {
        "vhosts": [{"name": v} for v in vhosts],
        "exchanges": [
            {
                "name": name,
                "vhost": vhost,
                "type": kind,
                "durable": True,
                "auto_delete": False,
                "internal": False,
                "arguments": {},
            }
            for (vhost, name), kind in sorted(exchanges.items())
        ],
        "queues": queues,
        "bindings": bindings,
    }


def function_service(fn: Function) -> str:
    """The service a function belongs to: its code folder (``functions/market_data`` -> ``market_data``)."""
    return PurePosixPath(fn.code_dir).name


@dataclass(frozen=True)
class ServiceUser:
    """One service's user on one broker: in a Secrets Manager secret or an SSM SecureString parameter."""

    service: str
    username: str
    secret: secretsmanager.Secret | None = None
    parameter: str | None = None
    parameter_arn: str | None = None

    def grant_read(self, grantee: iam.IGrantable) -> None:
        if self.secret is not None:
            self.secret.grant_read(grantee)
        else:
            assert self.parameter_arn is not None
            grantee.grant_principal.add_to_principal_policy(
                iam.PolicyStatement(actions=["ssm:GetParameter"], resources=[self.parameter_arn])
            )


@dataclass(frozen=True)
class KafkaAcl:
    """What one service's SCRAM user may do: write ``produce``; read each ``(topic, consumer group)``."""

    produce: tuple[str, ...]
    consume: tuple[tuple[str, str], ...]
    mapped: bool  # an event source mapping polls as this user (it also reads the cluster's configuration)


def kafka_acls(system: System) -> dict[str, KafkaAcl]:
    """Every Kafka-using service's ACLs, from :data:`KAFKA_PRODUCES` and the declared Kafka mappings."""
    services = {function_service(f) for f in system.functions if "kafka" in f.uses}
    services |= {function_service(system.function(k.function)) for k in system.kafka_sources}
    acls: dict[str, KafkaAcl] = {}
    for service in sorted(services):
        if service not in KAFKA_PRODUCES:
            raise ValueError(f"no Kafka ACLs declared for service {service} (KAFKA_PRODUCES, infra/messaging.py)")
        sources = [k for k in system.kafka_sources if function_service(system.function(k.function)) == service]
        produce = set(KAFKA_PRODUCES[service]) | {k.on_failure_topic for k in sources if k.on_failure_topic}
        acls[service] = KafkaAcl(
            produce=tuple(sorted(produce)),
            consume=tuple(sorted((k.topic, k.consumer_group_id) for k in sources)),
            mapped=bool(sources),
        )
    return acls


def parameter_arn(scope: Construct, name: str) -> str:
    return Stack.of(scope).format_arn(service="ssm", resource="parameter", resource_name=name.lstrip("/"))


def _credentials(scope: Construct, construct_id: str, name: str, username: str) -> secretsmanager.Secret:
    return secretsmanager.Secret(
        scope,
        construct_id,
        secret_name=name,
        generate_secret_string=secretsmanager.SecretStringGenerator(
            secret_string_template=json.dumps({"username": username}),
            generate_string_key="password",
            password_length=32,
            exclude_characters=_EXCLUDED,
        ),
        removal_policy=RemovalPolicy.DESTROY,
    )


class Messaging(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, network: Network, system: System) -> None:
        super().__init__(scope, construct_id)
        # Amazon MQ: the admin user CloudFormation creates; the host alone reads it.
        self.broker_secret = _credentials(self, "BrokerSecret", "mybroker/rabbitmq", BROKER_USER)
        self.broker = amazonmq.CfnBroker(
            self,
            "Broker",
            broker_name="mybroker-b3",
            engine_type="RABBITMQ",
            engine_version=RABBITMQ_ENGINE_VERSION,
            host_instance_type=RABBITMQ_INSTANCE_TYPE,
            deployment_mode="SINGLE_INSTANCE",
            publicly_accessible=False,
            auto_minor_version_upgrade=True,  # required by Amazon MQ for RabbitMQ 3.13
            subnet_ids=[network.vpc.isolated_subnets[0].subnet_id],
            security_groups=[network.broker_sg.security_group_id],
            users=[
                amazonmq.CfnBroker.UserProperty(
                    username=BROKER_USER,
                    # a {{resolve:secretsmanager:...}} dynamic reference: the password is not in the template
                    password=self.broker_secret.secret_value_from_json("password").unsafe_unwrap(),
                )
            ],
            logs=amazonmq.CfnBroker.LogListProperty(general=False),
        )
        acknowledge(self.broker_secret, {"AwsSolutions-SMG4": _ROTATION_REASON})
        endpoint = Fn.select(0, self.broker.attr_amqp_endpoints)  # amqps://b-....mq.<region>.on.aws:5671
        self.broker_host = Fn.select(0, Fn.split(":", Fn.select(1, Fn.split("://", endpoint))))
        self.broker_port = AMQPS_PORT
        self.definitions = rabbitmq_definitions(system)

        # One user per service on each broker.
        mq_mapped = {function_service(system.function(m.function)) for m in system.rabbitmq_sources}
        kafka_mapped = {function_service(system.function(k.function)) for k in system.kafka_sources}
        mq_services = sorted(
            {function_service(f) for f in system.functions if "rabbitmq" in f.uses}
            | {s.name for s in system.services if "rabbitmq" in s.uses}
            | mq_mapped
        )
        # the services on the host reach Kafka on its loopback PLAINTEXT listener: no user
        self.kafka_acls = kafka_acls(system)
        self.rabbitmq_users: dict[str, ServiceUser] = {}
        for service in mq_services:
            if service not in RABBITMQ_PERMISSIONS:
                raise ValueError(f"no RabbitMQ permissions declared for service {service} (infra/messaging.py)")
            self.rabbitmq_users[service] = self._user(
                "Rabbitmq", service, service in mq_mapped, "mybroker/rabbitmq-{}", RABBITMQ_USER_PARAMETER
            )
        self.kafka_users: dict[str, ServiceUser] = {
            service: self._user("Kafka", service, service in kafka_mapped, "mybroker/kafka-{}", KAFKA_USER_PARAMETER)
            for service in self.kafka_acls
        }

        # The host's root CA: a Kafka event source mapping requires it (a private CA) in Secrets Manager, so
        # it is also a secret when a Kafka mapping is declared; it is always the free String parameter
        # HOST_CA_PARAMETER (Redis clients read it there).  The host writes both at boot.
        self.kafka_ca_secret: secretsmanager.Secret | None = None
        if system.kafka_sources:
            self.kafka_ca_secret = secretsmanager.Secret(
                self,
                "KafkaCaSecret",
                secret_name="mybroker/kafka-root-ca",
                description='{"certificate": "<PEM>"}: the engine host writes its Kafka CA here at boot',
                generate_secret_string=secretsmanager.SecretStringGenerator(
                    secret_string_template=json.dumps({"certificate": "pending"}),
                    generate_string_key="placeholder",
                ),
                removal_policy=RemovalPolicy.DESTROY,
            )
            acknowledge(
                self.kafka_ca_secret,
                {"AwsSolutions-SMG4": "A CA certificate is public material; it is replaced with the host."},
            )
        self.kafka_ca_parameter_arn = parameter_arn(self, KAFKA_CA_PARAMETER)

    def _user(self, broker: str, service: str, mapped: bool, secret_name: str, parameter: str) -> ServiceUser:
        if mapped:  # an event source mapping reads it: Secrets Manager is the only option
            secret = _credentials(
                self, f"{broker}{_pascal(service)}Secret", secret_name.format(service.replace("_", "-")), service
            )
            acknowledge(secret, {"AwsSolutions-SMG4": _ROTATION_REASON})
            return ServiceUser(service, service, secret=secret)
        name = parameter.format(service=service)
        return ServiceUser(service, service, parameter=name, parameter_arn=parameter_arn(self, name))


def _pascal(name: str) -> str:
    return "".join(part.capitalize() for part in name.replace("-", "_").split("_") if part)
