"""Messaging: the Amazon MQ RabbitMQ broker, the broker topology derived from ``SYSTEM.queues``, and the
secrets the Lambda event source mappings require (Amazon MQ BASIC_AUTH, Kafka SASL/SCRAM and the Kafka
root CA).  Kafka itself runs on the engine host (``infra/engine_host.py``).
"""

from __future__ import annotations

import json
from typing import Any

from aws_cdk import Fn, RemovalPolicy, Stack
from aws_cdk import aws_amazonmq as amazonmq
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from infra.declarations import System
from infra.nag import acknowledge
from infra.network import Network

RABBITMQ_ENGINE_VERSION = "3.13"  # the newest RabbitMQ on mq.t3.micro
RABBITMQ_INSTANCE_TYPE = "mq.t3.micro"
AMQPS_PORT = 5671
KAFKA_SASL_SSL_PORT = 9096
BROKER_USER = "mybroker"
KAFKA_USER = "mybroker"
KAFKA_SCRAM_PARAMETER = "/mybroker/kafka-scram"  # SecureString, when no Kafka mapping needs a secret
KAFKA_CA_PARAMETER = "/mybroker/kafka-root-ca"  # String (PEM), idem
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
        # Amazon MQ: the event source mapping requires BASIC_AUTH credentials in Secrets Manager.
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

        # Self-managed Kafka.  A Kafka event source mapping requires its SASL/SCRAM credentials and (for a
        # private CA) the root certificate in Secrets Manager, so those exist only when a Kafka mapping is
        # declared.  Otherwise the engine host keeps them in SSM Parameter Store (free): a SecureString for
        # the credentials and a String for the CA certificate, both written at boot.
        self.kafka_secret: secretsmanager.Secret | None = None
        self.kafka_ca_secret: secretsmanager.Secret | None = None
        if system.kafka_sources:
            self.kafka_secret = _credentials(self, "KafkaSecret", "mybroker/kafka-scram", KAFKA_USER)
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
            acknowledge(self.kafka_secret, {"AwsSolutions-SMG4": _ROTATION_REASON})
            acknowledge(
                self.kafka_ca_secret,
                {"AwsSolutions-SMG4": "A CA certificate is public material; it is replaced with the host."},
            )
        stack = Stack.of(self)
        self.kafka_scram_parameter_arn = stack.format_arn(
            service="ssm", resource="parameter", resource_name=KAFKA_SCRAM_PARAMETER.lstrip("/")
        )
        self.kafka_ca_parameter_arn = stack.format_arn(
            service="ssm", resource="parameter", resource_name=KAFKA_CA_PARAMETER.lstrip("/")
        )
